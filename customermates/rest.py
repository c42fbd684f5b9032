"""REST routes derived from the tool registry (REST.md). Filled in by the REST slice."""

from __future__ import annotations

from starlette.routing import BaseRoute

from customermates.registry import Registry


def routes(registry: Registry) -> list[BaseRoute]:
    return []
