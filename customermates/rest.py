"""REST routes derived from the tool registry (REST.md): bindings are data, one generic handler runs them.

    Binding(method, path, tool, operation_id, tag, adapters…)      one row of REST.md §4
      -> materialized only when its tool is registered           (README decision 12)
      -> request:  body | wrap(key) | fixed(k=v) | path(id->f) | query  ->  tool arguments
      -> Registry.invoke                                         (validation, permission, audit: the tool's)
      -> issue paths rewritten to what the caller sent           ($.contacts[0].x -> $.x, path.id, query.page)
      -> output:   as_is | records | single                      -> status, Location

`POST /api/v1/tools/{name}` serves every tool with its MCP arguments as the body, and
`GET /api/v1/openapi` serves the document `openapi.py` builds from the same registry and bindings.
Routing is done here rather than by Starlette's `Route` so that one path owns all its methods
(405 with the full `Allow` list) and a literal segment always wins over `{id}`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path, get_route_path

from customermates import openapi
from customermates.errors import Issue, ToolError, invalid
from customermates.httpio import (
    BodyTooLarge,
    error_response,
    json_response,
    read_body,
    too_large,
    tool_error_response,
)
from customermates.registry import Outcome, Registry, Tool
from customermates.validation import ID_HINT, UUID_PATTERN, check, closest, json_type

log = logging.getLogger("customermates.rest")

_decode = msgspec.json.Decoder().decode
_UUID = re.compile(UUID_PATTERN)
Endpoint = Callable[[Request], Awaitable[Response]]


# ---- bindings: REST.md §4 as data --------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """One route of REST.md §4: which tool it runs and how the request and the result are adapted.

    body      the JSON body is the tool input (or, with `wrap`, one item of it)
    wrap      the body is one item; the tool gets `{wrap: [item]}`
    fixed     constants set by the route, inside the wrapped item when wrapping
    path_field the input field fed by `{id}` (inside the item when wrapping; `[id]` when a list)
    query     declared query parameters; each feeds the input field of the same name
    output    as_is | records (refs -> full records) | single (one element -> `{item}`; none -> 404)
    location  for 201 routes: the `Location` template, filled with the created item's id
    entity    the entity type served, for `records` and `single` look-ups
    """

    method: str
    path: str
    tool: str
    operation_id: str
    tag: str
    body: bool = True
    wrap: str | None = None
    fixed: tuple[tuple[str, Any], ...] = ()
    path_field: str | None = None
    query: tuple[str, ...] = ()
    output: str = "as_is"
    status: int = 200
    location: str | None = None
    entity: str | None = None

    @property
    def fed(self) -> dict[str, str]:
        """Item fields the route sets itself, each with why (a body may not send them)."""
        out = {key: f"the route {self.path} sets it to {value!r}" for key, value in self.fixed}
        if self.path_field:
            out[self.path_field] = f"it comes from the path ({self.path})"
        return out


ENTITIES = (
    ("contact", "contacts", "Contacts"),
    ("organization", "organizations", "Organizations"),
    ("deal", "deals", "Deals"),
    ("service", "services", "Services"),
    ("task", "tasks", "Tasks"),
)
COLUMN_SLUGS = (
    "plain",
    "date",
    "datetime",
    "date-range",
    "datetime-range",
    "currency",
    "single-select",
    "link",
    "email",
    "phone",
)
LIST_QUERY = ("searchTerm", "page", "pageSize")


def entity_bindings(entity: str, plural: str, tag: str) -> list[Binding]:
    """The nine routes of REST.md §4.1 for one entity type."""
    base, one = f"/api/v1/{plural}", f"/api/v1/{plural}/{{id}}"
    typed = (("entity", entity),)
    common = {"tag": tag, "entity": entity}
    return [
        Binding("POST", base, f"create_{plural}", f"{plural}_create", wrap=plural, output="records",
                status=201, location=one, **common),
        Binding("POST", f"{base}/many", f"create_{plural}", f"{plural}_create_many", output="records",
                status=201, **common),
        Binding("PUT", f"{base}/many", f"update_{plural}", f"{plural}_update_many", output="records", **common),
        Binding("DELETE", f"{base}/many", "delete_entities", f"{plural}_delete_many", fixed=typed, **common),
        Binding("POST", f"{base}/search", "filter_entity", f"{plural}_search", fixed=typed, output="records",
                **common),
        Binding("GET", f"{base}/configuration", "get_entity_configuration", f"{plural}_get_configuration",
                body=False, fixed=typed, **common),
        Binding("GET", one, "get_entities", f"{plural}_get", body=False, wrap="items",
                fixed=(("entity", entity), ("include", "withNotes")), path_field="id", output="single",
                **common),
        Binding("PUT", one, f"update_{plural}", f"{plural}_update", wrap=plural, path_field="id",
                output="records", **common),
        Binding("DELETE", one, "delete_entities", f"{plural}_delete", body=False, fixed=typed,
                path_field="ids", **common),
    ]  # fmt: skip


def _resource(tag: str, plural: str, noun: str, lister: str) -> list[Binding]:
    """Widgets and webhooks (REST.md §4.2-4.3): list, create, update and delete (each reads by id its own way)."""
    base, one = f"/api/v1/{plural}", f"/api/v1/{plural}/{{id}}"
    return [
        Binding("GET", base, lister, f"{plural}_list", tag, body=False, query=LIST_QUERY),
        Binding("POST", base, f"create_{noun}", f"{plural}_create", tag, status=201, location=one),
        Binding("PUT", one, f"update_{noun}", f"{plural}_update", tag, path_field="id"),
        Binding("DELETE", one, f"delete_{noun}", f"{plural}_delete", tag, body=False, path_field="id"),
    ]


def _column_bindings() -> list[Binding]:
    """Custom columns (REST.md §4.4): one create and one update path per column type."""
    base, tag = "/api/v1/custom-columns", "Custom columns"
    out = [Binding("GET", base, "list_custom_columns", "custom_columns_list", tag, body=False,
                   query=("entityType",))]  # fmt: skip
    for slug in COLUMN_SLUGS:
        suffix = slug.replace("-", "_")
        out += [
            Binding("POST", f"{base}/{slug}", f"create_{suffix}_custom_column",
                    f"custom_columns_create_{suffix}", tag, status=201),
            Binding("PUT", f"{base}/{slug}/{{id}}", f"update_{suffix}_custom_column",
                    f"custom_columns_update_{suffix}", tag, path_field="id"),
        ]  # fmt: skip
    out.append(Binding("DELETE", f"{base}/{{id}}", "delete_custom_column", "custom_columns_delete", tag,
                       body=False, path_field="id"))  # fmt: skip
    return out


ACCOUNT_BINDINGS = [
    Binding("GET", "/api/v1/company", "get_company", "company_get", "Company", body=False),
    Binding("PUT", "/api/v1/company", "update_company", "company_update", "Company"),
    Binding("GET", "/api/v1/roles", "list_roles", "roles_list", "Company", body=False),
    Binding("GET", "/api/v1/users/me", "get_current_user", "users_get_me", "Users", body=False),
    Binding("PUT", "/api/v1/users/me", "update_my_profile", "users_update_me", "Users"),
    Binding("POST", "/api/v1/users/search", "list_users", "users_search", "Users"),
]

BINDINGS: list[Binding] = [
    *(b for entity in ENTITIES for b in entity_bindings(*entity)),
    *_resource("Widgets", "widgets", "widget", "list_widgets"),
    Binding("GET", "/api/v1/widgets/{id}", "get_widgets", "widgets_get", "Widgets", body=False,
            path_field="ids", output="single"),
    *_resource("Webhooks", "webhooks", "webhook", "list_webhooks"),
    Binding("GET", "/api/v1/webhooks/{id}", "get_webhook", "webhooks_get", "Webhooks", body=False,
            path_field="id", query=("includeSecret",)),
    Binding("GET", "/api/v1/webhooks/deliveries", "list_webhook_deliveries", "webhook_deliveries_list",
            "Webhooks", body=False, query=("searchTerm", "includeBody", "page", "pageSize")),
    Binding("POST", "/api/v1/webhooks/deliveries/search", "list_webhook_deliveries",
            "webhook_deliveries_search", "Webhooks"),
    Binding("POST", "/api/v1/webhooks/deliveries/{id}/resend", "resend_webhook_delivery",
            "webhook_deliveries_resend", "Webhooks", body=False, path_field="id", status=201),
    *_column_bindings(),
    *ACCOUNT_BINDINGS,
]  # fmt: skip


# ---- bindings checked against their tools ------------------------------------------------------------


def _bare(t: mi.Type) -> mi.Type:
    """The type under `Annotated` metadata and an optional `None`."""
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType) and len([m for m in t.types if not isinstance(m, mi.NoneType)]) == 1:
            t = next(m for m in t.types if not isinstance(m, mi.NoneType))
        else:
            return t


def struct_fields(t: type | mi.Type) -> dict[str, mi.Field]:
    info = _bare(t if isinstance(t, mi.Type) else mi.type_info(t))
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{t} is not an object type")
    return {f.encode_name: f for f in info.fields}


@dataclass(frozen=True)
class Plan:
    """A binding joined with its tool: the field types the adapters need, looked up once at startup."""

    binding: Binding
    tool: Tool
    top: dict[str, mi.Field]  # fields of the tool input
    item: dict[str, mi.Field]  # fields of one body item (the input itself when not wrapping)

    @property
    def path_is_list(self) -> bool:
        field = self.item.get(self.binding.path_field or "")
        return field is not None and isinstance(_bare(field.type), mi.ListType | mi.SetType)


def plan(binding: Binding, tool: Tool) -> Plan:
    """Check that every field the binding names exists on the tool; a mismatch fails at startup."""
    top = struct_fields(tool.input)
    item = top
    if binding.wrap:
        wrapped = top.get(binding.wrap)
        kind = _bare(wrapped.type) if wrapped else None
        if not isinstance(kind, mi.ListType):
            raise ValueError(
                f"binding {binding.operation_id}: {tool.name} has no list field {binding.wrap!r}"
            )
        item = struct_fields(kind.item_type)
    wanted = {
        "item": [k for k, _ in binding.fixed] + [binding.path_field or ""],
        "input": list(binding.query),
    }
    for where, names in wanted.items():
        fields = item if where == "item" else top
        missing = [n for n in names if n and n not in fields]
        if missing:
            raise ValueError(
                f"binding {binding.operation_id}: {tool.name} has no {where} field {', '.join(missing)}"
            )
    return Plan(binding, tool, top, item)


def plans(registry: Registry, bindings: list[Binding] | None = None) -> list[Plan]:
    """The bindings whose tool is registered; the others do not exist yet (README decision 12)."""
    chosen = BINDINGS if bindings is None else bindings
    return [plan(b, registry.tools[b.tool]) for b in chosen if b.tool in registry.tools]


# ---- request -> arguments ----------------------------------------------------------------------------


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
        value = _decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        issue = Issue("$", f"the body is not valid JSON: {reason}", "Send one JSON object, UTF-8 encoded.")
        raise invalid([issue], "the request body", writes) from None
    if not isinstance(value, dict):
        issue = Issue("$", f"expected an object, got {json_type(value)}", "Send a JSON object, e.g. {}.")
        raise invalid([issue], "the request body", writes)
    return value


def _query_value(name: str, raw: str, field: mi.Field) -> tuple[Any, list[Issue]]:
    """Decimal integers and `true`/`false` become numbers and booleans; anything else stays text."""
    kind = _bare(field.type)
    where = f"query.{name}"
    if isinstance(kind, mi.IntType):
        if re.fullmatch(r"[+-]?\d{1,19}", raw):
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
    """Routes that declare no query parameters refuse any (REST.md §2)."""
    _, issues = query_arguments(request)
    if issues:
        raise invalid(issues, "the request", writes=False)


def path_issues(params: dict[str, str]) -> list[Issue]:
    bad = [(k, v) for k, v in params.items() if k == "id" and not _UUID.match(v)]
    return [Issue(f"path.{k}", f'"{v}" is not a valid id (a UUID)', ID_HINT) for k, v in bad]


def body_issues(p: Plan, body: dict[str, Any]) -> list[Issue]:
    """Fields the route sets itself are unknown in the body (e.g. `id` of `PUT …/{id}`)."""
    return [
        Issue(f"$.{key}", f"unknown field '{key}'", f"Leave `{key}` out of the body: {why}.")
        for key, why in p.binding.fed.items()
        if key in body
    ]


def arguments(p: Plan, body: dict[str, Any], path_id: str | None, query: dict[str, Any]) -> dict[str, Any]:
    """body + query + fixed + path id, wrapped as `{wrap: [item]}` when the route takes one item."""
    item = {**body, **query, **dict(p.binding.fixed)}
    if p.binding.path_field and path_id is not None:
        item[p.binding.path_field] = [path_id] if p.path_is_list else path_id
    return {p.binding.wrap: [item]} if p.binding.wrap else item


def _moved(path: str, prefix: str, replacement: str, keep_rest: bool = True) -> str | None:
    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
        return replacement + (path[len(prefix) :] if keep_rest else "")
    return None


def rewrite_path(path: str, binding: Binding) -> str:
    """An issue path of the tool input, as the REST caller sent it (REST.md §1)."""
    if binding.wrap:
        path = _moved(path, f"$.{binding.wrap}[0]", "$") or _moved(path, f"$.{binding.wrap}", "$") or path
    if binding.path_field:
        path = _moved(path, f"$.{binding.path_field}", "path.id", keep_rest=False) or path
    for name in binding.query:
        path = _moved(path, f"$.{name}", f"query.{name}") or path
    return path


_JSON_PATH = re.compile(r"\$(?:\.[A-Za-z_]\w*|\[\d+\])*")


def rewrite_text(text: str, binding: Binding) -> str:
    """Paths quoted inside messages and hints (e.g. the null guard's) follow the same rewrite."""
    return _JSON_PATH.sub(lambda m: rewrite_path(m[0], binding), text)


def rewrite_error(structured: dict[str, Any], binding: Binding) -> dict[str, Any]:
    body = structured["error"]
    issues = [
        {
            **i,
            "path": rewrite_path(i["path"], binding),
            "message": rewrite_text(i["message"], binding),
            "hint": rewrite_text(i["hint"], binding),
        }
        for i in body.get("issues", [])
    ]
    return {"error": {**body, "message": rewrite_text(body["message"], binding), "issues": issues}}


def shape_issues(p: Plan, args: dict[str, Any]) -> list[Issue]:
    """The tool's own validation issues, so a refused request lists every problem at once."""
    try:
        check(args, p.tool.input, writes=not p.tool.read_only)
    except ToolError as exc:
        b = p.binding
        return [
            Issue(rewrite_path(i.path, b), rewrite_text(i.message, b), rewrite_text(i.hint, b))
            for i in exc.issues
        ]
    return []


# ---- results -> responses ----------------------------------------------------------------------------


class Failed(Exception):
    """A tool call made while adapting a result failed; its outcome is the answer."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


async def invoke(request: Request, registry: Registry, name: str, args: Any) -> Outcome:
    return await registry.invoke(
        request.app.state.db,
        name,
        args,
        request.state.principal,
        origin=str(request.base_url).rstrip("/"),
        correlation_id=request.state.request_id,
    )


@dataclass
class Ctx:
    request: Request
    registry: Registry
    binding: Binding

    async def invoke(self, name: str, args: Any) -> Outcome:
        return await invoke(self.request, self.registry, name, args)


async def as_is(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return data


async def records(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Refs -> full records with notes, one query per relation kind; a wrapped route answers `{item, …}`."""
    # Imported here: the CRM slice provides it, and REST must work before that module exists.
    from customermates.crm.loading import load_records

    ids = [ref["id"] for ref in data["items"]]
    request = ctx.request
    rows = await request.app.state.db.read(
        load_records, request.state.principal, ctx.binding.entity, ids, True
    )
    by_id = {row["id"]: row for row in rows}
    items = [by_id[i] for i in ids if i in by_id]
    if not ctx.binding.wrap:
        return {k: (items if k == "items" else v) for k, v in data.items()}
    if not items:
        raise ToolError("not_found", f"The {ctx.binding.entity} is gone; it was deleted meanwhile.")
    return {("item" if k == "items" else k): (items[0] if k == "items" else v) for k, v in data.items()}


async def single(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """One element -> `{item}`; an entity read gives the record with its notes and the type's columns."""
    items = data.get("items") or []
    if not items:
        raise ToolError("not_found", f"Nothing found for {ctx.request.url.path}.")
    if ctx.binding.entity is None:
        return {"item": items[0]}
    first = items[0]
    return {"item": {**first["record"], "notes": first.get("notes")}, "customColumns": await _columns(ctx)}


async def _columns(ctx: Ctx) -> list[Any]:
    """The entity type's custom columns as `list_custom_columns` returns them (none until it exists)."""
    if "list_custom_columns" not in ctx.registry.tools:
        return []
    outcome = await ctx.invoke("list_custom_columns", {"entityType": ctx.binding.entity})
    if outcome.is_error:
        raise Failed(outcome)
    return outcome.structured["items"]


OUTPUTS = {"as_is": as_is, "records": records, "single": single}


def _location(binding: Binding, data: dict[str, Any]) -> dict[str, str] | None:
    if binding.location is None:
        return None
    return {"Location": binding.location.format(id=data["item"]["id"])}


# ---- endpoints ---------------------------------------------------------------------------------------


def bound_endpoint(registry: Registry, p: Plan) -> Endpoint:
    """The handler of one binding: request -> arguments -> tool -> adapted result."""
    binding, tool = p.binding, p.tool

    async def endpoint(request: Request) -> Response:
        body = await json_object(request, not tool.read_only) if binding.body else {}
        query, issues = query_arguments(request, binding.query, p.top)
        issues += path_issues(request.path_params) + body_issues(p, body)
        args = arguments(p, body, request.path_params.get("id"), query)
        if issues:
            taken = {i.path for i in issues}
            issues += [i for i in shape_issues(p, args) if i.path not in taken]
            raise invalid(issues, "the request", not tool.read_only)
        ctx = Ctx(request, registry, binding)
        outcome = await ctx.invoke(tool.name, args)
        if outcome.is_error:
            return json_response(rewrite_error(outcome.structured, binding), outcome.status)
        data = await OUTPUTS[binding.output](ctx, outcome.structured)
        return json_response(data, binding.status, _location(binding, data))

    return endpoint


def tools_endpoint(registry: Registry) -> Endpoint:
    """`POST /api/v1/tools/{name}`: the MCP arguments as the body, exactly `structuredContent` back."""

    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        tool = registry.tools.get(name)
        body = await json_object(request, tool is None or not tool.read_only)
        refuse_query(request)
        outcome = await invoke(request, registry, name, body)
        if outcome.error is not None:  # the very bytes MCP puts in the error's text item
            return tool_error_response(outcome.error)
        return json_response(outcome.structured, outcome.status)

    return endpoint


def document_endpoint(document: bytes) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        refuse_query(request)
        return Response(document, 200, media_type="application/json")

    return endpoint


def guarded(endpoint: Endpoint) -> Endpoint:
    """Every failure becomes the shared Error object; nothing escapes as a bare 500 page."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BodyTooLarge:
            return too_large()
        except ToolError as error:
            return tool_error_response(error)
        except Failed as failed:
            return tool_error_response(failed.outcome.error)
        except Exception:
            correlation = request.state.request_id
            log.exception(
                "REST %s %s failed (correlationId %s)", request.method, request.url.path, correlation
            )
            error = ToolError(
                "internal",
                f"Unexpected server error; correlationId {correlation}.",
                correlation_id=correlation,
            )
            return tool_error_response(error)

    return run


# ---- routing -----------------------------------------------------------------------------------------


class PathRoute(BaseRoute):
    """One path with all its methods: a matching path is always ours, a wrong method is 405 + Allow."""

    def __init__(self, path: str, methods: dict[str, Endpoint]):
        self.path = path
        self.methods = {m: guarded(e) for m, e in methods.items()}
        self.regex, _, self.convertors = compile_path(path)

    def matches(self, scope) -> tuple[Match, dict]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self.regex.match(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        return Match.FULL, {"path_params": {**scope.get("path_params", {}), **found.groupdict()}}

    def url_path_for(self, name: str, /, **path_params: Any):
        raise NoMatchFound(name, path_params)

    async def handle(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        endpoint = self.methods.get(request.method)
        if endpoint is None:
            response = method_not_allowed(request.method, request.url.path, list(self.methods))
        else:
            response = await endpoint(request)
        await response(scope, receive, send)


def method_not_allowed(method: str, path: str, allowed: list[str]) -> Response:
    allow = ", ".join(sorted(allowed))
    return error_response(
        "method_not_allowed", f"{method} is not defined for {path}; use {allow}.", {"Allow": allow}
    )


def _specificity(path: str) -> list[bool]:
    # Literal segments sort before `{id}`, so `/contacts/many` is never read as an id.
    return [segment.startswith("{") for segment in path.split("/")]


def binding_routes(registry: Registry, bindings: list[Binding] | None = None) -> list[BaseRoute]:
    """One PathRoute per path of the registered bindings, literal paths first."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for p in plans(registry, bindings):
        by_path.setdefault(p.binding.path, {})[p.binding.method] = bound_endpoint(registry, p)
    return [PathRoute(path, by_path[path]) for path in sorted(by_path, key=_specificity)]


def document_bytes(registry: Registry) -> bytes:
    """The OpenAPI document of this registry and its bindings, as served and as checked in."""
    return openapi.render(openapi.document(registry, [p.binding for p in plans(registry)]))


def routes(registry: Registry) -> list[BaseRoute]:
    document = document_bytes(registry)  # built once at startup; generation errors fail the start
    return [
        *binding_routes(registry),
        PathRoute("/api/v1/tools/{name}", {"POST": tools_endpoint(registry)}),
        PathRoute("/api/v1/openapi", {"GET": document_endpoint(document)}),
    ]


# ---- Starlette's own 404 and 405 (paths no route owns, e.g. /healthz) as the Error object ------------


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "").split(", ")
        return method_not_allowed(request.method, request.url.path, [a for a in allowed if a])
    return error_response(
        "not_found", f"No route {request.method} {request.url.path}; GET /api/v1/openapi lists every route."
    )


EXCEPTION_HANDLERS = {404: _http_error, 405: _http_error}
