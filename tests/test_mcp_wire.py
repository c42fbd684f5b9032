"""MCP on the wire (docs/protocol.md): the HTTP table, the version table, methods, toolsets, hostile input.

Everything goes through the real server on a loopback socket. The 2026-07-28 revision has its own
file, tests/test_protocol_2026.py; here an unsupported `MCP-Protocol-Version` is refused with -32022.
"""

from __future__ import annotations

import json
import time

import anyio
import httpx
import httpx2
import pytest
import toon_format
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.methods import validate_server_result

from customermates.auth import generate_key
from customermates.store import accounts as acc
from tests.conftest import call_tool, error_of, ok, rpc, running_server, write

MCP = "/api/v1/mcp"
HANDSHAKE = ["2025-11-25", "2025-06-18", "2025-03-26"]
ACCOUNT_TOOLS = [
    "get_current_user",
    "update_my_profile",
    "list_users",
    "get_company",
    "update_company",
    "list_roles",
]
ACCOUNT_READ_TOOLS = ["get_current_user", "list_users", "get_company", "list_roles"]
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
CORE_READ_TOOLS = [
    "get_entity_configuration",
    "filter_entity",
    "count_entity",
    "search_all_entities",
    "get_entities",
]
CORE_TOOLS = [
    *CORE_READ_TOOLS,
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
]
# Built today, in catalog order. A new tool may join any list without breaking the tests below,
# which check these tools are present, in this order, and that the URL options filter correctly.
UNDO_TOOLS = ["list_changes", "undo_changes"]  # toolset core, after the catalog's tools
ALL_TOOLS = [*CORE_TOOLS, *ACCOUNT_TOOLS, *UNDO_TOOLS]
READ_TOOLS = [*CORE_READ_TOOLS, *ACCOUNT_READ_TOOLS]


def in_order(expected: list[str], listed: list[str]) -> bool:
    """Every expected tool is listed, in the expected relative order."""
    return [n for n in listed if n in expected] == expected


# ---- helpers ---------------------------------------------------------------------------------------


def post(client: httpx.Client, body: bytes | str, url: str = MCP, **headers: str) -> httpx.Response:
    """POST raw bytes, so malformed and hostile JSON reach the server exactly as written."""
    content = body.encode() if isinstance(body, str) else body
    return client.post(url, content=content, headers={"content-type": "application/json", **headers})


def request(method: str, params: dict | None = None, ident: int | str = 1) -> dict:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}


def post_json(client: httpx.Client, message, url: str = MCP, **headers: str) -> httpx.Response:
    return post(client, json.dumps(message), url, **headers)


def rpc_error(response: httpx.Response, status: int, code: int, ident=None) -> dict:
    """Assert a JSON-RPC error at `status`; every such reply is application/json (never SSE)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == ident and "result" not in body
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def result_of(response: httpx.Response, ident: int | str = 1) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["id"] == ident and "error" not in body, body
    return body["result"]


def shared_error(response: httpx.Response, status: int, code: str) -> dict:
    """The shared error body of the README's REST section: {"error": {"code", "message", "issues"}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["issues"], list)
    return error


def call_text(name: str, arguments_json: str, more_params: str = "") -> str:
    """tools/call with arguments as JSON text written by hand (lone surrogates, 1e400, duplicates)."""
    params = f'{{"name": {json.dumps(name)}, "arguments": {arguments_json}{more_params}}}'
    return f'{{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {params}}}'


def tools_call_raw(client: httpx.Client, name: str, arguments_json: str, url: str = MCP) -> dict:
    return result_of(post(client, call_text(name, arguments_json), url))


def tool_error(result: dict, code: str) -> dict:
    error = error_of(result)
    assert error["code"] == code, error
    return error


def tool_names(client: httpx.Client, url: str = MCP) -> list[str]:
    return [t["name"] for t in result_of(post_json(client, request("tools/list"), url))["tools"]]


def keyed(server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=30)


# ---- HTTP behaviour --------------------------------------------------------------------------------


