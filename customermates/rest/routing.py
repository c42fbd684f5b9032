"""Routing: one PathRoute per path owns all its methods (405 + Allow), literal segments before `{id}`.

Done here rather than by Starlette's `Route` so that one path owns all its methods and a literal
segment always wins over `{id}`; Starlette's own 404 and 405 answer the Error object too.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path, get_route_path

from customermates.httpio import error_response
from customermates.registry import Registry
from customermates.rest.endpoints import Endpoint, bound_endpoint, document_endpoint, guarded, tools_endpoint
from customermates.rest.plan import Plan


class PathRoute(BaseRoute):
    """One path with all its methods: a matching path is always ours, a wrong method is 405 + Allow."""

    def __init__(self, path: str, methods: dict[str, Endpoint]):
        self.path = path
        self.methods = {m: guarded(e) for m, e in methods.items()}
        self.regex, _, self.convertors = compile_path(path)

    def matches(self, scope) -> tuple[Match, dict]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self.regex.match(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        return Match.FULL, {"path_params": {**scope.get("path_params", {}), **found.groupdict()}}

    def url_path_for(self, name: str, /, **path_params: Any):
        raise NoMatchFound(name, path_params)

    async def handle(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        endpoint = self.methods.get(request.method)
        if endpoint is None:
            response = method_not_allowed(request.method, request.url.path, list(self.methods))
        else:
            response = await endpoint(request)
        await response(scope, receive, send)


def method_not_allowed(method: str, path: str, allowed: list[str]) -> Response:
    allow = ", ".join(sorted(allowed))
    return error_response(
        "method_not_allowed", f"{method} is not defined for {path}; use {allow}.", {"Allow": allow}
    )


def _specificity(path: str) -> list[bool]:
    # Literal segments sort before `{id}`, so `/contacts/many` is never read as an id.
    return [segment.startswith("{") for segment in path.split("/")]


def path_routes(registry: Registry, plans: list[Plan] | None = None) -> list[BaseRoute]:
    """One PathRoute per path of the registry's routes (or of `plans`), literal paths first."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for p in registry.routes if plans is None else plans:
        by_path.setdefault(p.route.url, {})[p.route.method] = bound_endpoint(registry, p)
    return [PathRoute(path, by_path[path]) for path in sorted(by_path, key=_specificity)]


def routes(registry: Registry) -> list[BaseRoute]:
    """Every REST route of the registry, the generic tools route and the OpenAPI document."""
    return [
        *path_routes(registry),
        PathRoute("/api/v1/tools/{name}", {"POST": tools_endpoint(registry)}),
        PathRoute("/api/v1/openapi", {"GET": document_endpoint(registry)}),
    ]


# ---- Starlette's own 404 and 405 (paths no route owns, e.g. /healthz) as the Error object ------------


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "").split(", ")
        return method_not_allowed(request.method, request.url.path, [a for a in allowed if a])
    return error_response(
        "not_found", f"No route {request.method} {request.url.path}; GET /api/v1/openapi lists every route."
    )


EXCEPTION_HANDLERS = {404: _http_error, 405: _http_error}
