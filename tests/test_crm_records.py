"""create_/update_ tools, get_entities, notes, custom fields: shapes, guardrails, totals, audit rows."""

from __future__ import annotations

import pytest

from customermates.crm.model import PLURAL
from tests.conftest import call_tool, err, error_of, ok, rpc, write
from tests.records_support import audit, dump, get, ids, make, query

ZERO = "00000000-0000-7000-8000-000000000000"

# docs/tools.md: the guarded fields of each update tool.
GUARDED = {
    "contact": ["organizationIds", "userIds", "dealIds", "taskIds", "emails", "customFieldValues"],
    "organization": ["contactIds", "userIds", "dealIds", "taskIds", "customFieldValues"],
    "deal": ["organizationIds", "userIds", "contactIds", "services", "taskIds", "customFieldValues"],
    "service": ["userIds", "dealIds", "taskIds", "customFieldValues"],
    "task": ["userIds", "contactIds", "organizationIds", "dealIds", "serviceIds", "customFieldValues"],
}
FIRST_ITEM = {
    "contact": {"firstName": "Ada"},
    "organization": {"name": "Org"},
    "deal": {"name": "Deal"},
    "service": {"name": "Svc", "amount": 1},
    "task": {"name": "Task"},
}


def test_full_workflow_shapes_and_audit(http, server, tenant):
    (org,) = make(http, "organization", {"name": "Analytical Engines Ltd"})
    ada, charles = make(
        http,
        "contact",
        {
            "firstName": " Ada ",
            "lastName": "Lovelace",
            "emails": ["ada@analytical.example", "Ada.L@home.example"],
            "organizationIds": [org],
            "userIds": [tenant.user_id],
            "notes": "Met at the **expo**.",
        },
        {"firstName": "Charles", "lastName": "Babbage"},
    )
    consulting, licence = make(
        http, "service", {"name": "Consulting day", "amount": 1200}, {"name": "Licence", "amount": 499.5}
    )
    (deal,) = make(
        http,
        "deal",
        {
            "name": "Engine retrofit 2026",
            "organizationIds": [org],
            "contactIds": [charles, ada],
            "userIds": [tenant.user_id],
            "services": [{"serviceId": consulting, "quantity": 3}, {"serviceId": licence, "quantity": 2}],
        },
    )
    (task,) = make(
        http,
        "task",
        {"name": "Send the proposal", "contactIds": [ada], "dealIds": [deal], "serviceIds": [consulting]},
    )

    record = get(http, "deal", deal)
    assert list(record) == [
        "id",
        "name",
        "totalValue",
        "totalQuantity",
        "organizations",
        "contacts",
        "services",
        "tasks",
        "users",
        "customFieldValues",
        "createdAt",
        "updatedAt",
    ]
    assert record["totalValue"] == 4599 and record["totalQuantity"] == 5
    assert record["contacts"] == [
        {"id": ada, "firstName": "Ada", "lastName": "Lovelace"},
        {"id": charles, "firstName": "Charles", "lastName": "Babbage"},
    ]
    assert record["services"][0] == {
        "id": consulting,
        "name": "Consulting day",
        "amount": 1200,
        "quantity": 3,
    }
    assert record["tasks"] == [{"id": task, "name": "Send the proposal", "type": "custom"}]
    assert record["users"] == [
        {
            "id": tenant.user_id,
            "firstName": "Olive",
            "lastName": "Owner",
            "email": tenant.email,
            "avatarUrl": None,
        }
    ]

    contact = get(http, "contact", ada, notes=True)
    assert list(contact) == [
        "id",
        "firstName",
        "lastName",
        "emails",
        "organizations",
        "deals",
        "tasks",
        "users",
        "customFieldValues",
        "createdAt",
        "updatedAt",
        "notes",
    ]
    assert contact["firstName"] == "Ada" and contact["emails"][1] == "Ada.L@home.example"
    assert contact["organizations"] == [{"id": org, "name": "Analytical Engines Ltd"}]
    assert contact["notes"] == "Met at the **expo**."
    assert get(http, "task", task)["services"] == [
        {"id": consulting, "name": "Consulting day", "amount": 1200}
    ]
    assert get(http, "service", licence)["deals"] == [
        {"id": deal, "name": "Engine retrofit 2026", "quantity": 2}
    ]

    # One audit row per record per call; the org heard about its new contact and its new deal.
    events = [
        (e["event"], e["entityId"]) for e in audit(server.db_path) if e["operation"].startswith("create_")
    ]
    assert events.count(("organization.updated", org)) == 2
    created = [e for e in audit(server.db_path, ada) if e["event"] == "contact.created"][0]
    assert created["snapshot"]["notes"] == "Met at the **expo**."
    assert created["snapshot"]["organizations"] == [{"id": org, "name": "Analytical Engines Ltd"}]

    updated = ok(http, "update_contacts", {"contacts": [{"id": ada, "lastName": "King", "dealIds": []}]})
    assert updated == {"items": [{"id": ada, "name": "Ada King"}], "message": "Updated 1 contact."}
    change = audit(server.db_path, ada)[-1]
    assert change["event"] == "contact.updated" and set(change["changes"]) == {"lastName", "deals"}
    assert change["changes"]["deals"] == {
        "previous": [{"id": deal, "name": "Engine retrofit 2026"}],
        "current": [],
    }
    assert ids(get(http, "deal", deal)["contacts"]) == [charles]

    ok(http, "append_entity_notes", {"entity": "contact", "items": [{"id": ada, "notes": "- prefers email"}]})
    assert get(http, "contact", ada, notes=True)["notes"] == "Met at the **expo**.\n\n- prefers email"

    deleted = ok(http, "delete_entities", {"entity": "contact", "ids": [ada]})
    assert deleted == {"items": [{"id": ada, "name": "Ada King"}], "message": "Deleted 1 contact."}
    assert get(http, "organization", org)["contacts"] == []
    assert get(http, "task", task)["contacts"] == []
    gone = audit(server.db_path, ada)[-1]
    assert gone["event"] == "contact.deleted" and gone["snapshot"]["lastName"] == "King"
    assert query(server.db_path, "SELECT count(*) FROM contact_email WHERE contact_id = ?", ada) == [(0,)]


