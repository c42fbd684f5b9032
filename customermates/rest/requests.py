"""Request -> tool arguments: body, path id and query parameters; issue paths as the caller sent them."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from msgspec import inspect as mi
from starlette.requests import Request

from customermates.errors import ID_HINT, Issue, ParseError, ToolError, invalid
from customermates.httpio import read_body
from customermates.mcp.jsontext import loads_off_loop
from customermates.nearest import closest
from customermates.rest.plan import Plan, bare
from customermates.rest.route import Route
from customermates.validation import check, is_uuid, json_type


async def json_object(request: Request, writes: bool = True) -> dict[str, Any]:
    """The body as a JSON object; empty means `{}`. Raises BodyTooLarge or ToolError (415, 400)."""
    raw = await read_body(request)
    if not raw:
        return {}
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ToolError(
            "unsupported_media_type",
            f"The body was sent as {media or 'no Content-Type'}; send it as Content-Type: application/json.",
        )
    try:
        value = await loads_off_loop(raw)
    except ParseError as exc:
        issue = Issue("$", f"the body is not valid JSON: {exc}", "Send one JSON object, UTF-8 encoded.")
        raise invalid([issue], "the request body", writes) from None
    if not isinstance(value, dict):
        issue = Issue("$", f"expected an object, got {json_type(value)}", "Send a JSON object, e.g. {}.")
        raise invalid([issue], "the request body", writes)
    return value


def _query_value(name: str, raw: str, field: mi.Field) -> tuple[Any, list[Issue]]:
    """Decimal integers and `true`/`false` become numbers and booleans; anything else stays text."""
    kind = bare(field.type)
    where = f"query.{name}"
    if isinstance(kind, mi.IntType):
        if re.fullmatch(r"[+-]?[0-9]{1,19}", raw):
            return int(raw), []
        return None, [Issue(where, f'"{raw}" is not a whole number', f"Send decimal digits, e.g. {name}=1.")]
    if isinstance(kind, mi.BoolType):
        if raw in ("true", "false"):
            return raw == "true", []
        return None, [Issue(where, f'"{raw}" is not a boolean', f"Send {name}=true or {name}=false.")]
    return raw, []


def query_arguments(
    request: Request, declared: tuple[str, ...] = (), fields: dict[str, mi.Field] | None = None
) -> tuple[dict[str, Any], list[Issue]]:
    """Declared query parameters as input fields (typed by `fields`); unknown or repeated ones are issues."""
    counts = Counter(k for k, _ in request.query_params.multi_items())
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for name, count in counts.items():
        if name not in declared:
            guess = closest(name, declared)
            known = f"Known parameters: {', '.join(declared)}." if declared else "This route takes none."
            hint = f"Did you mean `{guess[0]}`? {known}" if guess else known
            issues.append(Issue(f"query.{name}", f"unknown query parameter '{name}'", hint))
        elif count > 1:
            issues.append(Issue(f"query.{name}", f"given {count} times", "Send each parameter once."))
        else:
            value, problems = _query_value(name, request.query_params[name], (fields or {})[name])
            issues += problems
            if not problems:
                values[name] = value
    return values, issues


def refuse_query(request: Request) -> None:
    """Routes that declare no query parameters refuse any (the README's REST section)."""
    _, issues = query_arguments(request)
    if issues:
        raise invalid(issues, "the request", writes=False)


def path_issues(params: dict[str, str]) -> list[Issue]:
    bad = [(k, v) for k, v in params.items() if k == "id" and not is_uuid(v)]
    return [Issue(f"path.{k}", f'"{v}" is not a valid id (a UUID)', ID_HINT) for k, v in bad]


def body_issues(p: Plan, body: dict[str, Any]) -> list[Issue]:
    """Fields the route sets itself are unknown in the body (e.g. `id` of `PUT …/{id}`)."""
    return [
        Issue(f"$.{key}", f"unknown field '{key}'", f"Leave `{key}` out of the body: {why}.")
        for key, why in p.route.fed.items()
        if key in body
    ]


def arguments(p: Plan, body: dict[str, Any], path_id: str | None, query: dict[str, Any]) -> dict[str, Any]:
    """body + query + fixed + path id, wrapped as `{wrap: [item]}` when the route takes one item."""
    item = {**body, **query, **dict(p.route.fixed)}
    if p.route.path_field and path_id is not None:
        item[p.route.path_field] = [path_id] if p.path_is_list else path_id
    return {p.route.wrap: [item]} if p.route.wrap else item


def _moved(path: str, prefix: str, replacement: str, keep_rest: bool = True) -> str | None:
    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
        return replacement + (path[len(prefix) :] if keep_rest else "")
    return None


def rewrite_path(path: str, route: Route) -> str:
    """An issue path of the tool input, as the REST caller sent it (the README's REST section)."""
    if route.wrap:
        path = _moved(path, f"$.{route.wrap}[0]", "$") or _moved(path, f"$.{route.wrap}", "$") or path
    if route.path_field:
        path = _moved(path, f"$.{route.path_field}", "path.id", keep_rest=False) or path
    for name in route.query:
        path = _moved(path, f"$.{name}", f"query.{name}") or path
    return path


_JSON_PATH = re.compile(r"\$(?:\.[A-Za-z_]\w*|\[\d+\])*")


def rewrite_text(text: str, route: Route) -> str:
    """Paths quoted inside messages and hints (e.g. the null guard's) follow the same rewrite."""
    return _JSON_PATH.sub(lambda m: rewrite_path(m[0], route), text)


def rewrite_error(structured: dict[str, Any], route: Route) -> dict[str, Any]:
    body = structured["error"]
    issues = [
        {
            **i,
            "path": rewrite_path(i["path"], route),
            "message": rewrite_text(i["message"], route),
            "hint": rewrite_text(i["hint"], route),
        }
        for i in body.get("issues", [])
    ]
    return {"error": {**body, "message": rewrite_text(body["message"], route), "issues": issues}}


def shape_issues(p: Plan, args: dict[str, Any]) -> list[Issue]:
    """The tool's own validation issues, so a refused request lists every problem at once."""
    try:
        check(args, p.tool.input, writes=not p.tool.read_only)
    except ToolError as exc:
        b = p.route
        return [
            Issue(rewrite_path(i.path, b), rewrite_text(i.message, b), rewrite_text(i.hint, b))
            for i in exc.issues
        ]
    return []