def test_one_request_gets_one_json_response_and_no_session(http):
    response = rpc(http, "ping", ident=41)
    assert result_of(response, 41) == {}
    assert response.json()["jsonrpc"] == "2.0"
    assert "mcp-session-id" not in response.headers
    validate_server_result("ping", "2025-03-26", response.json()["result"])


@pytest.mark.parametrize("accept", ["application/json, text/event-stream", "application/json", "*/*", ""])
def test_accept_admitting_json_gets_json(http, accept):
    assert result_of(post_json(http, request("ping"), accept=accept)) == {}


def test_accept_listing_only_event_stream_gets_one_sse_message_event(http):
    response = post_json(http, request("tools/list", ident=3), accept="text/event-stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e for e in response.text.split("\n\n") if e.strip()]
    assert len(events) == 1
    lines = events[0].split("\n")
    assert lines[0] == "event: message" and lines[1].startswith("data: ")
    assert json.loads(lines[1][len("data: ") :])["id"] == 3


def test_errors_stay_json_when_only_event_stream_is_accepted(http):
    rpc_error(post(http, "{oops", accept="text/event-stream"), 400, -32700)
    rpc_error(post(http, "{}", accept="text/event-stream"), 400, -32600)


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
        {"jsonrpc": "2.0", "method": "no/such/notification"},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
        {"jsonrpc": "2.0", "id": 9, "error": {"code": -32601, "message": "nope"}},
    ],
)
def test_notification_or_response_gets_202_with_empty_body(http, message):
    response = post_json(http, message)
    assert response.status_code == 202 and response.content == b""


@pytest.mark.parametrize("header", [None, "2025-03-26"])
def test_batch_is_answered_at_2025_03_26(http, header):
    headers = {"mcp-protocol-version": header} if header else {}
    batch = [
        request("ping", ident=1),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        request("tools/list", ident="two"),
        {"nonsense": True},
        request("initialize", ident=5),
    ]
    response = post_json(http, batch, **headers)
    assert response.status_code == 200
    answers = {a["id"]: a for a in response.json()}
    assert answers[1]["result"] == {} and answers["two"]["result"]["tools"]
    assert answers[None]["error"]["code"] == -32600  # the malformed member
    assert answers[5]["error"]["code"] == -32600  # initialize must not be batched
    assert len(response.json()) == 4  # nothing for the notification


def test_batch_of_notifications_only_gets_202(http):
    response = post_json(http, [{"jsonrpc": "2.0", "method": "notifications/initialized"}])
    assert response.status_code == 202 and response.content == b""


@pytest.mark.parametrize("header", ["2025-06-18", "2025-11-25"])
def test_batch_is_refused_after_2025_03_26(http, header):
    rpc_error(post_json(http, [request("ping")], **{"mcp-protocol-version": header}), 400, -32600)


def test_empty_batch_is_invalid(http):
    rpc_error(post_json(http, []), 400, -32600)


@pytest.mark.parametrize(
    "body", [b"{oops", b"", b"   ", b'{"jsonrpc": "2.0",', b"\xff\xfe", b'{"a": "x\x00y"}', b"NaN"]
)
def test_body_not_json_is_parse_error_with_null_id(http, body):
    rpc_error(post(http, body), 400, -32700)


@pytest.mark.parametrize(
    "message",
    [
        {"hello": "world"},
        "ping",
        42,
        None,
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": "text"},
        {"jsonrpc": "2.0", "id": 1},
    ],
)
def test_json_that_is_not_json_rpc_is_invalid_request(http, message):
    rpc_error(post_json(http, message), 400, -32600)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_is_405_allow_post(http, method):
    response = http.request(method, MCP, headers={"accept": "text/event-stream"})
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_delete_without_session_is_405_and_unknown_session_is_404(http):
    response = http.delete(MCP)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert http.delete(MCP, headers={"mcp-session-id": "abc123"}).status_code == 404


def test_any_request_with_an_unknown_session_id_is_404(http):
    error = rpc_error(post_json(http, request("ping"), **{"mcp-session-id": "stale"}), 404, -32600)
    assert "Mcp-Session-Id" in error["message"]


# ---- authentication, origin, body size -------------------------------------------------------------


