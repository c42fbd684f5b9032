"""Totals without filters come from the per-company live counts (docs/query-language.md, "Totals")."""

from __future__ import annotations

from customermates.auth import authenticate
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store import migrations as mig
from tests import crm_seed
from tests.crm_seed import Crm, open_crm


def totals(crm: Crm, entity: str) -> tuple[int, int]:
    listed = crm.call("filter_entity", {"entity": entity, "pageSize": 1})["total"]
    counted = crm.call("count_entity", {"entity": entity})["total"]
    return listed, counted


def test_creates_and_deletes_keep_each_company_total_exact(crm):
    other = crm.company("Globex", "owner@globex.example")
    made = crm.call("create_contacts", {"contacts": [{"firstName": f"Ada {i}"} for i in range(5)]})
    ids = [item["id"] for item in made["items"]]
    other.call("create_contacts", {"contacts": [{"firstName": "Bob"}]})
    other.call("create_organizations", {"organizations": [{"name": "Initech"}, {"name": "Hooli"}]})
    assert totals(crm, "contact") == (5, 5)
    assert totals(other, "contact") == (1, 1) and totals(other, "organization") == (2, 2)
    crm.call("delete_entities", {"entity": "contact", "ids": ids[:2]})
    assert totals(crm, "contact") == (3, 3)
    assert totals(crm, "organization") == (0, 0) and totals(crm, "deal") == (0, 0)
    assert totals(other, "contact") == (1, 1)


def test_a_failed_batch_changes_no_total(crm):
    crm.call("create_contacts", {"contacts": [{"firstName": "Ada"}]})
    crm.fail("create_contacts", {"contacts": [{"firstName": "Bo"}, {"firstName": "Cy", "emails": ["x"]}]})
    assert totals(crm, "contact") == (1, 1)


def test_the_migration_counts_records_written_before_it(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 9]
    monkeypatch.setattr(mig, "available", lambda: older)
    # Search rows of that release had another layout (tests/test_search_migration.py); not needed here.
    monkeypatch.setattr(crm_seed, "refresh_search", lambda *args, **kwargs: None)
    crm = open_crm(path)  # a database of the release before the counts
    other = crm.company("Globex", "owner@globex.example")
    for i in range(4):
        crm.add("contact", f"Ada {i}")
    crm.add("deal", "Renewal")
    other.add("contact", "Bob")
    assert (
        crm.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'record_count'").fetchone()[0] == 0
    )
    crm.conn.close()
    monkeypatch.undo()

    conn = connect(path)
    assert 9 in mig.migrate(conn)
    conn.close()
    upgraded = connect(path)
    crm = Crm(upgraded, *_owner(upgraded, "owner@acme.example"))
    assert totals(crm, "contact") == (4, 4) and totals(crm, "deal") == (1, 1)
    crm.add("contact", "Cy")  # counted from now on by the triggers
    assert totals(crm, "contact") == (5, 5)
    other = Crm(upgraded, *_owner(upgraded, "owner@globex.example"))
    assert totals(other, "contact") == (1, 1) and totals(other, "task") == (0, 0)


def _owner(conn, email: str):
    row = conn.execute("SELECT company_id FROM app_user WHERE email = ?", (email,)).fetchone()
    key = acc.create_key(conn, email, "upgrade-test")
    return row[0], authenticate(conn, key)
