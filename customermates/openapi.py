"""The OpenAPI 3.1 document, generated from the tool registry and the routes its tools declare.

    registry tools ──> components.schemas (msgspec, one name per type; a clash fails)
        │                 ▲
        ├──> POST /api/v1/tools/<name>   request = inputSchema, 200 = outputSchema (tools/list's own)
    routes   ──> resource operations     body and result schemas derived from the components
    constants ──> info, security, components.responses/headers, meta operations (openapi, healthz)

The result is plain data in a fixed order (paths by tag, then catalog order) with no timestamps, so
the same code renders byte-identical JSON: `document_bytes` is served by `GET /api/v1/openapi` and
checked in by `tools/write_openapi.py` as `schemas/openapi.json`.
"""

from __future__ import annotations

import json
from typing import Any

from customermates import __version__
from customermates.crm.loading import RECORD_TYPES
from customermates.errors import RESPONSES, Error, codes_of
from customermates.httpio import REQUEST_ID
from customermates.jsonschema import components, tool_schema
from customermates.registry import Registry, Tool
from customermates.rest.plan import Plan
from customermates.rest.route import Route
from customermates.webhooks.openapi_events import ENVELOPES
from customermates.webhooks.openapi_events import path_items as event_path_items

TAGS = {
    "Contacts": "People.",
    "Organizations": "Customer companies.",
    "Deals": "Sales opportunities.",
    "Services": "Products and services with a price.",
    "Tasks": "To-dos linked to records.",
    "Widgets": "Dashboard charts.",
    "Webhooks": "Change-event subscriptions and their delivery log.",
    "Custom columns": "Typed custom fields per entity type.",
    "Company": "The caller's company and its roles.",
    "Users": "The caller and their teammates.",
    "Changes": "What keys changed in the records, and taking it back.",
    "Tools": "Every registry tool at POST /api/v1/tools/<name>, with its MCP arguments as the body.",
    "Meta": "The API description and the health check; no key needed.",
}

DESCRIPTION = """\
Everything an MCP client can do, over plain HTTP and JSON. Every route runs a tool of the same \
registry that `tools/list` publishes at the MCP endpoint `POST /api/v1/mcp` (not described here).

**Auth:** send `x-api-key: <key>` or `Authorization: Bearer <key>`; keys are created with \
`customermates keys create`. A read-only key may call only read-only tools (403 otherwise).

**Errors:** every failure answers the same object as an MCP tool error, \
`{"error": {"code", "message", "issues": [{"path", "message", "hint"}], "suggestions"?, "correlationId"?}}`, \
with the status chosen from `code` alone. Issue paths point into what you sent: `$.firstName` in the \
body, `path.id`, `query.page`.

**Limits:** JSON bodies up to 2 MB; every response carries `X-Request-Id` (yours when valid)."""

ERRORS = {status: (name, " / ".join(codes_of(status)), when) for status, (name, when) in RESPONSES.items()}
ERROR_HEADERS = {401: "WWW-Authenticate", 405: "Allow", 429: "Retry-After"}
BODY_ONLY = {413, 415}