def unauthorized(response: httpx.Response) -> None:
    error = shared_error(response, 401, "unauthorized")
    assert error["issues"] == []
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_missing_malformed_or_unknown_key_is_401(server):
    with httpx.Client(base_url=server.url) as anonymous:
        unauthorized(post_json(anonymous, request("ping")))
        unauthorized(post_json(anonymous, request("ping"), **{"x-api-key": "not-a-key"}))
        unauthorized(post_json(anonymous, request("ping"), **{"x-api-key": generate_key()}))
        unauthorized(post_json(anonymous, request("ping"), authorization=f"Basic {generate_key()}"))
        # 401 comes before every protocol check, even for a GET or an unparsable body.
        unauthorized(anonymous.get(MCP))
        unauthorized(post(anonymous, "{oops"))


def test_bearer_key_works_and_revoked_key_is_401_at_once(server, tenant, http):
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {tenant.key}"}) as bearer:
        assert result_of(post_json(bearer, request("ping"))) == {}
        write(server.db_path, acc.revoke_key, tenant.email, "default")
        unauthorized(post_json(bearer, request("ping")))
    unauthorized(rpc(http, "ping"))


def test_body_over_2_mb_is_413_before_parsing(http):
    limit = 2 * 1024 * 1024
    payload = json.dumps(request("ping", {"_pad": ""}))
    exact = payload.replace('"_pad": ""', '"_pad": "' + "x" * (limit - len(payload)) + '"')
    assert len(exact.encode()) == limit
    assert result_of(post(http, exact)) == {}  # exactly the limit is accepted
    too_big = shared_error(post(http, b"{" * (limit + 1)), 413, "payload_too_large")
    assert too_big["issues"] == []


def test_chunked_body_over_2_mb_is_413(http):
    def chunks():
        for _ in range(40):
            yield b" " * 65536  # 2.5 MB of whitespace, no Content-Length

    response = http.post(MCP, content=chunks(), headers={"content-type": "application/json"})
    shared_error(response, 413, "payload_too_large")


def test_body_size_is_checked_for_any_method_but_after_auth(server, http):
    shared_error(http.request("GET", MCP, content=b"x" * (2 * 1024 * 1024 + 1)), 413, "payload_too_large")
    with httpx.Client(base_url=server.url) as anonymous:
        unauthorized(post(anonymous, b"x" * (2 * 1024 * 1024 + 1)))


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1.evil.example:80", "null", "https://localhost.evil.example"],
)
def test_foreign_origin_is_403_before_401(server, http, origin):
    shared_error(post_json(http, request("ping"), origin=origin), 403, "forbidden")
    with httpx.Client(base_url=server.url) as anonymous:
        shared_error(post_json(anonymous, request("ping"), origin=origin), 403, "forbidden")


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:9", "http://[::1]:8080"])
def test_loopback_origins_pass(http, origin):
    assert result_of(post_json(http, request("ping"), origin=origin)) == {}


def test_origin_with_the_requests_own_host_and_port_passes(http):
    headers = {"host": "crm.example:8443", "origin": "https://crm.example:8443"}
    assert result_of(post_json(http, request("ping"), **headers)) == {}
    headers["origin"] = "https://crm.example:9443"
    shared_error(post_json(http, request("ping"), **headers), 403, "forbidden")


def test_configured_origins_pass(monkeypatch, db_path, tenant):
    monkeypatch.setenv("CUSTOMERMATES_ALLOWED_ORIGINS", "https://app.example, https://admin.example/")
    with running_server(db_path) as srv, keyed(srv, tenant.key) as client:
        assert result_of(post_json(client, request("ping"), origin="https://admin.example")) == {}
        assert result_of(post_json(client, request("ping"), origin="https://app.example")) == {}
        shared_error(post_json(client, request("ping"), origin="https://other.example"), 403, "forbidden")


# ---- versions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, *HANDSHAKE])
def test_absent_or_handshake_header_is_served(http, header):
    headers = {"mcp-protocol-version": header} if header else {}
    result = result_of(post_json(http, request("tools/list"), **headers))
    validate_server_result("tools/list", header or "2025-03-26", result)
    assert "resultType" not in result and "ttlMs" not in result and "_meta" not in result


