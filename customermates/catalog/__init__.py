"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import account, custom_columns, entities, extensions, lookups, per_entity
from customermates.registry import Registry

MODULES = (lookups, entities, per_entity, account, custom_columns, extensions)
REGISTRY = Registry([tool for module in MODULES for tool in module.TOOLS])

__all__ = ["REGISTRY"]