def test_deal_totals_are_exact_and_follow_every_term(http, server):
    (tenth,) = make(http, "service", {"name": "Tenth", "amount": 0.1})
    (deal,) = make(http, "deal", {"name": "D", "services": [{"serviceId": tenth, "quantity": 3}]})
    assert get(http, "deal", deal)["totalValue"] == 0.3

    ok(http, "update_deals", {"deals": [{"id": deal, "services": [{"serviceId": tenth, "quantity": 2.5}]}]})
    record = get(http, "deal", deal)
    assert (record["totalValue"], record["totalQuantity"]) == (0.25, 2.5)

    ok(http, "update_services", {"services": [{"id": tenth, "amount": 0.3333}]})
    assert get(http, "deal", deal)["totalValue"] == 0.8332  # 0.83325 rounded half to even
    repriced = audit(server.db_path, deal)[-1]
    assert repriced["event"] == "deal.updated" and repriced["operation"] == "update_services"
    assert repriced["changes"]["totalValue"] == {"previous": 0.25, "current": 0.8332}
    assert repriced["changes"]["services"]["current"][0]["amount"] == 0.3333

    (more,) = make(http, "service", {"name": "More", "amount": 10, "dealIds": [deal]})
    assert get(http, "deal", deal)["totalQuantity"] == 3.5  # linked from the service side: quantity 1
    ok(http, "update_services", {"services": [{"id": more, "name": "More!", "dealIds": [deal]}]})
    assert get(http, "deal", deal)["totalValue"] == 10.8332  # existing link keeps its quantity

    ok(http, "delete_entities", {"entity": "service", "ids": [more]})
    assert get(http, "deal", deal)["totalValue"] == 0.8332

    (huge,) = make(http, "service", {"name": "Huge", "amount": 10**12})
    error = err(
        http, "update_deals", {"deals": [{"id": deal, "services": [{"serviceId": huge, "quantity": 1000}]}]}
    )
    assert error["code"] == "invalid_input" and deal in error["issues"][0]["message"]
    assert get(http, "deal", deal)["totalValue"] == 0.8332


