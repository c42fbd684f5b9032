"""The 15 subscribable events and the envelope each one is sent in (docs/webhooks.md)."""

from __future__ import annotations

from typing import Literal

import msgspec

from customermates.audit import AuditEvent
from customermates.crm.model import ENTITY_TYPES

VERBS = ("created", "updated", "deleted")
EVENT_NAMES = tuple(f"{entity}.{verb}" for entity in ENTITY_TYPES for verb in VERBS)
WebhookEvent = Literal[EVENT_NAMES]  # type: ignore[valid-type]

_encode = msgspec.json.Encoder().encode


def envelope(
    event_id: str,
    event: str,
    timestamp: str,
    entity_id: str,
    company_id: str,
    user_id: str | None,
    changes: str | None,
    snapshot: str | None,
    record: str | None,
) -> bytes:
    """The body of every attempt, joined from JSON stored once with the event (same bytes each time).

    created: the record after (the audit snapshot); deleted: the record before (the audit snapshot);
    updated: `{"<type>": record after, "changes": …}` (changes from the audit row).
    """
    if event.endswith(".updated"):
        payload = f'{{"{event.split(".")[0]}":{record},"changes":{changes}}}'
    else:
        payload = snapshot or "null"  # created and deleted events always carry a snapshot
    head = _encode(
        {
            "id": event_id,
            "event": event,
            "timestamp": timestamp,
            "data": {"entityId": entity_id, "companyId": company_id, "userId": user_id, "payload": None},
        }
    ).decode()
    return (head[: -len("null}}")] + payload + "}}").encode()


def record_json(event: AuditEvent) -> str:
    return _encode(event.record).decode()
