"""The durable outbox: delivery rows written with the change, claimed under a lease, finished once.

    enqueue(conn, principal, now, events)   inside the call's transaction (registry._execute)
    claim(conn, ...)                        due rows -> `processing`, attempts + 1, lease set
    finish(conn, outcome)                   -> success | pending (retry) | failed
    requeue(conn, ids)                      unfinished attempts of a stopping worker -> pending, due now

Rows are the only source of truth: a process that dies leaves `pending` rows and `processing` rows
whose lease runs out, and whichever worker runs next claims them again (at least once, never lost).
"""

from __future__ import annotations

import functools
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from customermates.audit import AuditEvent
from customermates.ids import iso, new_id
from customermates.webhooks.events import EVENT_NAMES, envelope, record_json
from customermates.webhooks.settings import SCHEDULE_VARIABLE, WebhookSettings, parse_schedule

_EVENTS = frozenset(EVENT_NAMES)
OPEN = ("pending", "processing")
MAX_RETRY_AFTER = 12 * 3600.0

# Workers of this process, woken when a transaction inserts deliveries. The callback runs in the
# database thread before COMMIT; that is early enough, because a worker's claim needs the same
# writer and so starts only after this transaction ends.
_listeners: list[Callable[[], None]] = []


def listen(callback: Callable[[], None]) -> Callable[[], None]:
    _listeners.append(callback)
    return lambda: _listeners.remove(callback)


def _wake() -> None:
    for callback in list(_listeners):
        callback()


