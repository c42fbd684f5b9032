"""Undo: list_changes, undo_changes, rehearsal connections and `customermates undo`, on a real server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from customermates.crm.model import ENTITY_TYPES
from customermates.store import accounts as acc
from tests.conftest import ROOT, Tenant, add_member, cli, err, make_tenant, ok, rpc, write
from tests.records_support import add_role_user, get, make, query

DRY = "Dry run: nothing was written."


# ---- helpers ---------------------------------------------------------------------------------------


def everything(http: httpx.Client) -> dict[tuple[str, str], dict]:
    """Every record of the company with its notes, by (type, id), `updatedAt` left out."""
    out = {}
    for entity in ENTITY_TYPES:
        listed = ok(http, "filter_entity", {"entity": entity, "pageSize": 100})["items"]
        for item in listed:
            record = get(http, entity, item["id"], notes=True)
            record.pop("updatedAt")
            out[(entity, item["id"])] = record
    return out


def database(db_path: Path) -> list[str]:
    """The whole database as SQL text: equal dumps = not one byte of data changed.

    API key rows are left out: their `lastUsedAt` is bookkeeping a session flushes, not a tool's write.
    """
    conn = sqlite3.connect(db_path)
    try:
        return [line for line in conn.iterdump() if not line.startswith('INSERT INTO "api_key"')]
    finally:
        conn.close()


def changes(http: httpx.Client, **filters) -> list[dict]:
    return ok(http, "list_changes", {"pageSize": 100, **filters})["items"]


def predicted(items: list[dict]) -> list[dict]:
    """list_changes items (newest first) as a dry run lists them (in the order recorded)."""
    keys = ("event", "entity", "entityId", "entityName", "changes", "undoOf")
    return [{k: i[k] for k in keys} for i in reversed(items)]


@pytest.fixture
def agent(server, tenant: Tenant):
    """The owner's second key, named "agent": the key whose session goes wrong."""
    key = write(server.db_path, acc.create_key, tenant.email, "agent")
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=30) as client:
        yield client


def seed(http: httpx.Client) -> dict[str, str]:
    """What the company holds before the agent starts."""
    (org,) = make(http, "organization", {"name": "Acme"})
    day, night = make(http, "service", {"name": "Day", "amount": 800}, {"name": "Night", "amount": 99.5})
    bob, cara = make(
        http,
        "contact",
        {"firstName": "Bob", "lastName": "Stone", "emails": ["bob@acme.example"], "organizationIds": [org]},
        {"firstName": "Cara", "organizationIds": [org], "notes": "# Cara\nLikes tea."},
    )
    deal, old_deal = make(
        http,
        "deal",
        {
            "name": "Retrofit",
            "contactIds": [bob, cara],
            "services": [{"serviceId": day, "quantity": 2}, {"serviceId": night, "quantity": 1.5}],
        },
        {"name": "Old deal", "organizationIds": [org]},
    )
    (task,) = make(http, "task", {"name": "Call Bob", "dealIds": [deal], "contactIds": [bob]})
    return {"org": org, "day": day, "night": night, "bob": bob, "cara": cara, "deal": deal} | {
        "old_deal": old_deal,
        "task": task,
    }


