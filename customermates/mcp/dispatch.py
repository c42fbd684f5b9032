"""The JSON-RPC dispatcher shared by HTTP and stdio.

Every request is classified on its own (PROTOCOL.md "Versions"); nothing remembered between
requests decides how one is handled. The transports move bytes and map the `Reply` to their wire.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from customermates import __version__
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
from customermates.onboarding import INSTRUCTIONS, SETUP_PROMPT
from customermates.registry import Registry

log = logging.getLogger("customermates.mcp")

HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
LATEST_HANDSHAKE = "2025-11-25"
# Versions this build serves, newest first (README decision 12: only what is served is published).
SUPPORTED_VERSIONS = list(HANDSHAKE_VERSIONS)
ENVELOPE_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"


SERVER_INFO = {"name": "customermates", "version": __version__, "title": "Customermates"}
CAPABILITIES = {"tools": {"listChanged": False}, "prompts": {"listChanged": False}}
PROMPT = {
    "name": "setup",
    "title": "Set up the CRM assistant",
    "description": "The first message to paste: how to use this CRM's tools safely.",
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
    handler = METHODS.get(method)
    if handler is None:
        return error(ident, METHOD_NOT_FOUND, f"Method not found: {method}")
    if not isinstance(params, dict):
        return error(ident, INVALID_PARAMS, "params must be an object")
    try:
        return await handler(ident, params, ctx)
    except Exception:
        log.exception("MCP method %s failed", method)
        return error(ident, INTERNAL_ERROR, "Internal error")


async def initialize(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    requested = params.get("protocolVersion")
    version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE
    return result(
        ident,
        {
            "protocolVersion": version,
            "capabilities": CAPABILITIES,
            "serverInfo": SERVER_INFO,
            "instructions": INSTRUCTIONS,
        },
    )


async def ping(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {})


async def tools_list(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    read_only = ctx.read_only_url or ctx.principal.read_only
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
    )
    return result(
        ident,
        {
            "content": [{"type": "text", "text": outcome.text}],
            "structuredContent": outcome.structured,
            "isError": outcome.is_error,
        },
    )


async def prompts_list(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return result(ident, {"prompts": [PROMPT]})


async def prompts_get(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    name = params.get("name")
    if name != "setup":
        # Only a string is echoed: the repr of a hostile nested value could itself fail.
        shown = repr(name[:100]) if isinstance(name, str) else "(params.name must be a string)"
        return error(ident, INVALID_PARAMS, f"Unknown prompt {shown}; prompts/list has 'setup'.")
    message = {"role": "user", "content": {"type": "text", "text": SETUP_PROMPT}}
    return result(ident, {"description": PROMPT["description"], "messages": [message]})


async def discover(ident: Any, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    # The 2026-07-28 revision is not served yet: answer at once so `auto` clients fall back.
    return error(ident, METHOD_NOT_FOUND, "Method not found: server/discover (use initialize)")


METHODS = {
    "initialize": initialize,
    "ping": ping,
    "tools/list": tools_list,
    "tools/call": tools_call,
    "prompts/list": prompts_list,
    "prompts/get": prompts_get,
    "server/discover": discover,
}
