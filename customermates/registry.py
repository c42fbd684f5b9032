"""The tool registry: each tool declared once; everything else is derived from the declaration.

    Tool(name, title, description, input, output, handler, toolset, permission, hints, rest)
      -> refused at import: a name not in CATALOG, twice, or a route naming a missing field
      -> tools/list entry (schemas, annotations)          `Tool.listing`
      -> argument validation with every issue            `validation.check`
      -> permission and read-only-key checks             `Registry.invoke`
      -> one unit of work in one thread hop              `Database.read` / `Database.write`
         (a read declared short: on the event loop)      `Tool.short`, `Database.read_now`
      -> structuredContent + a TOON (or JSON) text item  `Outcome` (an error: its JSON body only)
      -> REST routes and OpenAPI operations              `rest/`, `openapi.py`

A handler is a plain function `handler(call, args) -> output` that runs inside the database thread,
in the transaction of the call: it reads and writes through `call.conn` (a `call.Call`) and records
audit events with `call.event(...)`; raising `ToolError` rolls everything back.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi

from customermates import toon
from customermates.audit import Actor, write_events
from customermates.auth import UNAUTHORIZED, Caller, Principal
from customermates.call import Call
from customermates.errors import Rehearsed, ToolError, forbidden
from customermates.ids import new_id, now_iso
from customermates.jsonschema import tool_schemas
from customermates.nearest import closest, ranked
from customermates.permissions import CRM_RESOURCES, read_groups
from customermates.rehearsal import rehearsed
from customermates.rest.plan import Plan, plan
from customermates.rest.route import Route
from customermates.store.database import in_transaction
from customermates.validation import check
from customermates.webhooks.outbox import enqueue

log = logging.getLogger("customermates.tools")

# The tools/list order; a tool not built yet is simply absent, a built tool missing here is refused.
CATALOG = [
    "get_entity_configuration",
    "filter_entity",
    "count_entity",
    "search_all_entities",
    "get_entities",
    "update_entity_notes",
    "append_entity_notes",
    "delete_entities",
    "update_entity_custom_fields",
    "link_entities",
    "unlink_entities",
    "create_contacts",
    "update_contacts",
    "create_organizations",
    "update_organizations",
    "create_deals",
    "update_deals",
    "create_services",
    "update_services",
    "create_tasks",
    "update_tasks",
    "list_widgets",
    "get_widgets",
    "create_widget",
    "update_widget",
    "delete_widget",
    "list_webhooks",
    "get_webhook",
    "create_webhook",
    "update_webhook",
    "delete_webhook",
    "list_webhook_deliveries",
    "resend_webhook_delivery",
    "get_current_user",
    "update_my_profile",
    "list_users",
    "get_company",
    "update_company",
    "list_roles",
    "create_plain_custom_column",
    "create_date_custom_column",
    "create_datetime_custom_column",
    "create_date_range_custom_column",
    "create_datetime_range_custom_column",
    "create_currency_custom_column",
    "create_single_select_custom_column",
    "create_link_custom_column",
    "create_email_custom_column",
    "create_phone_custom_column",
    "list_custom_columns",
    "update_plain_custom_column",
    "update_date_custom_column",
    "update_datetime_custom_column",
    "update_date_range_custom_column",
    "update_datetime_range_custom_column",
    "update_currency_custom_column",
    "update_single_select_custom_column",
    "update_link_custom_column",
    "update_email_custom_column",
    "update_phone_custom_column",
    "delete_custom_column",
    "search",
    "fetch",
    "get_entity_history",
    "list_changes",
    "undo_changes",
]
TOOLSETS = ("core", "custom_columns", "widgets", "webhooks", "account")

Requirement = Callable[[Any], list[list[str]]]
Finish = Callable[[Call, Any], Any]
"""Work a transport adds to a call's transaction after the handler (REST: the full records)."""
"""Permission rule: from the validated input, groups of alternatives; every group needs one grant."""


def needs(*alternatives: str) -> Requirement:
    """Any one of `alternatives` suffices (`company.readOwn | company.readAll`)."""
    return lambda _args: [list(alternatives)]


_RESOURCE_OF = {r[:-1]: r for r in CRM_RESOURCES}  # entity type -> its resource


