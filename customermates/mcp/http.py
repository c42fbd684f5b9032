"""Streamable HTTP transport at `POST /api/v1/mcp` (PROTOCOL.md "HTTP behaviour")."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from customermates.errors import Issue
from customermates.mcp import dispatch as rpc
from customermates.registry import TOOLSETS
from customermates.web import BodyTooLarge, error_response, read_body, too_large

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _reply(payload: Any, status: int, request: Request) -> Response:
    body = _encode(payload)
    accept = request.headers.get("accept", "")
    if (
        status == 200
        and "text/event-stream" in accept
        and "application/json" not in accept
        and "*/*" not in accept
    ):
        return Response(b"event: message\ndata: " + body + b"\n\n", 200, media_type="text/event-stream")
    return Response(body, status, media_type="application/json")


def _url_options(request: Request) -> tuple[frozenset[str] | None, bool] | Response:
    """`toolsets` and `readonly` query parameters, or a 400 naming the valid values."""
    toolsets = None
    raw = request.query_params.get("toolsets")
    if raw is not None:
        names = [n.strip() for n in raw.split(",") if n.strip()]
        unknown = [n for n in names if n not in TOOLSETS]
        if unknown or not names:
            valid = ", ".join(TOOLSETS)
            return error_response(
                "invalid_input",
                f"Unknown toolset {', '.join(unknown) or '(empty)'}; valid: {valid}.",
                issues=[Issue("toolsets", "unknown toolset", f"Use a comma list of: {valid}.")],
            )
        toolsets = frozenset(names)
    readonly = request.query_params.get("readonly", "0")
    if readonly not in ("0", "1"):
        return error_response(
            "invalid_input",
            "readonly must be 1 or 0.",
            issues=[Issue("readonly", f"{readonly!r} is not allowed", "Use readonly=1 or readonly=0.")],
        )
    return toolsets, readonly == "1"


async def endpoint(request: Request) -> Response:
    if request.method == "GET":
        return Response(status_code=405, headers={"Allow": "POST"})
    if request.method == "DELETE":
        # This server keeps no sessions, so any session id a client names is unknown.
        return Response(status_code=404 if request.headers.get("mcp-session-id") else 400)
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        return too_large()
    options = _url_options(request)
    if isinstance(options, Response):
        return options
    if request.headers.get("mcp-session-id"):
        return Response(status_code=404)
    try:
        message = _decode(raw)
    except msgspec.DecodeError:
        return _reply(
            rpc.error(None, rpc.PARSE_ERROR, "Parse error: the body is not valid JSON"), 400, request
        )
    header = request.headers.get("mcp-protocol-version")
    if header is not None and header not in rpc.SUPPORTED_VERSIONS:
        data = {"supported": rpc.SUPPORTED_VERSIONS, "requested": header}
        return _reply(
            rpc.error(_id(message), rpc.UNSUPPORTED_VERSION, "Unsupported protocol version", data),
            400,
            request,
        )
    ctx = rpc.Context(
        request.state.principal,
        request.app.state.db,
        request.app.state.registry,
        origin=str(request.base_url).rstrip("/"),
        toolsets=options[0],
        read_only_url=options[1],
        version=header or "2025-03-26",
    )
    if isinstance(message, list):
        return await _batch(message, ctx, request)
    if rpc.malformed(message):
        return _reply(
            rpc.error(None, rpc.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message"), 400, request
        )
    if _has_envelope(message):
        return _reply(
            rpc.error(
                message.get("id"),
                rpc.HEADER_MISMATCH,
                "The request carries a 2026-07-28 envelope without MCP-Protocol-Version: 2026-07-28",
            ),
            400,
            request,
        )
    answer = await rpc.dispatch(message, ctx)
    if answer is None:
        return Response(status_code=202)
    return _reply(answer, 200, request)


async def _batch(messages: list, ctx: rpc.Context, request: Request) -> Response:
    if ctx.version != "2025-03-26" or not messages:
        return _reply(
            rpc.error(None, rpc.INVALID_REQUEST, "Batches are allowed only at protocol 2025-03-26"),
            400,
            request,
        )
    answers = []
    for message in messages:
        if rpc.malformed(message):
            answers.append(rpc.error(None, rpc.INVALID_REQUEST, "Invalid Request"))
            continue
        answer = await rpc.dispatch(message, ctx)
        if answer is not None:
            answers.append(answer)
    return _reply(answers, 200, request) if answers else Response(status_code=202)


def _id(message: Any) -> Any:
    return message.get("id") if isinstance(message, dict) else None


def _has_envelope(message: dict) -> bool:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and rpc.ENVELOPE_VERSION_KEY in meta
