"""The query engine (docs/query-language.md) through the four query tools.

Semantics run in process over records seeded with exact timestamps (`tests/crm_seed.py`); the tool
surface (schemas, errors over the wire, real create tools) runs against the real server.
"""

from __future__ import annotations

import math
import uuid

import pytest

from customermates.crm import queries as q
from customermates.crm.filters import OPERATORS
from tests.conftest import err, ok, rpc
from tests.crm_seed import Crm
from tests.records_support import make


def rule(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator} | ({} if value is None else {"value": value})


def contacts(crm: Crm, *rules: dict, now: str | None = None, **args) -> list[str]:
    return crm.names({"filters": list(rules), **args}, now=now)


def issues(error) -> dict[str, dict]:
    return {i.path: {"message": i.message, "hint": i.hint} for i in error.issues}


# ---- validation: every problem, with its path and a fix ---


def test_unknown_field_lists_every_field_with_its_operators(crm):
    error = crm.fail("filter_entity", {"entity": "contact", "filters": [rule("foo", "in", ["x"])]})
    assert error.code == "invalid_input"
    message = issues(error)["$.filters[0].field"]["message"]
    assert '"foo"' in message and "contact" in message
    assert "Organizations – organizationIds (in, notIn, hasSome, hasNone, isNull, isNotNull)" in message
    assert "Emails – emails (equals, contains, isNull, isNotNull)" in message
    assert "Created at – createdAt (gt, gte, lt, lte, between, inLastDays)" in message
    assert "Assigned users – userIds" in message


@pytest.mark.parametrize(
    ("entity", "sent", "meant"),
    [
        ("contact", "organizationId", "organizationIds"),
        ("contact", "email", "emails"),
        ("contact", "created_at", "createdAt"),
        ("deal", "total_value", "totalValue"),
        ("task", "assignee", "userIds"),
    ],
)
def test_close_field_names_get_did_you_mean(crm, entity, sent, meant):
    error = crm.fail("filter_entity", {"entity": entity, "filters": [rule(sent, "isNull")]})
    assert f'Did you mean "{meant}"' in issues(error)["$.filters[0].field"]["hint"]


@pytest.mark.parametrize("field", ["name", "firstName", "lastName"])
def test_searched_fields_point_to_search_term(crm, field):
    error = crm.fail("filter_entity", {"entity": "contact", "filters": [rule(field, "equals", "Ada")]})
    found = issues(error)["$.filters[0].field"]
    assert "searchTerm" in found["hint"] and '"searchTerm": "' in found["hint"]


@pytest.mark.parametrize(
    ("alias", "meant"),
    [("eq", "equals"), ("like", "contains"), (">=", "gte"), (">", "gt"), ("<=", "lte"), ("<", "lt"),
     ("range", "between"), ("has", "hasSome")],
)  # fmt: skip
def test_operator_aliases_get_a_suggestion(crm, alias, meant):
    error = crm.fail("filter_entity", {"entity": "contact", "filters": [{"field": "foo", "operator": alias}]})
    found = issues(error)["$.filters[0].operator"]
    assert f'unknown operator "{alias}"' in found["message"]
    assert f'Did you mean "{meant}"' in found["hint"]
    assert all(op in found["hint"] for op in OPERATORS)


def test_operator_not_allowed_lists_the_allowed_ones(crm):
    error = crm.fail(
        "filter_entity", {"entity": "contact", "filters": [rule("createdAt", "contains", "2026")]}
    )
    found = issues(error)["$.filters[0].operator"]
    assert "contains" in found["message"] and "createdAt" in found["message"]
    assert "gt, gte, lt, lte, between, inLastDays" in found["hint"]


