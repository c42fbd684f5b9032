"""Tool modules; `REGISTRY` holds every built tool in catalog order (registry.CATALOG)."""

from customermates.registry import Registry
from customermates.tools import account, entities, queries, records

REGISTRY = Registry([*queries.TOOLS, *entities.TOOLS, *records.TOOLS, *account.TOOLS])

__all__ = ["REGISTRY"]
