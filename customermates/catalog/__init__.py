"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import account, entities, extensions, lookups, per_entity
from customermates.registry import Registry

REGISTRY = Registry([*lookups.TOOLS, *entities.TOOLS, *per_entity.TOOLS, *account.TOOLS, *extensions.TOOLS])

__all__ = ["REGISTRY"]
