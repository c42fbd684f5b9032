"""An unexpected failure: code `internal`, a correlation id equal to X-Request-Id, no stack trace."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from customermates.app import create_app
from customermates.catalog import REGISTRY
from customermates.registry import CATALOG, Registry, Tool
from customermates.shapes import NoInput
from tests.conftest import error_of, rpc


def explode(call, args):
    raise RuntimeError("secret stack detail")


EXPLODE = Tool(
    "explode_for_test", "Explode", "Always fails.", NoInput, NoInput, explode, "core", read_only=True
)


@pytest.fixture
def http(db_path, tenant):
    # The real app with one extra read-only tool whose handler fails, in a registry of its own.
    registry = Registry([*REGISTRY.tools.values(), EXPLODE], order=[*CATALOG, EXPLODE.name])
    app = create_app(db_path, registry=registry)
    with TestClient(app, headers={"x-api-key": tenant.key}) as client:
        yield client


def test_rest_internal_error_carries_the_request_id(http: httpx.Client):
    response = http.post("/api/v1/tools/explode_for_test", json={}, headers={"x-request-id": "req-42"})
    assert response.status_code == 500
    body = response.json()["error"]
    assert body["code"] == "internal"
    assert body["correlationId"] == response.headers["x-request-id"] == "req-42"
    assert "secret stack detail" not in response.text and "Traceback" not in response.text


def test_mcp_internal_error_is_a_tool_result(http: httpx.Client):
    response = rpc(http, "tools/call", {"name": "explode_for_test", "arguments": {}})
    result = response.json()["result"]
    assert response.status_code == 200 and result["isError"] is True
    error = error_of(result)
    assert error["code"] == "internal"
    assert error["correlationId"] == response.headers["x-request-id"]
    assert "secret stack detail" not in response.text
    # The server keeps serving after the failure.
    assert rpc(http, "ping").json()["result"] == {}
