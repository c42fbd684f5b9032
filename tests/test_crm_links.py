"""link_entities, unlink_entities, replacing relation arrays, delete_entities and their events."""

from __future__ import annotations

from tests.conftest import err, ok
from tests.records_support import audit, get, ids, make, query

ZERO = "00000000-0000-7000-8000-000000000000"


def link(http, entity, source, relation, targets, tool="link_entities"):
    return ok(http, tool, {"entity": entity, "sourceId": source, "relation": relation, "ids": targets})


def test_link_is_idempotent_and_reports_counts(http, server):
    (ada,) = make(http, "contact", {"firstName": "Ada", "lastName": "Lovelace"})
    deals = make(http, "deal", *({"name": f"D{i}"} for i in range(4)))
    first = link(http, "contact", ada, "deals", deals[:3])
    assert first["changedIds"] == deals[:3] and first["unchangedIds"] == []
    assert (first["before"], first["after"]) == (0, 3)
    assert first["message"] == "Linked 3 deals to contact Ada Lovelace; now 3."
    rows = len(audit(server.db_path))
    again = link(http, "contact", ada, "deals", deals[:3])
    assert again["changedIds"] == [] and again["unchangedIds"] == deals[:3]
    assert len(audit(server.db_path)) == rows  # already linked: no event
    more = link(http, "contact", ada, "deals", [deals[3], deals[0]])
    assert more["message"] == "Linked 1 deal to contact Ada Lovelace; 1 was already linked; now 4."
    assert ids(get(http, "contact", ada)["deals"]) == deals
    assert ids(get(http, "deal", deals[3])["contacts"]) == [ada]
    events = [(e["event"], e["entityId"]) for e in audit(server.db_path)[rows:]]
    assert events == [("contact.updated", ada), ("deal.updated", deals[3])]
    assert query(server.db_path, "SELECT count(*) FROM link_contact_deal") == [(4,)]


def test_unlink_removes_only_named_links(http, server):
    (org,) = make(http, "organization", {"name": "Acme"})
    contacts = make(http, "contact", *({"firstName": f"C{i}", "organizationIds": [org]} for i in range(3)))
    result = link(http, "organization", org, "contacts", [contacts[1], ZERO], tool="unlink_entities")
    assert result["changedIds"] == [contacts[1]] and result["unchangedIds"] == [ZERO]
    assert result["message"] == "Unlinked 1 contact from organization Acme; 1 was not linked; now 2."
    assert ids(get(http, "organization", org)["contacts"]) == [contacts[0], contacts[2]]
    assert get(http, "contact", contacts[1])["organizations"] == []  # the record itself is kept
    error = err(
        http,
        "unlink_entities",
        {"entity": "organization", "sourceId": ZERO, "relation": "contacts", "ids": [contacts[0]]},
    )
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.sourceId"


def test_relation_rules(http):
    (svc,) = make(http, "service", {"name": "S", "amount": 5})
    (contact,) = make(http, "contact", {"firstName": "A"})
    error = err(
        http,
        "link_entities",
        {"entity": "service", "sourceId": svc, "relation": "contacts", "ids": [contact]},
    )
    assert error["code"] == "invalid_input"
    assert "deals, tasks, users" in error["message"] and error["issues"][0]["path"] == "$.relation"
    error = err(
        http, "link_entities", {"entity": "contact", "sourceId": contact, "relation": "deal", "ids": [svc]}
    )
    assert 'did you mean "deals"' in error["issues"][0]["hint"]
    error = err(
        http,
        "link_entities",
        {"entity": "contact", "sourceId": contact, "relation": "deals", "ids": [svc, svc]},
    )
    assert error["issues"][0]["path"] == "$.ids[1]" and "$.ids[0]" in error["issues"][0]["message"]
    error = err(
        http, "link_entities", {"entity": "contact", "sourceId": contact, "relation": "deals", "ids": [svc]}
    )
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.ids[0]"


def test_deal_service_quantity_from_both_sides(http, server):
    (svc,) = make(http, "service", {"name": "S", "amount": 2})
    (deal,) = make(http, "deal", {"name": "D"})
    link(http, "deal", deal, "services", [svc])
    assert get(http, "deal", deal)["services"][0]["quantity"] == 1
    assert get(http, "deal", deal)["totalValue"] == 2
    ok(http, "update_deals", {"deals": [{"id": deal, "services": [{"serviceId": svc, "quantity": 4}]}]})
    assert get(http, "service", svc)["deals"] == [{"id": deal, "name": "D", "quantity": 4}]
    event = audit(server.db_path, svc)[-1]
    assert event["event"] == "service.updated"
    assert event["changes"]["deals"]["current"] == [{"id": deal, "name": "D", "quantity": 4}]
    link(http, "service", svc, "deals", [deal], tool="unlink_entities")
    record = get(http, "deal", deal)
    assert record["services"] == [] and (record["totalValue"], record["totalQuantity"]) == (0, 0)


def test_replacing_arrays_and_fan_out_events(http, server):
    (org,) = make(http, "organization", {"name": "O"})
    rows = len(audit(server.db_path))
    contacts = make(http, "contact", *({"firstName": f"C{i}", "organizationIds": [org]} for i in range(3)))
    fan_out = [e for e in audit(server.db_path)[rows:] if e["entityId"] == org]
    assert len(fan_out) == 1 and fan_out[0]["event"] == "organization.updated"
    assert [c["id"] for c in fan_out[0]["changes"]["contacts"]["current"]] == contacts
    assert fan_out[0]["changes"]["contacts"]["previous"] == []

    (other,) = make(http, "organization", {"name": "P"})
    ok(http, "update_contacts", {"contacts": [{"id": contacts[0], "organizationIds": [other]}]})
    assert ids(get(http, "contact", contacts[0])["organizations"]) == [other]
    assert ids(get(http, "organization", org)["contacts"]) == contacts[1:]
    ok(http, "update_organizations", {"organizations": [{"id": org, "contactIds": []}]})
    assert get(http, "organization", org)["contacts"] == []
    assert get(http, "contact", contacts[1])["organizations"] == []


def test_delete_removes_links_and_updates_other_ends(http, server):
    (org,) = make(http, "organization", {"name": "O"})
    (svc,) = make(http, "service", {"name": "S", "amount": 3})
    (deal,) = make(http, "deal", {"name": "D", "organizationIds": [org], "services": [{"serviceId": svc}]})
    (task,) = make(http, "task", {"name": "T", "dealIds": [deal], "organizationIds": [org]})
    rows = len(audit(server.db_path))
    ok(http, "delete_entities", {"entity": "deal", "ids": [deal]})
    events = {(e["event"], e["entityId"]): e for e in audit(server.db_path)[rows:]}
    assert set(events) == {
        ("deal.deleted", deal),
        ("organization.updated", org),
        ("service.updated", svc),
        ("task.updated", task),
    }
    assert events[("deal.deleted", deal)]["snapshot"]["totalValue"] == 3
    assert events[("organization.updated", org)]["changes"]["deals"] == {
        "previous": [{"id": deal, "name": "D"}],
        "current": [],
    }
    assert get(http, "task", task)["deals"] == [] and ids(get(http, "task", task)["organizations"]) == [org]
    leftovers = sum(
        query(server.db_path, f"SELECT count(*) FROM {t} WHERE ? IN (left_id, right_id)", deal)[0][0]
        for t in ("link_organization_deal", "link_deal_service", "link_deal_task")
    )
    assert leftovers == 0
    assert err(http, "get_entities", {"items": [{"entity": "deal", "id": deal}]})["code"] == "not_found"
    assert query(server.db_path, "PRAGMA foreign_key_check") == []
