"""Migration 0010 on a database of the release before it: search rows rebuilt from each record's own
fields, derived names found through the links (docs/query-language.md, "Search")."""

from __future__ import annotations

import json
import sqlite3

from customermates.auth import authenticate
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store import migrations as mig
from tests import crm_seed
from tests.crm_seed import Crm, open_crm

# What the release before wrote: one `body` per record, linked names embedded.
_OLD_BODY = {
    "contact": "e.first_name || ' ' || e.last_name || char(10) || coalesce((SELECT group_concat(value,"
    " char(10)) FROM json_each(e.emails)), '') || char(10) || coalesce((SELECT group_concat(o.name, char(10))"
    " FROM link_contact_organization l JOIN organization o ON o.id = l.right_id WHERE l.left_id = e.id), '')",
    "organization": "e.name || char(10) || coalesce((SELECT group_concat(c.first_name || ' ' || c.last_name,"
    " char(10)) FROM link_contact_organization l JOIN contact c ON c.id = l.left_id WHERE l.right_id = e.id), '')",
}


def _old_refresh(conn: sqlite3.Connection, entity: str, ids, new: bool = False) -> None:
    for kind in ("trigram", "words"):
        conn.execute(f"DELETE FROM {entity}_{kind} WHERE rowid IN (SELECT seq FROM {entity} WHERE id IN"
                     " (SELECT value FROM json_each(?)))", (json.dumps(list(ids)),))  # fmt: skip
        conn.execute(
            f"INSERT INTO {entity}_{kind}(rowid, body) SELECT e.seq, {_OLD_BODY.get(entity, 'e.name')}"
            f" FROM {entity} e WHERE e.id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )


def test_the_migration_rebuilds_search_rows_from_own_fields(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 10]
    monkeypatch.setattr(mig, "available", lambda: older)
    monkeypatch.setattr(crm_seed, "refresh_search", _old_refresh)
    crm = open_crm(path)  # a database at 0009
    engines = crm.add("organization", "Analytical Engines")
    crm.add("contact", "Ada Lovelace", emails=["countess@byron.example"])
    ada = crm.conn.execute("SELECT id FROM contact").fetchone()[0]
    crm.conn.execute("INSERT INTO link_contact_organization VALUES (?, ?)", (ada, engines))
    _old_refresh(crm.conn, "contact", [ada])
    _old_refresh(crm.conn, "organization", [engines])
    crm.add("deal", "Renewal")
    crm.add("task", "Call back")
    crm.add("service", "Support")
    assert "Analytical" in crm.conn.execute("SELECT body FROM contact_trigram").fetchone()[0]
    crm.conn.close()
    monkeypatch.undo()

    conn = connect(path)
    assert mig.migrate(conn)[0] == 10
    conn.close()
    upgraded = connect(path)
    company = upgraded.execute(
        "SELECT company_id FROM app_user WHERE email = 'owner@acme.example'"
    ).fetchone()[0]
    crm = Crm(upgraded, company, authenticate(upgraded, acc.create_key(upgraded, "owner@acme.example", "up")))
    rows = [tuple(r) for r in upgraded.execute("SELECT * FROM contact_trigram")]
    assert rows == [("countess@byron.example", "Ada Lovelace")]
    assert [tuple(r) for r in upgraded.execute("SELECT * FROM organization_words")] == [
        ("Analytical Engines",)
    ]
    for entity in ("contact", "organization", "deal", "service", "task"):
        for kind in ("trigram", "words"):
            table = f"{entity}_{kind}"
            upgraded.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")  # raises if corrupt
    assert crm.names({"searchTerm": "analytical"}) == ["Ada Lovelace"]  # through the link
    assert crm.names({"searchTerm": "an lovelace"}) == ["Ada Lovelace"]
    assert crm.names({"searchTerm": "@byron"}) == ["Ada Lovelace"]
    assert crm.names({"entity": "organization", "searchTerm": "lovelace"}) == ["Analytical Engines"]
    assert crm.names({"entity": "organization", "searchTerm": "byron"}) == []  # emails stay the contact's
    for entity, term, name in (
        ("deal", "renew", "Renewal"),
        ("task", "ca", "Call back"),
        ("service", "port", "Support"),
    ):
        assert crm.names({"entity": entity, "searchTerm": term}) == [name]


def _seq_keyed_refresh(conn: sqlite3.Connection, entity: str, ids, new: bool = False) -> None:
    """What releases 0010-0011 wrote: rowid = the record's seq."""
    from customermates.crm.model import SEARCH_COLUMNS

    columns = SEARCH_COLUMNS[entity]
    for kind in ("trigram", "words"):
        conn.execute(
            f"INSERT INTO {entity}_{kind}(rowid, {', '.join(columns)}) SELECT e.seq, {', '.join(columns.values())}"
            f" FROM {entity} e WHERE e.id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )


def test_0012_keys_search_rows_by_company(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 12]
    monkeypatch.setattr(mig, "available", lambda: older)
    monkeypatch.setattr(crm_seed, "refresh_search", _seq_keyed_refresh)
    crm = open_crm(path)  # a database at 0011
    other = crm.company("Globex", "owner@globex.example")
    engines = crm.add("organization", "Analytical Engines")
    crm.add("contact", "Ada Lovelace", emails=["ada@engines.example"], organizationIds=[engines])
    other.add("contact", "Ada Lovelace", emails=["ada@engines.example"])
    other.add("deal", "Renewal")
    assert [r[0] for r in crm.conn.execute("SELECT rowid FROM contact_trigram ORDER BY 1")] == [1, 2]
    crm.conn.close()
    monkeypatch.undo()

    conn = connect(path)
    assert 12 in mig.migrate(conn)
    conn.close()
    upgraded = connect(path)
    first, second = (r[0] for r in upgraded.execute("SELECT num FROM search_company ORDER BY num"))
    assert [r[0] for r in upgraded.execute("SELECT rowid FROM contact_trigram ORDER BY 1")] == [
        first << 40 | 1,
        second << 40 | 2,
    ]
    assert [r[0] for r in upgraded.execute("SELECT rowid FROM deal_words")] == [second << 40 | 1]
    for owner, company in (
        ("owner@acme.example", crm.company_id),
        ("owner@globex.example", other.company_id),
    ):
        crm = Crm(upgraded, company, authenticate(upgraded, acc.create_key(upgraded, owner, "up")))
        assert crm.names({"searchTerm": "@engines"}) == ["Ada Lovelace"]
        assert crm.call("count_entity", {"entity": "contact", "searchTerm": "ada"})["total"] == 1
    assert crm.names({"entity": "deal", "searchTerm": "renew"}) == ["Renewal"]  # Globex's
    newer = crm.company("Initech", "owner@initech.example")  # a company made after: the next number
    newer.add("contact", "Ada Lovelace")
    assert newer.names({"searchTerm": "lovelace"}) == ["Ada Lovelace"]
    assert upgraded.execute("SELECT max(num) FROM search_company").fetchone()[0] == second + 1
