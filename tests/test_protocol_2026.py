"""The stateless 2026-07-28 revision next to the handshake revisions: the official client in each of
its modes, the envelope, the routing headers, the order of checks and the stamped results."""

from __future__ import annotations

import base64
import json

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.methods import validate_server_result

from tests.conftest import error_of
from tests.test_stdio import INIT, Process, stdio_params

MCP = "/api/v1/mcp"
MODERN = "2026-07-28"
SUPPORTED = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]
VERSION, CAPS = "io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO = {"name": "customermates", "version": "0.1.0", "title": "Customermates"}
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def envelope(method: str, params: dict | None = None, ident=1, version: str = MODERN) -> dict:
    meta = {VERSION: version, CAPS: {}, "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}}
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": {**(params or {}), "_meta": meta}}


def routing(message: dict, **extra: str) -> dict[str, str]:
    """The headers a 2026-07-28 client sends for `message`."""
    headers = {"mcp-protocol-version": MODERN, "mcp-method": message["method"]}
    name = message.get("params", {}).get(NAMED.get(message["method"], ""))
    if isinstance(name, str):
        headers["mcp-name"] = name
    return {**headers, **extra}


def post(client: httpx.Client, message, headers) -> httpx.Response:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    merged = [
        ("content-type", "application/json"),
        *(headers.items() if isinstance(headers, dict) else headers),
    ]
    return client.post(MCP, content=body, headers=merged)


def modern(client: httpx.Client, method: str, params: dict | None = None, **extra: str) -> httpx.Response:
    message = envelope(method, params)
    return post(client, message, routing(message, **extra))


def answered(response: httpx.Response, method: str) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert "mcp-session-id" not in response.headers
    result = response.json()["result"]
    validate_server_result(method, MODERN, result)
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"] == SERVER_INFO
    return result


def refused(response: httpx.Response, status: int, code: int, ident=1) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == ident and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


# ---- the official client, mode by mode ------------------------------------------------------------


def http_client(server, key: str, mode: str) -> Client:
    transport = streamable_http_client(
        server.mcp_url, http_client=httpx2.AsyncClient(headers={"x-api-key": key}, timeout=30)
    )
    return Client(transport, mode=mode)


async def exercise(client: Client, email: str) -> None:
    """What every mode must be able to do once connected."""
    assert len((await client.list_tools()).tools) >= 27
    me = await client.call_tool("get_current_user", {})
    assert me.is_error is False and me.structured_content["email"] == email
    bad = await client.call_tool("list_users", {"pageSize": 0})
    assert bad.is_error is True and bad.structured_content is None
    assert json.loads(bad.content[0].text)["error"]["issues"][0]["path"] == "$.pageSize"
    assert "link_entities" in (await client.get_prompt("setup")).messages[0].content.text
    resources = [str(r.uri) for r in (await client.list_resources()).resources]
    assert resources == ["customermates://setup-prompt", "customermates://schema"]
    schema = json.loads((await client.read_resource("customermates://schema")).contents[0].text)
    assert schema["company"]["name"] == "Acme"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "version", "named"),
    [("auto", MODERN, True), (MODERN, MODERN, False), ("legacy", "2025-11-25", True)],
)
async def test_official_client_over_http_in_each_mode(server, tenant, mode, version, named):
    with anyio.fail_after(20):  # `auto` must not sit out its 10 s discover timeout
        async with http_client(server, tenant.key, mode) as client:
            assert client.protocol_version == version
            if named:
                assert client.server_info.name == "customermates" and client.server_info.version
                assert client.instructions and "get_current_user" in client.instructions
            else:
                assert client.server_info is None  # pinned: no probe, by design
            await exercise(client, tenant.email)


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "version"), [("auto", MODERN), ("legacy", "2025-11-25")])
async def test_official_client_over_stdio_in_each_mode(db_path, tenant, mode, version):
    with anyio.fail_after(30):
        async with Client(stdio_params(db_path, tenant.key), mode=mode) as client:
            assert client.protocol_version == version
            assert client.server_info.name == "customermates" and client.instructions
            await exercise(client, tenant.email)


# ---- results ----------------------------------------------------------------------------------------


def test_server_discover_result(http):
    result = answered(modern(http, "server/discover"), "server/discover")
    assert result["supportedVersions"] == SUPPORTED
    assert result["capabilities"] == {
        "tools": {"listChanged": False},
        "prompts": {"listChanged": False},
        "resources": {"subscribe": False, "listChanged": False},
    }
    assert "get_current_user" in result["instructions"]
    assert (result["ttlMs"], result["cacheScope"]) == (300000, "private")
    assert "serverInfo" not in result