def test_between_needs_two_ordered_values(crm):
    bad = [
        rule("createdAt", "between", ["2026-01-01"]),
        rule("createdAt", "between", ["2026-01-01", "2026-01-02", "2026-01-03"]),
        rule("createdAt", "between", ["2026-02-01", "2026-01-01"]),
    ]
    found = issues(crm.fail("filter_entity", {"entity": "contact", "filters": bad}))
    assert (
        "exactly two" in found["$.filters[0].value"]["message"]
        and "1 value" in found["$.filters[0].value"]["message"]
    )
    assert "3 value" in found["$.filters[1].value"]["message"]
    assert "after" in found["$.filters[2].value"]["message"]
    assert '["2026-01-01", "2026-02-01"]' in found["$.filters[2].value"]["hint"]
    assert contacts(crm, rule("createdAt", "between", ["2026-01-05", "2026-01-05"])) == []


def test_in_last_days_takes_a_whole_number_from_1(crm):
    bad = [rule("createdAt", "inLastDays", v) for v in (0, -3, 2.5, "week", 36_501, True)]
    found = issues(crm.fail("filter_entity", {"entity": "contact", "filters": bad}))
    assert sorted(found) == [f"$.filters[{i}].value" for i in range(6)]
    assert all("1 to 36,500" in f["message"] for f in found.values())
    now = "2026-03-10T12:00:00.000Z"
    crm.add("contact", "Recent One", created_at="2026-03-03T00:00:00.000Z")
    crm.add("contact", "Old One", created_at="2026-03-02T23:59:59.999Z")
    for days in (7, "7", 7.0):
        assert contacts(crm, rule("createdAt", "inLastDays", days), now=now) == ["Recent One"]


def test_value_shapes_are_explained(crm):
    bad = [
        rule("organizationIds", "in", str(uuid.uuid4())),
        rule("createdAt", "gte", ["2026-01-01"]),
        rule("createdAt", "gte"),
        rule("organizationIds", "isNull", ["x"]),
        rule("organizationIds", "in", [str(uuid.uuid4()) for _ in range(101)]),
        rule("createdAt", "gte", "yesterday"),
        rule("organizationIds", "in", ["Acme Ltd"]),
    ]
    found = issues(crm.fail("filter_entity", {"entity": "contact", "filters": bad}))
    assert '"value": ["<organization id>"]' in found["$.filters[0].value"]["hint"]
    assert "single value" in found["$.filters[1].value"]["message"]
    assert "needs a value" in found["$.filters[2].value"]["message"]
    assert "takes no value" in found["$.filters[3].value"]["message"]
    assert "limit is 100" in found["$.filters[4].value"]["message"]
    assert (
        "2026-01-05" in found["$.filters[5].value"]["hint"]
        and "2026-01-05T14:30:00Z" in found["$.filters[5].value"]["hint"]
    )
    assert "not a valid id" in found["$.filters[6].value[0]"]["message"]


def test_every_problem_is_reported_at_once_before_any_sql(crm):
    args = {
        "entity": "contact",
        "searchTerm": " ".join(f"w{i}" for i in range(11)),
        "filters": [
            rule("nope", "in", ["x"]),
            rule("emails", "gt", "a"),
            rule("createdAt", "between", ["x", "y"]),
        ],
        "sortDescriptor": {"field": "emails"},
    }
    error = crm.fail("filter_entity", args)
    assert error.message == "6 problems in the query."
    assert [i.path for i in error.issues] == [
        "$.filters[0].field", "$.filters[1].operator", "$.filters[2].value[0]", "$.filters[2].value[1]",
        "$.searchTerm", "$.sortDescriptor.field",
    ]  # fmt: skip


def test_sort_errors_list_the_sortable_fields(crm):
    found = issues(crm.fail("filter_entity", {"entity": "deal", "sortDescriptor": {"field": "value"}}))
    message = found["$.sortDescriptor.field"]["message"]
    assert "Total value – totalValue" in message and "Name – name" in message
    error = crm.fail(
        "filter_entity", {"entity": "deal", "sortDescriptor": {"field": "name", "direction": "up"}}
    )
    assert "asc" in error.issues[0].hint and "desc" in error.issues[0].hint