def test_batch_limits_and_atomicity(http, server):
    hundred = ok(http, "create_contacts", {"contacts": [{"firstName": f"P{i}"} for i in range(100)]})
    assert [i["name"] for i in hundred["items"]] == [f"P{i}" for i in range(100)]
    error = err(http, "create_contacts", {"contacts": [{"firstName": "x"}] * 101})
    assert error["issues"][0]["path"] == "$.contacts" and "at most 100" in error["issues"][0]["hint"]
    assert err(http, "create_contacts", {"contacts": []})["issues"][0]["path"] == "$.contacts"

    before = dump(server.db_path)
    error = err(
        http,
        "create_contacts",
        {"contacts": [{"firstName": "A"}, {"firstName": "B"}, {"firstName": "C", "emails": ["bob@"]}]},
    )
    assert [i["path"] for i in error["issues"]] == ["$.contacts[2].emails[0]"]
    assert error["message"].endswith("nothing was written.")
    error = err(http, "create_contacts", {"contacts": [{"firstName": "A", "organizationIds": [ZERO]}]})
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.contacts[0].organizationIds[0]"
    error = err(
        http, "create_contacts", {"contacts": [{"firstName": "A", "emails": ["a@x.example", "A@X.example"]}]}
    )
    assert error["issues"][0]["path"] == "$.contacts[0].emails[1]"
    assert "$.contacts[0].emails[0]" in error["issues"][0]["message"]
    first = hundred["items"][0]["id"]
    error = err(
        http, "update_contacts", {"contacts": [{"id": first, "lastName": "X"}, {"id": ZERO, "lastName": "Y"}]}
    )
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.contacts[1].id"
    error = err(http, "update_contacts", {"contacts": [{"id": first, "lastName": "X"}, {"id": first}]})
    assert {i["path"] for i in error["issues"]} == {"$.contacts[1].id", "$.contacts[1]"}
    error = err(http, "delete_entities", {"entity": "contact", "ids": [first, ZERO]})
    assert (
        error["code"] == "not_found" and error["issues"][0]["path"] == "$.ids[1]" and ZERO in error["message"]
    )
    assert dump(server.db_path) == before


@pytest.mark.parametrize("entity", list(GUARDED))
def test_null_on_guarded_fields_is_refused_with_remedies(http, server, entity):
    (record,) = make(http, entity, FIRST_ITEM[entity])
    before = dump(server.db_path)
    plural = PLURAL[entity]
    for field in GUARDED[entity]:
        error = err(http, f"update_{plural}", {plural: [{"id": record, field: None}]})
        (issue,) = error["issues"]
        assert error["code"] == "invalid_input" and issue["path"] == f"$.{plural}[0].{field}"
        hint = issue["hint"].lower()
        assert "omit" in hint and "[]" in hint
        if field.endswith("Ids") or field == "services":
            relation = "services" if field == "services" else field[:-3] + "s"
            assert f"$.{plural}[0].{field}" in issue["hint"] and "remove every link" in hint
            assert (
                f'unlink_entities {{"entity":"{entity}","sourceId":"{record}","relation":"{relation}"'
                in issue["hint"]
            )
        create = err(http, f"create_{plural}", {plural: [{**FIRST_ITEM[entity], field: None}]})
        assert create["issues"][0]["path"] == f"$.{plural}[0].{field}" and "[]" in create["issues"][0]["hint"]
    assert dump(server.db_path) == before


def test_field_rules_and_hints(http):
    error = err(http, "create_deals", {"deals": [{"name": "D", "totalValue": 5}]})
    assert "set `services` instead" in error["issues"][0]["hint"]
    error = err(http, "create_contacts", {"contacts": [{"first_name": "Ada"}]})
    assert {i["path"] for i in error["issues"]} == {"$.contacts[0].first_name", "$.contacts[0].firstName"}
    assert any("firstName" in i["hint"] for i in error["issues"])
    error = err(
        http,
        "create_services",
        {
            "services": [
                {"name": "S", "amount": 0},
                {"name": "T", "amount": 0.00004},
                {"name": "U", "amount": 10**12 + 1},
            ]
        },
    )
    assert [i["path"] for i in error["issues"]] == ["$.services[0].amount", "$.services[2].amount"]
    error = err(http, "create_services", {"services": [{"name": "T", "amount": 0.00004}]})
    assert error["issues"][0]["path"] == "$.services[0].amount"
    (svc,) = make(http, "service", {"name": "S", "amount": 1})
    error = err(
        http, "create_deals", {"deals": [{"name": "D", "services": [{"serviceId": svc}, {"serviceId": svc}]}]}
    )
    assert error["issues"][0]["path"] == "$.deals[0].services[1].serviceId"
    error = err(
        http, "create_deals", {"deals": [{"name": "D", "services": [{"serviceId": ZERO, "quantity": 2}]}]}
    )
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.deals[0].services[0].serviceId"
    error = err(http, "create_tasks", {"tasks": [{"name": "T", "type": "system"}]})
    assert "read-only" in error["issues"][0]["hint"]
    error = err(http, "update_tasks", {"tasks": [{"id": "not-an-id", "name": "x"}]})
    assert "never invent" in error["issues"][0]["hint"]


