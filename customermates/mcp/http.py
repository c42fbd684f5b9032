"""Streamable HTTP transport at `POST /api/v1/mcp` (docs/protocol.md).

The Gate middleware (app.py) has already answered 403 (Origin) and 401 (API key). Then, in order:
body size (413), method (405 / DELETE 404), URL options (400), session id (404, handshake era only),
JSON (-32700), `MCP-Protocol-Version` (-32022), then per era: handshake (batch rules, JSON-RPC shape
-32600, envelope without its header -32020, dispatch, always 200) or 2026-07-28 (`_modern`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from customermates.auth import UNAUTHORIZED, Caller, Principal
from customermates.errors import Issue
from customermates.httpio import BodyTooLarge, error_response, header_map, origin_of, read_body, too_large
from customermates.mcp import batches, jsontext, modern
from customermates.mcp import dispatch as rpc
from customermates.nearest import closest
from customermates.registry import TOOLSETS

MCP_PATH = "/api/v1/mcp"
BATCH_VERSION = "2025-03-26"  # the only handshake revision with JSON-RPC batches
ENVELOPE_REFUSED = (
    "params._meta carries a protocol version (the 2026-07-28 envelope): send the matching"
    " MCP-Protocol-Version header, Mcp-Method and (for a named method) Mcp-Name with it."
)
NO_SESSION = (
    "Unknown Mcp-Session-Id: this server issues no sessions. Send requests without the header"
    " (initialize again if your client insists)."
)


_SSE: dict[str, bool] = {}


def _wants_sse(accept: str) -> bool:
    """True when `Accept` lists text/event-stream and nothing that admits application/json."""
    known = _SSE.get(accept)
    if known is None:
        types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
        known = "text/event-stream" in types and not types & {"application/json", "application/*", "*/*"}
        if len(_SSE) >= 256:  # the client's text: keep the memo small
            _SSE.clear()
        _SSE[accept] = known
    return known


def _reply(payload: Any, status: int, request: Request) -> Response:
    body = jsontext.dumps(payload)
    # Only successes may be SSE: the SDK client reads a 4xx body only when it is application/json.
    if status == 200 and _wants_sse(header_map(request.scope).get("accept", "")):
        return Response(b"event: message\ndata: " + body + b"\n\n", 200, media_type="text/event-stream")
    return Response(body, status, media_type="application/json")


def _rpc_error(request: Request, status: int, ident: Any, code: int, message: str, data: Any = None):
    return _reply(rpc.error(ident, code, message, data), status, request)


def _bad_option(name: str, message: str, hint: str) -> Response:
    return error_response("invalid_input", f"{message} {hint}", issues=[Issue(name, message, hint)])


def _url_options(request: Request) -> tuple[frozenset[str] | None, bool, bool] | Response:
    """`toolsets`, `readonly` and `dryrun` query parameters, or a 400 naming the valid values."""
    if not request.scope.get("query_string"):
        return None, False, False  # the defaults, without parsing an empty query
    misspelled = _misspelled_option(request.query_params.keys())
    if misspelled is not None:
        return misspelled
    toolsets = None
    given = request.query_params.getlist("toolsets")
    if given:
        names = [n.strip() for raw in given for n in raw.split(",") if n.strip()]
        unknown = [n for n in names if n not in TOOLSETS]
        if unknown or not names:
            what = f"Unknown toolset {', '.join(map(repr, unknown))}." if unknown else "No toolset named."
            return _bad_option("toolsets", what, f"Use a comma list of: {', '.join(TOOLSETS)}.")
        toolsets = frozenset(names)
    readonly = request.query_params.get("readonly", "0")
    if readonly not in ("0", "1"):
        return _bad_option(
            "readonly", f"readonly={readonly!r} is not allowed.", "Use readonly=1 or readonly=0."
        )
    dryrun = request.query_params.get("dryrun", "0")
    if dryrun not in ("0", "1"):
        return _bad_option("dryrun", f"dryrun={dryrun!r} is not allowed.", "Use dryrun=1 or dryrun=0.")
    return toolsets, readonly == "1", dryrun == "1"


URL_OPTIONS = ("toolsets", "readonly", "dryrun")


def _misspelled_option(keys) -> Response | None:
    """A query parameter one slip away from ours (`dry_run`, `read-only`, `toolset`) is refused: ignoring
    it would silently commit what the caller meant to rehearse. Other unknown parameters are ignored,
    since proxies and clients add their own (docs/protocol.md)."""
    for key in keys:
        if key in URL_OPTIONS:
            continue
        near = closest(key, URL_OPTIONS, within=2)
        if near:
            message = f"Unknown query parameter {key!r}."
            return _bad_option(
                key, message, f"Did you mean {near[0]}? This URL takes {', '.join(URL_OPTIONS)}."
            )
    return None


async def endpoint(request: Request) -> Response:
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        return too_large()
    # A 2026-07-28 (or unsupported) header means the stateless rules: no session is ever looked at.
    headers = header_map(request.scope)
    handshake = headers.get("mcp-protocol-version", rpc.HANDSHAKE_VERSIONS[0]) in rpc.HANDSHAKE_VERSIONS
    session = headers.get("mcp-session-id") if handshake else None
    if request.method == "DELETE" and session:
        # No session is ever issued: any id named is unknown, and without one there is nothing to end.
        return Response(status_code=404)
    if request.method != "POST":  # every other method, so that `Allow` is the same for all of them
        return error_response(
            "method_not_allowed",
            f"{request.method} is not defined for {MCP_PATH}; use POST.",
            {"Allow": "POST"},
        )
    options = _url_options(request)
    if isinstance(options, Response):
        return options
    if session:
        return _rpc_error(request, 404, None, rpc.INVALID_REQUEST, NO_SESSION)
    try:
        message = jsontext.fast_loads(raw)  # `loads_off_loop`'s first step, without its coroutine
    except jsontext.REFUSED_BY_MSGSPEC:
        try:
            message = await jsontext.loads_off_loop(raw)
        except jsontext.ParseError:
            return _rpc_error(request, 400, None, rpc.PARSE_ERROR, "Parse error: the body is not valid JSON")
    return await _classified(request, message, options)


async def _classified(
    request: Request, message: Any, options: tuple[frozenset[str] | None, bool, bool]
) -> Response:
    """Apply the version table, then the batch or single-message rules."""
    header = header_map(request.scope).get("mcp-protocol-version")
    if header is not None and header not in rpc.SUPPORTED_VERSIONS:
        data = {"supported": rpc.SUPPORTED_VERSIONS, "requested": header}
        return _rpc_error(
            request, 400, _id(message), rpc.UNSUPPORTED_VERSION, "Unsupported protocol version", data
        )
    state = request.scope["state"]  # what `request.state` wraps (the Gate set both keys)
    caller: Caller = state["caller"]
    who: Principal | Caller = caller  # a tool call authenticates in its own transaction
    if not _is_tool_call(message):
        principal = request.app.state.db.read_now(caller.verify)
        if principal is None:
            return error_response("unauthorized", UNAUTHORIZED)  # the Gate sends its full 401
        who = principal
    ctx = rpc.Context(
        who,
        request.app.state.db,
        request.app.state.registry,
        origin=origin_of(request),
        toolsets=options[0],
        read_only_url=options[1],
        dry_run=options[2],
        version=header
        or BATCH_VERSION,  # docs/protocol.md: without the header a request counts as 2025-03-26
        correlation_id=state["request_id"],
    )
    if header == modern.MODERN:
        return await _modern(request, message, ctx)
    if isinstance(message, list):
        return await _batch(message, ctx, request)
    refusal = _refusal(message)
    if refusal is not None:
        return _reply(refusal, 400, request)
    answer = await rpc.dispatch(message, ctx)
    return Response(status_code=202) if answer is None else _reply(answer, 200, request)


async def _modern(request: Request, message: Any, ctx: rpc.Context) -> Response:
    """2026-07-28: notification, shape, duplicated header, envelope, header = body, then dispatch."""
    if isinstance(message, dict) and "id" not in message and isinstance(message.get("method"), str):
        return Response(status_code=202)  # notifications are dropped (cancellation is a closed connection)
    if isinstance(message, list) or rpc.malformed(message) or "method" not in message:
        text = "Invalid Request: send one JSON-RPC 2.0 request per POST (no batches or responses)"
        return _rpc_error(request, 400, None, rpc.INVALID_REQUEST, text)
    ident = message["id"]
    duplicated = modern.duplicated_header(request.headers)
    if duplicated:
        return _rpc_error(request, 400, ident, rpc.HEADER_MISMATCH, f"The {duplicated} header was sent twice")
    problem = modern.incomplete(message)
    if problem:
        return _rpc_error(request, 400, ident, rpc.INVALID_PARAMS, problem)
    problem = modern.header_mismatch(request.headers, message)
    if problem:
        return _rpc_error(request, 400, ident, rpc.HEADER_MISMATCH, problem)
    answer = await rpc.dispatch(message, ctx)
    return _reply(answer, modern.status(answer), request)


def _is_tool_call(message: Any) -> bool:
    return isinstance(message, dict) and message.get("method") == "tools/call"


def _refusal(message: Any) -> dict[str, Any] | None:
    """The JSON-RPC error for a message that must not be dispatched, else None."""
    if rpc.malformed(message):
        return rpc.error(None, rpc.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
    if modern.has_envelope(message):
        return rpc.error(message.get("id"), rpc.HEADER_MISMATCH, ENVELOPE_REFUSED)
    return None


async def _batch(messages: list, ctx: rpc.Context, request: Request) -> Response:
    refused = batches.refusal(messages)
    if ctx.version != BATCH_VERSION:
        refused = f"Batches are allowed only at protocol {BATCH_VERSION}; send one message per POST"
    if refused:
        return _rpc_error(request, 400, None, rpc.INVALID_REQUEST, refused)
    answers = []
    for message in messages:
        answer = _refusal(message) or _initialize_in_batch(message) or await rpc.dispatch(message, ctx)
        if answer is not None:
            answers.append(answer)
    return _reply(answers, 200, request) if answers else Response(status_code=202)


def _initialize_in_batch(message: dict) -> dict[str, Any] | None:
    # 2025-03-26: "the initialize request MUST NOT be part of a JSON-RPC batch".
    if message.get("method") == "initialize" and "id" in message:
        return rpc.error(message["id"], rpc.INVALID_REQUEST, "initialize must be sent alone, not in a batch")
    return None


def _id(message: Any) -> Any:
    ident = message.get("id") if isinstance(message, dict) else None
    return ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None


async def asgi(scope, receive, send) -> None:
    """The endpoint as a plain ASGI app, for every method (Starlette's own 405 would list other methods)."""
    response = await endpoint(Request(scope, receive))
    await response(scope, receive, send)


class AnyMethod:
    """`asgi` as a route endpoint (Starlette would wrap a plain function as a request handler)."""

    async def __call__(self, scope, receive, send) -> None:
        await asgi(scope, receive, send)