def test_paging_limits_are_errors_never_clamped(crm):
    for args, path in (
        ({"pageSize": 0}, "$.pageSize"),
        ({"pageSize": 101}, "$.pageSize"),
        ({"page": 0}, "$.page"),
    ):
        error = crm.fail("filter_entity", {"entity": "contact", **args})
        assert error.issues[0].path == path
    assert "100" in crm.fail("filter_entity", {"entity": "contact", "pageSize": 101}).issues[0].message


# ---- timestamps ---


def test_a_date_is_the_whole_utc_day(crm):
    crm.add("contact", "Late Night", created_at="2026-01-05T23:59:59.999Z")
    crm.add("contact", "Next Day", created_at="2026-01-06T00:00:00.000Z")
    crm.add("contact", "Day Before", created_at="2026-01-04T23:59:59.999Z")
    assert contacts(crm, rule("createdAt", "lte", "2026-01-05")) == ["Day Before", "Late Night"]
    assert contacts(crm, rule("createdAt", "lt", "2026-01-05")) == ["Day Before"]
    assert contacts(crm, rule("createdAt", "gt", "2026-01-05")) == ["Next Day"]
    assert contacts(crm, rule("createdAt", "gte", "2026-01-05")) == contacts(
        crm, rule("createdAt", "gte", "2026-01-05T00:00:00Z")
    )
    assert contacts(crm, rule("createdAt", "between", ["2026-01-05", "2026-01-05"])) == ["Late Night"]
    assert contacts(crm, rule("createdAt", "between", ["2026-01-05T12:00Z", "2026-01-06"])) == [
        "Late Night",
        "Next Day",
    ]


def test_datetimes_compare_exactly_with_zones(crm):
    crm.add("contact", "Exact", created_at="2026-01-05T14:30:00.000Z")
    assert contacts(crm, rule("createdAt", "gte", "2026-01-05T14:30:00Z")) == ["Exact"]
    assert contacts(crm, rule("createdAt", "gt", "2026-01-05T14:30:00Z")) == []
    assert contacts(crm, rule("createdAt", "lte", "2026-01-05T14:30:00.000Z")) == ["Exact"]
    assert contacts(crm, rule("createdAt", "gte", "2026-01-05T16:30:00+02:00")) == ["Exact"]
    assert contacts(crm, rule("createdAt", "gte", "2026-01-05T14:30")) == ["Exact"]  # no zone: UTC
    assert contacts(crm, rule("createdAt", "gt", "2026-01-05T14:29:59.9995Z")) == ["Exact"]
    assert contacts(crm, rule("createdAt", "lt", "2026-01-05T14:30:00.0005Z")) == ["Exact"]


def test_rules_are_and_combined_into_a_window(crm):
    for day in ("2026-01-01", "2026-01-15", "2026-02-01"):
        crm.add("contact", f"Born {day}", created_at=f"{day}T10:00:00.000Z")
    window = [rule("createdAt", "gte", "2026-01-10"), rule("createdAt", "lt", "2026-02-01")]
    assert contacts(crm, *window) == ["Born 2026-01-15"]
    assert contacts(crm, rule("updatedAt", "gte", "2026-01-10")) == ["Born 2026-01-15", "Born 2026-02-01"]


# ---- relations, emails, numbers, task type ---


