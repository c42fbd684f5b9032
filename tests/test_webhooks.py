"""Webhooks end to end: the real server, a real receiver on a loopback port, real signatures."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from customermates.webhooks import url_safety
from tests.conftest import ROOT, Tenant, err, free_port, make_tenant, ok, running_server
from tests.records_support import audit
from tests.webhook_receiver import Receiver, receiving

ALL_EVENTS = [
    f"{t}.{v}"
    for t in ("contact", "organization", "deal", "service", "task")
    for v in ("created", "updated", "deleted")
]
FAST = {
    "CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE": "1",
    "CUSTOMERMATES_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2",  # 4 attempts
    "CUSTOMERMATES_WEBHOOK_TIMEOUT_SECONDS": "1",
}


@pytest.fixture
def fast(monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@pytest.fixture
def c(fast, db_path: Path, tenant: Tenant) -> Iterator[httpx.Client]:
    with (
        running_server(db_path) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}, timeout=30) as client,
    ):
        yield client


def hook(client: httpx.Client, url: str, events: list[str], **extra) -> dict:
    return ok(client, "create_webhook", {"url": url, "events": events, **extra})


def envelopes(requests) -> list[dict]:
    return [json.loads(r.body) for r in requests]


def deliveries(client: httpx.Client, **args) -> dict:
    return ok(client, "list_webhook_deliveries", {"pageSize": 100, **args})


def wait_rows(client: httpx.Client, done, timeout: float = 15.0) -> list[dict]:
    """Poll the delivery log until `done(items)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        items = deliveries(client)["items"]
        if done(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def by_event(received: list[dict]) -> dict[tuple[str, str], dict]:
    return {(e["event"], e["data"]["entityId"]): e for e in received}


# ---- events and payloads ----------------------------------------------------------------------------


def test_every_event_kind_arrives_with_its_payload(c, rx, tenant):
    hook(c, rx.url, ALL_EVENTS)
    org = ok(c, "create_organizations", {"organizations": [{"name": "Acme"}]})["items"][0]["id"]
    ada = ok(
        c,
        "create_contacts",
        {
            "contacts": [
                {
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "emails": ["ada@acme.example"],
                    "organizationIds": [org],
                }
            ]
        },
    )["items"][0]["id"]
    received = envelopes(rx.wait_for(3))
    first = by_event(received)
    created = first[("contact.created", ada)]
    assert list(created) == ["id", "event", "timestamp", "data"]
    assert list(created["data"]) == ["entityId", "companyId", "userId", "payload"]
    assert created["data"]["companyId"] == tenant.company_id and created["data"]["userId"] == tenant.user_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["timestamp"])
    assert created["data"]["payload"]["firstName"] == "Ada"
    assert created["data"]["payload"]["organizations"] == [{"id": org, "name": "Acme"}]
    assert created["data"]["payload"]["notes"] is None
    linked = first[("organization.updated", org)]["data"]["payload"]
    assert linked["organization"]["contacts"] == [{"id": ada, "firstName": "Ada", "lastName": "Lovelace"}]
    assert linked["changes"] == {
        "contacts": {"previous": [], "current": [{"id": ada, "firstName": "Ada", "lastName": "Lovelace"}]}
    }
    assert rx.requests[1].headers["webhook-id"] == received[1]["id"]

    # A no-op update sends nothing; a change sends only what changed.
    ok(c, "update_contacts", {"contacts": [{"id": ada, "firstName": "Ada"}]})
    ok(c, "update_contacts", {"contacts": [{"id": ada, "firstName": "Augusta"}]})
    renamed = envelopes(rx.wait_for(4))[3]
    assert renamed["event"] == "contact.updated"
    assert renamed["data"]["payload"]["changes"] == {"firstName": {"previous": "Ada", "current": "Augusta"}}
    assert renamed["data"]["payload"]["contact"]["firstName"] == "Augusta"

    # Deal, service and task; a price change reaches the deal through its total.
    svc = ok(c, "create_services", {"services": [{"name": "Audit", "amount": 100}]})["items"][0]["id"]
    deal = ok(
        c, "create_deals", {"deals": [{"name": "Big", "services": [{"serviceId": svc, "quantity": 2}]}]}
    )["items"][0]["id"]
    task = ok(c, "create_tasks", {"tasks": [{"name": "Call", "dealIds": [deal]}]})["items"][0]["id"]
    ok(c, "update_services", {"services": [{"id": svc, "amount": 150}]})
    ok(c, "update_tasks", {"tasks": [{"id": task, "name": "Call back"}]})
    ok(c, "update_organizations", {"organizations": [{"id": org, "name": "Acme GmbH"}]})
    before = len(rx.wait_for(13))
    seen = by_event(envelopes(rx.requests))
    total = seen[("deal.updated", deal)]["data"]["payload"]["changes"]
    assert total["totalValue"] == {"previous": 200, "current": 300}
    assert ("contact.updated", ada) in seen  # only the earlier rename: renaming the organization sends none
    assert sum(1 for e in envelopes(rx.requests) if e["event"] == "contact.updated") == 1

    # Deletes carry the record as it was; the other side of each link gets `.updated`.
    ok(c, "delete_entities", {"entity": "contact", "ids": [ada]})
    gone = by_event(envelopes(rx.wait_for(before + 2)))
    was = gone[("contact.deleted", ada)]["data"]["payload"]
    assert (was["firstName"], was["emails"], was["organizations"]) == (
        "Augusta",
        ["ada@acme.example"],
        [{"id": org, "name": "Acme GmbH"}],
    )
    assert gone[("organization.updated", org)]["data"]["payload"]["changes"]["contacts"]["previous"] == [
        {"id": ada, "firstName": "Augusta", "lastName": "Lovelace"}
    ]
    for entity, ident in (("task", task), ("deal", deal), ("service", svc), ("organization", org)):
        ok(c, "delete_entities", {"entity": entity, "ids": [ident]})
    final = envelopes(rx.wait_for(before + 2 + 6))
    assert len(rx.quiet(0.5)) == before + 2 + 6
    assert {e["event"] for e in final} == set(ALL_EVENTS)
    assert len({e["id"] for e in final}) == len(final)


def test_one_event_per_record_per_call_and_nothing_for_failures(c, rx):
    hook(c, rx.url, ["organization.updated", "contact.created"])
    org = ok(c, "create_organizations", {"organizations": [{"name": "Acme"}]})["items"][0]["id"]
    three = [{"firstName": n, "organizationIds": [org]} for n in ("Ann", "Bob", "Cy")]
    ok(c, "create_contacts", {"contacts": three})
    received = envelopes(rx.wait_for(4))
    updates = [e for e in received if e["event"] == "organization.updated"]
    assert len(updates) == 1
    assert [r["firstName"] for r in updates[0]["data"]["payload"]["changes"]["contacts"]["current"]] == [
        "Ann",
        "Bob",
        "Cy",
    ]

    # A failing batch, an unsubscribed event and an already-linked id add no delivery.
    total = deliveries(c)["total"]
    err(c, "create_contacts", {"contacts": [{"firstName": "Ok"}, {"firstName": ""}]})
    ok(c, "create_tasks", {"tasks": [{"name": "Not subscribed"}]})
    contact = updates[0]["data"]["payload"]["changes"]["contacts"]["current"][0]["id"]
    ok(
        c,
        "link_entities",
        {"entity": "contact", "sourceId": contact, "relation": "organizations", "ids": [org]},
    )
    assert deliveries(c)["total"] == total
    assert len(rx.quiet(0.5)) == 4


# ---- signing ------------------------------------------------------------------------------------------


def test_signatures_verify_with_both_schemes(c, rx):
    made = hook(c, rx.url, ["contact.created"])
    secret = made["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    listed = ok(c, "list_webhooks", {})["items"][0]
    assert "secret" not in listed
    assert "secret" not in ok(c, "get_webhook", {"id": made["item"]["id"]})
    revealed = ok(c, "get_webhook", {"id": made["item"]["id"], "includeSecret": True})
    assert (revealed["secretRevealed"], revealed["secret"]) == (True, secret)

    given = "s3cret-s3cret-s3cret"
    hook(c, rx.url + "?given", ["contact.created"], secret=given)
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    requests = rx.wait_for(2)
    for request in requests:
        key = given if request.path.endswith("?given") else secret
        expected = hmac.new(key.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Webhook-Signature"] == expected
        standard = key if key.startswith("whsec_") else "whsec_" + base64.b64encode(key.encode()).decode()
        assert StandardWebhook(standard).verify(request.body, request.headers)["event"] == "contact.created"
        assert request.headers["X-Webhook-Event"] == "contact.created"
        assert request.headers["Content-Type"] == "application/json"
    forged = dict(requests[0].headers, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
    with pytest.raises(Exception, match="No matching signature"):
        StandardWebhook(secret).verify(requests[0].body, forged)


def test_revealing_a_secret_is_in_the_audit_log_reading_a_webhook_is_not(c, rx, db_path):
    """Like creating a webhook or changing its secret, revealing it leaves an audit row (no secret in it)."""
    made = hook(c, rx.url, ["contact.created"])
    hook_id = made["item"]["id"]
    ok(c, "get_webhook", {"id": hook_id})
    assert [e["event"] for e in audit(db_path, hook_id)] == ["webhook.created"]
    ok(c, "get_webhook", {"id": hook_id, "includeSecret": True})
    assert c.get(f"/api/v1/webhooks/{hook_id}", params={"includeSecret": "true"}).status_code == 200
    events = audit(db_path, hook_id)
    assert [(e["event"], e["operation"]) for e in events[1:]] == [
        ("webhook.secret_revealed", "get_webhook")
    ] * 2
    assert made["secret"] not in json.dumps(events)
    assert deliveries(c)["total"] == 0  # not a record event: no delivery


# ---- retries, give-up, resend -----------------------------------------------------------------------


def test_retry_then_success(c, rx):
    rx.fail_times = 2
    hook(c, rx.url, ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    requests = rx.wait_for(3)
    assert [r.headers["X-Webhook-Attempt"] for r in requests] == ["1", "2", "3"]
    assert len({r.body for r in requests}) == 1 and len({r.headers["webhook-id"] for r in requests}) == 1
    [row] = wait_rows(c, lambda items: items and items[0]["status"] == "success")
    assert (row["status"], row["attempts"], row["statusCode"], row["maxAttempts"]) == ("success", 3, 200, 4)
    assert row["deliveredAt"] is not None and row["nextAttemptAt"] is None
    assert len(rx.quiet(0.5)) == 3


def test_give_up_after_the_last_attempt_then_resend(c, rx):
    rx.fail_times, rx.fail_body = 4, b"x" * 1000 + "é".encode() * 2048
    made = hook(c, rx.url, ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    requests = rx.wait_for(4)
    [row] = wait_rows(c, lambda items: items and items[0]["status"] == "failed")
    assert (row["status"], row["attempts"], row["statusCode"], row["nextAttemptAt"]) == (
        "failed",
        4,
        500,
        None,
    )
    assert row["responseMessage"] == "HTTP 500 Internal Server Error"
    assert row["responseBody"].encode("utf-8", "replace")[:1000] == b"x" * 1000
    assert len(row["responseBody"]) == 1000 + 12  # 1024 bytes: 12 whole "é" of 2 bytes each
    assert len(rx.quiet(0.7)) == 4

    resent = ok(c, "resend_webhook_delivery", {"id": row["id"]})
    assert resent["resentFrom"] == row["id"] and resent["item"]["id"] != row["id"]
    again = rx.wait_for(5)[4]
    assert again.body == requests[0].body
    assert again.headers["webhook-id"] == requests[0].headers["webhook-id"]
    assert (
        again.headers["X-Webhook-Delivery"]
        == resent["item"]["id"]
        != requests[0].headers["X-Webhook-Delivery"]
    )
    items = wait_rows(c, lambda items: items[0]["status"] == "success")
    assert [(i["id"], i["status"], i["attempts"]) for i in items] == [
        (resent["item"]["id"], "success", 1),
        (row["id"], "failed", 4),
    ]
    with_body = deliveries(c, includeBody=True)["items"][0]["requestBody"]
    assert with_body == json.loads(requests[0].body)
    failed = deliveries(c, filters=[{"field": "status", "operator": "in", "value": ["failed"]}])
    assert [i["id"] for i in failed["items"]] == [row["id"]]
    assert deliveries(c, searchTerm="contact.created", pageSize=1)["totalPages"] == 2

    # Disabled webhook: resend refused with the fix; delete: its finished rows stay, resend is not_found.
    ok(c, "update_webhook", {"id": made["item"]["id"], "enabled": False})
    refused = err(c, "resend_webhook_delivery", {"id": row["id"]})
    assert refused["code"] == "invalid_input"
    assert f'update_webhook {{"id":"{made["item"]["id"]}","enabled":true}}' in refused["issues"][0]["hint"]
    ok(c, "delete_webhook", {"id": made["item"]["id"]})
    assert deliveries(c)["total"] == 2
    assert err(c, "resend_webhook_delivery", {"id": row["id"]})["code"] == "not_found"


def test_retry_after_delays_the_retry_and_delete_drops_what_is_still_queued(c, rx):
    rx.fail_times, rx.fail_status, rx.fail_headers = 1, 503, {"Retry-After": "2"}
    hook(c, rx.url, ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    first, second = rx.wait_for(2)
    assert second.at - first.at >= 1.9  # the schedule alone would retry after ~0.2 s
    rx.fail_times, rx.fail_headers = 99, {"Retry-After": "30"}
    doomed = hook(c, rx.url + "?doomed", ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Bo"}, {"firstName": "Cy"}]})
    rx.wait_for(2 + 4)
    items = wait_rows(c, lambda items: all(i["status"] == "pending" for i in items[:4]))
    assert [i["status"] for i in items[:4]] == ["pending"] * 4 and items[3]["nextAttemptAt"] is not None
    result = ok(c, "delete_webhook", {"id": doomed["item"]["id"]})
    assert result["message"].endswith("2 undelivered deliveries dropped.")
    assert all(i["webhookId"] != doomed["item"]["id"] for i in deliveries(c)["items"])
    seen = len(rx.requests)
    assert (
        len(rx.quiet(0.6)) <= seen + 2
    )  # the original webhook's two rows may still retry; none for the deleted


def test_bad_delivery_filters_name_the_rule_and_the_fix(c, rx):
    cases = [
        (
            {"field": "url", "operator": "in", "value": ["x"]},
            "$.filters[0].field",
            "event, status, webhookId, createdAt",
        ),
        (
            {"field": "webhookId", "operator": "notIn", "value": ["x"]},
            "$.filters[0].operator",
            "Use one of: in.",
        ),
        ({"field": "status", "operator": "in", "value": ["lost"]}, "$.filters[0].value[0]", "failed"),
        ({"field": "createdAt", "operator": "gte", "value": "yesterday"}, "$.filters[0].value", "2026-01-05"),
    ]
    for rule, path, hint in cases:
        error = err(c, "list_webhook_deliveries", {"filters": [rule]})
        assert (error["code"], error["issues"][0]["path"]) == ("invalid_input", path)
        assert hint in error["issues"][0]["hint"]
    hook(c, rx.url, ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    today = deliveries(c)["items"][0]["createdAt"][:10]
    for value, total in ((["2020-01-01", "2020-12-31"], 0), ([today, today], 1)):
        window = [{"field": "createdAt", "operator": "between", "value": value}]
        assert deliveries(c, filters=window)["total"] == total
    assert deliveries(c, filters=[{"field": "createdAt", "operator": "lt", "value": today}])["total"] == 0


def test_redirects_are_not_followed_and_timeouts_are_retried(c, rx):
    with receiving() as target:
        rx.redirect_to = target.url
        hook(c, rx.url, ["contact.created"])
        ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
        rx.wait_for(1)
        [row] = wait_rows(c, lambda items: items and items[0]["attempts"] >= 1 and items[0]["statusCode"])
        assert row["responseMessage"] == f"HTTP 302; redirect to {target.url} not followed"
        assert target.quiet(0.3) == []
    rx.redirect_to, rx.stall_seconds = None, 1.5
    ok(c, "create_contacts", {"contacts": [{"firstName": "Bo"}]})
    items = wait_rows(c, lambda items: items[0]["attempts"] >= 1 and items[0]["responseMessage"])
    assert items[0]["responseMessage"] == "timed out after 1 s" and items[0]["status"] == "pending"


def test_attempts_in_flight_are_bounded_and_one_webhook_gets_its_events_in_order(
    fast, monkeypatch, db_path, tenant, rx
):
    # A generous timeout: an attempt that timed out would leave the receiver busy while the next starts.
    monkeypatch.setenv("CUSTOMERMATES_WEBHOOK_TIMEOUT_SECONDS", "20")
    with (
        running_server(db_path) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}) as c,
    ):
        _bounded_and_ordered(c, rx)


def _bounded_and_ordered(c: httpx.Client, rx: Receiver) -> None:
    rx.stall_seconds = 0.6
    for n in range(12):
        hook(c, f"{rx.url}?h={n}", ["contact.created"])
    ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    rx.wait_for(12)
    assert 2 <= rx.max_in_flight <= 8  # CUSTOMERMATES_WEBHOOK_CONCURRENCY defaults to 8
    rx.stall_seconds = 0.05
    names = [f"C{n:02}" for n in range(10)]
    for name in names:
        ok(c, "create_contacts", {"contacts": [{"firstName": name}]})
    received = rx.wait_for(12 + 10 * 12)
    ours = [json.loads(r.body)["data"]["payload"]["firstName"] for r in received if r.path == "/hook?h=3"]
    assert ours == ["Ada", *names]
    assert rx.max_per_path == 1


# ---- who gets what ------------------------------------------------------------------------------------


def test_disabled_and_other_company_webhooks_get_nothing(c, rx, db_path):
    on = hook(c, rx.url + "?on", ["contact.created"])
    hook(c, rx.url + "?off", ["contact.created"], enabled=False)
    other = make_tenant(db_path, "Globex", "owner@globex.example")
    with httpx.Client(base_url=str(c.base_url), headers={"x-api-key": other.key}, timeout=30) as theirs:
        their_hook = hook(theirs, rx.url + "?globex", ["contact.created"])
        ok(c, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
        assert [r.path for r in rx.wait_for(1)] == ["/hook?on"]
        assert [r.path for r in rx.quiet(0.6)] == ["/hook?on"]
        assert deliveries(theirs)["total"] == 0
        assert [i["webhookId"] for i in deliveries(c)["items"]] == [
            on["item"]["id"]
        ]  # no row for the disabled one
        ours = deliveries(c)["items"][0]["id"]
        assert err(theirs, "resend_webhook_delivery", {"id": ours})["code"] == "not_found"
        assert err(c, "get_webhook", {"id": their_hook["item"]["id"]})["code"] == "not_found"
        assert err(c, "delete_webhook", {"id": their_hook["item"]["id"]})["code"] == "not_found"
        ok(theirs, "create_contacts", {"contacts": [{"firstName": "Gil"}]})
        assert [r.path for r in rx.wait_for(2)] == ["/hook?on", "/hook?globex"]


# ---- URL safety ---------------------------------------------------------------------------------------


@pytest.fixture
def strict(monkeypatch, db_path, tenant) -> Iterator[httpx.Client]:
    monkeypatch.delenv("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE", raising=False)
    answers = {"internal.example": "10.0.4.2", "public.example": "8.8.8.8"}
    monkeypatch.setattr(
        url_safety, "resolve", lambda host, port: [url_safety.ipaddress.ip_address(answers[host])]
    )
    with (
        running_server(db_path) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}, timeout=30) as client,
    ):
        client.answers = answers
        yield client


@pytest.mark.parametrize(
    ("url", "events", "path", "expected"),
    [
        ("ftp://hooks.example/x", ["contact.created"], "$.url", "[https_required]"),
        ("http://example.com/h", ["contact.created"], "$.url", "[https_required]"),
        ("https://127.0.0.1/h", ["contact.created"], "$.url", '[address_not_public] "127.0.0.1"'),
        ("https://10.0.0.5/h", ["contact.created"], "$.url", '[address_not_public] "10.0.0.5"'),
        ("https://[::ffff:10.0.0.1]/h", ["contact.created"], "$.url", "[address_not_public]"),
        ("https://localhost/h", ["contact.created"], "$.url", '[address_not_public] "localhost"'),
        ("https://internal.example/h", ["contact.created"], "$.url", "resolves to 10.0.4.2"),
        ("https://user:pw@8.8.8.8/h", ["contact.created"], "$.url", "[credentials_in_url]"),
        ("https://8.8.8.8/h", [], "$.events", "at least 1"),
        ("https://8.8.8.8/h", ["contact.changed"], "$.events[0]", "task.deleted"),
    ],
)
def test_unsafe_urls_and_bad_events_are_refused_and_nothing_is_written(strict, url, events, path, expected):
    error = err(strict, "create_webhook", {"url": url, "events": events})
    assert error["code"] == "invalid_input"
    [issue] = error["issues"]
    assert issue["path"] == path
    assert expected in issue["message"] + " " + issue["hint"]
    if "https_required" in expected:
        assert "CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE" in issue["message"]
    assert ok(strict, "list_webhooks", {})["total"] == 0


def test_update_checks_a_new_url_and_changes_nothing_when_refused(strict):
    made = hook(strict, "https://8.8.8.8/h", ["task.deleted"], description="CRM mirror")
    assert ok(strict, "list_webhooks", {"searchTerm": "MIRROR"})["total"] == 1
    assert ok(strict, "list_webhooks", {"searchTerm": "mirror nowhere"})["total"] == 0
    refused = err(
        strict, "update_webhook", {"id": made["item"]["id"], "url": "http://8.8.8.8/h", "enabled": False}
    )
    assert refused["issues"][0]["message"].startswith("[https_required]")
    assert ok(strict, "get_webhook", {"id": made["item"]["id"]})["item"] == made["item"]
    changed = ok(
        strict, "update_webhook", {"id": made["item"]["id"], "description": "", "events": ["deal.created"]}
    )
    assert (changed["item"]["description"], changed["item"]["events"]) == (None, ["deal.created"])


def test_a_name_that_later_resolves_privately_is_refused_at_delivery(strict, rx):
    port = rx.url.split(":")[2].split("/")[0]
    made = hook(strict, f"https://public.example:{port}/h", ["contact.created"])
    assert ok(strict, "list_webhooks", {})["total"] == 1
    strict.answers["public.example"] = "127.0.0.1"
    ok(strict, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
    [row] = wait_rows(strict, lambda items: items and items[0]["status"] == "failed")
    assert row["attempts"] == 1 and row["webhookId"] == made["item"]["id"]
    assert row["responseMessage"].startswith('[address_not_public] "public.example" resolves to 127.0.0.1')
    assert rx.quiet(0.3) == []


# ---- durability: kill -9 and restart ------------------------------------------------------------------


@contextlib.contextmanager
def serve(db: Path, port: int, **env: str) -> Iterator[subprocess.Popen]:
    command = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    full = {**os.environ, **FAST, "PYTHONPATH": str(ROOT), "CUSTOMERMATES_LOG_LEVEL": "warning", **env}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


def test_pending_deliveries_survive_kill_9_and_go_out_once_after_restart(db_path, tenant, rx):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(db_path, port, CUSTOMERMATES_WEBHOOK_WORKER="0") as proc:
        with httpx.Client(base_url=base, headers={"x-api-key": tenant.key}, timeout=30) as client:
            hook(client, rx.url, ["contact.created"])
            ok(client, "create_contacts", {"contacts": [{"firstName": "Ada"}, {"firstName": "Bo"}]})
            rows = deliveries(client)["items"]
            assert [r["status"] for r in rows] == ["pending", "pending"]
            refused = err(client, "resend_webhook_delivery", {"id": rows[0]["id"]})
            assert (
                refused["code"] == "invalid_input" and "retried automatically" in refused["issues"][0]["hint"]
            )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert rx.quiet(0.3) == []
    started = time.monotonic()
    with serve(db_path, port):
        got = rx.wait_for(2, timeout=10)
        assert time.monotonic() - started < 10
        assert sorted(json.loads(r.body)["data"]["payload"]["firstName"] for r in got) == ["Ada", "Bo"]
        assert len(rx.quiet(0.7)) == 2


def test_an_attempt_cut_by_kill_9_is_made_again_after_its_lease(db_path, tenant, rx):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rx.stall_seconds = 30  # the first attempt hangs in the receiver
    with serve(db_path, port) as proc:
        with httpx.Client(base_url=base, headers={"x-api-key": tenant.key}, timeout=30) as client:
            hook(client, rx.url, ["contact.created"])
            ok(client, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
            rx.wait_for(1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    rx.stall_seconds = 0
    with (
        serve(db_path, port),
        httpx.Client(base_url=base, headers={"x-api-key": tenant.key}, timeout=30) as client,
    ):
        requests = rx.wait_for(2, timeout=15)  # lease = timeout 1 s + 5 s
        assert requests[0].body == requests[1].body
        [row] = wait_rows(client, lambda items: items[0]["status"] == "success")
        assert (row["status"], row["attempts"]) == ("success", 2)


def test_a_stdio_session_runs_the_worker_too(fast, db_path, tenant, rx):
    from tests.test_stdio import Process, call

    session = Process(db_path, tenant.key)
    try:
        session.send(call(1, "create_webhook", {"url": rx.url, "events": ["contact.created"]}))
        assert session.receive()["result"]["isError"] is False
        session.send(call(2, "create_contacts", {"contacts": [{"firstName": "Ada"}]}))
        assert session.receive()["result"]["isError"] is False
        [request] = rx.wait_for(1)
        assert json.loads(request.body)["data"]["payload"]["firstName"] == "Ada"
        assert session.finish()[0] == 0
    finally:
        if session.proc.poll() is None:
            session.proc.kill()
            session.proc.wait()


def test_sigterm_puts_an_unfinished_attempt_back_and_the_next_start_sends_it(db_path, tenant, rx):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = {"x-api-key": tenant.key}
    rx.stall_seconds = 20
    with serve(db_path, port, CUSTOMERMATES_WEBHOOK_TIMEOUT_SECONDS="30") as proc:
        with httpx.Client(base_url=base, headers=key, timeout=30) as client:
            hook(client, rx.url, ["contact.created"])
            ok(client, "create_contacts", {"contacts": [{"firstName": "Ada"}]})
            rx.wait_for(1)
        stopping = time.monotonic()
        proc.terminate()
        assert proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
        assert time.monotonic() - stopping < 12  # 5 s of grace for the attempt, then out
    rx.stall_seconds = 0
    with contextlib.closing(sqlite3.connect(db_path)) as stored:  # the server is down: read the outbox itself
        row = stored.execute("SELECT status, attempts, response_message FROM webhook_delivery").fetchall()
    assert row == [("pending", 1, "interrupted")]
    with serve(db_path, port), httpx.Client(base_url=base, headers=key, timeout=30) as client:
        assert len(rx.wait_for(2)) == 2
        [row] = wait_rows(client, lambda items: items[0]["status"] == "success")
        assert (row["status"], row["attempts"]) == ("success", 2)


# ---- REST -------------------------------------------------------------------------------------------


def test_rest_routes_create_read_list_resend_and_delete(c, rx):
    created = c.post("/api/v1/webhooks", json={"url": rx.url, "events": ["contact.created"]})
    assert created.status_code == 201, created.text
    hook_id = created.json()["item"]["id"]
    assert created.headers["location"] == f"/api/v1/webhooks/{hook_id}"
    assert created.json()["secret"].startswith("whsec_")
    shown = c.get(f"/api/v1/webhooks/{hook_id}").json()
    assert shown["secretRevealed"] is False and "secret" not in shown
    revealed = c.get(f"/api/v1/webhooks/{hook_id}", params={"includeSecret": "true"}).json()
    assert revealed["secret"] == created.json()["secret"]
    assert c.get("/api/v1/webhooks", params={"searchTerm": "127.0.0.1"}).json()["total"] == 1
    rx.fail_times = 4
    assert c.post("/api/v1/contacts", json={"firstName": "Ada"}).status_code == 201
    rx.wait_for(4)
    failed = wait_rows(c, lambda items: items and items[0]["status"] == "failed")[0]
    listed = c.get("/api/v1/webhooks/deliveries", params={"includeBody": "true"}).json()["items"][0]
    assert listed["id"] == failed["id"] and listed["requestBody"]["event"] == "contact.created"
    searched = c.post(
        "/api/v1/webhooks/deliveries/search",
        json={"filters": [{"field": "createdAt", "operator": "inLastDays", "value": 1}]},
    ).json()
    assert searched["total"] == 1
    resent = c.post(f"/api/v1/webhooks/deliveries/{failed['id']}/resend")
    assert resent.status_code == 201 and resent.json()["resentFrom"] == failed["id"]
    rx.wait_for(5)
    gone = c.delete(f"/api/v1/webhooks/{hook_id}")
    assert gone.status_code == 200 and gone.json()["url"] == rx.url
    assert c.get(f"/api/v1/webhooks/{hook_id}").status_code == 404


def test_openapi_describes_each_event_sent():
    doc = json.loads((ROOT / "schemas" / "openapi.json").read_text())
    assert sorted(doc["webhooks"]) == sorted(ALL_EVENTS)
    deleted = doc["webhooks"]["deal.deleted"]["post"]
    assert deleted["operationId"] == "webhook_deal_deleted"
    assert {p["name"] for p in deleted["parameters"]} >= {
        "X-Webhook-Signature",
        "webhook-id",
        "webhook-signature",
    }
    schemas = doc["components"]["schemas"]
    envelope = schemas[
        deleted["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    ]
    assert envelope["properties"]["event"] == {"enum": ["deal.deleted"]}
    data = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert data["properties"]["payload"] == {"$ref": "#/components/schemas/DealRecord"}
    updated = schemas["ContactUpdatedPayload"]["properties"]
    assert set(updated) == {"contact", "changes"}
