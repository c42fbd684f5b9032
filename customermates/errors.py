"""The error catalogue, shared by MCP and REST.

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
(`unauthorized`, `method_not_allowed`, `payload_too_large`, `unsupported_media_type`) use the same body.
"""

from __future__ import annotations

import msgspec

from customermates.mcp.jsontext import dumps

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

MAX_ISSUES = 50


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
    """The error object every failing call returns (TOOLS.md §1.3, REST.md §3.1)."""

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
        # A lone surrogate echoed from the arguments becomes U+FFFD, so the bytes stay valid UTF-8.
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
        Issue(path, f"no {kind} with id {ident} exists in your company", f"Use ids returned by {lister}.")
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
