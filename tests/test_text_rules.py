"""Text that only looks right is refused: non-ASCII digits, ids with a trailing newline, markup in
URLs, invisible names, addresses with empty dot-separated parts."""

from __future__ import annotations

import pytest

from customermates.errors import ToolError
from tests.crm_seed import Crm

UUID = "0194a0a0-0000-7000-8000-000000000001"


def refused(crm: Crm, tool: str, args: dict) -> dict:
    """The issues of the refusal, by path (the call must fail with invalid_input)."""
    error = crm.fail(tool, args)
    assert isinstance(error, ToolError) and error.code == "invalid_input", error
    return {i.path: i for i in error.issues}


def rule(field: str, operator: str, value) -> dict:
    return {"entity": "deal", "filters": [{"field": field, "operator": operator, "value": value}]}


@pytest.mark.parametrize(
    "value", ["２０２６-０１-０１", "2026-01-0١", "2026-01-01T10:00:00+25:00", "2026-01-01T10:00:00+05:60"]
)
def test_moments_take_ascii_digits_and_real_offsets(crm, value):
    assert "$.filters[0].value" in refused(crm, "filter_entity", rule("createdAt", "gt", value))


@pytest.mark.parametrize("value", ["٠", "１５００", "1٥"])
def test_numbers_take_ascii_digits(crm, value):
    assert "$.filters[0].value" in refused(crm, "filter_entity", rule("totalValue", "gt", value))


def test_an_id_with_a_trailing_newline_is_not_an_id(crm):
    issues = refused(crm, "update_contacts", {"contacts": [{"id": UUID + "\n", "firstName": "A"}]})
    assert "Ids come from" in issues["$.contacts[0].id"].hint
    filtered = refused(crm, "filter_entity", rule("organizationIds", "in", [UUID + "\n"]))
    assert any(path.startswith("$.filters[0].value") for path in filtered), filtered


@pytest.mark.parametrize(
    "url", ['https://x.example/a"><script>alert(1)</script>', "https://x.example/<img>", "https://"]
)
def test_an_avatar_url_holds_no_markup(crm, url):
    assert "$.avatarUrl" in refused(crm, "update_my_profile", {"avatarUrl": url})


def test_a_plain_avatar_url_is_kept(crm):
    url = "https://cdn.example/avatars/a%20b.png?size=64&v=2#x"
    assert crm.call("update_my_profile", {"avatarUrl": url})["item"]["avatarUrl"] == url


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200c", " \ufeff ", "\u2060"])
def test_an_invisible_name_is_empty(crm, name):
    issue = refused(crm, "create_contacts", {"contacts": [{"firstName": name, "lastName": "B"}]})
    assert issue["$.contacts[0].firstName"].message == "must not be empty"


@pytest.mark.parametrize("email", ["a..b@c.de", ".a@c.de", "a.@c.de", "a@c..de"])
def test_an_email_has_no_empty_part(crm, email):
    args = {"contacts": [{"firstName": "A", "lastName": "B", "emails": [email]}]}
    assert "$.contacts[0].emails[0]" in refused(crm, "create_contacts", args)


def test_good_values_still_pass(crm):
    args = {"contacts": [{"firstName": "Zoë\u200dX", "lastName": "B", "emails": ["a.b+c@d.example"]}]}
    assert crm.call("create_contacts", args)
    assert crm.call("filter_entity", rule("createdAt", "gt", "2026-01-01T10:00:00+14:00")) is not None