def test_relation_filters(crm):
    acme, globex = crm.add("organization", "Acme"), crm.add("organization", "Globex")
    crm.add("contact", "Ann A", organizationIds=[acme])
    crm.add("contact", "Bob B", organizationIds=[acme, globex])
    crm.add("contact", "Cid C", organizationIds=[globex])
    crm.add("contact", "Dan D")
    assert contacts(crm, rule("organizationIds", "in", [acme])) == ["Ann A", "Bob B"]
    assert contacts(crm, rule("organizationIds", "hasSome", [acme])) == ["Ann A", "Bob B"]
    assert contacts(crm, rule("organizationIds", "in", [acme, globex])) == ["Ann A", "Bob B", "Cid C"]
    assert contacts(crm, rule("organizationIds", "notIn", [acme])) == ["Cid C", "Dan D"]
    assert contacts(crm, rule("organizationIds", "hasNone", [acme])) == ["Cid C", "Dan D"]
    assert contacts(crm, rule("organizationIds", "isNull")) == ["Dan D"]
    assert contacts(crm, rule("organizationIds", "isNotNull")) == ["Ann A", "Bob B", "Cid C"]
    both = [rule("organizationIds", "in", [acme]), rule("organizationIds", "in", [globex])]
    assert contacts(crm, *both) == ["Bob B"]
    assert (
        crm.call(
            "count_entity", {"entity": "contact", "filters": [rule("organizationIds", "in", [acme, globex])]}
        )["total"]
        == 3
    )
    orgs = crm.names({"entity": "organization", "filters": [rule("contactIds", "isNull")]})
    assert orgs == []


def test_user_ids_accept_me(crm):
    mine = crm.add("contact", "Mine", userIds=[crm.admin.user_id])
    crm.add("contact", "Nobody's")
    assert contacts(crm, rule("userIds", "in", ["me"])) == ["Mine"]
    assert contacts(crm, rule("userIds", "in", [crm.admin.user_id, "ME"])) == ["Mine"]
    assert contacts(crm, rule("userIds", "notIn", ["me"])) == ["Nobody's"]
    assert mine


def test_ids_of_another_company_are_not_found_like_random_ones(crm):
    other = crm.company("Other", "boss@other.example")
    foreign = other.add("organization", "Foreign")
    mine = crm.add("organization", "Mine")
    random_id = str(uuid.uuid4())
    filters = [rule("organizationIds", "in", [mine, foreign]), rule("organizationIds", "notIn", [random_id])]
    error = crm.fail("filter_entity", {"entity": "contact", "filters": filters})
    assert error.code == "not_found"
    assert [i.path for i in error.issues] == ["$.filters[0].value[1]", "$.filters[1].value[0]"]
    assert foreign in error.message and random_id in error.message
    assert "filter_entity" in error.message
    assert crm.fail("count_entity", {"entity": "contact", "filters": filters[:1]}).code == "not_found"
    user_error = crm.fail(
        "filter_entity", {"entity": "contact", "filters": [rule("userIds", "in", [other.admin.user_id])]}
    )
    assert user_error.code == "not_found" and "list_users" in user_error.message


def test_stored_queries_drop_ids_that_no_longer_resolve(crm):
    crm.add("contact", "Ann A")
    gone = str(uuid.uuid4())
    query = q.Query("contact", filters=[q.FilterRule("organizationIds", "in", [gone])])
    assert q.run_query(crm.conn, crm.admin, query, stored=True).total == 0
    query = q.Query("contact", filters=[q.FilterRule("organizationIds", "notIn", [gone])])
    assert q.run_query(crm.conn, crm.admin, query, stored=True).total == 1


def test_email_filters(crm):
    crm.add("contact", "Ada Lovelace", emails=["countess@example.org", "ada@analytical.example"])
    crm.add("contact", "Acme Person", emails=["p@acme.com"])
    crm.add("contact", "No Mail")
    assert contacts(crm, rule("emails", "equals", "  ADA@Analytical.example ")) == ["Ada Lovelace"]
    assert contacts(crm, rule("emails", "equals", "ada@analytical")) == []
    crm.add("contact", "Fan Of-Acme.com", emails=["fan@other.example"])  # the name alone must not match
    assert contacts(crm, rule("emails", "contains", "@ACME.com")) == ["Acme Person"]
    assert contacts(crm, rule("emails", "contains", "acme.com")) == ["Acme Person"]
    assert contacts(crm, rule("emails", "contains", "@a")) == ["Acme Person", "Ada Lovelace"]
    assert contacts(crm, rule("emails", "contains", "acme"), searchTerm="person") == ["Acme Person"]
    assert contacts(crm, rule("emails", "isNull")) == ["No Mail"]
    assert contacts(crm, rule("emails", "isNotNull")) == ["Acme Person", "Ada Lovelace", "Fan Of-Acme.com"]
    error = crm.fail("filter_entity", {"entity": "contact", "filters": [rule("emails", "contains", "  ")]})
    assert error.issues[0].path == "$.filters[0].value"