@pytest.mark.parametrize(
    ("method", "params", "ttl"),
    [
        ("tools/list", {}, 300000),
        ("prompts/list", {}, 300000),
        ("resources/list", {}, 300000),
        ("resources/templates/list", {}, 300000),
        ("resources/read", {"uri": "customermates://schema"}, 0),
        ("resources/read", {"uri": "customermates://setup-prompt"}, 0),
        ("prompts/get", {"name": "setup"}, None),
        ("tools/call", {"name": "get_company", "arguments": {}}, None),
    ],
)
def test_every_served_method_is_stamped_with_its_caching_hints(http, method, params, ttl):
    result = answered(modern(http, method, params), method)
    if ttl is None:
        assert "ttlMs" not in result and "cacheScope" not in result
    else:
        assert (result["ttlMs"], result["cacheScope"]) == (ttl, "private")


def test_tool_errors_are_results_with_status_200(http):
    for name, code in (("list_users", "invalid_input"), ("get_curent_user", "unknown_tool")):
        result = answered(
            modern(http, "tools/call", {"name": name, "arguments": {"pageSize": 0}}), "tools/call"
        )
        assert error_of(result)["code"] == code


def test_session_id_is_ignored_and_never_issued(http):
    answered(modern(http, "tools/list", **{"mcp-session-id": "stale"}), "tools/list")


def test_event_stream_only_accept_gets_one_sse_event_and_errors_stay_json(http):
    response = modern(http, "tools/list", accept="text/event-stream")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("event: message\ndata: ")
    refused(modern(http, "ping", accept="text/event-stream"), 404, -32601)


# ---- the order of checks: bad input ---------------------------------------------------------------


def test_auth_and_origin_come_before_any_protocol_check(server, http):
    with httpx.Client(base_url=server.url) as anonymous:
        assert modern(anonymous, "server/discover").status_code == 401
        assert post(anonymous, b"{oops", {"mcp-protocol-version": "1999-01-01"}).status_code == 401
    assert modern(http, "server/discover", origin="https://evil.example").status_code == 403


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_other_http_methods_are_405(http, method):
    headers = {"mcp-protocol-version": MODERN, "mcp-session-id": "abc"}
    response = http.request(method, MCP, headers=headers)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_body_not_json_is_32700(http):
    refused(post(http, b"{oops", {"mcp-protocol-version": MODERN}), 400, -32700, None)


@pytest.mark.parametrize("header", ["2099-01-01", "2024-11-05", "2026-07-28x"])
def test_unsupported_header_is_32022_with_the_supported_list(http, header):
    message = envelope("tools/list", ident=5)
    error = refused(post(http, message, routing(message, **{"mcp-protocol-version": header})), 400, -32022, 5)
    assert error["data"] == {"supported": SUPPORTED, "requested": header}
    notification = {"jsonrpc": "2.0", "method": "notifications/cancelled"}
    refused(post(http, notification, {"mcp-protocol-version": header}), 400, -32022, None)


def test_notification_is_202_with_only_the_version_header(http):
    response = post(
        http, {"jsonrpc": "2.0", "method": "notifications/cancelled"}, {"mcp-protocol-version": MODERN}
    )
    assert response.status_code == 202 and response.content == b""


