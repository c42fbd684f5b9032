"""The error catalogue: statuses from the code alone, the body shape, the texts of the helpers."""

from __future__ import annotations

import msgspec
import pytest

from customermates.errors import (
    RESPONSES,
    STATUS,
    Issue,
    ToolError,
    codes_of,
    forbidden,
    invalid,
    not_found,
)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid_input", 400),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("not_found", 404),
        ("unknown_tool", 404),
        ("method_not_allowed", 405),
        ("conflict", 409),
        ("payload_too_large", 413),
        ("unsupported_media_type", 415),
        ("rate_limited", 429),
        ("internal", 500),
    ],
)
def test_status_comes_from_the_code(code, status):
    assert ToolError(code, "x").status == status


def test_every_status_is_documented_and_every_documented_status_has_a_code():
    assert set(RESPONSES) == set(STATUS.values())
    assert codes_of(404) == ["not_found", "unknown_tool"]


def test_body_shape_omits_what_is_not_set():
    body = msgspec.to_builtins(
        ToolError("conflict", "Taken.", [Issue("$.label", "used", "Pick another.")]).to_struct()
    )
    assert body == {
        "error": {
            "code": "conflict",
            "message": "Taken.",
            "issues": [{"path": "$.label", "message": "used", "hint": "Pick another."}],
        }
    }
    internal = msgspec.to_builtins(ToolError("internal", "Boom.", correlation_id="r-1").to_struct())
    assert internal["error"]["correlationId"] == "r-1" and "suggestions" not in internal["error"]


def test_json_is_the_compact_error_object():
    error = invalid([Issue("$.a", "bad", "Fix a."), Issue("$.b", "worse")])
    assert error.to_json() == (
        b'{"error":{"code":"invalid_input","message":"2 problems in the arguments; nothing was written.",'
        b'"issues":[{"path":"$.a","message":"bad","hint":"Fix a."},{"path":"$.b","message":"worse","hint":""}]}}'
    )


def test_issues_are_capped_at_fifty():
    assert len(invalid([Issue(f"$.x[{n}]", "bad") for n in range(60)]).issues) == 50


def test_not_found_names_the_ids_and_where_ids_come_from():
    error = not_found([("$.ids[0]", "contact", "c1"), ("$.ids[1]", "deal", "d1")], "filter_entity")
    assert error.code == "not_found"
    assert error.message == "Not found: contact c1, deal d1. Ids come from filter_entity."
    assert [i.path for i in error.issues] == ["$.ids[0]", "$.ids[1]"]
    assert error.issues[0].hint == "Ids come from filter_entity."


def test_forbidden_names_the_role_and_the_permissions():
    error = forbidden(["deals.readAll", "deals.readOwn"], "Viewer")
    assert error.status == 403
    assert (
        error.message
        == "Your role 'Viewer' lacks the permission deals.readAll or deals.readOwn; an admin can grant it to your role."
    )