def test_number_filters_compare_exact_decimals(crm):
    for name, value in (("Small", 1000), ("Mid", "1500.00"), ("Odd", 1000.0001), ("Zero", 0)):
        crm.add("deal", name, total_value=value)

    def deals(*rules):
        return sorted(crm.names({"entity": "deal", "filters": list(rules)}))

    assert deals(rule("totalValue", "gt", "1000")) == ["Mid", "Odd"]
    assert deals(rule("totalValue", "gt", 1000.00001)) == ["Mid", "Odd"]
    assert deals(rule("totalValue", "equals", "1500")) == ["Mid"]
    assert deals(rule("totalValue", "equals", 1000.00001)) == []
    assert deals(rule("totalValue", "lte", 1000)) == ["Small", "Zero"]
    assert deals(rule("totalValue", "between", ["1000", 1500])) == ["Mid", "Odd", "Small"]
    bad = crm.fail("filter_entity", {"entity": "deal", "filters": [rule("totalValue", "gt", "1,000")]})
    assert "1500.50" in bad.issues[0].hint
    crm.add("service", "Consulting", amount=99.5)
    assert crm.names({"entity": "service", "filters": [rule("amount", "gte", "99.5")]}) == ["Consulting"]


def test_task_type_filter(crm):
    crm.add("task", "Call back")
    crm.add("task", "Approve user", type="userPendingAuthorization")
    names = crm.names({"entity": "task", "filters": [rule("type", "in", ["userPendingAuthorization"])]})
    assert names == ["Approve user"]
    assert crm.names(
        {"entity": "task", "filters": [rule("type", "notIn", ["userPendingAuthorization"])]}
    ) == ["Call back"]
    hint = (
        crm.fail("filter_entity", {"entity": "task", "filters": [rule("type", "in", ["todo"])]})
        .issues[0]
        .hint
    )
    assert "custom" in hint and "userPendingAuthorization" in hint


# ---- sort and paging ---


def test_default_sort_applies_with_paging(crm):
    for name in ("carol", "Bob", "álvaro", "Alice"):
        crm.add("contact", name)
    out = crm.call("filter_entity", {"entity": "contact", "page": 1, "pageSize": 3})
    assert [i["name"] for i in out["items"]] == ["Alice", "Bob", "carol"]
    assert out["sortDescriptor"] == {"field": "name", "direction": "asc"}
    for i, stamp in enumerate(("2026-01-02", "2026-01-03", "2026-01-01")):
        crm.add("task", f"Task {i}", updated_at=f"{stamp}T00:00:00.000Z")
    out = crm.call("filter_entity", {"entity": "task", "page": 1, "pageSize": 10})
    assert [i["name"] for i in out["items"]] == ["Task 1", "Task 0", "Task 2"]
    assert out["sortDescriptor"] == {"field": "updatedAt", "direction": "desc"}


def test_sorts_and_id_tie_break(crm):
    ids = [crm.add("contact", "Same Name") for _ in range(4)]
    crm.add("contact", "Zed Aaron")
    asc = crm.call("filter_entity", {"entity": "contact", "sortDescriptor": {"field": "name"}})
    assert [i["id"] for i in asc["items"]][:4] == sorted(ids)
    desc = crm.call(
        "filter_entity", {"entity": "contact", "sortDescriptor": {"field": "name", "direction": "desc"}}
    )
    assert [i["id"] for i in desc["items"]][1:] == sorted(ids, reverse=True)
    assert crm.call("filter_entity", {"entity": "contact", "sortDescriptor": {"field": "name"}}) == asc
    by_last = crm.names({"sortDescriptor": {"field": "lastName"}})
    assert by_last == ["Zed Aaron", *["Same Name"] * 4]
    for value in (3, 1, 2):
        crm.add("deal", f"Deal {value}", total_value=value * 1000)
    by_value = crm.names({"entity": "deal", "sortDescriptor": {"field": "totalValue", "direction": "desc"}})
    assert by_value == ["Deal 3", "Deal 2", "Deal 1"]


