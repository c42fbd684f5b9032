"""A failing tool call looks the same through every door: the MCP text item over HTTP and over stdio
carries no structuredContent and holds exactly the bytes REST answers for the same call."""

from __future__ import annotations

import json

import pytest

from tests.conftest import call_tool
from tests.test_stdio import INIT, Process, call

BAD_CALLS = [
    # (tool, arguments, REST status, code, the issue paths expected)
    ("list_users", {"pageSize": 0}, 400, "invalid_input", ["$.pageSize"]),
    ("update_company", {"currency": "EURO", "bogus": 1}, 400, "invalid_input", ["$.bogus", "$.currency"]),
    ("get_curent_user", {}, 404, "unknown_tool", []),
]


def compact(text: str) -> str:
    """The same JSON written compactly, as the contract requires (no spaces between tokens)."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(("tool", "arguments", "status", "code", "paths"), BAD_CALLS)
def test_mcp_error_text_is_the_rest_error_body_byte_for_byte(http, tool, arguments, status, code, paths):
    result = call_tool(http, tool, arguments)
    assert result["isError"] is True and "structuredContent" not in result
    assert [item["type"] for item in result["content"]] == ["text"]
    text = result["content"][0]["text"]

    rest = http.post(f"/api/v1/tools/{tool}", json=arguments)
    assert rest.status_code == status and rest.headers["content-type"] == "application/json"
    assert text.encode() == rest.content
    assert text == compact(text)
    error = json.loads(text)["error"]
    assert error["code"] == code
    assert sorted(issue["path"] for issue in error["issues"]) == paths
    assert all(issue["hint"] for issue in error["issues"])


def test_stdio_error_text_is_the_same_bytes_as_rest(db_path, tenant, http):
    process = Process(db_path, tenant.key)
    try:
        process.send(INIT)
        assert process.receive()["id"] == 0
        for ident, (tool, arguments, *_rest) in enumerate(BAD_CALLS, 1):
            process.send(call(ident, tool, arguments))
            result = process.receive()["result"]
            assert result["isError"] is True and "structuredContent" not in result
            assert (
                result["content"][0]["text"].encode()
                == http.post(f"/api/v1/tools/{tool}", json=arguments).content
            )
    finally:
        process.finish()


def test_a_success_still_carries_structured_content(http, tenant):
    result = call_tool(http, "get_current_user")
    assert result["isError"] is False and result["structuredContent"]["email"] == tenant.email
