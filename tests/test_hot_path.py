"""The API's paths skip Starlette's router (app.Server): each must reach the route the router picks."""

from __future__ import annotations

import httpx
from starlette.routing import Match

from customermates.app import create_app
from customermates.mcp import http as mcp_http
from customermates.rest.routing import PathRoute

SAMPLE = {"{id}": "0195e267-7d60-757d-a799-ddfc94d91793", "{name}": "get_entities"}


def _scope(path: str, method: str = "GET") -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _router_pick(app, path: str):
    for route in app.router.routes:
        if route.matches(_scope(path))[0] is Match.FULL:
            return route
    return None


def test_every_api_path_reaches_the_route_the_router_picks(tmp_path):
    app = create_app(tmp_path / "crm.db")
    paths = [r.path for r in app.router.routes if isinstance(r, PathRoute)]
    assert len(paths) > 40
    for pattern in paths:
        path = pattern
        for slot, value in SAMPLE.items():
            path = path.replace(slot, value)
        scope = _scope(path)
        handler = app._handler(scope)
        expected = _router_pick(app, path)
        assert handler == expected.handle, path
        assert scope["route"] is expected
        if "{id}" in pattern:
            assert scope["path_params"] == {"id": SAMPLE["{id}"]}


def test_paths_no_route_owns_are_left_to_the_router(tmp_path):
    app = create_app(tmp_path / "crm.db")
    assert app._handler(_scope("/api/v1/mcp", "POST")) is mcp_http.asgi
    for path in ("/healthz", "/api/v1/", "/api/v1/nothing", "/api/v1/contacts/a/b", "/api/v2/contacts", "/x"):
        assert app._handler(_scope(path)) is None, path
        assert _router_pick(app, path) is None or not isinstance(_router_pick(app, path), PathRoute), path


def test_app_state_entries_are_plain_attributes_kept_in_step(tmp_path):
    app = create_app(tmp_path / "crm.db")
    state = app.state
    state.answer = 42
    assert state.answer == 42 and state._state["answer"] == 42 and vars(state)["answer"] == 42
    state["answer"] = 43  # Starlette's item form writes both places too
    assert state.answer == 43 and state._state["answer"] == 43
    del state.answer
    assert "answer" not in state._state and not hasattr(state, "answer")
    state["gone"] = 1
    del state["gone"]
    assert not hasattr(state, "gone")


def test_a_tool_call_answer_and_its_401_carry_the_gate_headers(http, server):
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get_current_user"}}
    answered = http.post("/api/v1/mcp", json=body, headers={"x-request-id": "hot-7"})
    assert answered.status_code == 200 and answered.json()["result"]["isError"] is False
    assert answered.headers["x-request-id"] == "hot-7"
    assert answered.headers["cache-control"] == "no-store"
    assert answered.headers["content-type"] == "application/json"
    unknown = {"x-api-key": "0" * 64, "x-request-id": "hot-8"}
    refused = httpx.post(f"{server.url}/api/v1/mcp", json=body, headers=unknown)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert refused.headers["x-request-id"] == "hot-8"
    assert refused.headers["cache-control"] == "no-store"
    challenge = refused.headers["www-authenticate"]  # the test server has OAuth on: RFC 9728 points
    assert challenge.startswith('Bearer realm="customermates", resource_metadata="')
    assert challenge.endswith('/.well-known/oauth-protected-resource/api/v1/mcp", error="invalid_token"')
