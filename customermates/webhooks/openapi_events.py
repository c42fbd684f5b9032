"""The OpenAPI `webhooks` object: one POST per event, its envelope schema and the signing headers."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from customermates.crm.loading import RECORD_TYPES
from customermates.webhooks.events import EVENT_NAMES


class WebhookChange(msgspec.Struct):
    """One changed field: arrays of identified objects list only the removed/altered and added/altered."""

    previous: Any
    current: Any


def _title(name: str) -> str:
    return "".join(part.title() for part in name.split("."))


def _envelope(name: str) -> type:
    entity, verb = name.split(".")
    record = RECORD_TYPES[entity]
    payload = record
    if verb == "updated":
        fields = [(entity, record), ("changes", dict[str, WebhookChange])]
        payload = msgspec.defstruct(f"{entity.title()}UpdatedPayload", fields, module=__name__)
    data_fields = [("entityId", str), ("companyId", str), ("userId", str | None), ("payload", payload)]
    data = msgspec.defstruct(f"{_title(name)}Data", data_fields, module=__name__)
    event: Any = Literal[name]  # a Literal built per event name: only a runtime value can say that
    fields = [("id", str), ("event", event), ("timestamp", str), ("data", data)]
    return msgspec.defstruct(f"{_title(name)}Event", fields, module=__name__)


ENVELOPES: dict[str, type] = {name: _envelope(name) for name in EVENT_NAMES}

_SIGNING_HEADERS = (
    ("X-Webhook-Signature", "Lowercase hex HMAC-SHA256 of the raw body, keyed with the secret."),
    ("webhook-id", "The event id, equal to the body's `id`; the same on every attempt and resend."),
    ("webhook-timestamp", "This attempt's time, seconds since the Unix epoch."),
    (
        "webhook-signature",
        "`v1,` + base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` (Standard Webhooks).",
    ),
    ("X-Webhook-Event", "The event name."),
    ("X-Webhook-Delivery", "The delivery id (a resend has a new one)."),
    ("X-Webhook-Attempt", "The attempt number, from 1."),
)


def path_items(ref) -> dict[str, Any]:
    """`ref(type)` gives the `$ref` of a component; one Path Item per event, in event order."""
    headers = [
        {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in _SIGNING_HEADERS
    ]
    out = {}
    for name, envelope in ENVELOPES.items():
        entity, verb = name.split(".")
        out[name] = {
            "post": {
                "operationId": f"webhook_{entity}_{verb}",
                "summary": f"{name}: sent when a {entity} is {verb}",
                "tags": ["Webhooks"],
                "parameters": headers,
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref(envelope)}}},
                "responses": {"2XX": {"description": "acknowledged; any other answer is retried"}},
            }
        }
    return out