def test_paging_walk_and_past_the_end(crm):
    made = {crm.add("contact", f"Person {i:02d}") for i in range(23)}
    seen, page = [], 1
    while True:
        out = crm.call("filter_entity", {"entity": "contact", "page": page, "pageSize": 7})
        assert out["total"] == 23 and out["totalPages"] == 4 and out["pageSize"] == 7
        if not out["items"]:
            break
        seen += [i["id"] for i in out["items"]]
        page += 1
    assert page == 5 and sorted(seen) == sorted(made) and len(seen) == 23
    past = crm.call("filter_entity", {"entity": "contact", "page": 9, "pageSize": 7})
    assert past["items"] == [] and past["total"] == 23 and past["totalPages"] == 4 and past["page"] == 9
    default = crm.call("filter_entity", {"entity": "contact"})
    assert len(default["items"]) == 10 and default["pageSize"] == 10 and default["totalPages"] == 3
    empty = crm.call("filter_entity", {"entity": "deal"})
    assert empty["total"] == 0 and empty["totalPages"] == 0


def test_count_matches_filter_total(crm):
    acme = crm.add("organization", "Acme")
    for i in range(15):
        crm.add("contact", f"Ada {i}" if i % 2 else f"Bob {i}", organizationIds=[acme] if i % 3 else [])
    for args in (
        {},
        {"searchTerm": "ada"},
        {"filters": [rule("organizationIds", "in", [acme])]},
        {"searchTerm": "ada", "filters": [rule("organizationIds", "isNull")]},
    ):
        total = crm.call("filter_entity", {"entity": "contact", "pageSize": 2, **args})["total"]
        counted = crm.call("count_entity", {"entity": "contact", **args})
        assert counted["total"] == total and counted["entity"] == "contact"
    assert (
        crm.fail("count_entity", {"entity": "contact", "sortDescriptor": {"field": "name"}}).code
        == "invalid_input"
    )


# ---- scope and tenancy ---


def test_read_own_caller_sees_only_assigned_records(crm):
    own = crm.member("own@acme.example", {"contacts.readOwn", "organizations.readOwn", "users.readOwn"})
    shared_org = crm.add("organization", "Shared Org", userIds=[own.user_id])
    hidden_org = crm.add("organization", "Hidden Org")
    crm.add("contact", "Ada Mine", userIds=[own.user_id], organizationIds=[hidden_org])
    crm.add("contact", "Ada Theirs", organizationIds=[shared_org])
    crm.add("contact", "Bob Mine", userIds=[own.user_id], organizationIds=[shared_org])
    out = crm.call("filter_entity", {"entity": "contact", "searchTerm": "ada"}, own)
    assert [i["name"] for i in out["items"]] == ["Ada Mine"] and out["total"] == 1
    assert crm.call("count_entity", {"entity": "contact"}, own)["total"] == 2
    assert crm.call("count_entity", {"entity": "contact"})["total"] == 3
    # The hidden organization does not count as a link for this caller.
    assert crm.names({"filters": [rule("organizationIds", "isNull")]}, own) == ["Ada Mine"]
    error = crm.fail(
        "filter_entity", {"entity": "contact", "filters": [rule("organizationIds", "in", [hidden_org])]}, own
    )
    assert error.code == "not_found" and hidden_org in error.message
    assert crm.names({"filters": [rule("organizationIds", "in", [shared_org])]}, own) == ["Bob Mine"]
    fields = [
        f["field"]
        for f in crm.call("get_entity_configuration", {"entity": "contact"}, own)["filterableFields"]
    ]
    assert fields == ["organizationIds", "userIds", "emails", "createdAt", "updatedAt"]
    assert crm.fail("filter_entity", {"entity": "deal"}, own).code == "forbidden"
    unknown = crm.fail("filter_entity", {"entity": "contact", "filters": [rule("dealIds", "isNull")]}, own)
    assert (
        unknown.code == "invalid_input" and "dealIds" not in unknown.issues[0].message.split("Filterable")[1]
    )


