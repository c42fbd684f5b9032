"""The Starlette application: one routes list, the request gate, and the database lifespan."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from customermates import __version__
from customermates.auth import UNAUTHORIZED, Caller, LastUsed, flush_last_used
from customermates.catalog import REGISTRY
from customermates.config import Settings
from customermates.errors import Disconnected
from customermates.httpio import REQUEST_ID, error_response, header_map, json_response, tool_error_response
from customermates.ids import new_id
from customermates.mcp import http as mcp_http
from customermates.oauth import metadata as oauth_metadata
from customermates.oauth import routes as oauth_routes
from customermates.ratelimit import Limits
from customermates.registry import Registry
from customermates.rest.routing import EXCEPTION_HANDLERS, PathRoute, routes
from customermates.store import Database, connect
from customermates.store.migrations import migrate
from customermates.webhooks import worker as webhook_worker

log = logging.getLogger("customermates.app")

PUBLIC_PATHS = {"/healthz", "/api/v1/openapi", "/api/v1/docs"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="customermates"'}


# An origin is scheme://host[:port] and nothing else: no user info, path, query, or second origin.
_ORIGIN = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?/?", re.ASCII)


def origin_allowed(origin: str, host: str | None, settings: Settings) -> bool:
    """Same host:port as the request, a loopback origin, CUSTOMERMATES_PUBLIC_URL's origin (a proxy may
    rewrite Host), or listed in CUSTOMERMATES_ALLOWED_ORIGINS."""
    match = _ORIGIN.fullmatch(origin)
    if match is None or (match[3] is not None and not 0 < int(match[3]) < 65536):
        return False
    if origin.rstrip("/") in settings.allowed_origins:
        return True
    if settings.public_url and origin.rstrip("/") == oauth_metadata.origin_of(settings.public_url):
        return True
    if match[1] == "http" and match[2].lower() in LOOPBACK_HOSTS:
        return True
    return bool(host) and origin.rstrip("/").split("://", 1)[1] == host


def api_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def unauthorized(scope, credential: str | None) -> Response:
    """The 401; with OAuth on, it points to the protected resource metadata (RFC 9728 §5.1)."""
    if not scope["app"].state.settings.oauth:
        return error_response("unauthorized", UNAUTHORIZED, WWW_AUTHENTICATE)
    base = oauth_metadata.base_url(Request(scope))
    challenge = oauth_metadata.challenge(base, scope["path"], bool(credential))
    return error_response("unauthorized", UNAUTHORIZED, {"WWW-Authenticate": challenge})


class Gate:
    """Runs before routing: X-Request-Id, Origin (403), then the credential (401) on `/api/v1`.

    The credential is verified by the first database hop that needs the principal: a tool call
    verifies it inside its own transaction, so the call costs one hop. A response that starts before
    any hop verified it (an unknown route, a bad body) waits for one, so an unknown or revoked key
    always gets the 401, never an answer that depends on the request.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self.guard(self.app, scope, receive, send)

    @classmethod
    async def guard(cls, app, scope, receive, send):
        """Everything the Gate does for one HTTP request, in front of `app` (`Server` calls it directly)."""
        headers = header_map(scope)
        given = headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.match(given) else new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        stamp = (b"x-request-id", request_id.encode())
        send_with_id = stamping(send, stamp)
        refused = cls.refused_origin(scope, headers)
        if refused is not None:
            return await refused(scope, receive, send_with_id)
        path = scope["path"]
        if path in PUBLIC_PATHS or not path.startswith("/api/"):
            return await app(scope, receive, send_with_id)
        credential = api_key(headers)
        if not credential:
            return await unauthorized(scope, credential)(scope, receive, send_with_id)
        address = (scope.get("client") or ("", 0))[0]
        limits: Limits = scope["app"].state.limits
        spent = limits.refused(credential, address)
        if spent is not None:
            error, seconds = spent
            late = tool_error_response(error, {"Retry-After": str(seconds)})
            return await late(scope, receive, send_with_id)
        oauth = scope["app"].state.settings.oauth
        caller = Caller(credential, "mcp" if path == "/api/v1/mcp" else "rest", oauth=oauth)
        scope["state"]["caller"] = caller
        try:
            await app(scope, receive, cls.verified(scope, receive, caller, send, stamp))
        except Disconnected:  # a client that hangs up mid-body must not be able to fill the log
            log.info("client disconnected before its body arrived: %s %s", scope["method"], path)

    @staticmethod
    def verified(scope, receive, caller: Caller, send, stamp: tuple[bytes, bytes]):
        """`send` with the Gate's headers (`stamped`), but the response starts only for a verified
        caller; otherwise the 401 replaces it. One wrapper, not two: both messages pass through it."""
        state = scope["app"].state
        replaced = False

        async def send_verified(message):
            nonlocal replaced
            if message["type"] == "http.response.start":
                principal = caller.principal if caller.checked else state.db.read_now(caller.verify)
                if principal is None:
                    state.limits.failed((scope.get("client") or ("", 0))[0])
                    replaced = True
                    return await unauthorized(scope, caller.credential)(scope, receive, stamping(send, stamp))
                state.last_used.touch(principal.credential_id)
                message = stamped(message, stamp)
            elif replaced:
                return None
            await send(message)

        return send_verified

    @staticmethod
    def refused_origin(scope, headers: Mapping[str, str]) -> Response | None:
        if "origin" not in headers:
            return None
        given = [v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"]
        origin = given[0]
        settings: Settings = scope["app"].state.settings
        if settings.oauth and scope["path"] in oauth_routes.OPEN_PATHS:
            return None  # sign-in endpoints are called from any web app's origin
        if len(given) > 1:
            return error_response("forbidden", f"{len(given)} Origin headers were sent; send one.")
        if not origin_allowed(origin, headers.get("host"), settings):
            return error_response(
                "forbidden", f"Origin {origin!r} is not allowed; add it to CUSTOMERMATES_ALLOWED_ORIGINS."
            )
        return None


class AppState(State):
    """Starlette's `State` whose entries are also plain instance attributes, so the reads every request
    makes (`app.state.db`, `.settings`, `.limits`, …) are ordinary attribute look-ups instead of a call
    of `State.__getattr__` each. Every write goes to both places; `_state` stays the one Starlette reads."""

    def __setattr__(self, key, value) -> None:
        super().__setattr__(key, value)
        object.__setattr__(self, key, value)

    def __delattr__(self, key) -> None:
        super().__delattr__(key)
        self.__dict__.pop(key, None)

    def __setitem__(self, key, value) -> None:
        self.__setattr__(key, value)

    def __delitem__(self, key) -> None:
        self.__delattr__(key)


NO_STORE = (b"cache-control", b"no-store")


def stamping(send, stamp: tuple[bytes, bytes]):
    """`send` with the Gate's headers added to the response start (`stamped`)."""

    async def send_stamped(message):
        await send(stamped(message, stamp) if message["type"] == "http.response.start" else message)

    return send_stamped


def stamped(start: dict, stamp: tuple[bytes, bytes]) -> dict:
    """A response start with the Gate's headers added: X-Request-Id, and `Cache-Control: no-store`
    unless the response set its own."""
    headers = start.get("headers", [])
    for name, _ in headers:
        if name == b"cache-control":
            return {**start, "headers": [*headers, stamp]}
    return {**start, "headers": [*headers, stamp, NO_STORE]}


class Server(Starlette):
    """The Starlette app, except that the API's own paths skip Starlette's middleware and router.

    `POST /api/v1/mcp` and every REST path go straight to their handler behind the same Gate and the
    same 500 guard; the router would pick the same handler (`rest.routing.PathRoute` owns every method
    of its path, and no route listed before the REST ones shares a path with them). The layers skipped
    only re-dispatch such a request, and cost ~10 % of a `get_entities` call (docs/benchmarks.md).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state = AppState()
        self._hot = ServerErrorMiddleware(self._gated)
        self._by_segment: dict[str, list[PathRoute]] | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            handler = self._handler(scope)
            if handler is not None:
                scope["app"] = self
                scope["router"] = self.router
                scope["handler"] = handler
                return await self._hot(scope, receive, send)
        await super().__call__(scope, receive, send)

    def _handler(self, scope):
        path = scope["path"]
        if path == mcp_http.MCP_PATH:
            return mcp_http.asgi
        if not path.startswith("/api/v1/"):
            return None
        if self._by_segment is None:
            self._by_segment = _route_index(self.router.routes)
        segment = path[8:].split("/", 1)[0]
        for route in self._by_segment.get(segment, self._by_segment[""]):
            match, child = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child)
                return route.handle
        return None

    async def _gated(self, scope, receive, send) -> None:
        await Gate.guard(scope.pop("handler"), scope, receive, send)


def _route_index(routes) -> dict[str, list[PathRoute]]:
    """The REST routes by the path segment after `/api/v1/`, each list in the router's order; a route
    with a parameter there is a candidate for every segment (key "": segments no literal route has)."""
    rest = [r for r in routes if isinstance(r, PathRoute) and r.path.startswith("/api/v1/")]
    first = [r.path[8:].split("/", 1)[0] for r in rest]
    open_ = {i for i, f in enumerate(first) if f.startswith("{")}
    index = {
        f: [r for i, r in enumerate(rest) if first[i] == f or i in open_] for f in first if f and f[0] != "{"
    }
    index[""] = [r for i, r in enumerate(rest) if i in open_]
    return index


async def healthz(request: Request) -> Response:
    if getattr(request.app.state, "db", None) is None:
        return json_response({"status": "unavailable", "reason": "database not open"}, 503)
    return json_response({"status": "ok", "version": __version__})


async def _flush_last_used(app: Starlette) -> None:
    while True:
        await anyio.sleep(30)
        rows = app.state.last_used.take()
        if rows:
            await app.state.db.write(flush_last_used, rows)


WARM_AFTER_S = 1.0


async def _warm_listing(registry: Registry) -> None:
    """Build the tools/list schemas once start-up is over, off the event loop: /healthz answers without
    them (docs/benchmarks.md, cold start), and a later first tools/list finds them ready. Not at once:
    on the one core a server may have, the build would compete with the start itself."""
    await anyio.sleep(WARM_AFTER_S)
    await anyio.to_thread.run_sync(registry.listing_json)
    gc.freeze()  # like what start-up built: long-lived, kept out of full collections


def create_app(
    db_path: Path | str, *, registry: Registry = REGISTRY, settings: Settings | None = None
) -> Server:
    """The whole server for the database at `db_path`, serving the tools of `registry`."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        migrating = connect(db_path)
        try:
            migrate(migrating)
        finally:
            migrating.close()
        app.state.db = await Database.open(db_path)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_flush_last_used, app)
                worker = webhook_worker.start(app.state.db, tasks)
                tasks.start_soon(_warm_listing, registry)
                # What start-up built (the registry, its routes, the modules) lives as long
                # as the process; frozen, a full collection no longer walks it (13 ms -> ~0 ms), a
                # pause every request in flight would otherwise wait out.
                gc.freeze()
                yield
                if worker is not None:
                    await worker.stop()
                tasks.cancel_scope.cancel()
        finally:
            rows = app.state.last_used.take()
            if rows:
                await app.state.db.write(flush_last_used, rows)
            await app.state.db.close()
            app.state.db = None

    served = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route(mcp_http.MCP_PATH, mcp_http.AnyMethod()),  # the endpoint answers 405 to every other method
        *routes(registry),
    ]
    app = Server(routes=served, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
    app.router.redirect_slashes = (
        False  # the README's REST section: paths are exact, no trailing-slash redirects
    )
    app.state.settings = settings or Settings.from_env()
    app.state.limits = Limits(app.state.settings)
    app.state.registry = registry
    app.state.last_used = LastUsed()
    app.state.db = None
    if app.state.settings.oauth:
        oauth_routes.install(app)
    app.add_middleware(Gate)
    return app
