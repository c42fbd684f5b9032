"""The extension tools: `search` and `fetch` as connectors expect them, `get_entity_history`."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from customermates.catalog import REGISTRY
from customermates.config import Settings
from tests.conftest import add_member, call_tool, err, error_of, make_tenant, ok, rpc, running_server
from tests.records_support import add_role_user, make
from tests.test_stdio import INIT, Process, call

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def crm(http):
    """Ada (a contact at Acme Analytics), Adam, a deal "Ada rollout", an org, a service."""
    org = make(http, "organization", {"name": "Acme Analytics"})[0]
    ada, adam = make(
        http,
        "contact",
        {"firstName": "Ada", "lastName": "Lovelace", "emails": ["ada@example.com"], "organizationIds": [org]},
        {"firstName": "Adam", "lastName": "Smith"},
    )
    deal = make(http, "deal", {"name": "Ada rollout"})[0]
    service = make(http, "service", {"name": "Consulting", "amount": 120})[0]
    return {"org": org, "ada": ada, "adam": adam, "deal": deal, "service": service}


def text_json(result: dict) -> dict:
    """search and fetch put the same object in the text item, as JSON (connectors parse it)."""
    assert result["isError"] is False
    parsed = json.loads(result["content"][0]["text"])
    assert parsed == result["structuredContent"]
    return parsed


# ---- search -------------------------------------------------------------------------------------------


def test_behind_a_proxy_links_use_the_public_url(db_path, tenant):
    """Links name CUSTOMERMATES_PUBLIC_URL, not the address the proxy forwarded the request to."""
    settings = Settings(public_url="https://crm.example.org")
    with (
        running_server(db_path, settings) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}) as http,
    ):
        (ada,) = make(http, "contact", {"firstName": "Ada"})
        found = text_json(call_tool(http, "search", {"query": "Ada"}))["results"]
    assert found[0]["url"] == f"https://crm.example.org/api/v1/contacts/{ada}"


def test_search_ranks_across_types_and_points_at_rest(http, server, crm):
    found = text_json(call_tool(http, "search", {"query": "Ada"}))["results"]
    # Names starting with the term first (by type, then title), then matches through linked names.
    assert [r["title"] for r in found] == ["Ada Lovelace", "Adam Smith", "Ada rollout", "Acme Analytics"]
    assert found[0] == {
        "id": f"contact:{crm['ada']}",
        "title": "Ada Lovelace",
        "url": f"{server.url}/api/v1/contacts/{crm['ada']}",
    }
    assert found[2]["id"] == f"deal:{crm['deal']}" and found[2]["url"].endswith(
        f"/api/v1/deals/{crm['deal']}"
    )
    assert http.get(found[0]["url"]).json()["item"]["firstName"] == "Ada"


def test_search_matches_emails_and_linked_names(http, crm):
    by_email = text_json(call_tool(http, "search", {"query": "ada@example"}))["results"]
    assert [r["id"] for r in by_email] == [f"contact:{crm['ada']}"]
    by_org = text_json(call_tool(http, "search", {"query": "Analytics"}))["results"]
    assert [r["id"] for r in by_org] == [f"organization:{crm['org']}", f"contact:{crm['ada']}"]


def test_search_returns_at_most_20(http):
    make(http, "task", *({"name": f"Call Zed {i:02}"} for i in range(25)))
    found = ok(http, "search", {"query": "zed"})["results"]
    assert len(found) == 20 and found[0]["title"] == "Call Zed 00" and found[-1]["title"] == "Call Zed 19"


@pytest.mark.parametrize(
    ("arguments", "path"),
    [({"query": ""}, "$.query"), ({"query": "!!"}, "$.query"), ({}, "$.query"), ({"q": "Ada"}, "$.q")],
)
def test_search_refuses_an_empty_query(http, arguments, path):
    error = err(http, "search", arguments)
    assert error["code"] == "invalid_input" and path in [i["path"] for i in error["issues"]]


def test_search_skips_types_the_role_cannot_read_and_other_companies(http, server, tenant, crm):
    key = add_role_user(server.db_path, tenant, "deals@acme.example", "DealsOnly", ["deals.readAll"])
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as deals_only:
        assert [r["id"] for r in ok(deals_only, "search", {"query": "Ada"})["results"]] == [
            f"deal:{crm['deal']}"
        ]
    other = make_tenant(server.db_path, "Other", "boss@other.example")
    with httpx.Client(base_url=server.url, headers={"x-api-key": other.key}) as stranger:
        assert ok(stranger, "search", {"query": "Ada"}) == {"results": []}


def test_search_over_stdio_uses_customermates_uris(db_path, tenant, http, crm):
    process = Process(db_path, tenant.key)
    try:
        process.send(INIT, call(1, "search", {"query": "ada@example"}))
        process.receive()
        [hit] = json.loads(process.receive()["result"]["content"][0]["text"])["results"]
        assert hit["url"] == f"customermates://contact/{crm['ada']}"
    finally:
        process.finish()


# ---- fetch --------------------------------------------------------------------------------------------


def test_fetch_returns_the_whole_record_as_text(http, server, crm):
    notes = [{"id": crm["ada"], "notes": "Met at **Expo**."}]
    ok(http, "update_entity_notes", {"entity": "contact", "items": notes})
    fetched = text_json(call_tool(http, "fetch", {"id": f"contact:{crm['ada']}"}))
    assert fetched["id"] == f"contact:{crm['ada']}" and fetched["title"] == "Ada Lovelace"
    assert fetched["url"] == f"{server.url}/api/v1/contacts/{crm['ada']}"
    assert fetched["metadata"]["entity"] == "contact" and fetched["metadata"]["uuid"] == crm["ada"]
    assert fetched["metadata"]["createdAt"].endswith("Z") and fetched["metadata"]["updatedAt"].endswith("Z")
    text = fetched["text"]
    assert text.startswith("# Ada Lovelace (contact)\n")
    for line in ("- emails: ada@example.com", "- organizations: Acme Analytics", "- deals: —"):
        assert f"\n{line}\n" in text, text
    assert text.endswith("## Notes\n\nMet at **Expo**.")


def test_fetch_takes_a_bare_uuid_and_finds_its_type(http, crm):
    fetched = ok(http, "fetch", {"id": crm["deal"]})
    assert fetched["id"] == f"deal:{crm['deal']}" and fetched["title"] == "Ada rollout"
    assert "- totalValue: 0" in fetched["text"]


@pytest.mark.parametrize(
    "given", ["Ada Lovelace", "contacts:0190f0c1-7a2b-7c3d-8e4f-a1b2c3d4e5f6", "contact:123", ""]
)
def test_fetch_refuses_a_malformed_id_showing_the_format(http, given):
    error = err(http, "fetch", {"id": given})
    assert error["code"] == "invalid_input"
    [issue] = error["issues"]
    assert issue["path"] == "$.id" and '"contact:' in issue["hint"]


def test_another_companys_id_is_like_a_random_one(http, server, crm):
    other = make_tenant(server.db_path, "Other", "boss@other.example")
    with httpx.Client(base_url=server.url, headers={"x-api-key": other.key}) as stranger:
        for given in (f"contact:{crm['ada']}", crm["ada"]):
            theirs = err(stranger, "fetch", {"id": given})
            random = str(uuid.uuid4())
            unknown = err(stranger, "fetch", {"id": given.replace(crm["ada"], random)})
            assert theirs["code"] == unknown["code"] == "not_found"
            assert theirs["message"].replace(crm["ada"], random) == unknown["message"]
        history = err(stranger, "get_entity_history", {"entity": "contact", "id": crm["ada"]})
        assert history["code"] == "not_found"


def test_fetch_of_an_unreadable_type_is_forbidden(http, server, tenant, crm):
    key = add_role_user(server.db_path, tenant, "deals@acme.example", "DealsOnly", ["deals.readAll"])
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as deals_only:
        error = err(deals_only, "fetch", {"id": f"contact:{crm['ada']}"})
        assert error["code"] == "forbidden" and "contacts.readAll" in error["message"]
        assert err(deals_only, "fetch", {"id": crm["ada"]})["code"] == "not_found"


# ---- get_entity_history -------------------------------------------------------------------------------


def history(client, entity: str, record: str, **paging) -> dict:
    return ok(client, "get_entity_history", {"entity": entity, "id": record, **paging})


def test_history_is_newest_first_with_who_and_what(http, tenant, crm):
    ok(http, "update_contacts", {"contacts": [{"id": crm["adam"], "lastName": "Smyth"}]})
    page = history(http, "contact", crm["adam"])
    assert (page["total"], page["page"], page["pageSize"], page["totalPages"]) == (2, 1, 10, 1)
    updated, created = page["items"]
    assert (updated["event"], created["event"]) == ("contact.updated", "contact.created")
    assert updated["changes"] == {"lastName": {"previous": "Smith", "current": "Smyth"}}
    assert created["changes"] is None
    for event in page["items"]:
        assert event["userId"] == tenant.user_id and event["at"].endswith("Z")
        assert event["via"] == {"source": "mcp", "keyName": "default"} and event["undoneBy"] is None
        assert event["id"]
    assert (updated["operation"], created["operation"]) == ("update_contacts", "create_contacts")


def test_links_made_from_the_other_side_show_on_this_record(http, crm):
    ok(
        http,
        "link_entities",
        {"entity": "deal", "sourceId": crm["deal"], "relation": "contacts", "ids": [crm["adam"]]},
    )
    [linked, _created] = history(http, "contact", crm["adam"])["items"]
    assert linked["event"] == "contact.updated" and linked["operation"] == "link_entities"


def test_history_pages(http, crm):
    for name in ("B", "C", "D"):
        ok(http, "update_deals", {"deals": [{"id": crm["deal"], "name": name}]})
    first = history(http, "deal", crm["deal"], pageSize=3)
    second = history(http, "deal", crm["deal"], page=2, pageSize=3)
    assert (first["total"], first["totalPages"]) == (4, 2)
    assert [e["changes"]["name"]["current"] for e in first["items"]] == ["D", "C", "B"]
    assert [e["event"] for e in second["items"]] == ["deal.created"]
    assert history(http, "deal", crm["deal"], page=3, pageSize=3)["items"] == []


def test_deleted_records_history_stays_readable(http, crm):
    ok(http, "delete_entities", {"entity": "service", "ids": [crm["service"]]})
    events = [e["event"] for e in history(http, "service", crm["service"])["items"]]
    assert events == ["service.deleted", "service.created"]


def test_history_errors(http, server, tenant, crm):
    missing = err(http, "get_entity_history", {"entity": "contact", "id": str(uuid.uuid4())})
    assert missing["code"] == "not_found" and missing["issues"][0]["path"] == "$.id"
    wrong_type = err(http, "get_entity_history", {"entity": "deal", "id": crm["ada"]})
    assert wrong_type["code"] == "not_found"
    bad = err(http, "get_entity_history", {"entity": "contacts", "id": "Ada"})
    assert {i["path"] for i in bad["issues"]} == {"$.entity", "$.id"}
    member = add_member(server.db_path, tenant, "mia@acme.example", "member")
    with httpx.Client(base_url=server.url, headers={"x-api-key": member}) as client:
        refused = err(client, "get_entity_history", {"entity": "contact", "id": crm["ada"]})
        assert refused["code"] == "forbidden" and "auditLog.readAll" in refused["message"]


# ---- declarations and REST ----------------------------------------------------------------------------


def test_declarations_are_lean_read_only_and_in_core():
    for name in ("search", "fetch", "get_entity_history"):
        tool = REGISTRY.tools[name]
        seen = tool.listing()
        model_visible = len(seen["description"]) + len(json.dumps(seen["inputSchema"]))
        assert model_visible <= 1000, (name, model_visible)
        assert len(seen["description"]) <= 800
        assert tool.read_only and tool.idempotent and not tool.destructive and tool.toolset == "core"


def test_listed_in_catalog_order_after_the_account_tools(http):
    names = [t["name"] for t in rpc(http, "tools/list").json()["result"]["tools"]]
    assert names[-5:] == ["search", "fetch", "get_entity_history", "list_changes", "undo_changes"]


def test_rest_reaches_the_extensions_through_the_tools_route(http, crm):
    response = http.post("/api/v1/tools/search", json={"query": "Lovelace"})
    assert response.status_code == 200 and response.json()["results"][0]["id"] == f"contact:{crm['ada']}"
    fetched = http.post("/api/v1/tools/fetch", json={"id": f"contact:{crm['ada']}"}).json()
    assert fetched["title"] == "Ada Lovelace"
    events = http.post("/api/v1/tools/get_entity_history", json={"entity": "contact", "id": crm["ada"]})
    assert events.json()["items"][0]["via"]["source"] == "mcp"
    bad = http.post("/api/v1/tools/fetch", json={"id": "nope"})
    mcp = call_tool(http, "fetch", {"id": "nope"})
    assert bad.status_code == 400 and bad.content == mcp["content"][0]["text"].encode()
    assert error_of(mcp)["issues"][0]["path"] == "$.id"