def test_no_op_update_leaves_no_trace(http, server):
    (org,) = make(http, "organization", {"name": "Acme"})
    (contact,) = make(
        http, "contact", {"firstName": "Ada", "emails": ["a@x.example"], "organizationIds": [org]}
    )
    record = get(http, "contact", contact)
    rows = len(audit(server.db_path))
    same = ok(
        http,
        "update_contacts",
        {
            "contacts": [
                {
                    "id": contact,
                    "firstName": "Ada",
                    "emails": ["a@x.example"],
                    "organizationIds": [org],
                    "customFieldValues": [],
                }
            ]
        },
    )
    assert same["message"] == "Nothing changed; 1 contact already had these values."
    ok(http, "update_entity_notes", {"entity": "contact", "items": [{"id": contact, "notes": "  "}]})
    assert get(http, "contact", contact) == record
    assert len(audit(server.db_path)) == rows
    changed = ok(http, "update_contacts", {"contacts": [{"id": contact, "firstName": "Grace"}]})
    assert changed["message"] == "Updated 1 contact."
    (event,) = audit(server.db_path)[rows:]
    assert event["changes"] == {"firstName": {"previous": "Ada", "current": "Grace"}}
    assert get(http, "contact", contact)["updatedAt"] > record["updatedAt"]
    assert get(http, "organization", org)["contacts"][0]["firstName"] == "Grace"  # embedded copy, no event


def test_notes_round_trip_limits_and_append(http):
    (org,) = make(http, "organization", {"name": "Acme"})
    markdown = "# Title\r\n\n- [ ] item with `code`\n\n| a | b |\n|---|---|\n  indented  "
    ok(http, "update_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": markdown}]})
    assert get(http, "organization", org, notes=True)["notes"] == markdown.replace("\r\n", "\n")
    ok(http, "update_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": ""}]})
    assert get(http, "organization", org, notes=True)["notes"] is None
    ok(http, "append_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": "first"}]})
    ok(http, "append_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": "second"}]})
    assert get(http, "organization", org, notes=True)["notes"] == "first\n\nsecond"

    full = "x" * 65_535
    ok(http, "update_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": full}]})
    assert get(http, "organization", org, notes=True)["notes"] == full
    error = err(http, "append_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": "y"}]})
    assert "65538" in error["issues"][0]["message"] and "65535" in error["issues"][0]["message"]
    error = err(
        http, "update_entity_notes", {"entity": "organization", "items": [{"id": org, "notes": full + "x"}]}
    )
    assert error["issues"][0]["path"] == "$.items[0].notes"
    assert (
        err(http, "update_entity_notes", {"entity": "organization", "items": [{"id": ZERO, "notes": "a"}]})[
            "code"
        ]
        == "not_found"
    )


def test_get_entities_reports_missing_ids(http):
    (org,) = make(http, "organization", {"name": "Acme"})
    result = ok(
        http,
        "get_entities",
        {
            "items": [
                {"entity": "organization", "id": org},
                {"entity": "contact", "id": ZERO},
                {"entity": "contact", "id": org},
            ]
        },
    )
    assert [i["id"] for i in result["items"]] == [org]
    assert result["notFound"] == [{"entity": "contact", "id": ZERO}, {"entity": "contact", "id": org}]
    assert "2 not found" in result["message"] and "notes" not in result["items"][0]
    error = err(http, "get_entities", {"items": [{"entity": "deal", "id": ZERO}]})
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.items[0].id"
    upper = ok(http, "get_entities", {"items": [{"entity": "organization", "id": org.upper()}]})
    assert upper["items"][0]["id"] == org