def stamp(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


def subscribers(conn: sqlite3.Connection, company_id: str) -> dict[str, list[str]]:
    """Event name -> ids of the company's enabled webhooks subscribed to it."""
    out: dict[str, list[str]] = {}
    for hook_id, events in conn.execute(
        "SELECT id, events FROM webhook WHERE company_id = ? AND enabled = 1 ORDER BY created_at, id",
        (company_id,),
    ):
        for name in json.loads(events):
            out.setdefault(name, []).append(hook_id)
    return out


def _noise(n: int) -> list[str]:
    """48 random bits per id, as 12 hex digits."""
    text = os.urandom(6 * n).hex()
    return [text[12 * i : 12 * i + 12] for i in range(n)]


@functools.lru_cache(maxsize=4)
def _max_attempts(schedule: str | None) -> int:
    """Attempts per delivery for a retry schedule: parsed once per value, not on every write."""
    return WebhookSettings(schedule=parse_schedule(schedule)).max_attempts


def enqueue(
    conn: sqlite3.Connection, company_id: str, user_id: str | None, now: str, events: list[AuditEvent]
) -> int:
    """One `pending` row per (record event x subscribed enabled webhook), in the call's transaction.

    A delivery id is its event's UUIDv7 with a fresh random tail: a UUIDv7 of the same moment, in
    event order, made without the id generator's per-id cost (hundreds of rows per call).
    """
    wanted = [e for e in events if e.event in _EVENTS]
    if not wanted:
        return 0
    hooks = subscribers(conn, company_id)
    if not hooks:
        return 0
    sent = [(event, hooks[event.event]) for event in wanted if event.event in hooks]
    if not sent:
        return 0
    max_attempts = _max_attempts(os.environ.get(SCHEDULE_VARIABLE))
    due = time.time()
    noise = iter(_noise(sum(len(targets) for _, targets in sent)))
    delivery_rows = [
        (company_id, event.id[:24] + next(noise), hook_id, event.id, max_attempts, due)
        for event, targets in sent
        for hook_id in targets
    ]
    records = [(event.id, record_json(event)) for event, _ in sent if event.record is not None]
    if records:
        conn.executemany("INSERT INTO webhook_record VALUES (?, ?)", records)
    conn.executemany(
        "INSERT INTO webhook_delivery (company_id, id, webhook_id, event_id, max_attempts, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        delivery_rows,
    )
    _wake()
    return len(delivery_rows)


# ---- the worker's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """One attempt to make: everything the sender needs, read in the claiming transaction."""

    company_id: str
    id: str
    webhook_id: str
    event_id: str
    event: str
    attempt: int
    url: str
    secret: str
    body: bytes

    @property
    def key(self) -> tuple[str, str]:
        return (self.company_id, self.id)


_DUE = """
SELECT webhook_id, company_id, min(id) FROM webhook_delivery
WHERE status IN ('pending', 'processing') AND due_at <= ?
GROUP BY webhook_id ORDER BY 3
"""
# The envelope's parts, in `events.envelope` order: everything the body is made of.
EVENT_COLUMNS = "a.id, a.event, a.occurred_at, a.entity_id, a.company_id, a.actor_user_id, a.changes, a.snapshot, r.record"
EVENT_JOIN = "JOIN audit_log a ON a.id = d.event_id LEFT JOIN webhook_record r ON r.event_id = d.event_id"
_LOAD = f"""
SELECT d.status, d.attempts, d.max_attempts, w.enabled, w.url, w.secret, {EVENT_COLUMNS}
FROM webhook_delivery d {EVENT_JOIN} LEFT JOIN webhook w ON w.id = d.webhook_id
WHERE d.company_id = ? AND d.id = ?
"""
_KEY = " WHERE company_id = ? AND id = ?"
_FAIL = "UPDATE webhook_delivery SET status = 'failed', response_message = ?, due_at = NULL"


def claim(conn: sqlite3.Connection, busy: set[str], slots: int, lease: float) -> list[Claimed]:
    """The oldest due row of up to `slots` webhooks not in `busy` (one attempt per webhook at a time)."""
    now = time.time()
    picked = [row for row in conn.execute(_DUE, (now,)) if row[0] not in busy][:slots]
    out = []
    for hook_id, company_id, delivery_id in picked:
        key = (company_id, delivery_id)
        status, attempts, max_attempts, enabled, url, secret, *parts = conn.execute(_LOAD, key).fetchone()
        if status == "processing":  # its process died mid-attempt; that attempt counts
            conn.execute("UPDATE webhook_delivery SET response_message = 'interrupted'" + _KEY, key)
            if attempts >= max_attempts:
                conn.execute(_FAIL + _KEY, ("interrupted", *key))
                continue
        if url is None:  # the webhook is gone; its open rows went with it, so this is a race: drop it
            conn.execute("DELETE FROM webhook_delivery" + _KEY, key)
            continue
        if not enabled:
            conn.execute(_FAIL + _KEY, ("webhook disabled", *key))
            continue
        conn.execute(
            "UPDATE webhook_delivery SET status = 'processing', attempts = attempts + 1, url = ?,"
            " last_attempt_at = ?, due_at = ?" + _KEY,
            (url, stamp(now), now + lease, *key),
        )
        body = envelope(*parts)
        out.append(
            Claimed(company_id, delivery_id, hook_id, parts[0], parts[1], attempts + 1, url, secret, body)
        )
    return out


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced; `final` ends the delivery whatever attempts remain."""

    key: tuple[str, str]  # (company id, delivery id)
    ok: bool
    status_code: int | None
    message: str
    body: str | None = None
    retry_after: float | None = None
    final: bool = False


def retry_delay(settings: WebhookSettings, attempt: int, retry_after: float | None) -> float:
    """The attempt-th delay of the schedule, times a random factor in [0.8, 1.2]; Retry-After only delays."""
    delay = settings.schedule[min(attempt, len(settings.schedule)) - 1] * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def finish(conn: sqlite3.Connection, outcome: Outcome, settings: WebhookSettings) -> float | None:
    """Record an attempt; returns when the retry is due, or None. A row deleted meanwhile is left alone."""
    row = conn.execute(
        "SELECT attempts, max_attempts FROM webhook_delivery" + _KEY + " AND status = 'processing'",
        outcome.key,
    ).fetchone()
    if row is None:
        return None
    attempts, max_attempts = row
    now = time.time()
    common = (outcome.status_code, outcome.message, outcome.body)
    if outcome.ok:
        status, due, delivered = "success", None, stamp(now)
    elif outcome.final or attempts >= max_attempts:
        status, due, delivered = "failed", None, None
    else:
        status, due, delivered = "pending", now + retry_delay(settings, attempts, outcome.retry_after), None
    conn.execute(
        "UPDATE webhook_delivery SET status = ?, status_code = ?, response_message = ?, response_body = ?,"
        " due_at = ?, delivered_at = ?" + _KEY,
        (status, *common, due, delivered, *outcome.key),
    )
    return due


def requeue(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> None:
    """Attempts cut short by a shutdown: back to `pending`, due at once (the attempt still counts)."""
    now = time.time()
    conn.executemany(
        "UPDATE webhook_delivery SET status = 'pending', response_message = 'interrupted', due_at = ?"
        + _KEY
        + " AND status = 'processing'",
        [(now, *key) for key in keys],
    )


def id_before(seconds: float) -> str:
    """The smallest UUIDv7 of that moment: every id made earlier sorts below it."""
    ms = f"{int(seconds * 1000):012x}"
    return f"{ms[:8]}-{ms[8:]}-0000-0000-000000000000"


def prune(conn: sqlite3.Connection, retention_days: float, batch: int = 500) -> int:
    """Delete up to `batch` finished rows older than the retention per company, then unused old events."""
    cutoff = id_before(time.time() - retention_days * 86400)
    gone = 0
    for (company_id,) in conn.execute("SELECT id FROM company").fetchall():
        gone += conn.execute(
            "DELETE FROM webhook_delivery WHERE company_id = ? AND id IN (SELECT id FROM webhook_delivery"
            " WHERE company_id = ? AND id < ? AND status IN ('success', 'failed') LIMIT ?)",
            (company_id, company_id, cutoff, batch),
        ).rowcount
    # One pass over the log, once an hour: cheaper than an index every queued delivery would pay for.
    conn.execute(
        "DELETE FROM webhook_record WHERE event_id < ? AND event_id NOT IN (SELECT event_id FROM webhook_delivery)",
        (cutoff,),
    )
    return gone


def resend(conn: sqlite3.Connection, company_id: str, original: dict[str, Any]) -> str:
    """A new row for the same webhook and event (same body and envelope id), due now."""
    new = new_id()
    conn.execute(
        "INSERT INTO webhook_delivery (company_id, id, webhook_id, event_id, max_attempts, resent_from, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            company_id,
            new,
            original["webhook_id"],
            original["event_id"],
            WebhookSettings.from_env().max_attempts,
            original["id"],
            time.time(),
        ),
    )
    _wake()
    return new


def created_at(delivery_id: str) -> str:
    """The creation time a UUIDv7 carries in its first 48 bits."""
    return stamp(int(delivery_id[:8] + delivery_id[9:13], 16) / 1000)
