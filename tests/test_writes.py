"""The write path (drafts -> writes -> changeset) in process: all or nothing, the events it records,
links both ways, computed deal totals, and search rows that follow renames."""

from __future__ import annotations

import json

import pytest

from customermates.errors import ToolError
from tests.crm_seed import Crm


def events(crm: Crm, entity_id: str) -> list[tuple[str, str]]:
    rows = crm.conn.execute(
        "SELECT event, operation FROM audit_log WHERE entity_id = ? ORDER BY occurred_at, rowid", (entity_id,)
    )
    return [tuple(r) for r in rows]


def count(crm: Crm, table: str) -> int:
    return crm.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_batch_with_one_bad_item_writes_nothing(crm):
    before = (count(crm, "contact"), count(crm, "audit_log"))
    error = crm.fail(
        "create_contacts", {"contacts": [{"firstName": "Ada"}, {"firstName": "Bo", "emails": ["x"]}]}
    )
    assert error.code == "invalid_input" and [i.path for i in error.issues] == ["$.contacts[1].emails[0]"]
    assert (count(crm, "contact"), count(crm, "audit_log")) == before


def test_a_repeated_id_in_one_update_is_refused_where_it_repeats(crm):
    ident = crm.call("create_contacts", {"contacts": [{"firstName": "Ada"}]})["items"][0]["id"]
    error = crm.fail(
        "update_contacts", {"contacts": [{"id": ident, "lastName": "A"}, {"id": ident, "lastName": "B"}]}
    )
    assert [i.path for i in error.issues] == ["$.contacts[1].id"]
    assert "$.contacts[0]" in error.issues[0].message + error.issues[0].hint


def test_create_and_update_record_one_event_each_with_the_change(crm):
    ident = crm.call("create_contacts", {"contacts": [{"firstName": "Ada"}]})["items"][0]["id"]
    crm.call("update_contacts", {"contacts": [{"id": ident, "lastName": "Lovelace"}]})
    assert events(crm, ident) == [
        ("contact.created", "create_contacts"),
        ("contact.updated", "update_contacts"),
    ]
    changes = crm.conn.execute(
        "SELECT changes FROM audit_log WHERE entity_id = ? AND event = 'contact.updated'", (ident,)
    ).fetchone()[0]
    assert json.loads(changes)["lastName"] == {"previous": "", "current": "Lovelace"}


def test_an_update_that_changes_nothing_records_no_event(crm):
    ident = crm.call("create_contacts", {"contacts": [{"firstName": "Ada"}]})["items"][0]["id"]
    crm.call("update_contacts", {"contacts": [{"id": ident, "firstName": "Ada"}]})
    assert events(crm, ident) == [("contact.created", "create_contacts")]


def test_links_go_both_ways_and_deal_totals_follow_service_amounts(crm):
    service = crm.call("create_services", {"services": [{"name": "Audit", "amount": 250}]})["items"][0]["id"]
    deal = crm.call(
        "create_deals", {"deals": [{"name": "Q3", "services": [{"serviceId": service, "quantity": 3}]}]}
    )
    deal_id = deal["items"][0]["id"]
    record = crm.call("get_entities", {"items": [{"entity": "deal", "id": deal_id}]})["items"][0]["record"]
    assert (record["totalValue"], record["totalQuantity"]) == (750, 3)
    crm.call("update_services", {"services": [{"id": service, "amount": 100}]})
    record = crm.call("get_entities", {"items": [{"entity": "deal", "id": deal_id}]})["items"][0]["record"]
    assert record["totalValue"] == 300
    other_side = crm.call("get_entities", {"items": [{"entity": "service", "id": service}]})["items"][0][
        "record"
    ]
    assert [d["id"] for d in other_side["deals"]] == [deal_id]


def test_renaming_an_organization_refreshes_the_search_of_its_contacts(crm):
    org = crm.call("create_organizations", {"organizations": [{"name": "Initech"}]})["items"][0]["id"]
    crm.call("create_contacts", {"contacts": [{"firstName": "Peter", "organizationIds": [org]}]})
    assert crm.names({"searchTerm": "initech"}) == ["Peter"]
    crm.call("update_organizations", {"organizations": [{"id": org, "name": "Globex"}]})
    assert crm.names({"searchTerm": "initech"}) == []
    assert crm.names({"searchTerm": "globex"}) == ["Peter"]


