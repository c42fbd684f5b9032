"""HTTP plumbing shared by the MCP endpoint and the REST routes: bodies, JSON replies, error bodies."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from customermates.config import MAX_BODY_BYTES
from customermates.errors import BodyTooLarge, Disconnected, ToolError

_encode = msgspec.json.Encoder().encode
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


_ORIGINS: dict[tuple, str] = {}
_HEADERS = "customermates.headers"


def header_map(scope) -> dict[str, str]:
    """The request's headers by (lower-case) name, the first of repeated ones: what Starlette's
    `Headers.get` answers, built once per request instead of a list scan per look-up."""
    found = scope.get(_HEADERS)
    if found is None:
        found = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key not in found:
                found[key] = value.decode("latin-1")
        scope[_HEADERS] = found
    return found


def origin_of(request: Request) -> str:
    """CUSTOMERMATES_PUBLIC_URL, else `str(request.base_url)` without its trailing slash (built once per
    distinct set of its inputs): the origin links and OAuth documents name, as the client reaches us."""
    public = request.app.state.settings.public_url
    if public:
        return public
    scope = request.scope
    key = (
        scope.get("scheme"),
        tuple(scope.get("server") or ()),  # a list under some servers and test clients
        scope.get("root_path"),
        scope.get("app_root_path"),
        header_map(scope).get("host"),
    )
    origin = _ORIGINS.get(key)
    if origin is None:
        origin = str(request.base_url).rstrip("/")
        if len(_ORIGINS) >= 256:  # Host is the client's to choose: keep the memo small
            _ORIGINS.clear()
        _ORIGINS[key] = origin
    return origin


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(data), status, headers, media_type="application/json")


def error_response(code: str, message: str, headers: dict[str, str] | None = None, issues=None) -> Response:
    return tool_error_response(ToolError(code, message, issues), headers)


def tool_error_response(err: ToolError, headers: dict[str, str] | None = None) -> Response:
    return Response(err.to_json(), err.status, headers, media_type="application/json")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refusing more than `limit` bytes before reading (Content-Length) or while reading."""
    declared = header_map(request.scope).get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    known = getattr(request, "_body", None)
    if known is not None:  # read before (Starlette keeps it there)
        if len(known) > limit:
            raise BodyTooLarge
        return known
    # ASGI messages read directly, as `Request.stream` would, without its async generator per request
    chunks, size = [], 0
    receive = request.receive
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.disconnect":
            raise Disconnected
        if kind != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    request._stream_consumed = True  # what `Request.stream` records: the body cannot be read twice
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body
    return body


def too_large() -> Response:
    return error_response(
        "payload_too_large",
        f"The request body is over the limit of {MAX_BODY_BYTES:,} bytes (2 MB); send smaller batches.",
    )
