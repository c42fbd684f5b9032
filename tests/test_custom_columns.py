"""Custom columns through the real server: the 22 tools, values on records, filters, sort, tenancy.

One server and one company serve the module (a second company checks isolation); each test makes
its own columns with unique labels, so tests stay independent without a server each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Tenant, call_tool, make_tenant, ok, running_server
from tests.records_support import query


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    db = tmp_path_factory.mktemp("columns") / "crm.db"
    first = make_tenant(db)
    second = make_tenant(db, "Other", "owner@other.example")
    with running_server(db) as srv:
        yield {"server": srv, "db": db, "first": first, "second": second}


def _client(world: dict, tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=world["server"].url, headers={"x-api-key": tenant.key}, timeout=30)


@pytest.fixture(scope="module")
def http(world) -> Iterator[httpx.Client]:
    with _client(world, world["first"]) as client:
        yield client


@pytest.fixture(scope="module")
def other(world) -> Iterator[httpx.Client]:
    with _client(world, world["second"]) as client:
        yield client


def fail(client: httpx.Client, name: str, arguments: dict) -> dict:
    """The error object of a failing call (structuredContent today, the JSON text item later)."""
    result = call_tool(client, name, arguments)
    assert result["isError"] is True, result
    return (result.get("structuredContent") or json.loads(result["content"][0]["text"]))["error"]


def label(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def column(http, suffix: str, entity: str = "contact", **fields) -> dict:
    args = {"entityType": entity, "label": fields.pop("label", label(suffix)), **fields}
    return ok(http, f"create_{suffix}_custom_column", args)["item"]


def contacts(http, *values: list[dict]) -> list[str]:
    items = [{"firstName": f"P{i}", "customFieldValues": v} for i, v in enumerate(values)]
    return [i["id"] for i in ok(http, "create_contacts", {"contacts": items})["items"]]


def record(http, record_id: str, entity: str = "contact") -> dict:
    got = ok(http, "get_entities", {"items": [{"entity": entity, "id": record_id}]})
    return got["items"][0]["record"]


def value_of(http, record_id: str, column_id: str) -> dict | None:
    found = [v for v in record(http, record_id)["customFieldValues"] if v["columnId"] == column_id]
    return found[0] if found else None


def found(http, *rules: dict, sort: dict | None = None, entity: str = "contact") -> list[str]:
    args = {"entity": entity, "filters": list(rules), "pageSize": 100} | (
        {"sortDescriptor": sort} if sort else {}
    )
    return [i["id"] for i in ok(http, "filter_entity", args)["items"]]


def rule(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator} | ({} if value is None else {"value": value})


def cfv(column_id: str, value) -> dict:
    return {"columnId": column_id, "value": value}


# ---- every type: created, written, read back in canonical form ------------------------------------

CANONICAL = [
    ("plain", {}, "  Berlin\noffice ", "Berlin\noffice"),
    ("date", {"displayFormat": "numericalLong"}, "2026-03-31T23:30:00-02:00", "2026-04-01"),
    ("datetime", {}, "2026-03-31T11:00:00.250+02:00", "2026-03-31T09:00:00Z"),
    ("date_range", {}, "2026-03-01 , 2026-03-31", "2026-03-01,2026-03-31"),
    ("datetime_range", {}, "2026-03-01T09:00,2026-03-01T17:30:00Z", "2026-03-01T09:00:00Z,2026-03-01T17:30:00Z"),
    ("currency", {"currency": "eur"}, "1500.50", "1500.5"),
    ("link", {"allowMultiple": True}, "https://a.example, https://b.example,HTTPS://A.example", "https://a.example,https://b.example"),
    ("email", {"color": "info"}, " ada@example.com ", "ada@example.com"),
    ("phone", {}, "+49 (30) 123-456.78", "+493012345678"),
]  # fmt: skip


@pytest.mark.parametrize(("suffix", "fields", "given", "stored"), CANONICAL)
def test_each_type_stores_its_canonical_form(http, suffix, fields, given, stored):
    col = column(http, suffix, **fields)
    assert col["updateTool"] == f"update_{suffix}_custom_column"
    (contact,) = contacts(http, [cfv(col["id"], given)])
    element = value_of(http, contact, col["id"])
    assert element == {"columnId": col["id"], "label": col["label"], "type": col["type"], "value": stored}


def test_currency_takes_a_json_number_and_prints_the_shortest_form(http):
    col = column(http, "currency", currency="usd")
    a, b = contacts(http, [cfv(col["id"], 19.99)], [cfv(col["id"], "007.00")])
    assert value_of(http, a, col["id"])["value"] == "19.99"
    assert value_of(http, b, col["id"])["value"] == "7"


def test_single_select_by_label_or_value_reads_back_value_and_option_label(http):
    col = column(http, "single_select", options=[{"label": "Lead"}, {"label": "Won", "color": "success"}])
    won = col["options"]["options"][1]
    assert won == {"value": won["value"], "label": "Won", "color": "success", "isDefault": False, "index": 1}
    a, b = contacts(http, [cfv(col["id"], "won")], [cfv(col["id"], won["value"])])
    for contact in (a, b):
        assert value_of(http, contact, col["id"])["value"] == won["value"]
        assert value_of(http, contact, col["id"])["optionLabel"] == "Won"


# ---- bad values: one per type, each naming the field, the column and an accepted example -----------

BAD = [
    ("date", {}, "31/12/2026", "2026-01-05"),
    ("date", {}, "2026-02-30", "2026-01-05"),
    ("datetime", {}, "tomorrow 9am", "2026-01-05T09:00:00Z"),
    ("date_range", {}, "2026-01-09,2026-01-05", "earlier value first"),
    ("date_range", {}, "2026-01-05", "2026-01-05,2026-01-09"),
    ("datetime_range", {}, "2026-01-05T09:00:00Z", "2026-01-05T09:00:00Z,2026-01-05T17:30:00Z"),
    ("currency", {"currency": "eur"}, "€19,99", "19.99"),
    ("currency", {"currency": "eur"}, "1e5", "19.99"),
    ("link", {}, "ftp://example.com", "https://example.com"),
    ("email", {}, "bob@", "ada@example.com"),
    ("email", {}, "a@example.com,b@example.com", "allowMultiple"),
    ("phone", {}, "030 123", "+4930123456"),
    ("plain", {}, 42, "numbers are accepted for currency columns only"),
]


@pytest.mark.parametrize(("suffix", "fields", "given", "hint"), BAD)
def test_a_bad_value_names_the_path_column_and_an_example(http, suffix, fields, given, hint):
    col = column(http, suffix, **fields)
    (contact,) = contacts(http, [])
    error = fail(http, "update_entity_custom_fields", {"entity": "contact", "items": [{"id": contact, "customFieldValues": [cfv(col["id"], given)]}]})  # fmt: skip
    assert error["code"] == "invalid_input" and "nothing was written" in error["message"]
    (issue,) = error["issues"]
    assert issue["path"] == "$.items[0].customFieldValues[0].value"
    assert col["id"] in issue["message"]
    assert hint in issue["message"] + issue["hint"]
    assert value_of(http, contact, col["id"]) is None


def test_unknown_option_lists_the_options_and_nothing_is_created(http):
    col = column(http, "single_select", options=[{"label": "Lead"}, {"label": "Won"}])
    name = label("Nobody")
    error = fail(http, "create_contacts", {"contacts": [{"firstName": name, "customFieldValues": [cfv(col["id"], "Lost")]}]})  # fmt: skip
    (issue,) = error["issues"]
    assert issue["path"] == "$.contacts[0].customFieldValues[0].value"
    lead = col["options"]["options"][0]
    assert f"Lead ({lead['value']})" in issue["hint"]
    assert ok(http, "count_entity", {"entity": "contact", "searchTerm": name})["total"] == 0


def test_unknown_or_foreign_column_lists_the_entity_columns(http):
    mine = column(http, "plain")
    deal_column = column(http, "plain", entity="deal")
    (contact,) = contacts(http, [])
    items = [{"id": contact, "customFieldValues": [cfv(str(uuid.uuid4()), "x"), cfv(deal_column["id"], "x")]}]
    error = fail(http, "update_entity_custom_fields", {"entity": "contact", "items": items})
    first, second = error["issues"]
    assert first["path"] == "$.items[0].customFieldValues[0].columnId"
    assert f"{mine['label']} ({mine['id']}, plain)" in first["message"]
    assert second["path"] == "$.items[0].customFieldValues[1].columnId"
    assert "belongs to deal" in second["message"]


def test_same_column_twice_in_one_item_is_refused(http):
    col = column(http, "plain")
    (contact,) = contacts(http, [])
    items = [{"id": contact, "customFieldValues": [cfv(col["id"], "a"), cfv(col["id"], "b")]}]
    error = fail(http, "update_entity_custom_fields", {"entity": "contact", "items": items})
    assert error["issues"][0]["path"] == "$.items[0].customFieldValues[1].columnId"


# ---- per-column merge ----------------------------------------------------------------------------


def test_listed_columns_change_others_keep_null_and_empty_clear(http):
    a, b, c = column(http, "plain"), column(http, "plain"), column(http, "email", allowMultiple=True)
    (contact,) = contacts(http, [cfv(a["id"], "one"), cfv(b["id"], "two"), cfv(c["id"], "x@example.com")])
    ok(http, "update_entity_custom_fields", {"entity": "contact", "items": [{"id": contact, "customFieldValues": [cfv(a["id"], "uno"), cfv(b["id"], None)]}]})  # fmt: skip
    assert value_of(http, contact, a["id"])["value"] == "uno"
    assert value_of(http, contact, b["id"]) is None
    assert value_of(http, contact, c["id"])["value"] == "x@example.com"
    ok(http, "update_contacts", {"contacts": [{"id": contact, "customFieldValues": [cfv(c["id"], "  ")]}]})
    assert value_of(http, contact, c["id"]) is None
    assert value_of(http, contact, a["id"])["value"] == "uno"
    same = ok(
        http, "update_contacts", {"contacts": [{"id": contact, "customFieldValues": [cfv(a["id"], "uno")]}]}
    )
    assert same["message"].startswith("Nothing changed")


def test_values_ride_on_every_entity_tool(http):
    for entity, plural, item in [
        ("organization", "organizations", {"name": "Org"}),
        ("deal", "deals", {"name": "Deal"}),
        ("service", "services", {"name": "Svc", "amount": 10}),
        ("task", "tasks", {"name": "Task"}),
    ]:
        col = column(http, "plain", entity=entity)
        made = ok(http, f"create_{plural}", {plural: [item | {"customFieldValues": [cfv(col["id"], "v1")]}]})
        record_id = made["items"][0]["id"]
        ok(
            http,
            f"update_{plural}",
            {plural: [{"id": record_id, "customFieldValues": [cfv(col["id"], "v2")]}]},
        )
        values = record(http, record_id, entity)["customFieldValues"]
        assert [v["value"] for v in values if v["columnId"] == col["id"]] == ["v2"]


def test_multi_value_needs_allow_multiple_and_turning_it_off_is_refused_while_lists_exist(http):
    col = column(http, "phone", allowMultiple=True)
    (contact,) = contacts(http, [cfv(col["id"], "+4930111111, +4930222222,+49 30 111111")])
    assert value_of(http, contact, col["id"])["value"] == "+4930111111,+4930222222"
    error = fail(http, "update_phone_custom_column", {"id": col["id"], "allowMultiple": False})
    assert error["issues"][0]["path"] == "$.allowMultiple" and "1 contact" in error["issues"][0]["message"]


# ---- single select: defaults, backfill, option changes ----------------------------------------------


def test_default_applies_on_create_and_is_backfilled(http, world):
    (before,) = contacts(http, [])
    col = column(http, "single_select", options=[{"label": "New", "isDefault": True}, {"label": "Old"}])
    new = col["options"]["options"][0]["value"]
    total = ok(http, "count_entity", {"entity": "contact"})["total"]
    assert value_of(http, before, col["id"])["value"] == new
    a, b = contacts(http, [], [cfv(col["id"], None)])
    assert value_of(http, a, col["id"])["value"] == new
    assert value_of(http, b, col["id"]) is None  # an explicit null leaves it empty
    filled = query(world["db"], "SELECT count(*) FROM custom_value WHERE column_id = ?", col["id"])[0][0]
    assert filled == total + 1


def test_backfill_count_is_reported(http):
    contacts(http, [])
    total = ok(http, "count_entity", {"entity": "contact"})["total"]
    created = ok(http, "create_single_select_custom_column", {"entityType": "contact", "label": label("S"), "options": [{"label": "A", "isDefault": True}]})  # fmt: skip
    assert created["backfilled"] == total


def test_option_update_keeps_ids_remaps_dropped_and_sorts_by_option_order(http, engine):
    col = column(
        http, "single_select", entity="deal", options=[{"label": "Lead"}, {"label": "Won"}, {"label": "Lost"}]
    )
    lead, won, lost = (o["value"] for o in col["options"]["options"])
    deals = ok(http, "create_deals", {"deals": [
        {"name": "D-won", "customFieldValues": [cfv(col["id"], "Won")]},
        {"name": "D-lost", "customFieldValues": [cfv(col["id"], "Lost")]},
        {"name": "D-lead", "customFieldValues": [cfv(col["id"], "Lead")]},
        {"name": "D-none"},
    ]})["items"]  # fmt: skip
    d_won, d_lost, d_lead, d_none = (d["id"] for d in deals)
    # Same labels without values keep the ids (twice, so the call is idempotent).
    for _ in range(2):
        same = ok(http, "update_single_select_custom_column", {"id": col["id"], "options": [{"label": "lead"}, {"label": "Won"}, {"label": "Lost"}]})  # fmt: skip
        assert [o["value"] for o in same["item"]["options"]["options"]] == [lead, won, lost]
    # Drop Lost, reorder (Won first), add Open as default: Lost's records move to Open, empty ones filled.
    changed = ok(http, "update_single_select_custom_column", {"id": col["id"], "options": [
        {"label": "Won", "value": won, "index": 0}, {"label": "Lead", "index": 1}, {"label": "Open", "isDefault": True, "index": 2}]})  # fmt: skip
    options = changed["item"]["options"]["options"]
    assert [o["label"] for o in options] == ["Won", "Lead", "Open"]
    open_value = options[2]["value"]
    assert open_value not in (lead, won, lost) and options[1]["value"] == lead
    assert (changed["remapped"], changed["cleared"]) == (1, 0) and changed["backfilled"] >= 1
    got = {d: value_of_entity(http, "deal", d, col["id"]) for d in (d_won, d_lost, d_lead, d_none)}
    assert got == {d_won: won, d_lost: open_value, d_lead: lead, d_none: open_value}
    ordered = found(http, rule(col["id"], "in", [won, lead, "Open"]), sort={"field": col["id"], "direction": "asc"}, entity="deal")  # fmt: skip
    assert ordered[:2] == [d_won, d_lead]
    # Dropping an option with no default left clears its records.
    cleared = ok(
        http,
        "update_single_select_custom_column",
        {"id": col["id"], "options": [{"label": "Won", "value": won}]},
    )
    assert cleared["cleared"] >= 3 and cleared["remapped"] == 0
    assert value_of_entity(http, "deal", d_lead, col["id"]) is None


def value_of_entity(http, entity: str, record_id: str, column_id: str) -> str | None:
    values = [
        v["value"] for v in record(http, record_id, entity)["customFieldValues"] if v["columnId"] == column_id
    ]
    return values[0] if values else None


def test_bad_option_lists_are_refused(http):
    two_defaults = [{"label": "A", "isDefault": True}, {"label": "B", "isDefault": True}]
    error = fail(http, "create_single_select_custom_column", {"entityType": "contact", "label": label("S"), "options": two_defaults})  # fmt: skip
    assert error["issues"][0]["path"] == "$.options[1].isDefault"
    error = fail(http, "create_single_select_custom_column", {"entityType": "contact", "label": label("S"), "options": []})  # fmt: skip
    assert error["issues"][0]["path"] == "$.options"
    col = column(http, "single_select", options=[{"label": "A"}])
    error = fail(http, "update_single_select_custom_column", {"id": col["id"], "options": [{"label": "B", "value": str(uuid.uuid4())}]})  # fmt: skip
    assert error["issues"][0]["path"] == "$.options[0].value"


# ---- column rules -------------------------------------------------------------------------------


def test_wrong_type_tool_names_the_real_tool_and_type_is_immutable(http):
    col = column(http, "date")
    error = fail(http, "update_single_select_custom_column", {"id": col["id"], "label": "X"})
    assert error["code"] == "invalid_input"
    assert "update_date_custom_column" in error["issues"][0]["hint"]
    assert "/api/v1/custom-columns/date/" in error["issues"][0]["hint"]
    error = fail(http, "update_date_custom_column", {"id": col["id"], "type": "plain"})
    assert "create a new column" in error["issues"][0]["hint"]
    response = http.put(f"/api/v1/custom-columns/phone/{col['id']}", json={"label": "Y"})
    assert response.status_code == 400 and "update_date_custom_column" in response.text


def test_label_conflict_names_the_existing_column(http):
    col = column(http, "plain")
    error = fail(http, "create_email_custom_column", {"entityType": "contact", "label": col["label"].upper()})
    assert error["code"] == "conflict" and col["id"] in error["message"]
    other = column(http, "plain")
    error = fail(http, "update_plain_custom_column", {"id": other["id"], "label": col["label"]})
    assert error["code"] == "conflict"
    assert ok(http, "create_plain_custom_column", {"entityType": "deal", "label": col["label"]})["item"]


def test_rename_and_settings_update(http):
    col = column(http, "currency", currency="eur")
    done = ok(http, "update_currency_custom_column", {"id": col["id"], "label": "Budget " + col["id"][:6], "currency": "usd"})  # fmt: skip
    assert done["item"]["options"] == {"currency": "usd"} and done["item"]["label"].startswith("Budget")
    error = fail(http, "update_currency_custom_column", {"id": col["id"]})
    assert error["code"] == "invalid_input"


def test_list_and_configuration_show_columns_with_operators(http):
    col = column(http, "date_range", entity="task")
    listed = ok(http, "list_custom_columns", {"entityType": "task"})
    assert col["id"] in [c["id"] for c in listed["items"]] and listed["total"] == len(listed["items"])
    everything = ok(http, "list_custom_columns", {})["items"]
    order = ["contact", "organization", "deal", "service", "task"]
    assert [order.index(c["entityType"]) for c in everything] == sorted(
        order.index(c["entityType"]) for c in everything
    )
    config = ok(http, "get_entity_configuration", {"entity": "task"})
    assert col["id"] in [c["id"] for c in config["customColumns"]]
    field = next(f for f in config["filterableFields"] if f["field"] == col["id"])
    assert field["operators"] == [
        "contains",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "inLastDays",
        "isNull",
        "isNotNull",
    ]
    assert col["id"] in [s["field"] for s in config["sortableFields"]]
    stage = column(
        http, "single_select", entity="task", label="Aaa " + col["id"][:8], options=[{"label": "Open"}]
    )
    config = ok(http, "get_entity_configuration", {"entity": "task"})
    assert [{"field": stage["id"], "operator": "in", "value": ["Open"]}] in config["filterExamples"]
    example = {"entity": "task", "filters": config["filterExamples"][-1]}
    assert ok(http, "filter_entity", example)["total"] == 0


# ---- filters and sort per type ----------------------------------------------------------------------


@pytest.fixture(params=["lead", "probe"], autouse=False)
def engine(request, monkeypatch):
    """Both query shapes: a narrow custom rule leads (few matches), or is probed while the sort index is
    walked (many matches); the server runs in this process, so the threshold can be lowered here."""
    from customermates.crm import queries

    if request.param == "probe":
        monkeypatch.setattr(queries, "LEAD_MAX", -1)
    return request.param


def test_text_filters_and_sort_with_missing_values_last(http, engine):
    col = column(http, "plain")
    a, b, c, none = contacts(
        http, [cfv(col["id"], "Émile")], [cfv(col["id"], "bob")], [cfv(col["id"], "Carl")], []
    )
    assert found(http, rule(col["id"], "equals", "ÉMILE")) == [a]
    assert found(http, rule(col["id"], "contains", "ar")) == [c]
    assert none in found(http, rule(col["id"], "isNull"))
    assert set(found(http, rule(col["id"], "isNotNull"))) == {a, b, c}
    for direction, expected in (("asc", [b, c, a]), ("desc", [a, c, b])):
        ordered = found(http, sort={"field": col["id"], "direction": direction})
        assert [x for x in ordered if x in (a, b, c, none)] == [*expected, none]


def test_multi_value_equals_any_item(http, engine):
    col = column(http, "email", allowMultiple=True)
    a, _ = contacts(http, [cfv(col["id"], "x@a.example,y@b.example")], [cfv(col["id"], "z@c.example")])
    assert found(http, rule(col["id"], "equals", "Y@B.example")) == [a]


def test_phone_filter_is_normalized(http, engine):
    col = column(http, "phone")
    a, _ = contacts(http, [cfv(col["id"], "+49 30 123456")], [cfv(col["id"], "+4940123456")])
    assert found(http, rule(col["id"], "equals", "+49 (30) 123-456")) == [a]
    assert found(http, rule(col["id"], "contains", "30 12")) == [a]


def test_a_phone_filter_drops_every_separator_a_stored_number_drops(http, engine):
    """Whitespace of any kind (no-break, thin, newline, tab) goes from filter text as from stored numbers."""
    col = column(http, "phone")
    a, _ = contacts(http, [cfv(col["id"], "+49\u00a030\u2009123\n456")], [cfv(col["id"], "+4940123456")])
    assert found(http, rule(col["id"], "equals", "+4930123456")) == [a]
    assert found(http, rule(col["id"], "equals", "+49\u00a0(30)\t123\r\n456")) == [a]
    assert found(http, rule(col["id"], "contains", "30\u2009\u00a012")) == [a]
    error = fail(
        http, "filter_entity", {"entity": "contact", "filters": [rule(col["id"], "contains", " (-) ")]}
    )
    assert error["issues"][0]["path"] == "$.filters[0].value" and "no digits" in error["issues"][0]["message"]


def test_currency_filters_and_sort(http, engine):
    col = column(http, "currency", currency="eur")
    low, mid, high, none = contacts(
        http, [cfv(col["id"], "1000")], [cfv(col["id"], "1500.00")], [cfv(col["id"], 2500)], []
    )
    assert set(found(http, rule(col["id"], "gt", "1000"))) == {mid, high}
    assert found(http, rule(col["id"], "equals", "1500")) == [mid]
    assert set(found(http, rule(col["id"], "between", [1000, "1500"]))) == {low, mid}
    assert set(found(http, rule(col["id"], "lte", 999.99))) == set()
    window = [rule(col["id"], "gt", "1000"), rule(col["id"], "lte", 2000)]
    assert ok(http, "count_entity", {"entity": "contact", "filters": window})["total"] == 1
    assert found(http, *window) == [mid]
    for direction, expected in (("asc", [low, mid, high]), ("desc", [high, mid, low])):
        ordered = [
            x
            for x in found(http, sort={"field": col["id"], "direction": direction})
            if x in (low, mid, high, none)
        ]
        assert ordered == [*expected, none]


def test_date_and_datetime_filters(http, engine):
    day = column(http, "date")
    moment = column(http, "datetime")
    a, b, c = contacts(
        http,
        [cfv(day["id"], "2026-01-05"), cfv(moment["id"], "2026-01-05T23:59:59Z")],
        [cfv(day["id"], "2026-01-06"), cfv(moment["id"], "2026-01-06T00:00:00Z")],
        [cfv(day["id"], "2099-01-01"), cfv(moment["id"], "2099-01-01T00:00:00Z")],
    )
    assert found(http, rule(day["id"], "equals", "2026-01-05T10:00:00Z")) == [a]
    assert set(found(http, rule(day["id"], "between", ["2026-01-05", "2026-01-06"]))) == {a, b}
    assert found(http, rule(day["id"], "gt", "2026-01-05"))[:2] in ([b, c], [c, b])
    assert found(http, rule(moment["id"], "equals", "2026-01-05")) == [a]
    assert found(http, rule(moment["id"], "lte", "2026-01-05")) == [a]
    assert found(http, rule(moment["id"], "equals", "2026-01-06T00:00:00Z")) == [b]
    assert c not in found(http, rule(day["id"], "inLastDays", 30000))  # the future is not "in the last days"
    assert a in found(http, rule(moment["id"], "inLastDays", "36500"))
    assert found(http, sort={"field": moment["id"], "direction": "desc"})[:3] == [c, b, a]


def test_range_semantics(http, engine):
    col = column(http, "date_range")
    jan, feb, span, _ = contacts(
        http,
        [cfv(col["id"], "2026-01-01,2026-01-31")],
        [cfv(col["id"], "2026-02-01,2026-02-28")],
        [cfv(col["id"], "2026-01-15,2026-02-15")],
        [],
    )
    assert set(found(http, rule(col["id"], "contains", "2026-01-31"))) == {jan, span}
    assert set(found(http, rule(col["id"], "contains", "2026-02-01"))) == {feb, span}
    assert found(http, rule(col["id"], "gt", "2026-01-15")) == [feb]
    assert set(found(http, rule(col["id"], "gte", "2026-01-15"))) == {feb, span}
    assert found(http, rule(col["id"], "lt", "2026-02-15")) == [jan]
    assert set(found(http, rule(col["id"], "lte", "2026-02-15"))) == {jan, span}
    assert set(found(http, rule(col["id"], "between", ["2026-01-01", "2026-02-15"]))) == {jan, span}
    assert found(http, sort={"field": col["id"], "direction": "asc"})[:3] == [jan, span, feb]
    timed = column(http, "datetime_range")
    (meeting,) = contacts(http, [cfv(timed["id"], "2026-03-01T09:00:00Z,2026-03-01T17:30:00Z")])
    assert found(http, rule(timed["id"], "contains", "2026-03-01")) == [meeting]
    assert found(http, rule(timed["id"], "contains", "2026-03-01T18:00:00Z")) == []


def test_single_select_filters(http, engine):
    col = column(http, "single_select", options=[{"label": "Hot"}, {"label": "Cold"}])
    hot_value = col["options"]["options"][0]["value"]
    hot, cold, none = contacts(http, [cfv(col["id"], "Hot")], [cfv(col["id"], "Cold")], [])
    assert (
        found(http, rule(col["id"], "in", ["hot"]))
        == found(http, rule(col["id"], "in", [hot_value]))
        == [hot]
    )
    assert found(http, rule(col["id"], "equals", "Cold")) == [cold]
    count = ok(
        http, "count_entity", {"entity": "contact", "filters": [rule(col["id"], "in", ["hot", "Cold"])]}
    )
    assert count["total"] == 2
    assert {hot, none} <= set(found(http, rule(col["id"], "notIn", ["Cold"])))
    assert cold not in found(http, rule(col["id"], "notIn", ["Cold"]))
    error = fail(http, "filter_entity", {"entity": "contact", "filters": [rule(col["id"], "in", ["Warm"])]})
    assert f"Hot ({hot_value})" in error["issues"][0]["hint"]


def test_filter_errors_name_the_column(http):
    col = column(http, "currency", currency="eur")
    error = fail(http, "filter_entity", {"entity": "contact", "filters": [rule(col["id"], "contains", "1")]})
    assert "equals, gt, gte, lt, lte, between, isNull, isNotNull" in error["issues"][0]["hint"]
    error = fail(http, "filter_entity", {"entity": "contact", "filters": [rule(col["label"], "gt", "1")]})
    assert f'Did you mean "{col["id"]}"' in error["issues"][0]["hint"]
    error = fail(http, "filter_entity", {"entity": "contact", "filters": [rule("nope", "gt", "1")]})
    assert col["id"] in error["issues"][0]["message"]


# ---- delete, tenancy -----------------------------------------------------------------------------


def test_delete_removes_values_and_then_the_column_is_an_unknown_field(http, world):
    col = column(http, "plain")
    contacts(http, [cfv(col["id"], "a")], [cfv(col["id"], "b")])
    deleted = ok(http, "delete_custom_column", {"id": col["id"]})
    assert deleted["deletedValues"] == 2 and deleted["deletedWidgetIds"] == []
    assert deleted["item"]["id"] == col["id"]
    assert query(world["db"], "SELECT count(*) FROM custom_value WHERE column_id = ?", col["id"]) == [(0,)]
    error = fail(http, "filter_entity", {"entity": "contact", "filters": [rule(col["id"], "isNull")]})
    assert error["issues"][0]["path"] == "$.filters[0].field"
    assert fail(http, "delete_custom_column", {"id": col["id"]})["code"] == "not_found"


def test_deleting_a_record_removes_its_values(http, world):
    col = column(http, "plain")
    (contact,) = contacts(http, [cfv(col["id"], "gone")])
    ok(http, "delete_entities", {"entity": "contact", "ids": [contact]})
    assert query(world["db"], "SELECT count(*) FROM custom_value WHERE record_id = ?", contact) == [(0,)]


def test_another_company_cannot_see_or_write_the_columns(http, other):
    col = column(http, "plain")
    assert col["id"] not in [c["id"] for c in ok(other, "list_custom_columns", {})["items"]]
    (theirs,) = [i["id"] for i in ok(other, "create_contacts", {"contacts": [{"firstName": "T"}]})["items"]]
    error = fail(other, "update_entity_custom_fields", {"entity": "contact", "items": [{"id": theirs, "customFieldValues": [cfv(col["id"], "x")]}]})  # fmt: skip
    assert "is not a custom column of contact" in error["issues"][0]["message"]
    for name, args in [
        ("update_plain_custom_column", {"id": col["id"], "label": "Mine"}),
        ("delete_custom_column", {"id": col["id"]}),
    ]:
        random = fail(other, name, {**args, "id": str(uuid.uuid4())})
        foreign = fail(other, name, args)
        assert foreign["code"] == random["code"] == "not_found"
    error = fail(other, "filter_entity", {"entity": "contact", "filters": [rule(col["id"], "isNull")]})
    assert error["issues"][0]["path"] == "$.filters[0].field"


def test_rest_routes_create_list_update_delete(http):
    response = http.post("/api/v1/custom-columns/single-select", json={"entityType": "deal", "label": label("Stage"), "options": [{"label": "A"}]})  # fmt: skip
    assert response.status_code == 201, response.text
    col = response.json()["item"]
    listed = http.get("/api/v1/custom-columns", params={"entityType": "deal"}).json()
    assert col["id"] in [c["id"] for c in listed["items"]]
    response = http.put(f"/api/v1/custom-columns/single-select/{col['id']}", json={"label": label("Phase")})
    assert response.status_code == 200, response.text
    assert http.delete(f"/api/v1/custom-columns/{col['id']}").status_code == 200
    plain = column(http, "plain")
    (contact,) = contacts(http, [cfv(plain["id"], "via REST")])
    body = http.get(f"/api/v1/contacts/{contact}").json()
    assert plain["id"] in [c["id"] for c in body["customColumns"]]
    assert {"columnId": plain["id"], "label": plain["label"], "type": "plain", "value": "via REST"} in body[
        "item"
    ]["customFieldValues"]


def test_a_viewer_lists_columns_but_cannot_change_them(world, http):
    from tests.conftest import add_member

    col = column(http, "plain", entity="deal")
    key = add_member(world["db"], world["first"], f"viewer-{uuid.uuid4().hex[:6]}@acme.example", "viewer")
    with httpx.Client(base_url=world["server"].url, headers={"x-api-key": key}, timeout=30) as viewer:
        assert col["id"] in [
            c["id"] for c in ok(viewer, "list_custom_columns", {"entityType": "deal"})["items"]
        ]
        created = fail(viewer, "create_plain_custom_column", {"entityType": "deal", "label": label("V")})
        assert created["code"] == "forbidden" and "deals.create" in created["message"]
        updated = fail(viewer, "update_plain_custom_column", {"id": col["id"], "label": label("V")})
        assert updated["code"] == "forbidden" and "deals.update" in updated["message"]
        deleted = fail(viewer, "delete_custom_column", {"id": col["id"]})
        assert deleted["code"] == "forbidden" and "deals.delete" in deleted["message"]


def test_the_group_keeps_its_text_budget():
    import msgspec

    from customermates.catalog import REGISTRY

    listed = REGISTRY.listing(frozenset({"custom_columns"}))
    assert len(listed) == 22
    visible = [msgspec.json.encode({k: t[k] for k in ("name", "description", "inputSchema")}) for t in listed]
    assert sum(map(len, visible)) / len(visible) <= 600


def test_a_stored_filter_naming_a_dropped_option_matches_nothing(world, http):
    """Widgets evaluate saved filters later (stored=True): a dropped option matches nothing, not an error."""
    from customermates.auth import authenticate
    from customermates.crm import queries as q
    from customermates.errors import ToolError
    from customermates.store import connect

    col = column(http, "single_select", options=[{"label": "Keep"}, {"label": "Drop"}])
    contacts(http, [cfv(col["id"], "Drop")], [cfv(col["id"], "Keep")])
    ok(http, "update_single_select_custom_column", {"id": col["id"], "options": [{"label": "Keep"}]})
    conn = connect(world["db"])
    try:
        principal = authenticate(conn, world["first"].key)
        saved = q.Query("contact", filters=[q.FilterRule(col["id"], "in", ["Drop"])])
        assert q.run_query(conn, principal, saved, stored=True).total == 0
        kept = q.Query("contact", filters=[q.FilterRule(col["id"], "notIn", ["Drop"])])
        assert (
            q.run_query(conn, principal, kept, stored=True).total
            == ok(http, "count_entity", {"entity": "contact"})["total"]
        )
        with pytest.raises(ToolError):
            q.run_query(conn, principal, saved)
    finally:
        conn.close()


def test_column_maintenance_is_one_audit_event_and_leaves_records_alone(world, http):
    from tests.records_support import audit

    (contact,) = contacts(http, [])
    before = record(http, contact)
    col = column(http, "single_select", options=[{"label": "A", "isDefault": True}, {"label": "B"}])
    ok(
        http,
        "update_single_select_custom_column",
        {"id": col["id"], "options": [{"label": "B", "isDefault": True}]},
    )
    ok(http, "delete_custom_column", {"id": col["id"]})
    events = audit(world["db"], col["id"])
    assert [e["event"] for e in events] == [
        "custom_column.created",
        "custom_column.updated",
        "custom_column.deleted",
    ]
    assert events[0]["changes"]["values"]["backfilled"] >= 1
    assert events[1]["changes"]["values"]["remapped"] >= 1
    assert events[2]["changes"]["values"]["deleted"] >= 1 and events[2]["snapshot"]["id"] == col["id"]
    after = record(http, contact)
    assert after["updatedAt"] == before["updatedAt"]
    assert [e["event"] for e in audit(world["db"], contact)] == ["contact.created"]
