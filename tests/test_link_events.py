"""The `.updated` events of records reached through links (the other ends), in process.

Such a record is compared through the elements its changed links touch, so these tests pin the
events where that could go wrong: an element renamed in the same call, a removal, a quantity, a
deleted record's elements, and the whole record a webhook carries."""

from __future__ import annotations

import json

from tests.crm_seed import Crm


def changes(crm: Crm, entity_id: str) -> list[tuple[str, str, dict | None]]:
    rows = crm.conn.execute(
        "SELECT event, operation, changes FROM audit_log WHERE entity_id = ? ORDER BY occurred_at, rowid",
        (entity_id,),
    )
    return [(event, operation, json.loads(c) if c else None) for event, operation, c in rows]


def create(crm: Crm, tool: str, key: str, items: list[dict]) -> list[str]:
    return [item["id"] for item in crm.call(tool, {key: items})["items"]]


def test_an_organization_records_what_happens_to_its_contacts_array(crm):
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme"}])
    [ada] = create(crm, "create_contacts", "contacts", [{"firstName": "Ada", "organizationIds": [org]}])
    [bo] = create(crm, "create_contacts", "contacts", [{"firstName": "Bo"}])
    # Ada is renamed (her link stays) while Bo is linked: both elements change in Acme's array.
    crm.call(
        "update_contacts",
        {"contacts": [{"id": ada, "firstName": "Ann"}, {"id": bo, "organizationIds": [org]}]},
    )
    crm.call("update_contacts", {"contacts": [{"id": bo, "organizationIds": []}]})
    crm.call("delete_entities", {"entity": "contact", "ids": [ada]})
    assert changes(crm, org) == [
        ("organization.created", "create_organizations", None),
        (
            "organization.updated",
            "create_contacts",
            {"contacts": {"previous": [], "current": [{"id": ada, "firstName": "Ada", "lastName": ""}]}},
        ),
        (
            "organization.updated",
            "update_contacts",
            {
                "contacts": {
                    "previous": [{"id": ada, "firstName": "Ada", "lastName": ""}],
                    "current": [
                        {"id": ada, "firstName": "Ann", "lastName": ""},
                        {"id": bo, "firstName": "Bo", "lastName": ""},
                    ],
                }
            },
        ),
        (
            "organization.updated",
            "update_contacts",
            {"contacts": {"previous": [{"id": bo, "firstName": "Bo", "lastName": ""}], "current": []}},
        ),
        (
            "organization.updated",
            "delete_entities",
            {"contacts": {"previous": [{"id": ada, "firstName": "Ann", "lastName": ""}], "current": []}},
        ),
    ]


def test_a_renamed_contact_whose_links_stay_leaves_its_organization_alone(crm):
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme"}])
    [ada] = create(crm, "create_contacts", "contacts", [{"firstName": "Ada", "organizationIds": [org]}])
    crm.call("update_contacts", {"contacts": [{"id": ada, "firstName": "Ann"}]})
    assert [c[0] for c in changes(crm, org)] == ["organization.created", "organization.updated"]


def test_a_service_records_a_new_quantity_on_its_deal(crm):
    [svc] = create(crm, "create_services", "services", [{"name": "Audit", "amount": 100}])
    [deal] = create(
        crm, "create_deals", "deals", [{"name": "Big", "services": [{"serviceId": svc, "quantity": 1}]}]
    )
    crm.call("update_deals", {"deals": [{"id": deal, "services": [{"serviceId": svc, "quantity": 2.5}]}]})
    assert changes(crm, svc)[1:] == [
        (
            "service.updated",
            "create_deals",
            {"deals": {"previous": [], "current": [{"id": deal, "name": "Big", "quantity": 1}]}},
        ),
        (
            "service.updated",
            "update_deals",
            {
                "deals": {
                    "previous": [{"id": deal, "name": "Big", "quantity": 1}],
                    "current": [{"id": deal, "name": "Big", "quantity": 2.5}],
                }
            },
        ),
    ]
    totals = changes(crm, deal)[-1][2]
    assert totals is not None and totals["totalValue"] == {"previous": 100, "current": 250}


def test_linking_an_already_linked_id_records_nothing_on_that_end(crm):
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme"}])
    [ada] = create(crm, "create_contacts", "contacts", [{"firstName": "Ada", "organizationIds": [org]}])
    out = crm.call(
        "link_entities", {"entity": "organization", "sourceId": org, "relation": "contacts", "ids": [ada]}
    )
    assert (out["changedIds"], out["unchangedIds"], out["before"], out["after"]) == ([], [ada], 1, 1)
    assert [c[0] for c in changes(crm, org)] == ["organization.created", "organization.updated"]


def test_a_webhook_gets_the_whole_linked_organization(crm, monkeypatch):
    monkeypatch.setenv("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE", "1")
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme", "notes": "big"}])
    [ada] = create(crm, "create_contacts", "contacts", [{"firstName": "Ada", "organizationIds": [org]}])
    crm.call("create_webhook", {"url": "http://127.0.0.1:9/hook", "events": ["organization.updated"]})
    [bo] = create(crm, "create_contacts", "contacts", [{"firstName": "Bo", "organizationIds": [org]}])
    event_id, occurred = crm.conn.execute(
        "SELECT id, occurred_at FROM audit_log WHERE entity_id = ? ORDER BY rowid DESC LIMIT 1", (org,)
    ).fetchone()
    [record] = [
        json.loads(r[0])
        for r in crm.conn.execute("SELECT record FROM webhook_record WHERE event_id = ?", (event_id,))
    ]
    assert record["name"] == "Acme" and record["notes"] == "big" and record["updatedAt"] == occurred
    assert [c["firstName"] for c in record["contacts"]] == ["Ada", "Bo"]
    assert [c["id"] for c in record["contacts"]] == [ada, bo]
    assert crm.conn.execute("SELECT count(*) FROM webhook_delivery").fetchone()[0] == 1