@pytest.mark.parametrize("header", ["2024-11-05", "latest", "2025-11-25, 2025-06-18"])
def test_unsupported_header_is_32022_listing_served_versions(http, header):
    error = rpc_error(
        post_json(http, request("ping", ident=7), **{"mcp-protocol-version": header}), 400, -32022, 7
    )
    assert error["data"] == {"supported": ["2026-07-28", *HANDSHAKE], "requested": header}


def test_unsupported_header_is_refused_on_notifications_too(http):
    message = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    rpc_error(post_json(http, message, **{"mcp-protocol-version": "2024-11-05"}), 400, -32022)


@pytest.mark.parametrize("header", [None, *HANDSHAKE])
def test_envelope_without_its_header_is_32020(http, header):
    headers = {"mcp-protocol-version": header} if header else {}
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    rpc_error(post_json(http, request("tools/list", {"_meta": meta}, ident=8), **headers), 400, -32020, 8)


def test_other_meta_keys_are_fine(http):
    assert result_of(post_json(http, request("ping", {"_meta": {"progressToken": "p1"}}))) == {}


@pytest.mark.parametrize(
    ("offered", "negotiated"),
    [(v, v) for v in HANDSHAKE]
    + [("2024-11-05", "2025-11-25"), ("2026-07-28", "2025-11-25"), (None, "2025-11-25")],
)
def test_initialize_negotiates_a_handshake_version(http, offered, negotiated):
    params = {"capabilities": {}, "clientInfo": {"name": "wire-test", "version": "1"}}
    if offered:
        params["protocolVersion"] = offered
    response = rpc(http, "initialize", params)
    result = result_of(response)
    assert result["protocolVersion"] == negotiated
    assert result["serverInfo"]["name"] == "customermates" and result["serverInfo"]["version"]
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert result["instructions"].strip()
    assert "mcp-session-id" not in response.headers  # stateless: no session is issued
    validate_server_result("initialize", negotiated, result)


@pytest.mark.parametrize("header", [None, "2025-11-25"])
def test_server_discover_is_method_not_found_in_the_handshake_era(http, header):
    headers = {"mcp-protocol-version": header} if header else {}
    started = time.monotonic()
    rpc_error(post_json(http, request("server/discover", ident=4), **headers), 200, -32601, 4)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("method", ["resources/subscribe", "tools/lists", "completion/complete", ""])
def test_unknown_method_is_32601(http, method):
    rpc_error(rpc(http, method, ident=6), 200, -32601, 6)


# ---- methods ---------------------------------------------------------------------------------------


def test_tools_list_is_stable_single_page_and_complete(http):
    first = result_of(rpc(http, "tools/list"))
    assert "nextCursor" not in first
    names = [t["name"] for t in first["tools"]]
    assert in_order(ALL_TOOLS, names) and len(set(names)) == len(names)
    for _ in range(2):
        assert result_of(rpc(http, "tools/list")) == first
    for tool in first["tools"]:
        assert tool["inputSchema"]["type"] == "object" and tool["outputSchema"]["type"] == "object"
        assert tool["title"] and tool["annotations"]["title"] == tool["title"]
        assert all(isinstance(tool["annotations"][h], bool) for h in HINTS), tool["annotations"]
        assert tool["annotations"]["openWorldHint"] is False
    validate_server_result("tools/list", "2025-11-25", first)


def test_tools_call_returns_text_structured_content_and_is_error(http, tenant):
    result = call_tool(http, "get_current_user")
    assert result["isError"] is False
    assert [item["type"] for item in result["content"]] == ["text"]
    assert toon_format.decode(result["content"][0]["text"]) == result["structuredContent"]
    assert result["structuredContent"]["email"] == tenant.email
    validate_server_result("tools/call", "2025-11-25", result)


@pytest.mark.parametrize(
    ("name", "first"),
    [("get_curent_user", "get_current_user"), ("list_user", "list_users"), ("getCompany", "get_company")],
)
def test_unknown_tool_is_a_tool_error_with_three_suggestions(http, name, first):
    result = call_tool(http, name)
    error = tool_error(result, "unknown_tool")
    served = {tool["name"] for tool in result_of(rpc(http, "tools/list"))["tools"]}
    assert error["suggestions"][0] == first
    assert len(set(error["suggestions"])) == 3 and set(error["suggestions"]) <= served
    assert repr(name) in error["message"] and "Did you mean" in error["message"]
    validate_server_result("tools/call", "2025-11-25", result)


