"""The six account tools through the real server, with the official mcp client and plain JSON-RPC."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import add_member, err, make_tenant, ok

pytestmark = pytest.mark.anyio


def mcp_client(server, key: str, mode: str = "legacy") -> Client:
    http_client = httpx2.AsyncClient(headers={"x-api-key": key}, timeout=30)
    return Client(streamable_http_client(server.mcp_url, http_client=http_client), mode=mode)


@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_official_client_lists_and_calls_the_account_tools(server, tenant, mode, version):
    async with mcp_client(server, tenant.key, mode) as client:
        assert client.protocol_version == version
        assert client.instructions
        tools = (await client.list_tools()).tools
        account = [
            "get_current_user",
            "update_my_profile",
            "list_users",
            "get_company",
            "update_company",
            "list_roles",
        ]
        assert [t.name for t in tools if t.name in account] == account
        for tool in tools:
            assert tool.input_schema["type"] == "object" and tool.output_schema["type"] == "object"
            assert tool.annotations.open_world_hint is False
        me = await client.call_tool("get_current_user", {})
        assert me.is_error is False
        assert me.structured_content["email"] == tenant.email
        assert me.structured_content["company"]["id"] == tenant.company_id
        assert len(me.structured_content["permissions"]) == 45


def test_update_my_profile_keeps_omitted_fields(http):
    ok(http, "update_my_profile", {"avatarUrl": "https://img.example/a.png"})
    result = ok(http, "update_my_profile", {"firstName": "Grace"})
    assert result["item"]["firstName"] == "Grace"
    assert result["item"]["avatarUrl"] == "https://img.example/a.png"
    cleared = ok(http, "update_my_profile", {"avatarUrl": None})
    assert cleared["item"]["avatarUrl"] is None


def test_update_my_profile_rejects_bad_input_and_changes_nothing(http):
    before = ok(http, "get_current_user")
    error = err(http, "update_my_profile", {})
    assert error["code"] == "invalid_input"
    error = err(http, "update_my_profile", {"first_name": "X", "country": "zz", "avatarUrl": "http://x"})
    paths = {i["path"]: i for i in error["issues"]}
    assert set(paths) == {"$.first_name", "$.country", "$.avatarUrl"}
    assert "firstName" in paths["$.first_name"]["hint"]
    error = err(http, "update_my_profile", {"email": "new@x.example"})
    assert error["issues"][0]["path"] == "$.email"
    assert ok(http, "get_current_user") == before


def test_company_read_and_update(http):
    company = ok(http, "get_company")
    assert company["currency"] == "eur" and company["name"] == "Acme"
    updated = ok(http, "update_company", {"currency": "usd", "city": "Berlin", "country": "de"})
    assert updated["item"]["currency"] == "usd" and updated["item"]["city"] == "Berlin"
    cleared = ok(http, "update_company", {"city": ""})
    assert cleared["item"]["city"] is None and cleared["item"]["country"] == "de"
    error = err(http, "update_company", {"currency": "EURO"})
    assert error["code"] == "invalid_input" and "eur" in error["issues"][0]["hint"]


def test_roles_and_users(http, server, tenant):
    roles = ok(http, "list_roles")
    assert [r["name"] for r in roles["items"]] == ["Admin", "Member", "Viewer"]
    assert [r["isSystemRole"] for r in roles["items"]] == [True, False, False]
    add_member(server.db_path, tenant, "zed@acme.example", "Viewer")
    users = ok(http, "list_users", {"pageSize": 1})
    assert users["total"] == 2 and users["totalPages"] == 2 and len(users["items"]) == 1
    found = ok(http, "list_users", {"searchTerm": "zed@"})
    assert [u["email"] for u in found["items"]] == ["zed@acme.example"]
    error = err(http, "list_users", {"pageSize": 101})
    assert error["issues"][0]["path"] == "$.pageSize"


def test_viewer_cannot_update_company(server, tenant):
    key = add_member(server.db_path, tenant, "v@acme.example", "Viewer")
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as viewer:
        error = err(viewer, "update_company", {"name": "Nope"})
        assert error["code"] == "forbidden"
        assert "company.update" in error["message"] and "Viewer" in error["message"]


def test_two_tenants_do_not_see_each_other(server, tenant):
    other = make_tenant(server.db_path, "Globex", "boss@globex.example")
    with httpx.Client(base_url=server.url, headers={"x-api-key": other.key}) as globex:
        users = ok(globex, "list_users")
        assert [u["email"] for u in users["items"]] == ["boss@globex.example"]
        assert ok(globex, "get_company")["name"] == "Globex"


def test_unknown_tool_suggests_names(http):
    error = err(http, "get_curent_user")
    assert error["code"] == "unknown_tool"
    assert error["suggestions"][0] == "get_current_user" and len(error["suggestions"]) == 3