def test_same_names_in_two_companies_never_leak(crm):
    other = crm.company("Other", "boss@other.example")
    for side in (crm, other):
        org = side.add("organization", "Twin Org")
        side.add("contact", "Twin Person", organizationIds=[org], emails=["twin@twins.example"])
    for side in (crm, other):
        mine = {
            r[0] for r in crm.conn.execute("SELECT id FROM contact WHERE company_id = ?", (side.company_id,))
        }
        for args in (
            {},
            {"searchTerm": "twin"},
            {"searchTerm": "tw pers"},
            {"filters": [rule("emails", "contains", "twin")]},
        ):
            out = side.call("filter_entity", {"entity": "contact", **args})
            assert {i["id"] for i in out["items"]} == mine and out["total"] == 1
        hits = side.call("search_all_entities", {"searchTerm": "twin"})["results"]
        assert [(h["entity"], h["total"]) for h in hits[:2]] == [("contact", 1), ("organization", 1)]


# ---- search_all_entities and get_entity_configuration ------------------------------------------------------


def test_search_all_entities_limits_totals_and_skips(crm):
    for i in range(7):
        crm.add("contact", f"Nova Person{i}")
    crm.add("organization", "Nova Labs")
    crm.add("deal", "Nova deal")
    out = crm.call("search_all_entities", {"searchTerm": "nova", "limitPerEntity": 3})
    assert [(r["entity"], len(r["items"]), r["total"]) for r in out["results"]] == [
        ("contact", 3, 7), ("organization", 1, 1), ("deal", 1, 1), ("service", 0, 0), ("task", 0, 0)
    ]  # fmt: skip
    assert out["skipped"] == []
    reader = crm.member("reader@acme.example", {"contacts.readAll", "organizations.readAll"})
    partial = crm.call("search_all_entities", {"searchTerm": "nova"}, reader)
    assert [r["entity"] for r in partial["results"]] == ["contact", "organization"]
    assert [s["entity"] for s in partial["skipped"]] == ["deal", "service", "task"]
    explicit = crm.call(
        "search_all_entities", {"searchTerm": "nova", "entities": ["organization", "contact"]}, reader
    )
    assert [r["entity"] for r in explicit["results"]] == ["contact", "organization"] and explicit[
        "skipped"
    ] == []
    forbidden = crm.fail("search_all_entities", {"searchTerm": "nova", "entities": ["deal"]}, reader)
    assert forbidden.code == "forbidden" and "deals.readAll" in forbidden.message
    assert crm.fail("search_all_entities", {"searchTerm": "  "}).issues[0].path == "$.searchTerm"
    assert crm.fail("search_all_entities", {"searchTerm": "--"}).issues[0].path == "$.searchTerm"
    dup = crm.fail("search_all_entities", {"searchTerm": "x", "entities": ["deal", "deal"]})
    assert dup.issues[0].path == "$.entities[1]"