def test_a_created_record_is_recorded_exactly_as_a_read_shows_it(crm):
    """The `.created` snapshot is built from what was written; a read right after must agree."""
    from customermates.crm.loading import load_company_records

    select = {"label": "Stage", "options": [{"label": "Lead", "isDefault": True}, {"label": "Won"}]}
    for entity in ("contact", "organization", "service", "task"):
        crm.call("create_single_select_custom_column", {"entityType": entity, **select})
        crm.call("create_plain_custom_column", {"entityType": entity, "label": "a note"})
    plain = {
        e: crm.call("list_custom_columns", {"entityType": e})["items"] for e in ("contact", "organization")
    }
    note = next(c["id"] for c in plain["contact"] if c["label"] == "a note")
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme", "notes": "big"}])
    [svc] = create(crm, "create_services", "services", [{"name": "Audit", "amount": 12.5}])
    [deal] = create(
        crm, "create_deals", "deals", [{"name": "Big", "services": [{"serviceId": svc, "quantity": 2}]}]
    )
    made = {
        "contact": create(crm, "create_contacts", "contacts", [
            {"firstName": "Ada", "lastName": "L", "emails": ["a@x.example", "b@x.example"],
             "organizationIds": [org], "dealIds": [deal], "userIds": [crm.admin.user_id],
             "customFieldValues": [{"columnId": note, "value": "hi"}], "notes": "n"},
            {"firstName": "Bo"},
        ]),
        "organization": create(crm, "create_organizations", "organizations", [{"name": "Beta", "dealIds": [deal]}]),
        "service": create(crm, "create_services", "services", [{"name": "Fix", "amount": 1, "dealIds": [deal]}]),
        "task": create(crm, "create_tasks", "tasks", [{"name": "Call", "contactIds": [], "organizationIds": [org]}]),
    }  # fmt: skip
    for entity, ids in made.items():
        shown = load_company_records(crm.conn, crm.company_id, entity, ids)
        for record_id in ids:
            snapshot = crm.conn.execute(
                "SELECT snapshot FROM audit_log WHERE entity_id = ? AND event = ?",
                (record_id, f"{entity}.created"),
            ).fetchone()[0]
            assert json.loads(snapshot) == shown[record_id]
            assert list(json.loads(snapshot)) == list(shown[record_id])  # the same key order too
    ada = load_company_records(crm.conn, crm.company_id, "contact", made["contact"][:1])[made["contact"][0]]
    assert [v["label"] for v in ada["customFieldValues"]] == ["a note", "Stage"]
    assert [o["name"] for o in ada["organizations"]] == ["Acme"] and ada["deals"][0]["id"] == deal


def test_undoing_a_linked_create_and_an_unlink_records_the_organization_side(crm):
    [org] = create(crm, "create_organizations", "organizations", [{"name": "Acme"}])
    [ada] = create(crm, "create_contacts", "contacts", [{"firstName": "Ada", "organizationIds": [org]}])
    [bo] = create(crm, "create_contacts", "contacts", [{"firstName": "Bo", "organizationIds": [org]}])
    crm.call(
        "unlink_entities", {"entity": "contact", "sourceId": bo, "relation": "organizations", "ids": [org]}
    )
    unlinked, created = (
        crm.conn.execute(
            "SELECT id FROM audit_log WHERE entity_id = ? AND operation = ?", (bo, operation)
        ).fetchone()[0]
        for bo, operation in ((bo, "unlink_entities"), (ada, "create_contacts"))
    )
    crm.call("undo_changes", {"eventIds": [unlinked, created]})
    bo_ref = {"id": bo, "firstName": "Bo", "lastName": ""}
    ada_ref = {"id": ada, "firstName": "Ada", "lastName": ""}
    assert [c[1:] for c in changes(crm, org) if c[1] == "undo_changes"] == [
        ("undo_changes", {"contacts": {"previous": [], "current": [bo_ref]}}),
        ("undo_changes", {"contacts": {"previous": [ada_ref], "current": []}}),
    ]


def test_many_links_in_one_call_record_each_organizations_own_elements(crm):
    # 25 new contacts over 25 organizations that already have contacts: more (contact, organization)
    # pairs than `elements` seeks one by one, so each contact's links are read and filtered instead.
    orgs = create(crm, "create_organizations", "organizations", [{"name": f"Org {i:02}"} for i in range(25)])
    create(crm, "create_contacts", "contacts", [{"firstName": f"Old{i:02}", "organizationIds": [o]} for i, o in enumerate(orgs)])  # fmt: skip
    new = create(
        crm,
        "create_contacts",
        "contacts",
        [{"firstName": f"New{i:02}", "organizationIds": [orgs[i], orgs[(i + 1) % 25]]} for i in range(25)],
    )
    for i, org in enumerate(orgs):
        added = [{"id": new[k], "firstName": f"New{k:02}", "lastName": ""} for k in sorted([i, (i - 1) % 25])]
        assert changes(crm, org)[-1] == (
            "organization.updated",
            "create_contacts",
            {"contacts": {"previous": [], "current": added}},
        ), i