def session(agent: httpx.Client, s: dict[str, str]) -> None:
    """An agent session that touches all five types: creates, updates, links, notes, quantities, deletes."""
    (globex,) = make(agent, "organization", {"name": "Globex"})
    (audit,) = make(agent, "service", {"name": "Audit", "amount": 500})
    (ann,) = make(
        agent, "contact", {"firstName": "Ann", "emails": ["ann@globex.example"], "organizationIds": [globex]}
    )
    (big,) = make(
        agent,
        "deal",
        {"name": "Big", "contactIds": [ann], "services": [{"serviceId": s["day"], "quantity": 3}]},
    )
    (todo,) = make(agent, "task", {"name": "Send offer", "dealIds": [s["deal"]]})
    ok(
        agent,
        "update_contacts",
        {"contacts": [{"id": s["bob"], "lastName": "Stein", "emails": ["b@stein.example"]}]},
    )
    ok(agent, "update_organizations", {"organizations": [{"id": s["org"], "name": "Acme Ltd"}]})
    ok(agent, "update_services", {"services": [{"id": s["day"], "amount": 950.25}]})
    ok(
        agent,
        "update_deals",
        {
            "deals": [
                {"id": s["deal"], "services": [{"serviceId": s["day"], "quantity": 5}, {"serviceId": audit}]}
            ]
        },
    )
    ok(
        agent,
        "link_entities",
        {"entity": "contact", "sourceId": s["bob"], "relation": "organizations", "ids": [globex]},
    )
    ok(
        agent,
        "unlink_entities",
        {"entity": "deal", "sourceId": s["deal"], "relation": "contacts", "ids": [s["cara"]]},
    )
    ok(agent, "update_entity_notes", {"entity": "task", "items": [{"id": s["task"], "notes": "Wrong notes"}]})
    ok(
        agent,
        "append_entity_notes",
        {"entity": "organization", "items": [{"id": s["org"], "notes": "More."}]},
    )
    ok(agent, "update_tasks", {"tasks": [{"id": s["task"], "name": "Call Bob now", "contactIds": [ann]}]})
    ok(agent, "delete_entities", {"entity": "contact", "ids": [s["cara"]]})
    ok(agent, "delete_entities", {"entity": "service", "ids": [s["night"]]})
    ok(agent, "delete_entities", {"entity": "deal", "ids": [s["old_deal"]]})
    ok(agent, "delete_entities", {"entity": "task", "ids": [todo]})
    ok(agent, "update_deals", {"deals": [{"id": big, "name": "Bigger"}]})


# ---- the whole session, taken back ---------------------------------------------------------------


def test_undoing_a_whole_agent_session_restores_every_record(http, agent, server):
    s = seed(http)
    before = everything(http)
    session(agent, s)
    assert everything(http) != before
    listed = changes(http, apiKeyName="agent")
    assert all(i["undoable"] and i["via"] == {"source": "mcp", "keyName": "agent"} for i in listed)
    assert {i["entity"] for i in listed} == set(ENTITY_TYPES)
    result = ok(http, "undo_changes", {"eventIds": [i["id"] for i in listed]})
    assert result["undone"] == [i["id"] for i in listed]  # newest first
    assert result["message"].startswith(f"Undid {len(listed)} changes on ")
    assert "(restored 1 task, 1 deal, 1 service, 1 contact; deleted 1 task, 1 deal," in result["message"]
    after = everything(http)
    assert after == before  # fields, links, quantities, notes, deal totals, createdAt
    assert after[("deal", s["deal"])]["totalValue"] == 800 * 2 + 99.5 * 1.5
    # Every original now names its undo; the undo's own events name what they took back.
    again = {i["id"]: i for i in changes(http, apiKeyName="agent")}
    assert all(not i["undoable"] and i["undoneBy"] for i in again.values())
    undo_events = [i for i in changes(http) if i["operation"] == "undo_changes"]
    assert undo_events and all(i["undoOf"] in again for i in undo_events)
    # Search rows follow: the restored contact is found again, the agent's organization is not.
    assert ok(http, "count_entity", {"entity": "contact", "searchTerm": "Cara"})["total"] == 1
    assert ok(http, "count_entity", {"entity": "contact", "searchTerm": "Acme"})["total"] == 2
    assert ok(http, "count_entity", {"entity": "organization", "searchTerm": "Globex"})["total"] == 0