def test_entity_configuration(crm):
    config = crm.call("get_entity_configuration", {"entity": "deal"})
    assert config["customColumns"] == []
    assert [f["field"] for f in config["filterableFields"]] == [
        "contactIds", "organizationIds", "serviceIds", "taskIds", "userIds", "totalValue", "totalQuantity",
        "createdAt", "updatedAt",
    ]  # fmt: skip
    assert config["filterableFields"][5] == {
        "field": "totalValue", "label": "Total value", "operators": ["equals", "gt", "gte", "lt", "lte", "between"]
    }  # fmt: skip
    assert [s["field"] for s in config["sortableFields"]] == [
        "name",
        "totalValue",
        "totalQuantity",
        "createdAt",
        "updatedAt",
    ]
    assert config["defaultSort"] == {"field": "name", "direction": "asc"}
    assert config["relations"] == ["organizations", "contacts", "services", "tasks", "users"]
    for example in config["filterExamples"]:  # every example is a valid query
        crm.call("filter_entity", {"entity": "deal", "filters": example})
    task = crm.call("get_entity_configuration", {"entity": "task"})
    assert task["defaultSort"] == {"field": "updatedAt", "direction": "desc"}
    assert {"field": "type", "label": "Type", "operators": ["in", "notIn"]} in task["filterableFields"]


# ---- over the wire, with the real create tools ----------------------------------------------------------


def test_filter_descriptions_carry_operator_and_examples(http):
    tools = {t["name"]: t for t in rpc(http, "tools/list").json()["result"]["tools"]}
    for name in ("filter_entity", "count_entity"):
        filters = tools[name]["inputSchema"]["properties"]["filters"]
        described = filters["description"]
        assert '"operator"' in described and "[{" in described and "get_entity_configuration" in described
        # The operators are listed once, by the schema; the prose does not repeat the enum.
        assert filters["items"]["properties"]["operator"]["enum"] == list(OPERATORS)
    for name in ("get_entity_configuration", "filter_entity", "count_entity", "search_all_entities"):
        assert tools[name]["annotations"]["readOnlyHint"] is True
        assert tools[name]["annotations"]["idempotentHint"] is True
    entity = tools["filter_entity"]["inputSchema"]["properties"]["entity"]
    assert set(entity["enum"]) == {"contact", "organization", "deal", "service", "task"}


def test_filter_entity_over_mcp(http):
    org = make(http, "organization", {"name": "Analytical Engines"})[0]
    made = make(
        http,
        "contact",
        *[
            {"firstName": f"P{i:02d}", "lastName": "Person", "organizationIds": [org] if i < 3 else []}
            for i in range(12)
        ],
    )
    out = ok(http, "filter_entity", {"entity": "contact"})
    assert len(out["items"]) == 10 and out["pageSize"] == 10 and out["total"] == 12
    assert out["totalPages"] == math.ceil(12 / 10) and out["items"][0] == {
        "id": made[0],
        "name": "P00 Person",
    }
    assert ok(http, "filter_entity", {"entity": "contact", "pageSize": 7})["totalPages"] == 2
    for size in (0, 101):
        assert (
            err(http, "filter_entity", {"entity": "contact", "pageSize": size})["issues"][0]["path"]
            == "$.pageSize"
        )
    today = ok(http, "get_current_user")["createdAt"][:10]
    for value in (today, f"{today}T00:00:00Z"):
        dated = ok(http, "filter_entity", {"entity": "contact", "filters": [rule("createdAt", "gte", value)]})
        assert dated["total"] == 12
    linked = ok(
        http, "filter_entity", {"entity": "contact", "filters": [rule("organizationIds", "in", [org])]}
    )
    assert [i["id"] for i in linked["items"]] == made[:3]
    assert linked["filters"] == [rule("organizationIds", "in", [org])]
    found = ok(http, "filter_entity", {"entity": "contact", "searchTerm": "analytical p01"})
    assert found["items"] == [{"id": made[1], "name": "P01 Person"}]
    assert found["sortDescriptor"] == {"field": "relevance", "direction": "desc"}
    unknown = err(http, "filter_entity", {"entity": "contact", "filters": [rule("colour", "equals", "red")]})
    assert unknown["code"] == "invalid_input" and "Emails – emails" in unknown["issues"][0]["message"]
    assert ok(http, "count_entity", {"entity": "contact", "searchTerm": "person"})["total"] == 12
