"""The tool registry: each tool declared once; everything else is derived from the declaration.

    Tool(name, title, description, input, output, handler, permission, hints, toolset)
      -> tools/list entry (schemas, annotations)          `Tool.listing`
      -> argument validation with every issue            `validation.check`
      -> permission and read-only-key checks             `Registry.invoke`
      -> one unit of work in one thread hop              `Database.read` / `Database.write`
      -> structuredContent + a TOON (or JSON) text item  `Outcome`
      -> REST routes and OpenAPI operations              `rest.py`, `openapi.py`

A handler is a plain function `handler(call, args) -> output` that runs inside the database thread,
in the transaction of the call: it reads and writes through `call.conn` and records audit events
with `call.event(...)`; raising `ToolError` rolls everything back.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import toon_format

from customermates.audit import Actor, AuditEvent, write_events
from customermates.auth import Principal
from customermates.errors import ToolError, forbidden
from customermates.ids import new_id, now_iso
from customermates.jsonschema import tool_schema
from customermates.validation import check
from customermates.webhooks.outbox import enqueue

log = logging.getLogger("customermates.tools")

# TOOLS.md §0: tools/list order. A tool not built yet is simply absent (README decision 12).
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
]
TOOLSETS = ("core", "custom_columns", "widgets", "webhooks", "account")

Requirement = Callable[[Any], list[list[str]]]
"""Permission rule: from the validated input, groups of alternatives; every group needs one grant."""


def needs(*alternatives: str) -> Requirement:
    """Any one of `alternatives` suffices (`company.readOwn | company.readAll`)."""
    return lambda _args: [list(alternatives)]


def per_entity(*actions: str, attr: str = "entity") -> Requirement:
    """`<res>.<action>` where `<res>` is the resource of the input's entity type."""
    from customermates.permissions import CRM_RESOURCES

    by_type = {r[:-1]: r for r in CRM_RESOURCES}
    return lambda args: [[f"{by_type[getattr(args, attr)]}.{a}" for a in actions]]


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

    def listing(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": tool_schema(self.input),
            "outputSchema": tool_schema(self.output),
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            },
        }


@dataclass
class Call:
    """One tool call in progress: who, the open connection, the transaction time, recorded events."""

    principal: Principal
    conn: sqlite3.Connection
    tool: Tool
    now: str
    origin: str | None = None
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def company_id(self) -> str:
        return self.principal.company_id

    def event(self, entity_type: str, entity_id: str, event: str, changes=None, snapshot=None) -> AuditEvent:
        recorded = AuditEvent(entity_type, entity_id, event, changes, snapshot)
        self.events.append(recorded)
        return recorded


@dataclass(frozen=True)
class Outcome:
    """A finished call: the structured object, its text item, and whether it is an error."""

    structured: dict[str, Any]
    text: str
    is_error: bool = False
    status: int = 200


_to_builtins = msgspec.to_builtins


def success(tool: Tool, output: Any) -> Outcome:
    data = _to_builtins(output)
    text = msgspec.json.encode(data).decode() if tool.text_as_json else toon_format.encode(data)
    return Outcome(data, text)


def failure(error: ToolError) -> Outcome:
    return Outcome(_to_builtins(error.to_struct()), error.to_text(), True, error.status)


class Registry:
    def __init__(self, tools: Iterable[Tool]):
        order = {name: i for i, name in enumerate(CATALOG)}
        listed = sorted(tools, key=lambda t: order.get(t.name, len(order)))
        self.tools: dict[str, Tool] = {t.name: t for t in listed}
        self._listing = [(t, t.listing()) for t in listed]
        self._encoded: dict[tuple[frozenset[str] | None, bool], msgspec.Raw] = {}

    def listing(
        self, toolsets: frozenset[str] | None = None, read_only: bool = False
    ) -> list[dict[str, Any]]:
        return [
            entry
            for tool, entry in self._listing
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
        if tool is None:
            picks = suggest(name, list(self.tools))
            raise ToolError(
                "unknown_tool",
                f"There is no tool named {name!r}. Did you mean: {', '.join(picks)}? "
                f"tools/list has all {len(self.tools)} tools.",
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
        """Validate the input, then check permissions (TOOLS.md §1.3 check order)."""
        typed = check(args, tool.input, writes=not tool.read_only)
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
        return typed

    async def invoke(
        self,
        db,
        name: str,
        args: Any,
        principal: Principal,
        *,
        origin: str | None = None,
        toolsets: frozenset[str] | None = None,
        read_only_url: bool = False,
        correlation_id: str | None = None,
    ) -> Outcome:
        """Run one tool call end to end and return its outcome (errors included, never raised).

        `correlation_id` names an unexpected failure in the log and the result; HTTP passes its
        X-Request-Id so the two match.
        """
        try:
            tool = self.lookup(name, toolsets)
            typed = self.prepare(tool, args, principal, read_only_url)
            run = db.read if tool.read_only else db.write
            output = await run(_execute, tool, typed, principal, origin)
            return success(tool, output)
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


def _execute(
    conn: sqlite3.Connection, tool: Tool, args: Any, principal: Principal, origin: str | None
) -> Any:
    call = Call(principal, conn, tool, now_iso(), origin)
    output = tool.handler(call, args)
    if call.events:
        actor = Actor(principal.company_id, principal.user_id, principal.key_id, principal.source, tool.name)
        write_events(conn, actor, call.now, call.events)
        enqueue(conn, principal.company_id, principal.user_id, call.now, call.events)
    return output


# ---- "did you mean" (TOOLS.md §1.6) ---------------------------------------------------------------

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
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip())
    return re.sub(r"[-\s]+", "_", name).lower()


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


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
    """Exactly `count` distinct names: close spellings, then alias hits, then the rest by distance."""
    # Levenshtein is quadratic: a hostile megabyte-long name must not stall the server.
    wanted = normalize_name(name[:128])[:64]
    distance = {n: levenshtein(wanted, n) for n in names}
    by_distance = sorted(names, key=lambda n: distance[n])  # stable: ties keep tools/list order
    close = [n for n in by_distance if distance[n] <= 2]
    ranked = close + [n for n in _alias_hits(wanted) if n in distance] + by_distance
    return list(dict.fromkeys(ranked))[:count]