def test_the_cli_undoes_a_key_session(http, agent, server):
    s = seed(http)
    before = everything(http)
    session(agent, s)
    count = len(changes(http, apiKeyName="agent"))
    rehearsal = cli(
        "undo",
        "--email",
        "owner@acme.example",
        "--key",
        "agent",
        "--since",
        "1h",
        "--dry-run",
        db=server.db_path,
    )
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert everything(http) != before
    done = cli("undo", "--email", "owner@acme.example", "--key", "agent", "--since", "1h", db=server.db_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == count + 1 and lines == rehearsal.stdout.strip().splitlines()[:-1] + [lines[-1]]
    assert lines[0].split("\t")[1] == "deal.updated" and lines[0].split("\t")[2] == "Bigger"
    assert lines[-1].startswith(f"Undid {count} changes")
    assert everything(http) == before
    nothing = cli(
        "undo", "--email", "owner@acme.example", "--key", "agent", "--since", "1h", db=server.db_path
    )
    assert nothing.returncode == 0 and nothing.stdout.strip() == "No undoable changes in that window."


# ---- conflicts ------------------------------------------------------------------------------------


def test_a_field_changed_again_is_a_conflict_naming_the_later_event(http, server):
    (bob,) = make(http, "contact", {"firstName": "Bob", "lastName": "Stone"})
    ok(http, "update_contacts", {"contacts": [{"id": bob, "lastName": "Stein"}]})
    ok(http, "update_contacts", {"contacts": [{"id": bob, "lastName": "Steen"}]})
    later, first = [i["id"] for i in changes(http, entity="contact", entityId=bob)][:2]
    before = database(server.db_path)
    error = err(http, "undo_changes", {"eventIds": [first]})
    assert error["code"] == "conflict"
    (issue,) = error["issues"]
    assert issue["path"] == "$.eventIds[0]"
    assert f"contact.updated {first}" in issue["message"] and later in issue["message"]
    assert '`lastName` is now "Steen", the event left "Stein"' in issue["message"]
    assert issue["hint"].startswith(f"Undo {later} too")
    assert database(server.db_path) == before  # nothing changed
    done = ok(http, "undo_changes", {"eventIds": [first, later]})
    assert done["undone"] == [later, first]
    assert get(http, "contact", bob)["lastName"] == "Stone"


def test_undoing_a_create_with_later_changes_names_them(http, server):
    (bob,) = make(http, "contact", {"firstName": "Bob"})
    ok(http, "append_entity_notes", {"entity": "contact", "items": [{"id": bob, "notes": "Met."}]})
    noted, created = [i["id"] for i in changes(http, entityId=bob, entity="contact")]
    error = err(http, "undo_changes", {"eventIds": [created]})
    assert error["code"] == "conflict" and noted in error["issues"][0]["message"]
    ok(http, "undo_changes", {"eventIds": [created, noted]})
    assert ok(http, "count_entity", {"entity": "contact"})["total"] == 0


def test_a_link_to_a_record_deleted_since_is_a_conflict_unless_its_delete_is_undone_too(http):
    (org,) = make(http, "organization", {"name": "Acme"})
    (bob,) = make(http, "contact", {"firstName": "Bob", "organizationIds": [org]})
    ok(
        http,
        "unlink_entities",
        {"entity": "contact", "sourceId": bob, "relation": "organizations", "ids": [org]},
    )
    unlinked = changes(http, entity="contact", entityId=bob)[0]["id"]
    ok(http, "delete_entities", {"entity": "organization", "ids": [org]})
    deleted = changes(http, entity="organization", entityId=org)[0]["id"]
    error = err(http, "undo_changes", {"eventIds": [unlinked]})
    assert error["code"] == "conflict" and deleted in error["issues"][0]["message"]
    ok(http, "undo_changes", {"eventIds": [unlinked, deleted]})
    assert [o["id"] for o in get(http, "contact", bob)["organizations"]] == [org]


def test_the_cli_lists_conflicts_and_changes_nothing(http, agent, server):
    (bob,) = make(agent, "contact", {"firstName": "Bob"})
    ok(agent, "update_contacts", {"contacts": [{"id": bob, "lastName": "Agent"}]})
    ok(http, "update_contacts", {"contacts": [{"id": bob, "lastName": "Owner"}]})
    before = database(server.db_path)
    done = cli("undo", "--email", "owner@acme.example", "--key", "agent", "--since", "1h", db=server.db_path)
    assert done.returncode == 1
    conflicts = [line for line in done.stdout.splitlines() if line.startswith("conflict\t")]
    assert len(conflicts) == 2  # the update (lastName changed since) and the create (changed since)
    assert "error:" in done.stderr
    assert database(server.db_path) == before


# ---- a restored delete ----------------------------------------------------------------------------


def test_a_restored_delete_has_its_id_fields_notes_and_links_to_records_that_still_exist(http):
    (org, gone) = make(http, "organization", {"name": "Acme"}, {"name": "Gone Inc"})
    (day,) = make(http, "service", {"name": "Day", "amount": 800})
    (deal,) = make(http, "deal", {"name": "Retrofit", "services": [{"serviceId": day, "quantity": 2.5}]})
    (bob,) = make(
        http,
        "contact",
        {
            "firstName": "Bob",
            "lastName": "Stone",
            "emails": ["bob@acme.example", "b@stone.example"],
            "organizationIds": [org, gone],
            "dealIds": [deal],
            "notes": "# Bob\n\n- likes tea",
        },
    )
    original = get(http, "contact", bob, notes=True)
    ok(http, "delete_entities", {"entity": "contact", "ids": [bob]})
    ok(http, "delete_entities", {"entity": "service", "ids": [day]})
    deleted_bob = changes(http, entity="contact", entityId=bob)[0]
    deleted_day = changes(http, entity="service", entityId=day)[0]
    assert deleted_bob["entityName"] == "Bob Stone"  # from the snapshot: the record is gone
    ok(http, "delete_entities", {"entity": "organization", "ids": [gone]})
    assert get(http, "deal", deal)["totalValue"] == 0
    result = ok(http, "undo_changes", {"eventIds": [deleted_bob["id"], deleted_day["id"]]})
    assert result["items"] == [{"id": day, "name": "Day"}, {"id": bob, "name": "Bob Stone"}]
    restored = get(http, "contact", bob, notes=True)
    assert restored["organizations"] == [{"id": org, "name": "Acme"}]  # not Gone Inc: deleted since
    expected = {**original, "organizations": restored["organizations"], "updatedAt": restored["updatedAt"]}
    assert restored == expected  # same id, createdAt, emails, notes, deal link
    assert get(http, "deal", deal)["totalValue"] == 2000  # the service came back with its quantity
    assert (
        ok(
            http,
            "count_entity",
            {
                "entity": "contact",
                "filters": [{"field": "emails", "operator": "equals", "value": "B@STONE.example"}],
            },
        )["total"]
        == 1
    )
    recorded = changes(http, entity="contact", entityId=bob)[0]
    assert recorded["event"] == "contact.created" and recorded["undoOf"] == deleted_bob["id"]
    assert recorded["operation"] == "undo_changes" and recorded["undoable"]
    assert changes(http, entity="contact", entityId=bob)[1]["undoneBy"] == recorded["id"]
    history = ok(http, "get_entity_history", {"entity": "contact", "id": bob})["items"]
    assert [(h["id"], h["undoneBy"]) for h in history[:2]] == [
        (recorded["id"], None),
        (deleted_bob["id"], recorded["id"]),
    ]
    again = err(http, "undo_changes", {"eventIds": [deleted_bob["id"]]})
    assert (
        again["code"] == "conflict"
        and f"already undone by event {recorded['id']}" in again["issues"][0]["message"]
    )


# ---- dry runs ---------------------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_predicts_the_events_of_the_real_call(http, server):
    (org,) = make(http, "organization", {"name": "Acme"})
    (bob,) = make(http, "contact", {"firstName": "Bob", "organizationIds": [org]})
    ok(http, "update_organizations", {"organizations": [{"id": org, "name": "Acme Ltd"}]})
    ok(http, "delete_entities", {"entity": "contact", "ids": [bob]})
    ids = [i["id"] for i in changes(http)[:3]]  # the delete (2 events) and the rename
    before = database(server.db_path)
    rehearsal = ok(http, "undo_changes", {"eventIds": ids, "dryRun": True})
    assert database(server.db_path) == before
    assert rehearsal["dryRun"] is True and rehearsal["message"].startswith(DRY)
    assert rehearsal["message"].endswith("Undid 3 changes on 2 records (restored 1 contact).")
    real = ok(http, "undo_changes", {"eventIds": ids})
    assert (
        "dryRun" not in real and real["undone"] == rehearsal["undone"] and real["items"] == rehearsal["items"]
    )
    recorded = [i for i in changes(http) if i["operation"] == "undo_changes"]
    assert [c["event"] for c in rehearsal["changes"]] == [
        "contact.created",
        "organization.updated",
        "organization.updated",
    ]
    assert rehearsal["changes"] == predicted(recorded)


def test_a_rehearsal_connection_rolls_every_write_back(http, server, tenant):
    (bob,) = make(http, "contact", {"firstName": "Bob"})
    with httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as real:
        plain = rpc(real, "tools/list").json()["result"]["tools"]
    with httpx.Client(
        base_url=server.url, headers={"x-api-key": tenant.key}, params={"dryrun": "1"}, timeout=30
    ) as rehearsal:
        init = rpc(
            rehearsal,
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        )
        assert "rehearsal" in init.json()["result"]["instructions"]
        assert rpc(rehearsal, "tools/list").json()["result"]["tools"] == plain
        before = database(server.db_path)
        arguments = {"contacts": [{"id": bob, "lastName": "Stone", "emails": ["bob@stone.example"]}]}
        dry = ok(rehearsal, "update_contacts", arguments)
        made = ok(rehearsal, "create_contacts", {"contacts": [{"firstName": "Ann"}]})
        gone = ok(rehearsal, "delete_entities", {"entity": "contact", "ids": [bob]})
        assert database(server.db_path) == before
        assert get(rehearsal, "contact", bob)["lastName"] == ""  # reads see the real data
        assert ok(rehearsal, "count_entity", {"entity": "contact"})["total"] == 1
        error = err(rehearsal, "update_contacts", {"contacts": [{"id": bob, "emails": ["nope"]}]})
        assert error["code"] == "invalid_input"  # a bad write is still refused as it would be
    assert dry["dryRun"] is True and dry["message"] == f"{DRY} The real call would report: Updated 1 contact."
    assert made["changes"][0]["event"] == "contact.created" and made["changes"][0]["entityName"] == "Ann"
    assert gone["changes"] == [
        {
            "event": "contact.deleted",
            "entity": "contact",
            "entityId": bob,
            "entityName": "Bob",
            "changes": None,
            "undoOf": None,
        }
    ]
    ok(http, "update_contacts", arguments)
    assert dry["changes"] == predicted(changes(http)[:1])
    bad = httpx.post(f"{server.url}/api/v1/mcp?dryrun=yes", headers={"x-api-key": tenant.key}, json={})
    assert bad.status_code == 400 and bad.json()["error"]["issues"][0]["path"] == "dryrun"


def test_misspelled_url_options_are_refused_not_ignored(server, tenant):
    """`?dry_run=1` silently ignored would commit what the caller meant to rehearse."""
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "create_organizations", "arguments": {"organizations": [{"name": "Acme"}]}},
    }
    headers = {"x-api-key": tenant.key, "accept": "application/json, text/event-stream"}
    before = database(server.db_path)
    typos = [
        ("dry_run=1", "dryrun"),
        ("Dry-Run=1", "dryrun"),
        ("read_only=1", "readonly"),
        ("toolset=core", "toolsets"),
    ]
    for typo, meant in typos:
        reply = httpx.post(f"{server.url}/api/v1/mcp?{typo}", headers=headers, json=call)
        assert reply.status_code == 400, typo
        error = reply.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["issues"][0]["path"] == typo.split("=")[0]
        assert f"Did you mean {meant}?" in error["issues"][0]["hint"]
    assert database(server.db_path) == before
    # A parameter of some proxy or client, nowhere near ours, is ignored: the call goes through.
    reply = httpx.post(f"{server.url}/api/v1/mcp?utm_source=x&dryrun=1", headers=headers, json=call)
    assert reply.status_code == 200 and reply.json()["result"]["structuredContent"]["dryRun"] is True
    assert database(server.db_path) == before