@pytest.mark.parametrize(
    ("name", "first"), [("create_contact", "create_contacts"), ("delete_contacts", "delete_entities")]
)
def test_suggestions_over_the_wire(http, name, first):
    error = tool_error(call_tool(http, name), "unknown_tool")
    assert error["suggestions"][0] == first and len(set(error["suggestions"])) == 3


def test_invalid_arguments_list_every_violation_and_write_nothing(http):
    before = ok(http, "get_company")
    result = call_tool(http, "update_company", {"currency": "EURO", "country": "zz", "bogus": 1, "name": 5})
    error = tool_error(result, "invalid_input")
    paths = [issue["path"] for issue in error["issues"]]
    assert sorted(paths) == ["$.bogus", "$.country", "$.currency", "$.name"]
    assert all(issue["message"] and issue["hint"] for issue in error["issues"])
    assert "nothing was written" in error["message"]
    assert ok(http, "get_company") == before


@pytest.mark.parametrize("arguments", [[1, 2], "x", 3])
def test_arguments_that_are_not_an_object_are_invalid_input(http, arguments):
    result = result_of(rpc(http, "tools/call", {"name": "list_users", "arguments": arguments}))
    assert tool_error(result, "invalid_input")["issues"][0]["path"] == "$"


@pytest.mark.parametrize("params", [{}, {"name": 5}, {"name": None, "arguments": {}}])
def test_tools_call_without_a_name_is_32602(http, params):
    rpc_error(rpc(http, "tools/call", params), 200, -32602, 1)


def test_params_as_an_array_is_32602(http):
    rpc_error(
        post_json(http, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["list_users"]}),
        200,
        -32602,
        1,
    )


def test_setup_prompt_is_listed_and_served(http):
    listed = result_of(rpc(http, "prompts/list"))
    assert [p["name"] for p in listed["prompts"]] == ["setup"]
    validate_server_result("prompts/list", "2025-11-25", listed)
    prompt = result_of(rpc(http, "prompts/get", {"name": "setup"}))
    assert "link_entities" in prompt["messages"][0]["content"]["text"]
    validate_server_result("prompts/get", "2025-11-25", prompt)


@pytest.mark.parametrize("params", [{"name": "nope"}, {}, {"name": [[["deep"]]]}])
def test_unknown_prompt_is_32602(http, params):
    rpc_error(rpc(http, "prompts/get", params), 200, -32602, 1)


# ---- toolsets and read-only access -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("toolsets=account", ACCOUNT_TOOLS, CORE_TOOLS),
        ("toolsets=account&readonly=1", ACCOUNT_READ_TOOLS, ["update_company", *CORE_TOOLS]),
        ("toolsets=core", CORE_TOOLS, ACCOUNT_TOOLS),
        ("toolsets=core,%20account", ALL_TOOLS, []),
        ("toolsets=webhooks&toolsets=account", ACCOUNT_TOOLS, CORE_TOOLS),
        ("toolsets=core&readonly=1", CORE_READ_TOOLS, ["delete_entities", *ACCOUNT_TOOLS]),
        ("readonly=0", ALL_TOOLS, []),
        ("readonly=1", READ_TOOLS, ["create_contacts", "update_my_profile"]),
    ],
)
def test_url_options_select_the_listed_tools(http, query, expected, absent):
    listed = tool_names(http, f"{MCP}?{query}")
    assert in_order(expected, listed) and not set(absent) & set(listed)
    assert listed == [n for n in tool_names(http) if n in listed]  # a subset of tools/list, same order


def test_read_only_listing_matches_the_read_only_hint(http):
    tools = result_of(post_json(http, request("tools/list"), f"{MCP}?readonly=1"))["tools"]
    assert tools and all(t["annotations"]["readOnlyHint"] is True for t in tools)