def test_custom_fields_and_system_tasks(http, server, tenant):
    (contact,) = make(http, "contact", {"firstName": "Ada"})
    error = err(
        http,
        "update_entity_custom_fields",
        {
            "entity": "contact",
            "items": [{"id": contact, "customFieldValues": [{"columnId": ZERO, "value": "x"}]}],
        },
    )
    assert error["issues"][0]["path"] == "$.items[0].customFieldValues[0].columnId"
    assert "no custom columns" in error["issues"][0]["hint"]
    error = err(
        http,
        "create_contacts",
        {"contacts": [{"firstName": "B", "customFieldValues": [{"columnId": ZERO, "value": None}]}]},
    )
    assert error["issues"][0]["path"] == "$.contacts[0].customFieldValues[0].columnId"

    def system_task(conn):
        conn.execute(
            "INSERT INTO task (id, company_id, name, type, name_key, created_at, updated_at)"
            " VALUES (?, ?, 'Authorize Mia', 'userPendingAuthorization', 'authorize mia', ?, ?)",
            (ZERO, tenant.company_id, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        )

    write(server.db_path, system_task)
    assert get(http, "task", ZERO)["type"] == "userPendingAuthorization"
    error = err(http, "delete_entities", {"entity": "task", "ids": [ZERO]})
    assert error["code"] == "invalid_input" and "system task" in error["issues"][0]["message"]
    error = err(http, "update_tasks", {"tasks": [{"id": ZERO, "name": "Renamed"}]})
    assert error["issues"][0]["path"] == "$.tasks[0].name"
    ok(http, "update_tasks", {"tasks": [{"id": ZERO, "notes": "fine", "contactIds": [contact]}]})


def test_declarations_follow_the_contract(http):
    tools = {t["name"]: t for t in rpc(http, "tools/list").json()["result"]["tools"]}
    hints = {
        "get_entities": (True, False, True),
        "update_entity_notes": (False, False, True),
        "append_entity_notes": (False, False, False),
        "delete_entities": (False, True, False),
        "update_entity_custom_fields": (False, False, True),
        "link_entities": (False, False, True),
        "unlink_entities": (False, False, True),
    }
    for plural in PLURAL.values():
        hints[f"create_{plural}"] = (False, False, False)
        hints[f"update_{plural}"] = (False, False, True)
        description = tools[f"update_{plural}"]["description"]
        assert all(word in description for word in ("REPLACE", "link_entities", "unlink_entities"))
    for name, expected in hints.items():
        notes = tools[name]["annotations"]
        assert (notes["readOnlyHint"], notes["destructiveHint"], notes["idempotentHint"]) == expected, name
        assert tools[name]["inputSchema"]["type"] == "object" == tools[name]["outputSchema"]["type"]
    assert tools["delete_entities"]["description"].startswith("IRREVERSIBLE.")
    # The full REPLACE warning sits once in the tool description (asserted above); the field says it too.
    props = tools["update_contacts"]["inputSchema"]["properties"]["contacts"]["items"]["properties"]
    assert "replaces" in props["dealIds"]["description"].lower()
    result = call_tool(http, "create_contact", {})
    assert error_of(result)["suggestions"][0] == "create_contacts"


def test_search_rows_hold_own_fields_and_linked_names_are_searched_through_links(http, server):
    (org,) = make(http, "organization", {"name": "Zephyr Works"})
    (contact,) = make(
        http, "contact", {"firstName": "Quill", "emails": ["quill@x.example"], "organizationIds": [org]}
    )

    def row(entity: str, record_id: str) -> tuple:
        found = query(
            server.db_path,
            f"SELECT t.* FROM {entity}_trigram t JOIN {entity} e ON e.seq = t.rowid & 0xFFFFFFFFFF WHERE e.id = ?",
            record_id,
        )
        return found[0] if found else ()

    def hits(entity: str, term: str) -> list[str]:
        return ids(ok(http, "filter_entity", {"entity": entity, "searchTerm": term})["items"])

    assert row("contact", contact) == ("quill@x.example", "Quill ") and row("organization", org) == (
        "Zephyr Works",
    )
    assert hits("contact", "zephyr") == [contact] and hits("organization", "quill") == [org]
    ok(http, "update_organizations", {"organizations": [{"id": org, "name": "Yonder Labs"}]})
    assert row("contact", contact) == ("quill@x.example", "Quill ")  # the contact's row is not rewritten
    assert hits("contact", "yonder") == [contact] and hits("contact", "zephyr") == []
    ok(http, "update_contacts", {"contacts": [{"id": contact, "lastName": "Penrose"}]})
    assert row("organization", org) == ("Yonder Labs",)
    assert hits("organization", "penrose") == [org] and hits("organization", "quill penrose") == [org]
    assert hits("organization", "quill@x") == []  # a linked contact's emails are not the organization's
    ok(
        http,
        "unlink_entities",
        {"entity": "contact", "sourceId": contact, "relation": "organizations", "ids": [org]},
    )
    assert hits("contact", "yonder") == [] and hits("organization", "quill") == []
    ok(http, "delete_entities", {"entity": "contact", "ids": [contact]})
    assert query(server.db_path, "SELECT count(*) FROM contact_trigram") == [(0,)]


def test_a_record_read_alone_or_among_others_is_the_same_record(http, server, tenant):
    """get_entities of one id reads with `= ?` statements, of several with json_each: same records."""
    zeta, alpha = make(http, "organization", {"name": "Zeta Works"}, {"name": "Alpha Partners"})
    (deal,) = make(http, "deal", {"name": "Single read deal"})
    later = ok(http, "create_plain_custom_column", {"entityType": "contact", "label": "Read alone: Zone"})
    first = ok(http, "create_plain_custom_column", {"entityType": "contact", "label": "Read alone: Area"})
    later_id, first_id = later["item"]["id"], first["item"]["id"]
    stage = ok(
        http,
        "create_single_select_custom_column",
        {
            "entityType": "contact",
            "label": "Read alone: Stage",
            "options": [{"label": "Lead"}, {"label": "Won"}],
        },
    )["item"]
    won = stage["options"]["options"][1]["value"]
    (ada,) = make(
        http,
        "contact",
        {
            "firstName": "Ada",
            "lastName": "Alone",
            "organizationIds": [zeta, alpha],
            "dealIds": [deal],
            "userIds": [tenant.user_id],
            "customFieldValues": [
                {"columnId": later_id, "value": "North"},
                {"columnId": stage["id"], "value": "Won"},
                {"columnId": first_id, "value": "B2"},
            ],
        },
    )
    (bob,) = make(http, "contact", {"firstName": "Bob", "organizationIds": [zeta]})
    alone = get(http, "contact", ada)
    assert alone["organizations"] == [
        {"id": alpha, "name": "Alpha Partners"},
        {"id": zeta, "name": "Zeta Works"},
    ]
    assert alone["deals"] == [{"id": deal, "name": "Single read deal"}]
    assert [u["id"] for u in alone["users"]] == [tenant.user_id] and alone["tasks"] == []
    assert alone["customFieldValues"] == [
        {"columnId": first_id, "label": "Read alone: Area", "type": "plain", "value": "B2"},
        {
            "columnId": stage["id"],
            "label": "Read alone: Stage",
            "type": "singleSelect",
            "value": won,
            "optionLabel": "Won",
        },
        {"columnId": later_id, "label": "Read alone: Zone", "type": "plain", "value": "North"},
    ]
    both = ok(http, "get_entities", {"items": [{"entity": "contact", "id": i} for i in (bob, ada)]})
    assert [i["record"] for i in both["items"]][1] == alone
    assert both["items"][0]["record"]["organizations"] == [{"id": zeta, "name": "Zeta Works"}]
    # Two asked, one found: the rows read by json_each, the relations and values of the one by `= ?`.
    one_found = ok(http, "get_entities", {"items": [{"entity": "contact", "id": i} for i in (ZERO, ada)]})
    assert one_found["items"][0]["record"] == alone
    assert one_found["notFound"] == [{"entity": "contact", "id": ZERO}]

    # A stored single-select value that is none of its column's options shows without a label.
    def stray(conn):
        conn.execute(
            "UPDATE custom_value SET value = ? WHERE record_id = ? AND column_id = ?",
            (ZERO, ada, stage["id"]),
        )

    write(server.db_path, stray)
    shown = get(http, "contact", ada)["customFieldValues"][1]
    assert shown == {
        "columnId": stage["id"],
        "label": "Read alone: Stage",
        "type": "singleSelect",
        "value": ZERO,
    }