def test_stdio_dry_run_rolls_writes_back(server, tenant):
    before = database(server.db_path)
    lines = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "create_organizations", "arguments": {"organizations": [{"name": "Acme"}]}},
        },
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUSTOMERMATES_API_KEY": tenant.key}
    done = subprocess.run(
        [sys.executable, "-m", "customermates", "stdio", "--dry-run", "--db", str(server.db_path)],
        input="\n".join(json.dumps(m) for m in lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    answer = json.loads(done.stdout.splitlines()[0])["result"]["structuredContent"]
    assert answer["dryRun"] is True and answer["message"].startswith(DRY)
    assert answer["changes"][0]["event"] == "organization.created"
    assert database(server.db_path) == before


# ---- refused -------------------------------------------------------------------------------------


def test_another_companys_event_is_a_random_id(http, server):
    other = make_tenant(server.db_path, "Other", "o@other.example")
    with httpx.Client(base_url=server.url, headers={"x-api-key": other.key}, timeout=30) as theirs:
        make(theirs, "contact", {"firstName": "Theirs"})
        (event,) = [i["id"] for i in changes(theirs)]
    random = "0190b2a4-1111-7000-8000-000000000000"
    mine = err(http, "undo_changes", {"eventIds": [event]})
    unknown = err(http, "undo_changes", {"eventIds": [random]})
    assert mine["code"] == unknown["code"] == "not_found"
    assert mine["message"].replace(event, "X") == unknown["message"].replace(random, "X")
    assert mine["issues"][0]["path"] == "$.eventIds[0]"
    assert changes(http) == []


def test_a_viewer_and_a_role_without_the_inverse_permission_are_refused(http, server, tenant):
    (bob,) = make(http, "contact", {"firstName": "Bob"})
    (created,) = [i["id"] for i in changes(http)]
    viewer = add_member(server.db_path, tenant, "v@acme.example", "Viewer")
    limited = add_role_user(
        server.db_path,
        tenant,
        "r@acme.example",
        "Auditor",
        ["auditLog.readAll", "contacts.readAll", "contacts.update"],
    )
    before = database(server.db_path)
    with httpx.Client(base_url=server.url, headers={"x-api-key": viewer}, timeout=30) as v:
        for name, arguments in (("list_changes", {}), ("undo_changes", {"eventIds": [created]})):
            error = err(v, name, arguments)
            assert error["code"] == "forbidden" and "auditLog.readAll" in error["message"]
    with httpx.Client(base_url=server.url, headers={"x-api-key": limited}, timeout=30) as r:
        assert [i["id"] for i in changes(r)] == [created]
        error = err(r, "undo_changes", {"eventIds": [created]})
        assert error["code"] == "forbidden" and "contacts.delete" in error["message"]
    assert database(server.db_path) == before


def test_bad_event_ids_are_named_and_nothing_changes(http, server):
    (bob,) = make(http, "contact", {"firstName": "Bob"})
    ok(http, "update_company", {"city": "Berlin"})
    (created,) = [i["id"] for i in changes(http)]
    (company_event,) = [
        r[0] for r in query(server.db_path, "SELECT id FROM audit_log WHERE event = 'company.updated'")
    ]
    before = database(server.db_path)
    cases = [
        ({"eventIds": []}, "invalid_input", "$.eventIds"),
        ({"eventIds": [created, created]}, "invalid_input", "$.eventIds[1]"),
        ({"eventIds": ["not-an-id"]}, "invalid_input", "$.eventIds[0]"),
        ({"eventIds": [created] * 101}, "invalid_input", "$.eventIds"),
        ({"eventIds": [company_event]}, "invalid_input", "$.eventIds[0]"),
    ]
    for arguments, code, path in cases:
        error = err(http, "undo_changes", arguments)
        assert error["code"] == code and error["issues"][0]["path"] == path, (arguments, error)
    error = err(http, "undo_changes", {"eventIds": [company_event]})
    assert "company.updated cannot be undone" in error["issues"][0]["message"]
    assert database(server.db_path) == before
    window = err(http, "list_changes", {"since": "2026-02-01", "until": "2026-01-01"})
    assert window["code"] == "invalid_input" and window["issues"][0]["path"] == "$.since"
    assert err(http, "list_changes", {"since": "yesterday"})["issues"][0]["path"] == "$.since"
    assert err(http, "list_changes", {"entityId": bob})["issues"][0]["path"] == "$.entity"


def test_list_changes_filters_and_rest_routes(http, agent, server, tenant):
    (bob,) = make(http, "contact", {"firstName": "Bob"})
    (ann,) = make(agent, "contact", {"firstName": "Ann"})
    assert [i["entityId"] for i in changes(http)] == [ann, bob]
    assert [i["entityId"] for i in changes(http, apiKeyName="agent")] == [ann]
    assert [i["entityId"] for i in changes(http, entity="contact", entityId=bob)] == [bob]
    assert changes(http, userId=tenant.user_id) and not changes(http, entity="deal")
    assert not changes(http, since="2999-01-01") and len(changes(http, until="2999-01-01")) == 2
    page = ok(http, "list_changes", {"pageSize": 1, "page": 2})
    assert page["total"] == 2 and page["totalPages"] == 2 and page["items"][0]["entityId"] == bob
    listed = http.get("/api/v1/changes", params={"apiKeyName": "agent"})
    assert listed.status_code == 200 and [i["entityId"] for i in listed.json()["items"]] == [ann]
    event = listed.json()["items"][0]["id"]
    dry = http.post("/api/v1/changes/undo", json={"eventIds": [event], "dryRun": True})
    assert dry.status_code == 200 and dry.json()["dryRun"] is True
    done = http.post("/api/v1/changes/undo", json={"eventIds": [event]})
    assert (
        done.status_code == 200
        and done.json()["message"] == "Undid 1 change on 1 record (deleted 1 contact)."
    )
    assert ok(http, "count_entity", {"entity": "contact"})["total"] == 1


# ---- custom values ---------------------------------------------------------------------------------


def column(http: httpx.Client, kind: str, entity: str, label: str, **extra) -> str:
    arguments = {"entityType": entity, "label": label, **extra}
    return ok(http, f"create_{kind}_custom_column", arguments)["item"]["id"]


def test_custom_values_are_set_back_and_restored_with_their_record(http, agent):
    stage = column(http, "plain", "contact", "Stage")
    budget = column(http, "currency", "contact", "Budget", currency="eur")
    old = column(http, "plain", "contact", "Old field")
    values = [{"columnId": stage, "value": "Lead"}, {"columnId": budget, "value": 1500.5}]
    bob, cara = make(
        http,
        "contact",
        {"firstName": "Bob", "customFieldValues": values},
        {
            "firstName": "Cara",
            "notes": "Tea.",
            "customFieldValues": [*values, {"columnId": old, "value": "x"}],
        },
    )
    before = everything(http)
    ok(agent, "update_entity_custom_fields", {"entity": "contact", "items": [{"id": bob, "customFieldValues": [{"columnId": stage, "value": "Won"}, {"columnId": budget, "value": None}]}]})  # fmt: skip
    ok(agent, "update_contacts", {"contacts": [{"id": cara, "customFieldValues": [{"columnId": stage, "value": "Cold"}]}]})  # fmt: skip
    ok(agent, "delete_entities", {"entity": "contact", "ids": [cara]})
    assert everything(http) != before
    result = ok(http, "undo_changes", {"eventIds": [i["id"] for i in changes(http, apiKeyName="agent")]})
    assert everything(http) == before
    # A value of a column deleted since is dropped, and the message names the column.
    ok(http, "delete_entities", {"entity": "contact", "ids": [cara]})
    ok(http, "delete_custom_column", {"id": old})
    deleted = changes(http, entity="contact", entityId=cara)[0]["id"]
    result = ok(http, "undo_changes", {"eventIds": [deleted]})
    assert result["message"].endswith("Dropped values of deleted custom columns: Old field.")
    restored = get(http, "contact", cara, notes=True)
    assert {v["label"]: v["value"] for v in restored["customFieldValues"]} == {
        "Stage": "Lead",
        "Budget": "1500.5",
    }
    assert restored["notes"] == "Tea."


def test_a_value_whose_option_was_removed_since_is_a_conflict_not_a_failure(http, agent):
    made = ok(http, "create_single_select_custom_column", {"entityType": "contact", "label": "Tier", "options": [{"label": "Gold"}, {"label": "Silver"}]})  # fmt: skip
    gold, silver = (o["value"] for o in made["item"]["options"]["options"])
    tier = made["item"]["id"]
    (bob,) = make(
        http, "contact", {"firstName": "Bob", "customFieldValues": [{"columnId": tier, "value": gold}]}
    )
    ok(agent, "update_contacts", {"contacts": [{"id": bob, "customFieldValues": [{"columnId": tier, "value": silver}]}]})  # fmt: skip
    ok(
        http,
        "update_single_select_custom_column",
        {"id": tier, "options": [{"label": "Silver", "value": silver}]},
    )
    (changed,) = [i["id"] for i in changes(http, apiKeyName="agent")]
    error = err(http, "undo_changes", {"eventIds": [changed]})
    assert error["code"] == "conflict", error
    assert (
        "customFieldValues[0].value" in error["issues"][0]["message"]
        and "by hand" in error["issues"][0]["hint"]
    )
    assert {v["label"]: v["value"] for v in get(http, "contact", bob)["customFieldValues"]} == {
        "Tier": silver
    }