def per_entity(*actions: str, attr: str = "entity") -> Requirement:
    """`<res>.<action>` where `<res>` is the resource of the input's entity type."""
    return lambda args: [[f"{_RESOURCE_OF[getattr(args, attr)]}.{a}" for a in actions]]


def reads_entity(args: Any) -> list[list[str]]:
    """Reading the input's entity type: its `readAll` or `readOwn`."""
    return read_groups([_RESOURCE_OF[args.entity]])


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    input: type
    output: type
    handler: Callable[[Call, Any], Any]
    toolset: str
    permission: Requirement | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    text_as_json: bool = False
    rest: tuple[Route, ...] = ()
    short: Callable[[Any], bool] | None = None
    """A read whose validated input makes it short (a few rows by key) runs without the thread hop."""
    audited: Callable[[Any], bool] | None = None
    """A read whose validated input makes it record an audit event (a revealed secret) runs as a write."""

    def writes(self, args: Any) -> bool:
        """Whether this call runs in a write transaction."""
        return not self.read_only or (self.audited is not None and self.audited(args))

    def listing(self, schemas: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
        """The tools/list entry; `schemas` (input, output) when built already (`Registry` builds all at once)."""
        given, result = schemas or tool_schemas([self.input, self.output], output=[False, True])
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": given,
            "outputSchema": result,
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            },
        }


@dataclass(frozen=True)
class Outcome:
    """A finished call: the structured object, whether it is an error, and its text item on demand.

    For an error, `text` is the REST error body (compact JSON, `error.to_json`) and MCP sends no
    structuredContent; `structured` still holds the Error object for REST's own adapters.
    """

    structured: dict[str, Any]
    render: Callable[[dict[str, Any]], str]
    is_error: bool = False
    status: int = 200
    extra: Any = None  # what the caller's `finish` built in the same transaction (REST's full records)
    error: ToolError | None = None

    @property
    def text(self) -> str:
        """The text item: encoded only when read, i.e. by MCP (REST answers the structured object)."""
        return self.render(self.structured)


def _json_text(data: dict[str, Any]) -> str:
    return msgspec.json.encode(data).decode()


def success(tool: Tool, output: Any, extra: Any = None) -> Outcome:
    render = _json_text if tool.text_as_json else toon.encode
    return Outcome(msgspec.to_builtins(output), render, extra=extra)


def failure(error: ToolError) -> Outcome:
    body = error.to_json().decode()
    return Outcome(msgspec.to_builtins(error.to_struct()), lambda _: body, True, error.status, error=error)


def refusals(tools: list[Tool], order: Sequence[str]) -> list[str]:
    """What makes a set of declarations inconsistent: unlisted or repeated names, clashing routes."""
    names = Counter(t.name for t in tools)
    routes = Counter((r.method, r.path) for t in tools for r in t.rest)
    operations = Counter(r.operation_id for t in tools for r in t.rest)
    return [
        *(f"tool {n!r} is not in the catalog order" for n in names if n not in order),
        *(f"tool {n!r} is declared {c} times" for n, c in names.items() if c > 1),
        *(f"route {m} {p} is declared {c} times" for (m, p), c in routes.items() if c > 1),
        *(f"operationId {o!r} is declared {c} times" for o, c in operations.items() if c > 1),
    ]


