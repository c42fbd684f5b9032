"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import account, changes, entities, extensions, lookups, per_entity
from customermates.registry import Registry

REGISTRY = Registry(
    [*lookups.TOOLS, *entities.TOOLS, *per_entity.TOOLS, *account.TOOLS, *extensions.TOOLS, *changes.TOOLS]
)

__all__ = ["REGISTRY"]
