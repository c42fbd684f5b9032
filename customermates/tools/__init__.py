"""Tool modules; `REGISTRY` holds every built tool in catalog order."""

from customermates.registry import Registry
from customermates.tools import account

REGISTRY = Registry([*account.TOOLS])

__all__ = ["REGISTRY"]