class Registry:
    """The declared tools in catalog order, with their listings and REST routes checked once."""

    def __init__(self, tools: Iterable[Tool], order: Sequence[str] = CATALOG):
        declared = list(tools)
        problems = refusals(declared, order)
        if problems:
            raise ValueError("inconsistent tool declarations: " + "; ".join(problems))
        position = {name: i for i, name in enumerate(order)}
        listed = sorted(declared, key=lambda t: position[t.name])
        self.tools: dict[str, Tool] = {t.name: t for t in listed}
        infos = dict(
            zip([t.name for t in listed], mi.multi_type_info([t.input for t in listed]), strict=True)
        )
        self.routes: list[Plan] = [plan(route, t, infos[t.name]) for t in listed for route in t.rest]
        self._listing: list[tuple[Tool, dict[str, Any]]] | None = None  # built on first use: `entries`
        self._encoded: dict[tuple[frozenset[str] | None, bool], msgspec.Raw] = {}

    def entries(self) -> list[tuple[Tool, dict[str, Any]]]:
        """Every tool with its tools/list entry. The schemas are most of what building the registry
        would cost, and no call needs them: they are built on the first use, not at start-up."""
        if self._listing is None:
            listed = list(self.tools.values())
            built = tool_schemas([t for tool in listed for t in (tool.input, tool.output)],
                                 output=[False, True] * len(listed))  # fmt: skip
            self._listing = [(t, t.listing((built[2 * i], built[2 * i + 1]))) for i, t in enumerate(listed)]
        return self._listing

    def listing(
        self, toolsets: frozenset[str] | None = None, read_only: bool = False
    ) -> list[dict[str, Any]]:
        return [
            entry
            for tool, entry in self.entries()
            if (toolsets is None or tool.toolset in toolsets) and (not read_only or tool.read_only)
        ]

    def listing_json(self, toolsets: frozenset[str] | None = None, read_only: bool = False) -> msgspec.Raw:
        """The same list, encoded once per subset: tools/list is ~90 KB of JSON that never changes."""
        key = (toolsets, read_only)
        if key not in self._encoded:
            self._encoded[key] = msgspec.Raw(msgspec.json.encode(self.listing(toolsets, read_only)))
        return self._encoded[key]

    def lookup(self, name: str, toolsets: frozenset[str] | None = None) -> Tool:
        tool = self.tools.get(name)
        if tool is None:  # suggest and count only what this URL serves: what tools/list shows here
            served = [n for n, t in self.tools.items() if toolsets is None or t.toolset in toolsets]
            picks = suggest(name, served)
            raise ToolError(
                "unknown_tool",
                f"There is no tool named {name!r}. Did you mean: {', '.join(picks)}? "
                f"tools/list has all {len(served)} tools.",
                suggestions=picks,
            )
        if toolsets is not None and tool.toolset not in toolsets:
            raise ToolError(
                "unknown_tool",
                f"The tool {name!r} exists but is not served on this URL: it belongs to the toolset"
                f" '{tool.toolset}'. Add it to the `toolsets` of the URL to use it.",
                suggestions=[],
            )
        return tool

    def prepare(self, tool: Tool, args: Any, principal: Principal, read_only_url: bool = False) -> Any:
        """Validate the input, then check permissions (that order: a bad input is reported first)."""
        typed = check(args, tool.input, writes=not tool.read_only)
        authorize(tool, typed, principal, read_only_url)
        return typed

    async def invoke(
        self,
        db,
        name: str,
        args: Any,
        caller: Principal | Caller,
        *,
        origin: str | None = None,
        toolsets: frozenset[str] | None = None,
        read_only_url: bool = False,
        correlation_id: str | None = None,
        finish: Finish | None = None,
        dry_run: bool = False,
    ) -> Outcome:
        """Run one tool call end to end in one database hop; errors come back as outcomes, never raised.

        A `Caller` is authenticated inside the tool's own transaction. `finish(call, output)` runs in
        that transaction too, after the handler; its result is `Outcome.extra`. `correlation_id` names
        an unexpected failure in the log and the result; HTTP passes its X-Request-Id so the two match.
        `dry_run` (a rehearsal connection) rolls every write back and answers what it would have done.
        """
        try:
            tool = self.lookup(name, toolsets)
            typed = check(args, tool.input, writes=not tool.read_only)
            work = (_execute, tool, typed, caller, read_only_url, origin, finish, None, dry_run)
            if tool.short is not None and tool.short(typed):
                # One turn of the loop first: without it, reads that never yield kept some connections
                # waiting (p99 at 32 connections 104-167 ms against 25-65 ms with it, same runs).
                # `asyncio.sleep(0)` is what anyio's checkpoint runs on asyncio, without looking up
                # the backend per call (every door runs on asyncio: uvicorn, `anyio.run`, the tests).
                await asyncio.sleep(0)
                output, extra = db.read_now(*work)
            else:
                output, extra = await (db.write if tool.writes(typed) else db.read)(*work)
            return success(tool, output, extra)
        except Rehearsed as done:
            return success(tool, done.result)
        except ToolError as error:
            return failure(error)
        except Exception:
            correlation = correlation_id or new_id()
            log.exception("tool %s failed (correlationId %s)", name, correlation)
            return failure(
                ToolError(
                    "internal",
                    f"Unexpected server error; correlationId {correlation}.",
                    correlation_id=correlation,
                )
            )

    def run(
        self, conn: sqlite3.Connection, name: str, args: Any, principal: Principal, now: str | None = None
    ) -> Any:
        """One call on an open connection in a transaction of its own, as `invoke` runs it in the
        database thread (for in-process tools and tests); raises `ToolError`, and then writes nothing."""
        tool = self.lookup(name)
        typed = check(args, tool.input, writes=not tool.read_only)
        output, _ = in_transaction(
            conn, _execute, tool, typed, principal, False, None, None, now, write=tool.writes(typed)
        )
        return output