def test_a_misspelled_tool_on_a_toolset_url_suggests_and_counts_only_what_that_url_serves(http):
    url = f"{MCP}?toolsets=account"
    error = tool_error(tools_call_raw(http, "get_comapny", "{}", url), "unknown_tool")
    assert error["suggestions"][0] == "get_company"
    assert set(error["suggestions"]) <= set(ACCOUNT_TOOLS)
    assert f"tools/list has all {len(ACCOUNT_TOOLS)} tools." in error["message"]


def test_tool_outside_the_chosen_toolsets_exists_but_is_not_served(http):
    result = tools_call_raw(http, "get_current_user", "{}", f"{MCP}?toolsets=core,widgets")
    error = tool_error(result, "unknown_tool")
    assert "exists but is not served on this URL" in error["message"] and "'account'" in error["message"]


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("toolsets=core,bogus", "toolsets"),
        ("toolsets=", "toolsets"),
        ("toolsets=%20,", "toolsets"),
        ("readonly=yes", "readonly"),
        ("readonly=true", "readonly"),
        ("readonly=", "readonly"),
    ],
)
def test_bad_url_options_are_400_with_the_shared_error_body(server, http, query, path):
    error = shared_error(post_json(http, request("ping"), f"{MCP}?{query}"), 400, "invalid_input")
    assert [issue["path"] for issue in error["issues"]] == [path]
    valid = (
        ("core", "custom_columns", "widgets", "webhooks", "account")
        if path == "toolsets"
        else ("readonly=1",)
    )
    assert all(word in error["message"] for word in valid)
    with httpx.Client(base_url=server.url) as anonymous:  # checked after auth
        unauthorized(post_json(anonymous, request("ping"), f"{MCP}?{query}"))


def test_read_only_url_refuses_writes_with_forbidden(http):
    url = f"{MCP}?readonly=1"
    error = tool_error(tools_call_raw(http, "update_company", '{"name": "Nope"}', url), "forbidden")
    assert "read-only" in error["message"] and "readonly=1" in error["message"]
    assert tools_call_raw(http, "get_company", "{}", url)["isError"] is False
    assert ok(http, "get_company")["name"] == "Acme"


def test_read_only_key_stays_read_only_whatever_the_url_says(server, tenant):
    key = write(server.db_path, acc.create_key, tenant.email, "reader", True)
    with keyed(server, key) as reader:
        for url, expected in (
            (MCP, READ_TOOLS),
            (f"{MCP}?readonly=0", READ_TOOLS),
            (f"{MCP}?toolsets=account&readonly=0", ACCOUNT_READ_TOOLS),
        ):
            assert in_order(expected, tool_names(reader, url))
            assert tool_names(reader, url) == tool_names(
                reader, f"{url}{'&' if '?' in url else '?'}readonly=1"
            )
            error = tool_error(tools_call_raw(reader, "update_company", '{"name": "Nope"}', url), "forbidden")
            assert "API key is read-only" in error["message"]
        assert tools_call_raw(reader, "get_company", "{}")["structuredContent"]["name"] == "Acme"


# ---- the official SDK client -----------------------------------------------------------------------


def sdk_client(server, key: str, mode: str) -> Client:
    http_client = httpx2.AsyncClient(headers={"x-api-key": key}, timeout=30)
    return Client(streamable_http_client(server.mcp_url, http_client=http_client), mode=mode)


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_sdk_client_connects_lists_calls_and_gets_the_prompt(server, tenant, mode, version):
    # `auto` probes server/discover first and must adopt it (not sit out its 10 s timeout).
    with anyio.fail_after(8):
        async with sdk_client(server, tenant.key, mode) as client:
            assert client.protocol_version == version
            assert client.server_info.name == "customermates"
            assert client.instructions and "get_current_user" in client.instructions
            assert in_order(ALL_TOOLS, [t.name for t in (await client.list_tools()).tools])
            me = await client.call_tool("get_current_user", {})
            assert me.is_error is False and me.structured_content["email"] == tenant.email
            typo = await client.call_tool("get_curent_user", {})
            assert typo.is_error is True and typo.structured_content is None
            assert json.loads(typo.content[0].text)["error"]["code"] == "unknown_tool"
            assert [p.name for p in (await client.list_prompts()).prompts] == ["setup"]
            assert (await client.get_prompt("setup")).messages[0].content.text
            with pytest.raises(MCPError) as raised:
                await client.get_prompt("nope")
            assert raised.value.code == -32602


