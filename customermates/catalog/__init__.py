"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.catalog import account, entities, lookups, per_entity, webhooks
from customermates.registry import Registry

REGISTRY = Registry([*lookups.TOOLS, *entities.TOOLS, *per_entity.TOOLS, *account.TOOLS, *webhooks.TOOLS])

__all__ = ["REGISTRY"]