HEADERS = {
    "X-Request-Id": {
        "description": "The caller's X-Request-Id when it is 1-128 of A-Za-z0-9._-, else a generated one.",
        "required": True,
        "schema": {"type": "string", "pattern": REQUEST_ID.pattern},
    },
    "Location": {
        "description": "The address of the created resource.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Allow": {
        "description": "The methods this path defines.",
        "required": True,
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "How to authenticate.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
}
ANY_OBJECT = {"type": "object"}
ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The record id (a UUID); anything else is a 400 at `path.id`.",
    "schema": {"type": "string", "format": "uuid", "maxLength": 36},
}


def render(doc: dict[str, Any]) -> bytes:
    """The one serialization: served by `GET /api/v1/openapi` and checked in, byte for byte."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def document_bytes(registry: Registry) -> bytes:
    """The OpenAPI document of this registry, as served and as checked in."""
    return render(document(registry))


class Schemas:
    """components.schemas for a set of msgspec types, with lookups by type and by `$ref`."""

    def __init__(self, types: list[type]):
        refs, found = components(types)
        clashes = sorted(name for name in found if "." in name)
        if clashes:
            # msgspec qualifies a name with its module when two types share it; the contract wants one
            # name per type, so two types called alike must be renamed rather than merged or qualified.
            raise ValueError(f"Two types share a schema name; rename one of: {', '.join(clashes)}")
        self.components = dict(sorted(found.items()))
        self.refs = dict(zip(types, refs, strict=True))

    def ref(self, t: type) -> dict[str, Any]:
        return self.refs[t]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        return self.components[ref.rsplit("/", 1)[-1]] if ref else schema


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-Id", *names)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error_responses() -> dict[str, Any]:
    out = {}
    for status, (name, code, when) in ERRORS.items():
        extra = (ERROR_HEADERS[status],) if status in ERROR_HEADERS else ()
        out[name] = {
            "description": f"{when} (`error.code`: {code})",
            "headers": _header_refs(*extra),
            "content": _json({"$ref": "#/components/schemas/Error"}),
        }
    return out


def responses(success: dict[str, Any], *, body: bool, public: bool) -> dict[str, Any]:
    """The success responses plus every error status of the README's REST section that applies."""
    out = dict(success)
    for status, (name, _, _) in ERRORS.items():
        if (status == 401 and public) or (status in BODY_ONLY and not body):
            continue
        out[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return out


def success(status: int, schema: dict[str, Any] | None, description: str, location: bool = False):
    answer: dict[str, Any] = {
        "description": description,
        "headers": _header_refs("Location") if location else _header_refs(),
    }
    if schema is not None:
        answer["content"] = _json(schema)
    return {str(status): answer}


def request_body(schema: dict[str, Any], resolved: dict[str, Any]) -> dict[str, Any]:
    # An empty body counts as `{}`, so the body is required only when some field is.
    return {"required": bool(resolved.get("required")), "content": _json(schema)}


# ---- POST /api/v1/tools/<name> -----------------------------------------------------------------------


def tool_operation(tool: Tool) -> dict[str, Any]:
    """The tool's `inputSchema` (with the ±10^15 number bounds the server enforces) and `outputSchema`."""
    body = tool_schema(tool.input, exact=True)
    return {
        "operationId": tool.name,
        "summary": tool.title,
        "description": tool.description,
        "tags": ["Tools"],
        "requestBody": request_body(body, body),
        "responses": responses(
            success(200, tool_schema(tool.output, output=True), "The tool's `structuredContent`."),
            body=True,
            public=False,
        ),
    }


# ---- resource routes ---------------------------------------------------------------------------------


class Derive:
    """Request and result schemas of one route, derived from its tool's components."""

    def __init__(self, route: Route, tool: Tool, s: Schemas, tools: dict[str, Tool]):
        self.b, self.tool, self.s, self.tools = route, tool, s, tools

    def body(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The body schema (and its resolved form): the input, or one wrapped item, minus fed fields."""
        schema = self.s.ref(self.tool.input)
        if self.b.wrap:
            schema = self.s.resolve(schema)["properties"][self.b.wrap]["items"]
        resolved = self.s.resolve(schema)
        drop = set(self.b.fed) | set(self.b.query)
        if not drop & set(resolved.get("properties", {})):
            return schema, resolved
        trimmed = {k: v for k, v in resolved.items() if k not in ("title", "properties", "required")}
        trimmed["properties"] = {k: v for k, v in resolved["properties"].items() if k not in drop}
        required = [k for k in resolved.get("required", []) if k not in drop]
        if required:
            trimmed["required"] = required
        return trimmed, trimmed

    def parameters(self) -> list[dict[str, Any]]:
        out = [ID_PARAMETER] if "{id}" in self.b.path else []
        top = self.s.resolve(self.s.ref(self.tool.input))
        for name in self.b.query:
            schema = top["properties"][name]
            param = {"name": name, "in": "query", "required": name in top.get("required", [])}
            if "description" in schema:
                param["description"] = schema["description"]
            out.append({**param, "schema": schema})
        return out

    def record(self) -> dict[str, Any]:
        return self.s.ref(RECORD_TYPES[self.b.entity or ""])

    def result(self) -> dict[str, Any]:
        output = self.s.ref(self.tool.output)
        return {"as_is": lambda: output, "records": self._records, "single": self._single}[self.b.output]()

    def _records(self) -> dict[str, Any]:
        out = self.s.resolve(self.s.ref(self.tool.output))
        props, record = {}, self.record()
        for key, value in out["properties"].items():
            if key != "items":
                props[key] = value
            elif self.b.wrap:
                props["item"] = record
            else:
                props["items"] = {**value, "items": record}
        rename = {"items": "item"} if self.b.wrap else {}
        return {
            "type": "object",
            "properties": props,
            "required": [rename.get(k, k) for k in out["required"]],
        }

    def _single(self) -> dict[str, Any]:
        if self.b.entity is None:
            items = self.s.resolve(self.s.ref(self.tool.output))["properties"]["items"]["items"]
            return {"type": "object", "properties": {"item": items}, "required": ["item"]}
        lister = self.tools.get("list_custom_columns")
        columns = (
            self.s.resolve(self.s.ref(lister.output))["properties"]["items"]
            if lister
            else {"type": "array", "items": ANY_OBJECT}
        )
        return {
            "type": "object",
            "properties": {"item": self.record(), "customColumns": columns},
            "required": ["item", "customColumns"],
        }

    def notes(self) -> str:
        """What the route does to the request and the result."""
        b = self.b
        name = self.tool.name
        lines = [f"Runs the tool `{name}` (also `POST /api/v1/tools/{name}`)."]
        if b.wrap:
            source = "The body is one item" if b.body else "The route builds one item"
            lines.append(f'{source}; the tool gets `{{"{b.wrap}": [item]}}`.')
        lines += [f"The route sets `{k}` to `{json.dumps(v)}`." for k, v in b.fixed]
        if b.path_field:
            lines.append(f"The path `id` becomes `{b.path_field}`; a non-UUID is a 400 at `path.id`.")
        if b.query:
            lines.append(
                f"Query parameters {', '.join(f'`{q}`' for q in b.query)} become the fields of that name."
            )
        lines += {
            "as_is": [],
            "records": ["Refs in the result are replaced by full records."],
            "single": ["The one result is returned as `item`; a missing id is a 404."],
        }[b.output]
        return " ".join(lines)

    def operation(self) -> dict[str, Any]:
        b, tool = self.b, self.tool
        op: dict[str, Any] = {
            "operationId": b.operation_id,
            "summary": tool.title,
            "description": f"{tool.description}\n\n{self.notes()}",
            "tags": [b.tag],
        }
        parameters = self.parameters()
        if parameters:
            op["parameters"] = parameters
        if b.body:
            op["requestBody"] = request_body(*self.body())
        answer = success(b.status, self.result(), "Success.", location=b.location is not None)
        op["responses"] = responses(answer, body=b.body, public=False)
        op["x-customermates-tool"] = tool.name
        return op


# ---- meta operations ---------------------------------------------------------------------------------

HEALTH = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["ok"]}, "version": {"type": "string"}},
    "required": ["status", "version"],
}
UNHEALTHY = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["unavailable"]}, "reason": {"type": "string"}},
    "required": ["status", "reason"],
}


def _meta(operation_id: str, summary: str, answers: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": f"{summary}. Public: no key needed.",
        "tags": ["Meta"],
        "security": [],
        "responses": responses(answers, body=False, public=True),
    }


def meta_paths() -> dict[str, dict[str, Any]]:
    health = {
        **success(200, HEALTH, "The database is open and migrated."),
        **success(503, UNHEALTHY, "The database is not available."),
    }
    head = {**success(200, None, "Healthy."), **success(503, None, "Not available.")}
    return {
        "/api/v1/openapi": {
            "get": _meta("openapi_get", "This OpenAPI document", success(200, ANY_OBJECT, "The document."))
        },
        "/healthz": {
            "get": _meta("healthz_get", "Health check", health),
            "head": _meta("healthz_head", "Health check without a body", head),
        },
    }


# ---- the document ------------------------------------------------------------------------------------


def _types(registry: Registry) -> list[type]:
    tools = registry.tools.values()
    seen = dict.fromkeys(
        [Error, *(t for tool in tools for t in (tool.input, tool.output)), *RECORD_TYPES.values()]
        + (list(ENVELOPES.values()) if "create_webhook" in registry.tools else [])
    )
    return list(seen)


def _unique_operation_ids(paths: dict[str, dict[str, Any]]) -> None:
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"operationId used more than once: {', '.join(repeated)}")


def _by_tag(plans: list[Plan]) -> list[Plan]:
    """Routes grouped by tag in `TAGS` order, each group in catalog order (a stable sort)."""
    position = {tag: i for i, tag in enumerate(TAGS)}
    return sorted(plans, key=lambda p: position[p.route.tag])


def document(registry: Registry) -> dict[str, Any]:
    """The whole document for the registered tools and the routes they declare."""
    s = Schemas(_types(registry))
    paths: dict[str, dict[str, Any]] = {}
    for p in _by_tag(registry.routes):
        op = Derive(p.route, p.tool, s, registry.tools).operation()
        paths.setdefault(p.route.url, {})[p.route.method.lower()] = op
    for tool in registry.tools.values():
        paths[f"/api/v1/tools/{tool.name}"] = {"post": tool_operation(tool)}
    paths.update(meta_paths())
    _unique_operation_ids(paths)
    used = {tag for item in paths.values() for op in item.values() for tag in op["tags"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "customermates API", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items() if name in used],
        "paths": paths,
        **({"webhooks": event_path_items(s.ref)} if "create_webhook" in registry.tools else {}),
        "components": {
            "schemas": s.components,
            "responses": _error_responses(),
            "headers": HEADERS,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
