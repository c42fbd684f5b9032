"""Rate limits: a token bucket per API key and per client address for failed keys; off by default."""

from __future__ import annotations

import json

import httpx
import pytest

from customermates.ratelimit import Buckets
from tests.conftest import add_member, running_server
from tests.test_stdio import INIT, Process, call


def test_a_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = Buckets(60, clock=lambda: now[0])  # one a second, 60 saved up
    assert all(bucket.take("k") == 0 for _ in range(60))
    assert bucket.take("k") == pytest.approx(1.0)
    assert bucket.take("other") == 0
    now[0] = 2.5
    assert bucket.take("k") == 0 and bucket.take("k") == 0 and bucket.take("k") > 0


def test_no_limit_by_default(server, tenant):
    with httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}) as client:
        assert all(client.get("/api/v1/company").status_code == 200 for _ in range(40))


def test_a_spent_key_gets_429_with_retry_after(monkeypatch, db_path, tenant):
    monkeypatch.setenv("CUSTOMERMATES_RATE_LIMIT", "5")
    other = add_member(db_path, tenant, "mia@acme.example", "member")
    with running_server(db_path) as srv, httpx.Client(base_url=srv.url) as client:
        headers = {"x-api-key": tenant.key}
        assert [client.get("/api/v1/company", headers=headers).status_code for _ in range(5)] == [200] * 5
        for refused in (
            client.get("/api/v1/company", headers=headers),
            client.post("/api/v1/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        ):
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            error = refused.json()["error"]
            assert error["code"] == "rate_limited" and "retry in" in error["message"]
        assert client.get("/api/v1/company", headers={"x-api-key": other}).status_code == 200


def test_failed_authentications_are_limited_per_address(monkeypatch, db_path, tenant):
    monkeypatch.setenv("CUSTOMERMATES_AUTH_FAILURE_LIMIT", "3")
    with running_server(db_path) as srv, httpx.Client(base_url=srv.url) as client:
        guesses = [client.get("/api/v1/company", headers={"x-api-key": f"guess{n}"}) for n in range(5)]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429, 429]
        assert guesses[-1].json()["error"]["code"] == "rate_limited" and guesses[-1].headers["retry-after"]
        # The address waits, whatever key it sends next, so guessing cannot go on at line speed.
        assert client.get("/api/v1/company", headers={"x-api-key": tenant.key}).status_code == 429


def test_stdio_answers_a_rate_limited_tool_error(monkeypatch, db_path, tenant):
    monkeypatch.setenv("CUSTOMERMATES_RATE_LIMIT", "2")
    proc = Process(db_path, tenant.key)
    try:
        proc.send(INIT, *(call(n, "get_company") for n in range(1, 4)))
        replies = [proc.receive() for _ in range(4)]
        results = [r["result"] for r in replies[1:]]
        assert [r["isError"] for r in results] == [False, False, True]
        assert json.loads(results[2]["content"][0]["text"])["error"]["code"] == "rate_limited"
    finally:
        proc.proc.kill()
        proc.proc.wait()
