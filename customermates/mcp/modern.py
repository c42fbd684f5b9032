"""The stateless 2026-07-28 revision: request envelope, HTTP routing headers, result stamps, statuses.

Every request carries its version and client capabilities in `params._meta`; over HTTP the routing
headers repeat the version, the method and the name, and must agree with the body. Nothing is
remembered between requests. docs/protocol.md describes the order of checks.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

MODERN = "2026-07-28"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"

SERVED = frozenset(
    {
        "server/discover",
        "tools/list",
        "tools/call",
        "prompts/list",
        "prompts/get",
        "resources/list",
        "resources/read",
        "resources/templates/list",
    }
)
# Caching hints: listings change only with a release; the schema resource changes with custom columns.
TTL_MS = {
    "server/discover": 300_000,
    "tools/list": 300_000,
    "prompts/list": 300_000,
    "resources/list": 300_000,
    "resources/templates/list": 300_000,
    "resources/read": 0,
}
ROUTING_HEADERS = ("mcp-protocol-version", "mcp-method", "mcp-name")
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_SENTINEL = re.compile(r"=\?base64\?([A-Za-z0-9+/]*={0,2})\?=")
# JSON-RPC code -> HTTP status for a 2026-07-28 reply (anything else, results included: 200).
STATUS = {-32700: 400, -32600: 400, -32020: 400, -32022: 400, -32602: 400, -32601: 404}


def has_envelope(message: Any) -> bool:
    """True when `params._meta` names a protocol version: the request follows this revision's rules."""
    params = message.get("params") if isinstance(message, dict) else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and VERSION_KEY in meta


def incomplete(message: dict[str, Any]) -> str | None:
    """Why the envelope is unusable (JSON-RPC -32602), or None."""
    params = message.get("params")
    if not isinstance(params, dict):
        return "params must be an object carrying _meta (the 2026-07-28 request envelope)"
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        return "params._meta must be an object carrying the protocol version and client capabilities"
    if not isinstance(meta.get(VERSION_KEY), str):
        return f"params._meta[{VERSION_KEY!r}] must be a string, e.g. {MODERN!r}"
    if not isinstance(meta.get(CAPABILITIES_KEY), dict):
        return f"params._meta[{CAPABILITIES_KEY!r}] must be an object ({{}} when the client has none)"
    return None


def envelope_version(message: dict[str, Any]) -> str:
    return message["params"]["_meta"][VERSION_KEY]


def duplicated_header(headers) -> str | None:
    """The first routing header sent more than once."""
    return next((name for name in ROUTING_HEADERS if len(headers.getlist(name)) > 1), None)


def header_mismatch(headers, message: dict[str, Any]) -> str | None:
    """Why the routing headers disagree with the body (JSON-RPC -32020), or None."""
    method = message["method"]
    if headers.get("mcp-protocol-version") != envelope_version(message):
        return "MCP-Protocol-Version must equal params._meta's protocol version"
    if headers.get("mcp-method") != method:
        return f"the Mcp-Method header must equal the body's method {method!r}"
    key = NAMED_BY.get(method)
    expected = message["params"].get(key) if key else None
    # A missing or non-string name is the method's own -32602, not a header problem.
    if isinstance(expected, str) and _header_name(headers.get("mcp-name")) != expected:
        return f"the Mcp-Name header must equal params.{key} ({expected[:200]!r})"
    return None


def _header_name(raw: str | None) -> str | None:
    """An Mcp-Name value: trimmed, and `=?base64?…?=` decoded as UTF-8 (malformed -> None)."""
    if raw is None:
        return None
    value = raw.strip()
    wrapped = _SENTINEL.fullmatch(value)
    if wrapped is None:
        return value
    try:
        return base64.b64decode(wrapped[1], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def stamp(method: str, value: dict[str, Any], server_info: dict[str, Any]) -> dict[str, Any]:
    """A result as this revision sends it: `resultType`, the serverInfo stamp, caching hints."""
    meta = {**value.get("_meta", {}), SERVER_INFO_KEY: server_info}
    stamped = {**value, "resultType": "complete", "_meta": meta}
    if method in TTL_MS:
        stamped["ttlMs"], stamped["cacheScope"] = TTL_MS[method], "private"
    return stamped


def status(answer: dict[str, Any] | None) -> int:
    error = answer.get("error") if answer else None
    return STATUS.get(error["code"], 200) if error else 200
