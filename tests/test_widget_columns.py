"""Widgets grouped by a single-select custom column, through the real server.

The worked example of tests/test_widgets.py plus columns: contact Segment (A = Ann, B = Bob, C unused;
Cid has none), service Tier (Gold = S1 and S2; S3 has none), deal Stage (Won = D1 and D2; D3 none).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from customermates.catalog import REGISTRY
from tests.conftest import make_tenant, ok, running_server
from tests.records_support import audit, make
from tests.test_widgets import BASE, World, create, failure, points

pytestmark = pytest.mark.skipif(
    "create_single_select_custom_column" not in REGISTRY.tools,
    reason="custom columns are not built in this checkout",
)


def select_column(http: httpx.Client, entity: str, label: str, *options: tuple[str, str]) -> dict:
    args = {"entityType": entity, "label": label, "options": [{"label": o, "color": c} for o, c in options]}
    return ok(http, "create_single_select_custom_column", args)["item"]


def set_value(http: httpx.Client, entity: str, record: str, column: dict, value: str) -> None:
    plural = f"{entity}s"
    item = {"id": record, "customFieldValues": [{"columnId": column["id"], "value": value}]}
    ok(http, f"update_{plural}", {plural: [item]})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    db_path = tmp_path_factory.mktemp("widget-columns") / "crm.db"
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
        d1, d2, d3 = make(
            http,
            "deal",
            {"name": "D1", "services": [{"serviceId": s1, "quantity": 6}, {"serviceId": s2, "quantity": 8}],
             "contactIds": [ann, bob]},
            {"name": "D2", "services": [{"serviceId": s1, "quantity": 5}], "contactIds": [bob]},
            {"name": "D3", "services": [{"serviceId": s3, "quantity": 1}]},
        )  # fmt: skip
        segment = select_column(http, "contact", "Segment", ("A", "success"), ("B", "warning"), ("C", "info"))
        tier = select_column(http, "service", "Tier", ("Gold", "warning"), ("Silver", "default"))
        stage = select_column(http, "deal", "Stage", ("Won", "success"), ("Lost", "destructive"))
        set_value(http, "contact", ann, segment, "A")
        set_value(http, "contact", bob, segment, "B")
        for service in (s1, s2):
            set_value(http, "service", service, tier, "Gold")
        for deal in (d1, d2):
            set_value(http, "deal", deal, stage, "Won")
        ids = dict(Ann=ann, Bob=bob, Cid=cid, S1=s1, S2=s2, S3=s3, D1=d1, D2=d2, D3=d3)
        ids |= {"Segment": segment["id"], "Tier": tier["id"], "Stage": stage["id"]}
        yield World(server, tenant, http, ids)


CASES = [
    ("contact", "count", "Segment", [("A", 1), ("B", 1), ("No Group", 1), ("C", 0)]),
    ("contact", "dealValue", "Segment", [("B", 150), ("A", 100), ("C", 0)]),  # No Group absent: 0
    ("service", "count", "Tier", [("Gold", 2), ("No Group", 1), ("Silver", 0)]),
    ("service", "dealValue", "Tier", [("Gold", 150), ("No Group", 30), ("Silver", 0)]),
    ("service", "dealQuantity", "Tier", [("Gold", 19), ("No Group", 1), ("Silver", 0)]),
    ("deal", "count", "Stage", [("Won", 2), ("No Group", 1), ("Lost", 0)]),
    ("deal", "dealValue", "Stage", [("Won", 150), ("No Group", 30), ("Lost", 0)]),
]


@pytest.mark.parametrize(("entity", "aggregation", "column", "expected"), CASES)
def test_grouped_by_a_single_select_column(world, entity, aggregation, column, expected):
    widget = create(world.http, entityType=entity, aggregationType=aggregation, groupByType="customColumn",
                    groupByCustomColumnId=world.ids[column])  # fmt: skip
    assert points(widget) == expected


def test_options_carry_their_value_and_colour(world):
    widget = create(world.http, entityType="contact", aggregationType="count", groupByType="customColumn",
                    groupByCustomColumnId=world.ids["Segment"])  # fmt: skip
    [column] = ok(world.http, "list_custom_columns", {"entityType": "contact"})["items"]
    options = {o["label"]: o for o in column["options"]["options"]}
    by_label = {p["label"]: p for p in widget["data"]}
    assert by_label["A"] == {"key": options["A"]["value"], "label": "A", "value": 1, "optionColor": "success"}
    assert by_label["No Group"] == {"key": "__empty__", "label": "No Group", "value": 1}


def test_no_group_is_absent_when_every_record_has_a_value(world):
    rule = [{"field": world.ids["Segment"], "operator": "isNotNull"}]
    widget = create(world.http, entityType="contact", aggregationType="count", groupByType="customColumn",
                    groupByCustomColumnId=world.ids["Segment"], entityFilters=rule)  # fmt: skip
    assert points(widget) == [("A", 1), ("B", 1), ("C", 0)]


def test_a_column_that_cannot_group_is_refused_with_the_columns_that_can(world):
    plain = ok(world.http, "create_plain_custom_column", {"entityType": "contact", "label": "Remark"})["item"]
    error = failure(world.http, "create_widget", BASE | {"entityType": "contact", "aggregationType": "count",
                                                          "groupByType": "customColumn",
                                                          "groupByCustomColumnId": plain["id"]})  # fmt: skip
    [issue] = error["issues"]
    assert issue["path"] == "$.groupByCustomColumnId" and "plain column" in issue["message"]
    assert f"Segment ({world.ids['Segment']})" in issue["message"]
    error = failure(world.http, "create_widget", BASE | {"entityType": "contact", "aggregationType": "count",
                                                          "groupByType": "customColumn",
                                                          "groupByCustomColumnId": world.ids["Stage"]})  # fmt: skip
    [issue] = error["issues"]
    assert "belongs to deal, not contact" in issue["message"] and "Segment" in issue["message"]


def test_leaving_custom_column_grouping_drops_the_column(world):
    widget = create(world.http, entityType="deal", aggregationType="count", groupByType="customColumn",
                    groupByCustomColumnId=world.ids["Stage"])  # fmt: skip
    out = ok(world.http, "update_widget", {"id": widget["id"], "groupByType": "none"})["item"]
    assert out["groupByCustomColumnId"] is None and points(out) == [("Total", 3)]


def test_deleting_a_column_deletes_the_widgets_grouped_by_it_and_its_filter_rules(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    with (
        running_server(db_path) as server,
        httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        (ann,) = make(http, "contact", {"firstName": "Ann"})
        size = select_column(http, "contact", "Size", ("Big", "default"))
        kind = select_column(http, "contact", "Kind", ("Lead", "default"))
        set_value(http, "contact", ann, kind, "Lead")
        grouped = create(http, entityType="contact", aggregationType="count", groupByType="customColumn",
                         groupByCustomColumnId=size["id"])  # fmt: skip
        rules = [{"field": kind["id"], "operator": "isNotNull"}, {"field": "createdAt", "operator": "gte",
                                                                   "value": "2020-01-01"}]  # fmt: skip
        filtered = create(http, entityType="contact", aggregationType="count", groupByType="none",
                          entityFilters=rules)  # fmt: skip
        assert points(filtered) == [("Total", 1)]
        out = ok(http, "delete_custom_column", {"id": size["id"]})
        assert out["deletedWidgetIds"] == [grouped["id"]]
        assert failure(http, "get_widgets", {"ids": [grouped["id"]]})["code"] == "not_found"
        ok(http, "delete_custom_column", {"id": kind["id"]})
        kept = ok(http, "get_widgets", {"ids": [filtered["id"]]})["items"][0]
        assert kept["entityFilters"] == rules[1:] and points(kept) == [("Total", 1)]
        events = [e["event"] for e in audit(db_path, grouped["id"])] + [
            e["event"] for e in audit(db_path, filtered["id"])
        ]
        assert events == ["widget.created", "widget.deleted", "widget.created", "widget.updated"]


def test_renaming_a_widget_keeps_a_stored_filter_whose_option_was_removed_since(world):
    """An update checks the filter lists it sends; a stored rule naming a removed option matches nothing."""
    temp = select_column(world.http, "contact", "Temperature", ("Hot", "warning"), ("Cold", "info"))
    cold = next(o for o in temp["options"]["options"] if o["label"] == "Cold")
    rule = {"field": temp["id"], "operator": "in", "value": ["Hot"]}
    widget = create(world.http, entityType="contact", aggregationType="count", groupByType="none",
                    entityFilters=[rule])  # fmt: skip
    keep_cold = [{"label": "Cold", "color": "info", "value": cold["value"]}]
    ok(world.http, "update_single_select_custom_column", {"id": temp["id"], "options": keep_cold})

    renamed = ok(world.http, "update_widget", {"id": widget["id"], "name": "Renamed"})["item"]
    assert renamed["name"] == "Renamed" and renamed["entityFilters"] == [rule]
    assert points(renamed) == [("Total", 0)] and renamed["dataError"] is None
    # Filters the call sends are checked as on create.
    error = failure(world.http, "update_widget", {"id": widget["id"], "entityFilters": [rule]})
    assert error["issues"][0]["path"] == "$.entityFilters[0].value[0]"
    assert "Hot" in error["issues"][0]["message"] and "Cold" in error["issues"][0]["hint"]
    fixed = {"field": temp["id"], "operator": "in", "value": ["Cold"]}
    out = ok(world.http, "update_widget", {"id": widget["id"], "entityFilters": [fixed]})["item"]
    assert out["entityFilters"] == [fixed] and points(out) == [("Total", 0)]
