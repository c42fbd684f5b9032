"""The seven webhook tools: subscriptions (list, get, create, update, delete) and the delivery log."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import filters as fl
from customermates.errors import BadValue, Issue, ToolError, invalid
from customermates.ids import new_id
from customermates.registry import Tool, needs
from customermates.rest.route import LIST_QUERY, Route
from customermates.shapes import Id, Input, Page, PageSize, SearchTerm, total_pages
from customermates.store.paging import counted_page, match_words
from customermates.validation import require_some
from customermates.webhooks import outbox, signing, url_safety
from customermates.webhooks.events import EVENT_NAMES, WebhookEvent, envelope
from customermates.webhooks.settings import insecure_allowed

log = logging.getLogger("customermates.webhooks")

MAX_WEBHOOKS = 25
TAG = "Webhooks"
_SECRET = re.compile(r"^[!-~]+$")

Url = Annotated[str, Meta(max_length=2048, description="The receiver; https to a public host.")]
# A pattern, not an enum: 15 names would cost the model ~270 characters on every tool that takes them.
EventName = Annotated[
    str,
    Meta(
        pattern=r"^(contact|organization|deal|service|task)\.(created|updated|deleted)$",
        extra={
            "format_name": "a webhook event",
            "format_hint": f"Use one of: {', '.join(EVENT_NAMES)}.",
        },
    ),
]
Events = Annotated[list[EventName], Meta(min_length=1, max_length=15, description="Record events to send.")]
Description = Annotated[str, Meta(max_length=500)]
Secret = Annotated[
    str, Meta(min_length=16, max_length=256, description="Signing secret, visible ASCII without spaces.")
]
WebhookId = Annotated[Id, Meta(description="From list_webhooks.")]
Status = Literal["pending", "processing", "success", "failed"]


class Webhook(msgspec.Struct):
    id: str
    url: str
    description: str | None
    events: list[WebhookEvent]
    enabled: bool
    createdAt: str
    updatedAt: str


class WebhookPage(msgspec.Struct):
    items: list[Webhook]
    total: int
    page: int
    pageSize: int
    totalPages: int


_WEBHOOK_SQL = "SELECT id, url, description, events, enabled, created_at, updated_at FROM webhook"


def _webhook(row: sqlite3.Row) -> Webhook:
    return Webhook(row[0], row[1], row[2], json.loads(row[3]), bool(row[4]), row[5], row[6])


def _load(call: Call, webhook_id: str, path: str = "$.id") -> tuple[Webhook, str]:
    row = call.conn.execute(
        f"{_WEBHOOK_SQL.replace('FROM', ', secret FROM')} WHERE company_id = ? AND id = ?",
        (call.company_id, webhook_id.lower()),
    ).fetchone()
    if row is None:
        raise ToolError(
            "not_found",
            f"Not found: webhook {webhook_id}. Ids come from list_webhooks.",
            [
                Issue(
                    path,
                    f"no webhook with id {webhook_id} exists in your company",
                    "Use an id from list_webhooks.",
                )
            ],
        )
    return _webhook(row), row[7]


def _audit(hook: Webhook) -> dict[str, Any]:
    """The audit snapshot: the webhook with its secret masked."""
    return msgspec.to_builtins(hook) | {"secret": "***"}


# ---- list_webhooks / get_webhook -------------------------------------------------------------------


class ListWebhooksInput(Input):
    searchTerm: Annotated[SearchTerm, Meta(description="Matched in url and description.")] = ""
    page: Page = 1
    pageSize: PageSize = 10


def list_webhooks(call: Call, args: ListWebhooksInput) -> WebhookPage:
    where, params = ["company_id = ?"], [call.company_id]
    match_words(
        where, params, args.searchTerm, "instr(lower(url || ' ' || coalesce(description, '')), ?) > 0"
    )
    total, rows = counted_page(
        call.conn, _WEBHOOK_SQL, "FROM webhook", where, params, "created_at DESC, id DESC",
        args.pageSize, (args.page - 1) * args.pageSize,
    )  # fmt: skip
    return WebhookPage(
        [_webhook(r) for r in rows], total, args.page, args.pageSize, total_pages(total, args.pageSize)
    )


class GetWebhookInput(Input):
    id: WebhookId
    includeSecret: Annotated[bool, Meta(description="Also return the signing secret.")] = False


class WebhookView(msgspec.Struct, omit_defaults=True):
    item: Webhook
    secretRevealed: bool
    secret: str | UnsetType = UNSET


def get_webhook(call: Call, args: GetWebhookInput) -> WebhookView:
    hook, secret = _load(call, args.id)
    if not args.includeSecret:
        return WebhookView(hook, False)
    # Audited as creating a webhook or changing its secret are (no secret in the row); the call runs as
    # a write for it (`audited` below).
    call.event("webhook", hook.id, "webhook.secret_revealed")
    log.warning("webhook %s: secret revealed to user %s", hook.id, call.principal.user_id)
    return WebhookView(hook, True, secret)


def _reveal_permission(args: GetWebhookInput) -> list[list[str]]:
    return [["api.readAll"], ["api.update"]] if args.includeSecret else [["api.readAll"]]


# ---- create_webhook / update_webhook / delete_webhook ------------------------------------------------


def _check(url: Any, events: Any, secret: Any) -> None:
    """URL safety, unique events, a well-formed secret: every problem at once, nothing written."""
    issues = []
    if url is not UNSET:
        try:
            url_safety.check_config(url, insecure_allowed())
        except url_safety.Refused as refused:
            issues.append(Issue("$.url", str(refused)))
    if events is not UNSET:
        first: dict[str, int] = {}
        for i, name in enumerate(events):
            if name in first:
                issues.append(
                    Issue(
                        f"$.events[{i}]",
                        f"{name} is listed twice (also at $.events[{first[name]}])",
                        "List each event once.",
                    )
                )
            first.setdefault(name, i)
    if secret is not UNSET and not _SECRET.match(secret):
        issues.append(
            Issue(
                "$.secret",
                "the secret holds spaces or non-ASCII characters",
                "Use visible ASCII only, or omit it to get a generated one.",
            )
        )
    if issues:
        raise invalid(issues)


class CreateWebhookInput(Input):
    url: Url
    events: Events
    description: Annotated[Description | None, Meta(description="A note for people.")] = None
    secret: Annotated[Secret, Meta(description="Omit to have one generated.")] | UnsetType = UNSET
    enabled: Annotated[bool, Meta(description="false pauses it.")] = True


class CreatedWebhook(msgspec.Struct):
    item: Webhook
    secret: str
    message: str


def create_webhook(call: Call, args: CreateWebhookInput) -> CreatedWebhook:
    _check(args.url, args.events, args.secret)
    count = call.conn.execute(
        "SELECT count(*) FROM webhook WHERE company_id = ?", (call.company_id,)
    ).fetchone()[0]
    if count >= MAX_WEBHOOKS:
        raise invalid(
            [
                Issue(
                    "$",
                    f"your company already has {count} webhooks, the most allowed",
                    "Delete or reuse one (list_webhooks).",
                )
            ]
        )
    secret = signing.new_secret() if args.secret is UNSET else args.secret
    hook = Webhook(
        new_id(), args.url, args.description or None, list(args.events), args.enabled, call.now, call.now
    )
    call.conn.execute(
        "INSERT INTO webhook VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hook.id,
            call.company_id,
            hook.url,
            hook.description,
            json.dumps(hook.events),
            secret,
            int(hook.enabled),
            call.now,
            call.now,
        ),
    )
    call.event("webhook", hook.id, "webhook.created", snapshot=_audit(hook))
    return CreatedWebhook(hook, secret, "Created the webhook; store the secret now, it is not shown again.")


class UpdateWebhookInput(Input):
    id: WebhookId
    url: Url | UnsetType = UNSET
    events: Annotated[Events, Meta(description="Replaces the list.")] | UnsetType = UNSET
    description: Annotated[Description, Meta(description='A note for people; "" clears.')] | UnsetType = UNSET
    secret: Annotated[Secret, Meta(description="A new signing secret.")] | UnsetType = UNSET
    enabled: Annotated[bool, Meta(description="false pauses deliveries.")] | UnsetType = UNSET


class WebhookResult(msgspec.Struct):
    item: Webhook
    message: str


def update_webhook(call: Call, args: UpdateWebhookInput) -> WebhookResult:
    require_some(args)
    before, old_secret = _load(call, args.id)
    url = UNSET if args.url is UNSET or args.url == before.url else args.url
    _check(url, args.events, args.secret)
    given = {
        k: getattr(args, k)
        for k in ("url", "events", "description", "enabled")
        if getattr(args, k) is not UNSET
    }
    if "description" in given:
        given["description"] = given["description"] or None
    after = msgspec.structs.replace(before, **given)
    secret = old_secret if args.secret is UNSET else args.secret
    changes = _audit_changes(before, after, old_secret != secret)
    if not changes:
        return WebhookResult(before, "Nothing changed; the webhook already had these values.")
    after = msgspec.structs.replace(after, updatedAt=call.now)
    call.conn.execute(
        "UPDATE webhook SET url = ?, description = ?, events = ?, secret = ?, enabled = ?, updated_at = ? WHERE id = ?",
        (
            after.url,
            after.description,
            json.dumps(after.events),
            secret,
            int(after.enabled),
            call.now,
            after.id,
        ),
    )
    call.event("webhook", after.id, "webhook.updated", changes=changes)
    return WebhookResult(after, f"Updated the webhook ({', '.join(changes)}).")


def _audit_changes(before: Webhook, after: Webhook, secret_changed: bool) -> dict[str, Any]:
    """`changes` for the audit log; a new secret shows as masked on both sides."""
    old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
    out = {k: {"previous": old[k], "current": new[k]} for k in new if k != "updatedAt" and old[k] != new[k]}
    if secret_changed:
        out["secret"] = {"previous": "***", "current": "***"}
    return out


class DeleteWebhookInput(Input):
    id: WebhookId


class DeletedWebhook(msgspec.Struct):
    id: str
    url: str
    message: str


def delete_webhook(call: Call, args: DeleteWebhookInput) -> DeletedWebhook:
    hook, _ = _load(call, args.id)
    dropped = call.conn.execute(
        "DELETE FROM webhook_delivery WHERE webhook_id = ? AND status IN ('pending', 'processing')",
        (hook.id,),
    ).rowcount
    call.conn.execute("DELETE FROM webhook WHERE id = ?", (hook.id,))
    call.event("webhook", hook.id, "webhook.deleted", snapshot=_audit(hook))
    return DeletedWebhook(
        hook.id, hook.url, f"Deleted the webhook; {dropped} undelivered deliveries dropped."
    )


# ---- the delivery log ------------------------------------------------------------------------------


class Delivery(msgspec.Struct, omit_defaults=True):
    id: str
    webhookId: str
    eventId: str
    event: WebhookEvent
    entityId: str
    url: str | None
    status: Status
    attempts: int
    maxAttempts: int
    statusCode: int | None
    responseMessage: str | None
    responseBody: str | None
    createdAt: str
    lastAttemptAt: str | None
    nextAttemptAt: str | None
    deliveredAt: str | None
    resentFrom: str | None
    requestBody: dict[str, Any] | UnsetType = UNSET


class DeliveryPage(msgspec.Struct):
    items: list[Delivery]
    total: int
    page: int
    pageSize: int
    totalPages: int


_DELIVERY_FROM = f"FROM webhook_delivery d {outbox.EVENT_JOIN} LEFT JOIN webhook w ON w.id = d.webhook_id"
_DELIVERY_SQL = f"""
SELECT d.id, d.webhook_id, d.event_id, a.event, a.entity_id, coalesce(d.url, w.url), d.status, d.attempts,
       d.max_attempts, d.status_code, d.response_message, d.response_body, d.last_attempt_at, d.due_at,
       d.delivered_at, d.resent_from, {outbox.EVENT_COLUMNS} {_DELIVERY_FROM}"""


def _delivery(row: sqlite3.Row, with_body: bool) -> Delivery:
    body = json.loads(envelope(*row[16:])) if with_body else UNSET
    next_at = outbox.stamp(row[13]) if row[13] is not None else None
    created = outbox.created_at(row[0])
    (ident, hook, event_id, event, entity, url, status, attempts, most, code, message, excerpt, last) = row[
        :13
    ]
    return Delivery(
        ident, hook, event_id, event, entity, url, status, attempts, most, code, message, excerpt, created, last,
        next_at, row[14], row[15], body,
    )  # fmt: skip


class DeliveryFilter(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    field: Annotated[
        str,
        Meta(
            max_length=20,
            description="event, status (operators in, notIn); webhookId (in); createdAt (gt, gte, lt, lte, "
            "between, inLastDays).",
        ),
    ]
    operator: Annotated[str, Meta(max_length=20, description="One the field allows.")]
    value: Annotated[Any, Meta(description="An array for in, notIn, between; days for inLastDays.")] = None


_FILTERS_HELP = 'ANDed rules, e.g. [{"field":"status","operator":"in","value":["failed"]}]'
_COLUMNS = {
    "event": "a.event",
    "status": "d.status",
    "webhookId": "d.webhook_id",
    "createdAt": "d.id",
}
_OPERATORS = {
    "event": ("in", "notIn"),
    "status": ("in", "notIn"),
    "webhookId": ("in",),
    "createdAt": ("gt", "gte", "lt", "lte", "between", "inLastDays"),
}
_CHOICES = {"event": EVENT_NAMES, "status": ("pending", "processing", "success", "failed")}
_MOMENT_FIELD = fl.Field("createdAt", "Created", fl.TIMESTAMP, "created_at")
# createdAt is compared through the id: a UUIDv7 below `id_at(t)` was made before t.
_COMPARE = {
    "gt": lambda c, v: (f"{c} >= ?", [_id_at(v.after)]),
    "gte": lambda c, v: (f"{c} >= ?", [_id_at(v.first)]),
    "lt": lambda c, v: (f"{c} < ?", [_id_at(v.first)]),
    "lte": lambda c, v: (f"{c} < ?", [_id_at(v.after)]),
}


def _id_at(moment: str) -> str:
    return outbox.id_before(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


class ListDeliveriesInput(Input):
    searchTerm: Annotated[SearchTerm, Meta(description="Matched in event and url.")] = ""
    filters: Annotated[list[DeliveryFilter], Meta(max_length=20, description=_FILTERS_HELP)] = []
    includeBody: Annotated[bool, Meta(description="Add requestBody, the envelope sent.")] = False
    page: Page = 1
    pageSize: PageSize = 10


class _BadRule(BadValue):
    """A bad rule part other than its value."""

    def __init__(self, path: str, message: str, hint: str):
        super().__init__(message, hint)
        self.path = path


def _read_list(rule: DeliveryFilter, at: str) -> list[str]:
    values = rule.value if isinstance(rule.value, list) else None
    if not values or len(values) > fl.MAX_VALUES:
        raise BadValue(
            f"{rule.operator} needs an array of 1-100 values", f'Send e.g. "value": [{_example(rule.field)}].'
        )
    for i, value in enumerate(values):
        choices = _CHOICES.get(rule.field)
        if choices is not None and value not in choices:
            raise _BadRule(
                f"{at}.value[{i}]",
                f"{json.dumps(value)} is not a {rule.field}",
                f"Use one of: {', '.join(choices)}.",
            )
        if choices is None:
            values[i] = fl.read_id(_MOMENT_FIELD, value)
    return values


def _example(field: str) -> str:
    return {"event": '"contact.created"', "status": '"failed"', "webhookId": '"<webhook id>"'}.get(
        field, '"2026-01-05"'
    )


def _rule_sql(rule: DeliveryFilter, at: str, now: datetime) -> tuple[str, list[Any]]:
    if rule.field not in _OPERATORS:
        raise _BadRule(
            f"{at}.field",
            f"{json.dumps(rule.field)} is not a delivery field",
            f"Use one of: {', '.join(_OPERATORS)}.",
        )
    if rule.operator not in _OPERATORS[rule.field]:
        raise _BadRule(
            f"{at}.operator",
            f"{rule.field} does not take {rule.operator}",
            f"Use one of: {', '.join(_OPERATORS[rule.field])}.",
        )
    column = _COLUMNS[rule.field]
    if rule.operator in ("in", "notIn"):
        values = _read_list(rule, at)
        negate = "NOT " if rule.operator == "notIn" else ""
        return f"{column} {negate}IN ({', '.join('?' * len(values))})", values
    if rule.operator == "inLastDays":
        window = fl.days_window(fl.read_days(rule.value), now)
        return f"{column} >= ? AND {column} < ?", [_id_at(window.first), _id_at(window.after)]
    if rule.operator == "between":
        if not isinstance(rule.value, list) or len(rule.value) != 2:
            raise BadValue("between needs [from, to]", 'Send e.g. "value": ["2026-01-01", "2026-01-31"].')
        start, end = (fl.read_moment(_MOMENT_FIELD, v) for v in rule.value)
        return f"{column} >= ? AND {column} < ?", [_id_at(start.first), _id_at(end.after)]
    return _COMPARE[rule.operator](column, fl.read_moment(_MOMENT_FIELD, rule.value))


def list_webhook_deliveries(call: Call, args: ListDeliveriesInput) -> DeliveryPage:
    where, params = ["d.company_id = ?"], [call.company_id]
    now = datetime.fromisoformat(call.now.replace("Z", "+00:00"))
    issues = []
    for i, rule in enumerate(args.filters):
        try:
            sql, values = _rule_sql(rule, f"$.filters[{i}]", now)
        except BadValue as bad:
            issues.append(Issue(getattr(bad, "path", f"$.filters[{i}].value"), bad.message, bad.hint))
            continue
        where.append(sql)
        params += values
    if issues:
        raise invalid(issues, writes=False)
    match_words(
        where, params, args.searchTerm, "instr(lower(a.event || ' ' || coalesce(d.url, w.url, '')), ?) > 0"
    )
    total, rows = counted_page(
        call.conn, _DELIVERY_SQL, _DELIVERY_FROM, where, params, "d.id DESC",
        args.pageSize, (args.page - 1) * args.pageSize,
    )  # fmt: skip
    items = [_delivery(r, args.includeBody) for r in rows]
    return DeliveryPage(items, total, args.page, args.pageSize, total_pages(total, args.pageSize))


class ResendInput(Input):
    id: Annotated[Id, Meta(description="From list_webhook_deliveries.")]


class Resent(msgspec.Struct):
    item: Delivery
    resentFrom: str
    message: str


def _not_found_delivery(delivery_id: str, why: str) -> ToolError:
    return ToolError(
        "not_found",
        f"Not found: {why}. Ids come from list_webhook_deliveries.",
        [Issue("$.id", why, "Use an id from list_webhook_deliveries.")],
    )


def resend_webhook_delivery(call: Call, args: ResendInput) -> Resent:
    row = call.conn.execute(
        "SELECT d.id, d.webhook_id, d.event_id, d.status, w.enabled FROM webhook_delivery d"
        " LEFT JOIN webhook w ON w.id = d.webhook_id WHERE d.company_id = ? AND d.id = ?",
        (call.company_id, args.id.lower()),
    ).fetchone()
    if row is None:
        raise _not_found_delivery(args.id, f"no delivery with id {args.id} exists in your company")
    original = dict(zip(("id", "webhook_id", "event_id", "status", "enabled"), row, strict=True))
    if original["enabled"] is None:
        raise _not_found_delivery(args.id, f"its webhook {original['webhook_id']} was deleted")
    if original["status"] in outbox.OPEN:
        raise invalid(
            [
                Issue(
                    "$.id",
                    f"the delivery is still {original['status']}",
                    "Wait for it: it is retried automatically.",
                )
            ]
        )
    if not original["enabled"]:
        hint = f'Enable the webhook first: update_webhook {{"id":"{original["webhook_id"]}","enabled":true}}.'
        raise invalid([Issue("$.id", "its webhook is disabled", hint)])
    new = outbox.resend(call.conn, call.company_id, original)
    call.event(
        "webhook",
        original["webhook_id"],
        "webhook_delivery.resent",
        snapshot={"deliveryId": new, "resentFrom": original["id"]},
    )
    row = call.conn.execute(f"{_DELIVERY_SQL} WHERE d.company_id = ? AND d.id = ?", (call.company_id, new))
    item = _delivery(row.fetchone(), False)
    return Resent(item, original["id"], "Queued a new delivery with the same event and body.")


TOOLS = [
    Tool(
        "list_webhooks",
        "List webhooks",
        "List the company's webhook subscriptions, newest first. Secrets are not listed (get_webhook).",
        ListWebhooksInput,
        WebhookPage,
        list_webhooks,
        "webhooks",
        needs("api.readAll"),
        read_only=True,
        idempotent=True,
        rest=(Route("GET", "/webhooks", "webhooks_list", TAG, body=False, query=LIST_QUERY),),
    ),
    Tool(
        "get_webhook",
        "Get webhook",
        "Read one webhook. Ask includeSecret only when the user needs the secret to verify signatures; "
        "the reveal is logged.",
        GetWebhookInput,
        WebhookView,
        get_webhook,
        "webhooks",
        _reveal_permission,
        read_only=True,
        idempotent=True,
        audited=lambda args: args.includeSecret,
        rest=(
            Route(
                "GET",
                "/webhooks/{id}",
                "webhooks_get",
                TAG,
                body=False,
                path_field="id",
                query=("includeSecret",),
            ),
        ),
    ),
    Tool(
        "create_webhook",
        "Create webhook",
        "Subscribe an HTTPS endpoint to record events: JSON POSTs signed with HMAC-SHA256 of the body. The "
        "secret is shown only now.",
        CreateWebhookInput,
        CreatedWebhook,
        create_webhook,
        "webhooks",
        needs("api.create"),
        rest=(Route("POST", "/webhooks", "webhooks_create", TAG, status=201, location="/webhooks/{id}"),),
    ),
    Tool(
        "update_webhook",
        "Update webhook",
        "Change a webhook; omitted fields stay.",
        UpdateWebhookInput,
        WebhookResult,
        update_webhook,
        "webhooks",
        needs("api.update"),
        idempotent=True,
        rest=(Route("PUT", "/webhooks/{id}", "webhooks_update", TAG, path_field="id"),),
    ),
    Tool(
        "delete_webhook",
        "Delete webhook",
        "IRREVERSIBLE. Removes a webhook and drops its undelivered deliveries; get the user's confirmation "
        "first. To pause instead, update_webhook with enabled false.",
        DeleteWebhookInput,
        DeletedWebhook,
        delete_webhook,
        "webhooks",
        needs("api.delete"),
        destructive=True,
        rest=(Route("DELETE", "/webhooks/{id}", "webhooks_delete", TAG, body=False, path_field="id"),),
    ),
    Tool(
        "list_webhook_deliveries",
        "List webhook deliveries",
        "The delivery log, newest first: status, attempts, last status code and response. pending and "
        "processing retry by themselves; resend_webhook_delivery sends a failed one again.",
        ListDeliveriesInput,
        DeliveryPage,
        list_webhook_deliveries,
        "webhooks",
        needs("api.readAll"),
        read_only=True,
        idempotent=True,
        rest=(
            Route(
                "GET",
                "/webhooks/deliveries",
                "webhook_deliveries_list",
                TAG,
                body=False,
                query=("searchTerm", "includeBody", "page", "pageSize"),
            ),
            Route("POST", "/webhooks/deliveries/search", "webhook_deliveries_search", TAG),
        ),  # fmt: skip
    ),
    Tool(
        "resend_webhook_delivery",
        "Resend webhook delivery",
        "Send a finished delivery again as a new delivery (same event id and body); not idempotent.",
        ResendInput,
        Resent,
        resend_webhook_delivery,
        "webhooks",
        needs("api.create"),
        rest=(
            Route(
                "POST",
                "/webhooks/deliveries/{id}/resend",
                "webhook_deliveries_resend",
                TAG,
                body=False,
                path_field="id",
                status=201,
            ),
        ),  # fmt: skip
    ),
]