def authorize(tool: Tool, typed: Any, principal: Principal, read_only_url: bool) -> None:
    """Refuse a write through a read-only key or URL, then a call the role is not permitted."""
    if not tool.read_only and (principal.read_only or read_only_url):
        what = "API key" if principal.read_only else "URL (readonly=1)"
        raise ToolError(
            "forbidden",
            f"This {what} is read-only: {tool.name} changes data and cannot be called with it."
            " Use a key created without --read-only.",
        )
    if tool.permission is not None:
        for group in tool.permission(typed):
            if not any(principal.can(p) for p in group):
                raise forbidden(group, principal.role_name)


def _execute(
    conn: sqlite3.Connection,
    tool: Tool,
    args: Any,
    caller: Principal | Caller,
    read_only_url: bool,
    origin: str | None,
    finish: Finish | None,
    now: str | None = None,
    dry_run: bool = False,
) -> tuple[Any, Any]:
    principal = caller.verify(conn) if isinstance(caller, Caller) else caller
    if principal is None:
        raise ToolError("unauthorized", UNAUTHORIZED)
    authorize(tool, args, principal, read_only_url)
    call = Call(principal, conn, tool.name, now or now_iso(), origin)
    output = tool.handler(call, args)
    if not tool.read_only and (dry_run or call.dry_run):
        raise Rehearsed(rehearsed(call, output))  # the transaction rolls back: nothing is stored
    if call.events:
        actor = Actor(
            principal.company_id,
            principal.user_id,
            principal.key_id,
            principal.source,
            tool.name,
            principal.oauth_client_id,
        )
        write_events(conn, actor, call.now, call.events)
        enqueue(conn, principal.company_id, principal.user_id, call.now, call.events)
    return output, (finish(call, output) if finish else None)


# ---- "did you mean" ---------------------------------------------------------------

_ENTITY_WORDS = (
    "contact",
    "organization",
    "organisation",
    "org",
    "deal",
    "service",
    "task",
    "entity",
    "record",
)
_ALIASES = [
    (("delete",), ["delete_entities"]),
    (("get", "read", "show"), ["get_entities"]),
    (("list", "search", "find", "query"), ["filter_entity", "search_all_entities"]),
    (("count",), ["count_entity"]),
    (("link", "connect", "attach"), ["link_entities"]),
    (("unlink", "detach"), ["unlink_entities"]),
]


def normalize_name(name: str) -> str:
    """`createContacts` / `create-contacts` -> `create_contacts`, to read the verb of a tool name."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name[:128].strip())
    return re.sub(r"[-\s]+", "_", name).lower()[:64]


def _alias_hits(name: str) -> list[str]:
    hits = []
    verb, _, rest = name.partition("_")
    if rest.startswith(_ENTITY_WORDS):
        for verbs, targets in _ALIASES:
            if verb in verbs:
                hits += targets
    if "note" in name:
        hits += ["append_entity_notes", "update_entity_notes"]
    return hits


def suggest(name: str, names: list[str], count: int = 3) -> list[str]:
    """Exactly `count` distinct names: spellings within 2 edits, then alias hits, then the rest by distance."""
    by_distance = [n for _, n in ranked(name, names)]
    close = closest(name, names, n=len(names), within=2)
    aliases = [n for n in _alias_hits(normalize_name(name)) if n in names]
    return list(dict.fromkeys(close + aliases + by_distance))[:count]
