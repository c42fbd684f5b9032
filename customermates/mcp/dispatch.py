"""The JSON-RPC dispatcher shared by HTTP and stdio.

Every request is classified on its own (docs/protocol.md); nothing remembered between requests
decides how one is handled. The transports move bytes; `Context.version` says which era's rules a
request follows: a handshake revision, or 2026-07-28 (served methods, stamped results: `modern`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from customermates import __version__, rehearsal
from customermates.auth import Caller, Principal
from customermates.errors import (  # noqa: F401  the JSON-RPC codes, re-exported for the transports
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
)
from customermates.mcp import modern, resources
from customermates.onboarding import INSTRUCTIONS
from customermates.registry import Registry

log = logging.getLogger("customermates.mcp")

HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
LATEST_HANDSHAKE = "2025-11-25"
# Versions this build serves, newest first; listing the handshake ones lets an `auto` client fall back.
SUPPORTED_VERSIONS = [modern.MODERN, *HANDSHAKE_VERSIONS]


SERVER_INFO = {"name": "customermates", "version": __version__, "title": "Customermates"}
CAPABILITIES = {
    "tools": {"listChanged": False},
    "prompts": {"listChanged": False},
    "resources": {"subscribe": False, "listChanged": False},
}


@dataclass
class Context:
    """Everything a request needs beyond its body: the caller and what this URL serves."""

    principal: Principal | Caller  # a Caller only for tools/call, verified in the tool's transaction
    db: Any
    registry: Registry
    origin: str | None = None
    toolsets: frozenset[str] | None = None
    read_only_url: bool = False
    dry_run: bool = False  # a rehearsal connection: every write is rolled back (rehearsal.py)
    version: str = "2025-03-26"
    correlation_id: str | None = None  # names an unexpected failure; HTTP passes its X-Request-Id
    extra: dict[str, Any] = field(default_factory=dict)


def error(ident: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": ident, "error": body}


def result(ident: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": value}


def is_request(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
    )


def malformed(message: Any) -> bool:
    """True when the object is not a JSON-RPC 2.0 request, notification or response."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return True
    if "method" in message:
        ident = message.get("id", 0)
        params = message.get("params", {})
        return (
            not isinstance(message["method"], str)
            or not isinstance(ident, str | int)
            or isinstance(ident, bool)
            or not isinstance(params, dict | list)
        )
    return "result" not in message and "error" not in message


async def dispatch(message: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """Answer one request; notifications and responses get None (nothing to send)."""
    if "id" not in message or "method" not in message:
        return None
    ident, method = message["id"], message["method"]
    params = message.get("params") or {}
    at_modern = ctx.version == modern.MODERN
    served = method in modern.SERVED if at_modern else method != "server/discover"
    handler = METHODS.get(method) if served else None
    if handler is None:
        return error(ident, METHOD_NOT_FOUND, _not_found(method, at_modern))
    if not isinstance(params, dict):
        return error(ident, INVALID_PARAMS, "params must be an object")
    try:
        answer = await handler(ident, params, ctx)
    except Exception:
        log.exception("MCP method %s failed", method)
        return error(ident, INTERNAL_ERROR, "Internal error")
    if at_modern and "result" in answer:
        answer["result"] = modern.stamp(method, answer["result"], SERVER_INFO)
    return answer


def _not_found(method: str, at_modern: bool) -> str:
    if at_modern and method in METHODS:
        return f"Method not found: {method} is not part of protocol {modern.MODERN}"
    if method == "server/discover":
        return "Method not found: server/discover needs MCP-Protocol-Version 2026-07-28 (or use initialize)"
    return f"Method not found: {method}"


def _instructions(ctx: Context) -> str:
    """The server's instructions; a rehearsal connection says so."""
    return INSTRUCTIONS + (rehearsal.INSTRUCTIONS if ctx.dry_run else "")


async def initialize(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    requested = params.get("protocolVersion")
    version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE
    return result(
        ident,
        {
            "protocolVersion": version,
            "capabilities": CAPABILITIES,
            "serverInfo": SERVER_INFO,
            "instructions": _instructions(ctx),
        },
    )


async def ping(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {})


async def tools_list(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    read_only = ctx.read_only_url or (isinstance(ctx.principal, Principal) and ctx.principal.read_only)
    return result(ident, {"tools": ctx.registry.listing_json(ctx.toolsets, read_only)})


async def tools_call(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str):
        return error(ident, INVALID_PARAMS, "tools/call needs params.name, the tool's name from tools/list")
    arguments = params.get("arguments", {})
    outcome = await ctx.registry.invoke(
        ctx.db,
        name,
        arguments,
        ctx.principal,
        origin=ctx.origin,
        toolsets=ctx.toolsets,
        read_only_url=ctx.read_only_url,
        correlation_id=ctx.correlation_id,
        dry_run=ctx.dry_run,
    )
    content = [{"type": "text", "text": outcome.text}]
    if outcome.is_error:
        # No structuredContent: clients check it against the success outputSchema and would hide
        # the error; the text is the REST error body, byte for byte.
        return result(ident, {"content": content, "isError": True})
    return result(ident, {"content": content, "structuredContent": outcome.structured, "isError": False})


async def prompts_list(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {"prompts": [resources.PROMPT]})


async def prompts_get(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    try:
        return result(ident, resources.prompt_messages(params.get("name")))
    except resources.UnknownName as unknown:
        return error(ident, INVALID_PARAMS, str(unknown))


async def resources_list(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {"resources": resources.RESOURCES})


async def resources_read(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    # Only tools/call defers verification to its own transaction; this method gets a verified one.
    assert isinstance(ctx.principal, Principal)
    try:
        return result(ident, await resources.read(params.get("uri"), ctx.principal, ctx.db, ctx.registry))
    except resources.UnknownName as unknown:
        return error(ident, INVALID_PARAMS, str(unknown))


async def resource_templates(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {"resourceTemplates": []})


async def discover(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(
        ident,
        {
            "supportedVersions": SUPPORTED_VERSIONS,
            "capabilities": CAPABILITIES,
            "instructions": _instructions(ctx),
        },
    )


METHODS = {
    "initialize": initialize,
    "ping": ping,
    "tools/list": tools_list,
    "tools/call": tools_call,
    "prompts/list": prompts_list,
    "prompts/get": prompts_get,
    "resources/list": resources_list,
    "resources/read": resources_read,
    "resources/templates/list": resource_templates,
    "server/discover": discover,
}