def test_a_failed_call_raises_and_leaves_no_open_transaction(crm):
    with pytest.raises(ToolError):
        crm.call("delete_entities", {"entity": "contact", "ids": ["0b6f5f6e-3b1a-4c2e-9a53-2f6f1f7c9d10"]})
    assert crm.conn.in_transaction is False


def test_one_create_links_many_records_in_several_tables_with_their_quantities(crm):
    services = crm.call(
        "create_services", {"services": [{"name": "Audit", "amount": 250}, {"name": "Setup", "amount": 40}]}
    )
    audit, setup = (i["id"] for i in services["items"])
    orgs = crm.call("create_organizations", {"organizations": [{"name": "Acme"}, {"name": "Globex"}]})
    acme, globex = (i["id"] for i in orgs["items"])
    deals = crm.call(
        "create_deals",
        {
            "deals": [
                {
                    "name": "Q3",
                    "organizationIds": [acme, globex],
                    "services": [{"serviceId": audit, "quantity": 3}, {"serviceId": setup, "quantity": 0.5}],
                },
                {"name": "Q4", "organizationIds": [acme], "services": [{"serviceId": setup, "quantity": 2}]},
            ]
        },
    )
    q3, q4 = (i["id"] for i in deals["items"])
    got = crm.call("get_entities", {"items": [{"entity": "deal", "id": q3}, {"entity": "deal", "id": q4}]})[
        "items"
    ]
    q3_record, q4_record = (i["record"] for i in got)
    assert sorted((s["name"], s["quantity"]) for s in q3_record["services"]) == [("Audit", 3), ("Setup", 0.5)]
    assert (q3_record["totalValue"], q3_record["totalQuantity"]) == (770, 3.5)
    assert sorted(o["name"] for o in q3_record["organizations"]) == ["Acme", "Globex"]
    assert [(s["name"], s["quantity"]) for s in q4_record["services"]] == [("Setup", 2)]
    assert (q4_record["totalValue"], q4_record["organizations"][0]["name"]) == (80, "Acme")
    assert count(crm, "link_deal_service") == 3 and count(crm, "link_organization_deal") == 3


def test_new_contacts_linked_to_organizations_update_each_organization_with_only_them(crm):
    orgs = crm.call("create_organizations", {"organizations": [{"name": "Acme"}, {"name": "Globex"}]})
    acme, globex = (i["id"] for i in orgs["items"])
    crm.call(
        "create_contacts",
        {"contacts": [{"firstName": "Old", "lastName": "Timer", "organizationIds": [acme]}]},
    )
    made = crm.call(
        "create_contacts",
        {
            "contacts": [
                {"firstName": "Ada", "lastName": "Lovelace", "organizationIds": [acme, globex]},
                {"firstName": "Bo", "organizationIds": [acme]},
            ]
        },
    )
    ada, bo = (i["id"] for i in made["items"])
    rows = crm.conn.execute(
        "SELECT entity_id, changes FROM audit_log WHERE event = 'organization.updated' AND operation = ?"
        " ORDER BY rowid",
        ("create_contacts",),
    ).fetchall()
    by_org = {r[0]: json.loads(r[1]) for r in rows}
    assert len(rows) == 3  # Acme for Old, then Acme and Globex for this call
    ada_element = {"id": ada, "firstName": "Ada", "lastName": "Lovelace"}
    assert by_org[globex] == {"contacts": {"previous": [], "current": [ada_element]}}
    assert by_org[acme] == {
        "contacts": {"previous": [], "current": [ada_element, {"id": bo, "firstName": "Bo", "lastName": ""}]}
    }
    record = crm.call("get_entities", {"items": [{"entity": "organization", "id": acme}]})["items"][0][
        "record"
    ]
    assert sorted(c["firstName"] for c in record["contacts"]) == ["Ada", "Bo", "Old"]
