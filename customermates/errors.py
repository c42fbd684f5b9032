"""The error catalogue, shared by MCP and REST: codes, HTTP statuses, JSON-RPC codes, exception types.

    ToolError(code, message, issues, suggestions)
     ├── invalid_input    400  bad shape, type, range, enum, null, batch size, domain rule
     ├── not_found        404  unknown id, another company's id, outside the read scope
     ├── forbidden        403  the role lacks a permission, or the key is read-only
     ├── conflict         409  a uniqueness rule would break
     ├── unknown_tool     404  no such tool; `suggestions` holds the 3 closest names
     ├── rate_limited     429  the key's budget is spent
     └── internal         500  anything unexpected; carries `correlationId`, never a stack trace

MCP: a tool error becomes a result with `isError: true`, no `structuredContent` (clients check it
against the tool's success `outputSchema`), and one text item: the Error object as compact JSON.
REST: the same bytes as the body (`ToolError.to_json` makes both), with the status above (chosen
from the code alone, so both doors agree). Transport-level errors of REST
(`unauthorized`, `method_not_allowed`, `payload_too_large`, `unsupported_media_type`) use the same body,
and OpenAPI documents every status from `RESPONSES`. JSON-RPC errors (the `*_ERROR` and version codes)
answer messages that never reach a tool.

The other exceptions stay inside the server and each ends as one of the answers above:

    BodyTooLarge  -> payload_too_large (413)     ParseError -> JSON-RPC PARSE_ERROR
    BadValue      -> one Issue of invalid_input  Failed     -> the failed call's own outcome
    KeyRefused    -> stdio: INVALID_REQUEST, then exit
    Disconnected  -> no answer; one short log line
    Rehearsed     -> a dry run's success result, after its transaction rolled back
    StorageError, AccountError, CommandError -> the command line: one line on stderr, exit status 1
"""

from __future__ import annotations

from typing import Any

import msgspec

STATUS = {
    "invalid_input": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_tool": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
}

# HTTP status -> (OpenAPI response name, when it happens); its codes are those STATUS maps to it.
RESPONSES = {
    400: ("BadRequest", "The request is malformed or breaks a rule; `issues` says where."),
    401: ("Unauthorized", "Missing, unknown or revoked API key."),
    403: ("Forbidden", "The role lacks a permission, the key is read-only, or the Origin is refused."),
    404: ("NotFound", "No such route, record or tool."),
    405: ("MethodNotAllowed", "The method is not defined for this path; see `Allow`."),
    409: ("Conflict", "The request collides with current state (e.g. a label already used)."),
    413: ("PayloadTooLarge", "The body is over 2 MB."),
    415: ("UnsupportedMediaType", "The body was not sent as application/json."),
    429: ("RateLimited", "The key's request budget is spent; see `Retry-After`."),
    500: ("Internal", "Unexpected server error; `correlationId` identifies it in the log."),
}

# JSON-RPC 2.0 error codes, and the MCP ones for a protocol version the request cannot use.
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)
HEADER_MISMATCH, UNSUPPORTED_VERSION = -32020, -32022

MAX_ISSUES = 50
_encode = msgspec.json.Encoder().encode

# Where record ids come from: the one wording of the hint every id error carries.
ID_SOURCES = "filter_entity / search_all_entities (users: list_users)"
ID_HINT = f"Ids come from {ID_SOURCES}; never invent one or pass a name."


def codes_of(status: int) -> list[str]:
    """The error codes answered with `status`, in catalogue order."""
    return [code for code, answered in STATUS.items() if answered == status]


class Issue(msgspec.Struct):
    path: str
    message: str
    hint: str = ""


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    issues: list[Issue]
    suggestions: list[str] | None = None
    correlationId: str | None = None


class Error(msgspec.Struct):
    """The error object every failing call returns, on MCP and REST alike."""

    error: ErrorBody


class ToolError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        issues: list[Issue] | None = None,
        suggestions: list[str] | None = None,
        correlation_id: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.issues = (issues or [])[:MAX_ISSUES]
        self.suggestions = suggestions
        self.correlation_id = correlation_id

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def to_struct(self) -> Error:
        return Error(ErrorBody(self.code, self.message, self.issues, self.suggestions, self.correlation_id))

    def to_json(self) -> bytes:
        """The Error object as compact JSON: the REST body and the MCP error text, byte for byte."""
        try:
            return _encode(self.to_struct())
        except UnicodeEncodeError:  # a lone surrogate echoed from the arguments becomes U+FFFD
            from customermates.mcp.jsontext import dumps  # here: jsontext imports this module

            return dumps(self.to_struct())


def invalid(issues: list[Issue], subject: str = "the arguments", writes: bool = True) -> ToolError:
    """An `invalid_input` error listing every issue; mutations say nothing was written."""
    count = len(issues)
    noun = "problem" if count == 1 else "problems"
    tail = "; nothing was written." if writes else "."
    return ToolError("invalid_input", f"{count} {noun} in {subject}{tail}", issues)


def not_found(what: list[tuple[str, str, str]], lister: str) -> ToolError:
    """`what` holds (path, type, id) for every missing id."""
    issues = [
        Issue(path, f"no {kind} with id {ident} exists in your company", f"Ids come from {lister}.")
        for path, kind, ident in what
    ]
    names = ", ".join(f"{kind} {ident}" for _, kind, ident in what[:5])
    more = f" and {len(what) - 5} more" if len(what) > 5 else ""
    return ToolError("not_found", f"Not found: {names}{more}. Ids come from {lister}.", issues)


def forbidden(missing: list[str], role: str) -> ToolError:
    perms = " or ".join(missing)
    return ToolError(
        "forbidden",
        f"Your role '{role}' lacks the permission {perms}; an admin can grant it to your role.",
    )


# ---- exceptions that stay inside the server ------------------------------------------------------


class BodyTooLarge(Exception):
    """The request body is over the limit; answered as `payload_too_large`."""


class Disconnected(Exception):
    """The client went away before its body arrived: nobody is left to answer, so nothing is logged
    beyond one line (the Gate's), whichever door it came through."""


class ParseError(ValueError):
    """The bytes are not one JSON text."""


class BadValue(Exception):
    """One value that cannot be read; becomes one issue at the value's path."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


class Failed(Exception):
    """A tool call made while adapting a result failed; its outcome is the answer."""

    def __init__(self, outcome: Any):
        super().__init__(outcome.structured)
        self.outcome = outcome


class KeyRefused(Exception):
    """The key failed its per-request check; carries the JSON-RPC error to send before exiting."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(answer["error"]["message"])
        self.answer = answer


class StorageError(Exception):
    """The database cannot be used (engine too old, bad migration); the message says why."""


class AccountError(Exception):
    """A refused account change; the message says what was wrong and how to fix it."""


class CommandError(Exception):
    """A failed command-line action: printed as one line on stderr, exit status 1."""


class Rehearsed(Exception):
    """A dry run finished: raised out of the transaction so that it rolls back; carries the result."""

    def __init__(self, result: dict[str, Any]):
        super().__init__("dry run")
        self.result = result
