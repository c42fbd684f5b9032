"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import (
    account,
    changes,
    custom_columns,
    entities,
    extensions,
    lookups,
    per_entity,
    webhooks,
    widgets,
)
from customermates.registry import Registry

MODULES = (lookups, entities, per_entity, widgets, webhooks, account, custom_columns, extensions, changes)
REGISTRY = Registry([tool for module in MODULES for tool in module.TOOLS])

__all__ = ["REGISTRY"]