# ---- hostile input ---------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize(
    ("tool", "arguments", "path", "words"),
    [
        ("update_my_profile", r'{"firstName": "A\u0000B"}', "$.firstName", "control characters"),
        ("update_my_profile", '{"first\\u0000Name": "x"}', "$.first\x00Name", "unknown field"),
        ("update_my_profile", r'{"firstName": "\ud800"}', "$.firstName", "unpaired surrogate"),
        ("update_my_profile", r'{"lastName": "a\udc00b\ud83d"}', "$.lastName", "unpaired surrogate"),
        ("list_users", r'{"\ud800": 1}', "$.\ufffd", "unknown field"),
        # Nesting is refused at the field that takes no array, whatever its depth.
        ("list_users", '{"searchTerm": ' + nested(1000) + "}", "$.searchTerm", "got an array"),
        ("list_users", '{"searchTerm": ' + nested(100_000) + "}", "$.searchTerm", "got an array"),
        ("list_users", '{"pageSize": 1e400}', "$.pageSize", "whole number"),
        ("list_users", '{"page": -1e400}', "$.page", "whole number"),
        ("list_users", '{"pageSize": ' + "9" * 5000 + "}", "$.pageSize", "whole number"),
        ("list_users", '{"pageSize": 123456789012345678901234567890}', "$.pageSize", "out of range"),
        ("list_users", '{"pageSize": 1e-400}', "$.pageSize", "out of range"),
        # Duplicate keys: the last one wins, as in JavaScript's JSON.parse (RFC 8259 leaves it open).
        ("list_users", '{"pageSize": 5, "pageSize": 500}', "$.pageSize", "out of range"),
    ],
)
def test_hostile_arguments_get_a_clear_invalid_input(http, tool, arguments, path, words):
    error = tool_error(tools_call_raw(http, tool, arguments), "invalid_input")
    issue = next(i for i in error["issues"] if i["path"] == path)
    assert words in issue["message"], error
    assert result_of(rpc(http, "ping")) == {}  # and the server is still fine


def test_duplicate_keys_resolve_to_the_last_value(http):
    result = tools_call_raw(http, "list_users", '{"pageSize": 500, "pageSize": 5}')
    assert result["isError"] is False and result["structuredContent"]["pageSize"] == 5


def test_hostile_tool_names_get_unknown_tool_quickly(http):
    started = time.monotonic()
    for name in ("x" * 1_000_000, "get\x00current_user", "\ud800list_users"):
        body = json.dumps(request("tools/call", {"name": name, "arguments": {}}))  # ASCII escapes
        error = tool_error(result_of(post(http, body)), "unknown_tool")
        assert len(error["suggestions"]) == 3
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "body",
    [
        '{"jsonrpc": "2.0", "id": ' + nested(5000) + ', "method": "ping"}',
        '{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": ' + nested(5000) + "}",
        '{"jsonrpc": "2.0", "id": 1, "method": "\\ud800"}',
    ],
)
def test_hostile_envelopes_are_json_rpc_errors_not_crashes(http, body):
    response = post(http, body)
    assert response.status_code in (200, 400) and response.json()["error"]["code"] in (-32600, -32601, -32602)


def test_deep_nesting_in_ignored_params_is_harmless(http):
    # Only `name` and `arguments` are read; a deep sibling must neither crash nor be walked.
    body = call_text("list_users", "{}", ', "x": ' + nested(3000))
    assert result_of(post(http, body))["isError"] is False


def test_invalid_utf8_inside_a_string_is_a_parse_error(http):
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": "\xc3\x28"}}'
    rpc_error(post(http, body), 400, -32700)


def test_unknown_field_error_never_breaks_valid_utf8(http):
    response = post(http, call_text("list_users", r'{"\udbff": 1}'))
    response.content.decode("utf-8")  # strict: raises if the server sent a raw surrogate
    assert response.json()["result"]["isError"] is True
