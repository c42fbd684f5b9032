"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import account, custom_columns, entities, lookups, per_entity
from customermates.registry import Registry

REGISTRY = Registry(
    [*lookups.TOOLS, *entities.TOOLS, *per_entity.TOOLS, *account.TOOLS, *custom_columns.TOOLS]
)

__all__ = ["REGISTRY"]
