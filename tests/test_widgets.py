"""Dashboard widgets through the real server: computed data, the combination rules, who sees and changes what.

The data set is the worked example of docs/widgets.md, created through the tools:
services S1 (amount 10), S2 (5), S3 (30); deals D1 = S1 x 6 + S2 x 8 (100, contacts Ann and Bob,
organization Orbit), D2 = S1 x 5 (50, Bob, organizations Orbit and Nadir), D3 = S3 x 1 (30, nobody);
contacts Ann, Bob, Cid (no deals). Every expected number below is worked out by hand from that.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, Tenant, call_tool, make_tenant, ok, running_server
from tests.records_support import add_role_user, audit, make

BASE = {"name": "Chart", "displayType": "verticalBarChart"}


@dataclass
class World:
    server: Server
    tenant: Tenant
    http: httpx.Client
    ids: dict[str, str]

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers={"x-api-key": key}, timeout=30)


def failure(client: httpx.Client, name: str, arguments: dict) -> dict:
    """The Error object of a failing call (from structuredContent, or the JSON text item without it)."""
    result = call_tool(client, name, arguments)
    assert result["isError"] is True, result
    if result.get("structuredContent"):
        return result["structuredContent"]["error"]
    return json.loads(result["content"][0]["text"])["error"]


def points(widget: dict) -> list[tuple[str, float]]:
    return [(p["label"], p["value"]) for p in widget["data"]]


def create(client: httpx.Client, **config) -> dict:
    return ok(client, "create_widget", BASE | config)["item"]


def count_widgets(db_path: Path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM widget").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    db_path = tmp_path_factory.mktemp("widgets") / "crm.db"
    tenant = make_tenant(db_path)
    with (
        running_server(db_path) as server,
        httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        s1, s2, s3 = make(http, "service", {"name": "S1", "amount": 10}, {"name": "S2", "amount": 5},
                              {"name": "S3", "amount": 30})  # fmt: skip
        ann, bob, cid = make(
            http, "contact", {"firstName": "Ann"}, {"firstName": "Bob"}, {"firstName": "Cid"}
        )
        orbit, nadir = make(http, "organization", {"name": "Orbit"}, {"name": "Nadir"})
        d1, d2, d3 = make(
                http,
                "deal",
                {"name": "D1", "services": [{"serviceId": s1, "quantity": 6}, {"serviceId": s2, "quantity": 8}],
                 "contactIds": [ann, bob], "organizationIds": [orbit]},
                {"name": "D2", "services": [{"serviceId": s1, "quantity": 5}], "contactIds": [bob],
                 "organizationIds": [orbit, nadir]},
                {"name": "D3", "services": [{"serviceId": s3, "quantity": 1}]},
            )  # fmt: skip
        ids = dict(
            S1=s1, S2=s2, S3=s3, Ann=ann, Bob=bob, Cid=cid, Orbit=orbit, Nadir=nadir, D1=d1, D2=d2, D3=d3
        )
        yield World(server, tenant, http, ids)


# ---- computed data: every aggregation x grouping on the worked example --------------------------------

ANN_ONLY = [{"field": "contactIds", "operator": "in", "value": ["<Ann>"]}]
ON_D2 = [{"field": "dealIds", "operator": "in", "value": ["<D2>"]}]  # records linked to D2
NOT_ANN = [{"field": "contactIds", "operator": "notIn", "value": ["<Ann>"]}]
CASES = [
    ("contact", "count", "none", {}, [("Total", 3)]),
    ("contact", "dealValue", "none", {}, [("Total", 150)]),  # D1 counted once
    ("contact", "dealValue", "contact", {}, [("Bob", 150), ("Ann", 100)]),  # Cid absent: 0
    ("contact", "dealValue", "none", {"dealFilters": NOT_ANN}, [("Total", 50)]),
    ("organization", "count", "none", {}, [("Total", 2)]),
    ("organization", "dealValue", "none", {}, [("Total", 150)]),  # D2 linked twice, counted once
    ("organization", "dealValue", "organization", {}, [("Orbit", 150), ("Nadir", 50)]),
    ("deal", "count", "none", {}, [("Total", 3)]),
    ("deal", "dealValue", "none", {}, [("Total", 180)]),
    ("deal", "dealValue", "deal", {}, [("D1", 100), ("D2", 50), ("D3", 30)]),
    ("deal", "dealValue", "deal", {"entityFilters": ANN_ONLY}, [("D1", 100)]),
    ("service", "count", "none", {}, [("Total", 3)]),
    ("service", "dealValue", "none", {}, [("Total", 180)]),  # 60 + 40 + 50 + 30
    ("service", "dealValue", "service", {}, [("S1", 110), ("S2", 40), ("S3", 30)]),
    ("service", "dealQuantity", "none", {}, [("Total", 20)]),
    ("service", "dealQuantity", "service", {}, [("S1", 11), ("S2", 8), ("S3", 1)]),
    ("service", "dealValue", "service", {"dealFilters": ANN_ONLY}, [("S1", 60), ("S2", 40)]),
    ("service", "dealQuantity", "none", {"entityFilters": [{"field": "amount", "operator": "lt", "value": 20}]},
     [("Total", 19)]),
    ("organization", "dealValue", "organization", {"entityFilters": ON_D2}, [("Orbit", 150), ("Nadir", 50)]),
    ("organization", "dealValue", "none", {"entityFilters": ON_D2}, [("Total", 150)]),
    ("contact", "dealValue", "contact", {"entityFilters": ON_D2}, [("Bob", 150)]),
    ("contact", "dealValue", "none", {"entityFilters": ON_D2, "dealFilters": NOT_ANN}, [("Total", 50)]),
    ("task", "count", "none", {}, [("Total", 0)]),
    ("contact", "count", "none", {"entityFilters": [{"field": "dealIds", "operator": "isNull"}]}, [("Total", 1)]),
    ("contact", "count", "none", {"entityFilters": [{"field": "createdAt", "operator": "inLastDays", "value": 30}]},
     [("Total", 3)]),
    ("deal", "dealValue", "deal", {"entityFilters": [{"field": "contactIds", "operator": "hasSome", "value": ["<Ann>"]}]},
     [("D1", 100)]),
    ("contact", "count", "none", {"entityFilters": [{"field": "dealIds", "operator": "hasNone", "value": ["<D2>"]}]},
     [("Total", 2)]),  # Ann (D1 only) and Cid
]  # fmt: skip


def _with_ids(config: dict, ids: dict[str, str]) -> dict:
    text = json.dumps(config)
    for name, ident in ids.items():
        text = text.replace(f"<{name}>", ident)
    return json.loads(text)


@pytest.mark.parametrize(("entity", "aggregation", "group", "extra", "expected"), CASES)
def test_worked_example(world, entity, aggregation, group, extra, expected):
    config = {"entityType": entity, "aggregationType": aggregation, "groupByType": group}
    created = create(world.http, **config, **_with_ids(extra, world.ids))
    assert points(created) == expected
    assert created["dataError"] is None
    again = ok(world.http, "get_widgets", {"ids": [created["id"]]})["items"][0]
    assert points(again) == expected


def test_points_carry_keys_and_the_total_its_own(world):
    total = create(world.http, entityType="deal", aggregationType="dealValue", groupByType="none")
    assert total["data"] == [{"key": "__total__", "label": "Total", "value": 180}]
    per_deal = create(world.http, entityType="deal", aggregationType="dealValue", groupByType="deal")
    assert [p["key"] for p in per_deal["data"]] == [world.ids["D1"], world.ids["D2"], world.ids["D3"]]
    assert all("optionColor" not in p for p in per_deal["data"])


def test_a_count_equals_count_entity_with_the_same_filter(world):
    rule = {"field": "createdAt", "operator": "gte", "value": "2000-01-01"}
    expected = ok(world.http, "count_entity", {"entity": "contact", "filters": [rule]})["total"]
    widget = create(world.http, entityType="contact", aggregationType="count", groupByType="none",
                    entityFilters=[rule])  # fmt: skip
    assert points(widget) == [("Total", expected)] == [("Total", 3)]


# ---- computed on read, for the reader ------------------------------------------------------------------


def test_a_new_record_shows_in_the_next_read_without_writing_the_widget(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    with (
        running_server(db_path) as server,
        httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        widget = create(http, entityType="contact", aggregationType="count", groupByType="none")
        assert points(widget) == [("Total", 0)]
        make(http, "contact", {"firstName": "Dora"})
        again = ok(http, "get_widgets", {"ids": [widget["id"]]})["items"][0]
        assert points(again) == [("Total", 1)]
        assert again["updatedAt"] == widget["updatedAt"]
        assert again["computedAt"] >= widget["computedAt"]
        assert [e["event"] for e in audit(db_path, widget["id"])] == ["widget.created"]


def test_a_read_own_reader_sees_their_own_records_the_owner_all(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    key = add_role_user(
        db_path, tenant, "rita@acme.example", "Own reader", ["contacts.readOwn", "contacts.create"]
    )
    with running_server(db_path) as server:
        owner = httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30)
        reader = httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=30)
        with owner, reader:
            make(owner, "contact", {"firstName": "A"}, {"firstName": "B"})
            make(reader, "contact", {"firstName": "Mine"})
            widget = create(owner, entityType="contact", aggregationType="count", groupByType="none")
            assert points(widget) == [("Total", 3)]
            seen = ok(reader, "get_widgets", {"ids": [widget["id"]]})["items"][0]
            assert points(seen) == [("Total", 1)]
            assert seen["ownerId"] == widget["ownerId"]
            deals = create(owner, entityType="contact", aggregationType="dealValue", groupByType="none")
            without = ok(reader, "get_widgets", {"ids": [deals["id"]]})["items"][0]
            assert without["data"] == [] and "deals" in without["dataError"]
            assert without["aggregationType"] == "dealValue"
            refused = failure(reader, "create_widget", BASE | {"entityType": "contact", "aggregationType": "dealValue",
                                                               "groupByType": "none"})  # fmt: skip
            assert refused["code"] == "forbidden" and "deals.readAll" in refused["message"]
            mine = create(reader, entityType="contact", aggregationType="count", groupByType="none")
            second = create(
                reader, name="Second", entityType="contact", aggregationType="count", groupByType="none"
            )
            assert [w["id"] for w in ok(reader, "list_widgets", {})["items"]] == [second["id"], mine["id"]]


# ---- ownership and tenancy -----------------------------------------------------------------------------


def test_colleagues_read_but_only_the_owner_or_an_admin_changes(world):
    widget = create(
        world.http, name="Owner's chart", entityType="deal", aggregationType="count", groupByType="none"
    )
    key = add_role_user(world.server.db_path, world.tenant, "colleague@acme.example", "Colleague",
                        ["contacts.readAll", "deals.readAll"])  # fmt: skip
    with world.client(key) as colleague:
        listed = ok(colleague, "list_widgets", {})
        assert widget["id"] not in [w["id"] for w in listed["items"]]
        seen = ok(colleague, "get_widgets", {"ids": [widget["id"]]})["items"][0]
        assert seen["ownerId"] == widget["ownerId"] and points(seen) == [("Total", 3)]
        for tool, args in (("update_widget", {"id": widget["id"], "name": "Mine now"}),
                           ("delete_widget", {"id": widget["id"]})):  # fmt: skip
            error = failure(colleague, tool, args)
            assert error["code"] == "forbidden"
            assert widget["ownerId"] in error["message"] and world.tenant.email in error["message"]
        mine = create(colleague, entityType="contact", aggregationType="count", groupByType="none")
        assert [w["id"] for w in ok(colleague, "list_widgets", {})["items"]] == [mine["id"]]
    still = ok(world.http, "get_widgets", {"ids": [widget["id"]]})["items"][0]
    assert still["name"] == "Owner's chart"
    # The tenant's owner holds the system role: may delete a colleague's widget.
    deleted = ok(world.http, "delete_widget", {"id": mine["id"]})
    assert deleted["id"] == mine["id"]


def test_another_company_cannot_see_or_touch_a_widget(world):
    widget = create(world.http, entityType="deal", aggregationType="count", groupByType="none")
    other = make_tenant(world.server.db_path, "Rival", "boss@rival.example")
    with world.client(other.key) as rival:
        assert ok(rival, "list_widgets", {})["total"] == 0
        for tool, args in (("get_widgets", {"ids": [widget["id"]]}),
                           ("update_widget", {"id": widget["id"], "name": "x"}),
                           ("delete_widget", {"id": widget["id"]})):  # fmt: skip
            error = failure(rival, tool, args)
            assert error["code"] == "not_found", tool
            assert widget["id"] in error["message"]
        assert rival.get(f"/api/v1/widgets/{widget['id']}").status_code == 404
    assert ok(world.http, "get_widgets", {"ids": [widget["id"]]})["items"][0]["id"] == widget["id"]


def test_get_widgets_reports_missing_ids_and_fails_when_all_are(world):
    widget = create(world.http, entityType="deal", aggregationType="count", groupByType="none")
    stranger = "0190aaaa-0000-7000-8000-000000000000"
    out = ok(world.http, "get_widgets", {"ids": [widget["id"], stranger]})
    assert [w["id"] for w in out["items"]] == [widget["id"]] and out["notFound"] == [stranger]
    error = failure(world.http, "get_widgets", {"ids": [stranger]})
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.ids[0]"
    assert failure(world.http, "delete_widget", {"id": stranger})["code"] == "not_found"
    twice = failure(world.http, "get_widgets", {"ids": [widget["id"], widget["id"]]})
    assert twice["code"] == "invalid_input" and twice["issues"][0]["path"] == "$.ids[1]"


# ---- the combination rules -----------------------------------------------------------------------------

DEAL_RULE = [{"field": "totalValue", "operator": "gt", "value": 1}]
INVALID = [
    ("contact", "dealQuantity", "none", {}, "$.aggregationType", '"dealValue"'),
    ("task", "dealValue", "none", {}, "$.aggregationType", '"count"'),
    ("task", "dealQuantity", "none", {}, "$.aggregationType", '"count"'),
    ("contact", "count", "contact", {}, "$.groupByType", '"none"'),
    ("contact", "dealValue", "organization", {}, "$.groupByType", "create an organization widget"),
    ("task", "count", "deal", {}, "$.groupByType", '"none" or "customColumn"'),
    ("deal", "dealValue", "none", {"dealFilters": DEAL_RULE}, "$.dealFilters", "entityFilters"),
    ("contact", "count", "none", {"dealFilters": DEAL_RULE}, "$.dealFilters", "entityFilters"),
    ("contact", "count", "customColumn", {}, "$.groupByCustomColumnId", "list_custom_columns"),
    ("contact", "count", "none", {"groupByCustomColumnId": "0190aaaa-0000-7000-8000-000000000001"},
     "$.groupByCustomColumnId", '"customColumn"'),
    ("contact", "count", "none", {"entityFilters": [{"field": "foo", "operator": "in", "value": ["x"]}]},
     "$.entityFilters[0].field", "createdAt"),
    ("deal", "count", "none", {"entityFilters": [{"field": "totalValue", "operator": "contains", "value": "1"}]},
     "$.entityFilters[0].operator", "gte"),
    ("service", "dealValue", "none", {"dealFilters": [{"field": "size", "operator": "gt", "value": 1}]},
     "$.dealFilters[0].field", "totalValue"),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "aggregation", "group", "extra", "path", "names"), INVALID)
def test_each_invalid_combination_names_the_fix_and_writes_nothing(world, entity, aggregation, group, extra, path,
                                                                   names):  # fmt: skip
    before = count_widgets(world.server.db_path)
    config = {"entityType": entity, "aggregationType": aggregation, "groupByType": group, **extra}
    error = failure(world.http, "create_widget", BASE | config)
    assert error["code"] == "invalid_input"
    found = {i["path"]: f"{i['message']} {i['hint']}" for i in error["issues"]}
    assert path in found, error
    assert names in found[path]
    assert "nothing was written" in error["message"]
    assert count_widgets(world.server.db_path) == before


def test_every_broken_rule_is_reported_at_once(world):
    config = {"entityType": "contact", "aggregationType": "dealQuantity", "groupByType": "none",
              "dealFilters": [{"field": "nope", "operator": "in", "value": ["x"]}]}  # fmt: skip
    error = failure(world.http, "create_widget", BASE | config)
    assert {i["path"] for i in error["issues"]} == {"$.aggregationType", "$.dealFilters[0].field"}


def test_a_filter_naming_an_unknown_record_is_not_found(world):
    rule = [{"field": "organizationIds", "operator": "in", "value": ["0190aaaa-0000-7000-8000-000000000002"]}]
    error = failure(world.http, "create_widget", BASE | {"entityType": "contact", "aggregationType": "count",
                                                          "groupByType": "none", "entityFilters": rule})  # fmt: skip
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.entityFilters[0].value[0]"


def test_an_unknown_group_column_is_not_found(world):
    column = "0190aaaa-0000-7000-8000-000000000003"
    error = failure(world.http, "create_widget", BASE | {"entityType": "contact", "aggregationType": "count",
                                                          "groupByType": "customColumn",
                                                          "groupByCustomColumnId": column})  # fmt: skip
    assert error["code"] == "not_found" and column in error["issues"][0]["message"]
    assert "list_custom_columns" in error["issues"][0]["message"]


def test_update_checks_the_merged_configuration(world):
    widget = create(world.http, entityType="contact", aggregationType="dealValue", groupByType="contact")
    error = failure(world.http, "update_widget", {"id": widget["id"], "aggregationType": "dealQuantity"})
    [issue] = error["issues"]
    assert (
        issue["path"] == "$.aggregationType"
        and 'entityType "contact" is the stored value' in issue["message"]
    )
    error = failure(world.http, "update_widget", {"id": widget["id"], "aggregationType": "count"})
    assert error["issues"][0]["path"] == "$.groupByType" and "stored value" in error["issues"][0]["message"]
    error = failure(world.http, "update_widget", {"id": widget["id"], "entityType": "deal"})
    assert (
        error["issues"][0]["path"] == "$.entityType" and "create a new widget" in error["issues"][0]["hint"]
    )
    unchanged = ok(world.http, "get_widgets", {"ids": [widget["id"]]})["items"][0]
    assert unchanged["aggregationType"] == "dealValue" and unchanged["updatedAt"] == widget["updatedAt"]


def test_update_changes_only_what_it_is_given(world):
    widget = create(world.http, name="Pipeline", entityType="deal", aggregationType="dealValue", groupByType="deal",
                    entityFilters=DEAL_RULE, barColors=["danger1"])  # fmt: skip
    assert widget["displayOptions"] == {"displayType": "verticalBarChart", "reverseXAxis": False,
                                        "reverseYAxis": False, "barColors": ["danger1"]}  # fmt: skip
    out = ok(world.http, "update_widget", {"id": widget["id"], "groupByType": "none", "reverseYAxis": True,
                                            "entityFilters": []})  # fmt: skip
    item = out["item"]
    assert out["message"] == 'Updated widget "Pipeline".'
    assert item["groupByType"] == "none" and item["entityFilters"] == [] and item["name"] == "Pipeline"
    assert item["displayOptions"]["reverseYAxis"] is True and item["displayOptions"]["barColors"] == [
        "danger1"
    ]
    assert points(item) == [("Total", 180)] and item["ownerId"] == widget["ownerId"]
    events = audit(world.server.db_path, widget["id"])
    assert [e["event"] for e in events] == ["widget.created", "widget.updated"]
    assert set(events[1]["changes"]) == {"groupByType", "entityFilters", "displayOptions"}
    same = ok(world.http, "update_widget", {"id": widget["id"], "name": "Pipeline"})
    assert same["message"].startswith("Nothing changed")


def test_default_options_and_delete(world):
    widget = create(world.http, entityType="organization", aggregationType="count", groupByType="none")
    assert widget["displayOptions"]["barColors"] == ["primary1", "primary2"]
    assert (
        widget["entityFilters"] == []
        and widget["dealFilters"] == []
        and widget["groupByCustomColumnId"] is None
    )
    out = ok(world.http, "delete_widget", {"id": widget["id"]})
    assert out == {"id": widget["id"], "name": "Chart", "message": 'Deleted widget "Chart".'}
    assert failure(world.http, "get_widgets", {"ids": [widget["id"]]})["code"] == "not_found"
    assert [e["event"] for e in audit(world.server.db_path, widget["id"])][-1] == "widget.deleted"


# ---- per-record grouping: the 100 largest and Other; ordering -----------------------------------------


def test_more_than_100_records_keep_the_100_largest_and_sum_the_rest(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    with (
        running_server(db_path) as server,
        httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        [service] = make(http, "service", {"name": "Unit", "amount": 1})
        contacts = make(http, "contact", *({"firstName": f"C{i:03d}"} for i in range(100)))
        contacts += make(http, "contact", *({"firstName": f"C{i:03d}"} for i in range(100, 150)))
        # Contact C<i> has one deal worth i + 1.
        for start in (0, 100):
            make(http, "deal", *({"name": f"D{i}", "contactIds": [contacts[i]],
                                  "services": [{"serviceId": service, "quantity": i + 1}]}
                                 for i in range(start, min(start + 100, 150))))  # fmt: skip
        widget = create(http, entityType="contact", aggregationType="dealValue", groupByType="contact")
        data = widget["data"]
        assert len(data) == 101
        assert [(p["label"], p["value"]) for p in data[:2]] == [("C149", 150), ("C148", 149)]
        assert data[99] == {"key": contacts[50], "label": "C050", "value": 51}
        assert data[100] == {"key": "__other__", "label": "Other", "value": sum(range(1, 51))}


def test_ties_are_ordered_by_label_then_key(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    with (
        running_server(db_path) as server,
        httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        s = make(http, "service", {"name": "beta", "amount": 2}, {"name": "Alpha", "amount": 2},
                 {"name": "gamma", "amount": 7}, {"name": "alpha", "amount": 2})  # fmt: skip
        make(http, "deal", {"name": "D", "services": [{"serviceId": i} for i in s]})
        widget = create(http, entityType="service", aggregationType="dealValue", groupByType="service")
        twins = sorted([s[1], s[3]])
        assert [(p["label"], p["value"]) for p in widget["data"]] == [
            ("gamma", 7), ("Alpha" if twins[0] == s[1] else "alpha", 2),
            ("alpha" if twins[0] == s[1] else "Alpha", 2), ("beta", 2)]  # fmt: skip
        [unit] = make(http, "service", {"name": "Cent", "amount": 19.99})
        make(http, "deal", {"name": "E", "services": [{"serviceId": unit, "quantity": 3}]})
        cent = create(http, entityType="service", aggregationType="dealValue", groupByType="none",
                      entityFilters=[{"field": "amount", "operator": "lt", "value": 20},
                                     {"field": "amount", "operator": "gt", "value": 19}])  # fmt: skip
        assert points(cent) == [("Total", 59.97)]


# ---- the statement count does not grow with the data -------------------------------------------------


def test_the_number_of_statements_is_the_same_over_10_and_2000_records(tmp_path):
    from tests.crm_seed import open_crm

    crm = open_crm(tmp_path / "crm.db")
    entities = ("contact", "organization", "deal", "service", "task")
    column = {
        e: crm.call("create_single_select_custom_column", {"entityType": e, "label": "Stage", "options": [
            {"label": "One"}, {"label": "Two"}]})["item"]["id"]
        for e in entities
    }  # fmt: skip
    combos = [(e, a, g) for e in entities for a in ("count", "dealValue", "dealQuantity")
              for g in ("none", e, "customColumn")]  # fmt: skip
    widgets = []
    for entity, aggregation, group in combos:
        config = {"entityType": entity, "aggregationType": aggregation, "groupByType": group}
        if group == "customColumn":
            config["groupByCustomColumnId"] = column[entity]
        try:
            out = crm.call("create_widget", BASE | config)
        except Exception:  # noqa: BLE001 - combinations the rules refuse
            continue
        widgets.append(out["item"]["id"])
    assert len(widgets) == 25  # contact 5, organization 5, deal 5, service 8, task 2

    def statements() -> list[int]:
        counts = []
        for ident in widgets:
            seen: list[str] = []
            crm.conn.set_trace_callback(seen.append)
            crm.call("get_widgets", {"ids": [ident]})
            crm.conn.set_trace_callback(None)
            counts.append(len(seen))
        return counts

    def grow(n: int) -> None:
        service = crm.add("service", "S", amount=3)
        for i in range(n):
            contact = crm.add("contact", f"C{i}")
            org = crm.add("organization", f"O{i}")
            deal = crm.add("deal", f"D{i}", total_value=3, contactIds=[contact], organizationIds=[org])
            crm.conn.execute("INSERT INTO link_deal_service VALUES (?, ?, 10000)", (deal, service))
            crm.add("task", f"T{i}", contactIds=[contact])

    grow(10)
    small = statements()
    grow(2000)
    assert statements() == small
    crm.conn.close()


# ---- REST and the published schemas ------------------------------------------------------------------


def test_rest_routes_run_the_widget_tools(world):
    http = world.http
    body = BASE | {"entityType": "service", "aggregationType": "dealValue", "groupByType": "service"}
    created = http.post("/api/v1/widgets", json=body)
    assert created.status_code == 201, created.text
    item = created.json()["item"]
    assert created.headers["location"] == f"/api/v1/widgets/{item['id']}"
    read = http.get(f"/api/v1/widgets/{item['id']}")
    assert read.status_code == 200
    assert read.json()["item"]["data"] == ok(http, "get_widgets", {"ids": [item["id"]]})["items"][0]["data"]
    assert points(read.json()["item"]) == [("S1", 110), ("S2", 40), ("S3", 30)]
    updated = http.put(f"/api/v1/widgets/{item['id']}", json={"groupByType": "none"})
    assert updated.status_code == 200 and points(updated.json()["item"]) == [("Total", 180)]
    refused = http.put(
        f"/api/v1/widgets/{item['id']}", json={"aggregationType": "count", "dealFilters": DEAL_RULE}
    )
    assert refused.status_code == 400 and refused.json()["error"]["issues"][0]["path"] == "$.dealFilters"
    listed = http.get("/api/v1/widgets", params={"searchTerm": "chart", "pageSize": 100}).json()
    assert item["id"] in [w["id"] for w in listed["items"]]
    assert http.delete(f"/api/v1/widgets/{item['id']}").status_code == 200
    assert http.get(f"/api/v1/widgets/{item['id']}").status_code == 404


def test_published_filter_items_say_the_value_of_every_operator_they_allow(world):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    tools = {t["name"]: t for t in world.http.post("/api/v1/mcp", json=body).json()["result"]["tools"]}
    for name in ("create_widget", "update_widget"):
        item = tools[name]["inputSchema"]["properties"]["entityFilters"]["items"]
        operators = item["properties"]["operator"]["enum"]
        assert {"hasSome", "hasNone", "inLastDays", "in", "between"} <= set(operators)
        value = item["properties"]["value"]["description"]
        assert "an array for in/notIn/hasSome/hasNone" in value and "days for inLastDays" in value, value


def test_results_match_the_published_schemas(world):
    from jsonschema import Draft202012Validator

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    tools = {t["name"]: t for t in world.http.post("/api/v1/mcp", json=body).json()["result"]["tools"]}

    def call(name: str, arguments: dict) -> dict:
        Draft202012Validator(tools[name]["inputSchema"]).validate(arguments)
        out = ok(world.http, name, arguments)
        Draft202012Validator(tools[name]["outputSchema"]).validate(out)
        return out

    config = BASE | {"entityType": "service", "aggregationType": "dealValue", "groupByType": "service",
                     "dealFilters": _with_ids(ANN_ONLY, world.ids), "barColors": ["success3"]}  # fmt: skip
    widget = call("create_widget", config)["item"]
    call("get_widgets", {"ids": [widget["id"]]})
    call("update_widget", {"id": widget["id"], "reverseXAxis": True})
    call("list_widgets", {"searchTerm": "Chart"})
    call("delete_widget", {"id": widget["id"]})
    error = failure(world.http, "create_widget", BASE | {"entityType": "deal", "aggregationType": "count",
                                                          "groupByType": "none", "barColors": ["pink"]})  # fmt: skip
    assert error["issues"][0]["path"] == "$.barColors[0]" and "primary1" in error["issues"][0]["hint"]