@pytest.mark.parametrize(
    "message",
    [
        [envelope("tools/list")],
        {"jsonrpc": "2.0", "id": 3, "result": {}},
        {"jsonrpc": "1.0", "id": 3, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": [3], "method": "tools/list"},
    ],
)
def test_batch_response_or_malformed_message_is_32600(http, message):
    refused(
        post(http, message, {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"}), 400, -32600, None
    )


@pytest.mark.parametrize("header", ["mcp-protocol-version", "mcp-method", "MCP-Method"])
def test_duplicated_routing_header_is_32020(http, header):
    message = envelope("tools/list", ident=9)
    headers = [*routing(message).items(), (header, routing(message)[header.lower()])]
    refused(post(http, message, headers), 400, -32020, 9)


@pytest.mark.parametrize(
    "params",
    [
        None,
        {},
        {"_meta": "x"},
        {"_meta": {VERSION: MODERN}},
        {"_meta": {VERSION: 20260728, CAPS: {}}},
        {"_meta": {VERSION: MODERN, CAPS: []}},
        {"_meta": {CAPS: {}}},
    ],
)
def test_incomplete_envelope_is_32602(http, params):
    message = {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}
    if params is not None:
        message["params"] = params
    error = refused(post(http, message, routing(message)), 400, -32602, 4)
    assert "_meta" in error["message"] or "params" in error["message"]


@pytest.mark.parametrize(
    ("message", "headers"),
    [
        (envelope("tools/list", version="2025-11-25"), {}),  # envelope version differs from the header
        (envelope("tools/list"), {"mcp-method": None}),
        (envelope("tools/list"), {"mcp-method": "tools/call"}),
        (envelope("tools/list"), {"mcp-method": "Tools/List"}),  # case-sensitive
        (envelope("tools/call", {"name": "get_company"}), {"mcp-name": None}),
        (envelope("tools/call", {"name": "get_company"}), {"mcp-name": "get_current_user"}),
        (envelope("tools/call", {"name": "get_company"}), {"mcp-name": "=?base64?not base64?="}),
        (envelope("prompts/get", {"name": "setup"}), {"mcp-name": "other"}),
        (envelope("resources/read", {"uri": "customermates://schema"}), {"mcp-name": None}),
    ],
)
def test_header_that_disagrees_with_the_body_is_32020(http, message, headers):
    sent = {k: v for k, v in {**routing(message), **headers}.items() if v is not None}
    refused(post(http, message, sent), 400, -32020)


@pytest.mark.parametrize(
    "name_header",
    ["get_company", "=?base64?" + base64.b64encode(b"get_company").decode() + "?="],
)
def test_mcp_name_is_base64_decoded(http, name_header):
    response = modern(
        http, "tools/call", {"name": "get_company", "arguments": {}}, **{"mcp-name": name_header}
    )
    assert answered(response, "tools/call")["structuredContent"]["name"] == "Acme"


def test_non_ascii_name_travels_base64_encoded(http):
    wrapped = "=?base64?" + base64.b64encode("gét_company".encode()).decode() + "?="
    response = modern(http, "tools/call", {"name": "gét_company", "arguments": {}}, **{"mcp-name": wrapped})
    assert error_of(answered(response, "tools/call"))["code"] == "unknown_tool"


@pytest.mark.parametrize(
    "method",
    [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "completion/complete",
        "subscriptions/listen",
        "no/such",
    ],
)
def test_methods_not_served_at_2026_07_28_are_404(http, method):
    refused(modern(http, method), 404, -32601)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("prompts/get", {"name": "nope"}),
        ("resources/read", {"uri": "customermates://nope"}),
        ("tools/call", {"arguments": {}}),
    ],
)
def test_handler_invalid_params_are_400_32602(http, method, params):
    refused(modern(http, method, params), 400, -32602)


def test_handshake_era_still_refuses_discover_and_envelopes_without_their_header(http):
    message = envelope("server/discover")
    refused(post(http, message, {"mcp-method": "server/discover"}), 400, -32020)
    plain = {"jsonrpc": "2.0", "id": 1, "method": "server/discover"}
    refused(post(http, plain, {"mcp-protocol-version": "2025-11-25"}), 200, -32601)


# ---- stdio: the same rules without headers ---------------------------------------------------------


def test_stdio_follows_the_envelope(db_path, tenant):
    process = Process(db_path, tenant.key)
    try:
        process.send(envelope("server/discover", ident=1))
        discover = process.receive()["result"]
        validate_server_result("server/discover", MODERN, discover)
        assert discover["supportedVersions"] == SUPPORTED and discover["ttlMs"] == 300000
        process.send(envelope("tools/list", ident=2, version="2025-11-25"))
        error = process.receive()["error"]
        assert error["code"] == -32022 and error["data"] == {
            "supported": SUPPORTED,
            "requested": "2025-11-25",
        }
        process.send(
            {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": {VERSION: MODERN}}}
        )
        assert process.receive()["error"]["code"] == -32602
        process.send(envelope("initialize", ident=4), envelope("ping", ident=5))
        assert [process.receive()["error"]["code"] for _ in range(2)] == [-32601, -32601]
        process.send(INIT, {"jsonrpc": "2.0", "id": 6, "method": "server/discover"})
        assert process.receive()["result"]["protocolVersion"] == "2025-11-25"
        assert process.receive()["error"]["code"] == -32601  # no envelope: the handshake era
        process.send(envelope("tools/call", {"name": "get_company", "arguments": {}}, ident=7))
        call = process.receive()["result"]
        validate_server_result("tools/call", MODERN, call)
        assert call["resultType"] == "complete" and call["structuredContent"]["name"] == "Acme"
    finally:
        process.finish()
