"""The OAuth routes and the per-process state they use, mounted by `install` when OAuth is on."""

from __future__ import annotations

import importlib
import secrets

from starlette.applications import Starlette
from starlette.routing import Route

from customermates.oauth import metadata
from customermates.oauth.errors import preflight
from customermates.oauth.ratelimit import Window

# Reachable from any web origin (CORS, no cookies); the consent page keeps the Origin check.
OPEN_PATHS = frozenset(
    {
        metadata.PRM_PATH,
        metadata.PRM_PATH + metadata.MCP_PATH,
        metadata.AS_PATH,
        "/oauth/token",
        "/oauth/register",
    }
)


def _open(path: str, endpoint, method: str) -> Route:
    async def dispatch(request):
        return await (preflight(request) if request.method == "OPTIONS" else endpoint(request))

    return Route(path, dispatch, methods=[method, "OPTIONS"])


def _later(module: str, name: str):
    """The endpoint `name` of `customermates.oauth.<module>`, imported on its first request: the
    sign-in, token and registration modules pull in most of authlib, which a server start should
    not pay for (docs/benchmarks.md, cold start)."""

    async def endpoint(request):
        found = importlib.import_module(f"customermates.oauth.{module}")
        return await getattr(found, name)(request)

    return endpoint


ROUTES = [
    _open(metadata.PRM_PATH, metadata.resource_root, "GET"),
    _open(metadata.PRM_PATH + metadata.MCP_PATH, metadata.resource_mcp, "GET"),
    _open(metadata.AS_PATH, metadata.server, "GET"),
    Route("/oauth/authorize", _later("authorize", "show"), methods=["GET"]),
    Route("/oauth/authorize", _later("authorize", "decide"), methods=["POST"]),
    _open("/oauth/token", _later("token_endpoint", "token"), "POST"),
    _open("/oauth/register", _later("registration", "register"), "POST"),
]


def install(app: Starlette) -> None:
    app.router.routes.extend(ROUTES)
    app.state.oauth_secret = secrets.token_bytes(32)  # signs consent-form CSRF fields; a restart voids them
    app.state.oauth_failures = Window(limit=10, seconds=600)
    app.state.oauth_registrations = Window(limit=30, seconds=3600)
