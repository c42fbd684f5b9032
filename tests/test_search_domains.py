"""Tokens starting with '@' read the email-domain index (schemas/0014_contact_email_domains.sql) and find
exactly what the search index's own phrase match finds, in the same relevance order, on every path
that changes a contact's addresses or name (docs/query-language.md, "Search")."""

from __future__ import annotations

import pytest

from customermates.crm.search import read_terms
from customermates.store import connect
from customermates.store import migrations as mig
from tests.conftest import ok
from tests.crm_seed import Crm, open_crm
from tests.records_support import make
from tests.test_search import RANKINGS, _rank_by, _tier

# name -> addresses. Mixed case, two addresses in one domain, addresses beyond ASCII (their folding is
# the search index's own: the Kelvin sign and ß), names holding '@'.
PEOPLE = {
    "Ada Lovelace": ["Ada@ACME.example", "ada@acme.example.org"],
    "Bob Acme": ["bob@acme-labs.example"],
    "Cy Ng": ["cy@beta.example"],
    "Di @acme": ["di@gamma.example"],
    "Ed Stone": ["ed@\u212acme.example"],  # KELVIN SIGN, not a K
    "Flo Gross": ["flo@stra\u00dfe.example"],
    "Kai M\u00fcller": ["m\u00fcller@acme.example"],  # beyond ASCII before the '@' only
    "Gil @Acme.example": [],
    "Hal Acme": [],
    "Ida Park": ["ida.acme@park.example"],
    "Jo Web": ["jo@acm.example", "jo2@ac.example"],
}
TERMS = [
    "@acme", "@ACME", "@acme.", "@acme.example", "@acme-", "@acm", "@ac", "@ACME.EXAMPLE.ORG", "@kcme",
    "@stra\u00dfe", "@beta", "@nowhere", "@acme ada", "@acme lo", "@acme @acme.example", "@acme hal",
    "a@acme", "@acme@", "acme", "@gamma di",
]  # fmt: skip


def _seed(crm: Crm) -> dict[str, str]:
    ids = {}
    for name, emails in PEOPLE.items():
        ids[name] = crm.add("contact", name, emails=emails)
    return ids


def _phrase_matches(crm: Crm, term: str) -> set[str]:
    """The reference: the contacts whose search row holds every token, by FTS5 alone."""
    tokens = term.split()
    long = [t for t in tokens if len(t) >= 3]
    short = [t for t in tokens if len(t) < 3]
    seqs = None
    for table, group in (("contact_trigram", long), ("contact_words", short)):
        if group:
            pattern = " AND ".join(
                '"' + t.replace('"', '""') + '"' + ("*" if len(t) < 3 else "") for t in group
            )
            found = {r[0] & ((1 << 40) - 1) for r in crm.conn.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (pattern,))}  # fmt: skip
            seqs = found if seqs is None else seqs & found
    rows = crm.conn.execute("SELECT seq, id FROM contact WHERE company_id = ?", (crm.company_id,))
    return {ident for seq, ident in rows if seq in (seqs or set())}


@pytest.mark.parametrize("ranking", list(RANKINGS))
def test_domain_tokens_find_what_the_phrase_finds(crm, monkeypatch, ranking):
    _rank_by(monkeypatch, ranking)
    ids = _seed(crm)
    other = crm.company("Globex", "owner@globex.example")
    other.add("contact", "Ada Lovelace", emails=["ada@acme.example"])  # another company's: never found
    names = {ident: name for name, ident in ids.items()}
    for term in TERMS:
        expected = _phrase_matches(crm, term)
        terms = read_terms(term)
        ranked = sorted(
            expected,
            key=lambda i: (_tier(names[i], list(terms.tokens), terms.phrase), names[i].casefold(), i),
        )
        out = crm.call("filter_entity", {"entity": "contact", "searchTerm": term, "pageSize": 100})
        assert [i["id"] for i in out["items"]] == ranked, term
        assert out["total"] == len(expected), term
        count = crm.call("count_entity", {"entity": "contact", "searchTerm": term})
        assert count["total"] == len(expected), term
        by_name = {
            "entity": "contact",
            "searchTerm": term,
            "sortDescriptor": {"field": "name", "direction": "desc"},
        }
        out = crm.call("filter_entity", by_name)  # not by relevance: the matches lead the page query
        assert {i["id"] for i in out["items"]} == expected and out["total"] == len(expected), term


def test_domain_tokens_hand_checked(crm):
    _seed(crm)
    # Names holding the token rank first (tier 2 here), then the rest by name.
    assert crm.names({"searchTerm": "@acme"}) == [
        "Di @acme",
        "Gil @Acme.example",
        "Ada Lovelace",
        "Bob Acme",
        "Kai M\u00fcller",
    ]
    assert crm.names({"searchTerm": "@ACME.example"}) == [
        "Gil @Acme.example",
        "Ada Lovelace",
        "Kai M\u00fcller",
    ]
    assert crm.names({"searchTerm": "@acme.example.org"}) == ["Ada Lovelace"]
    assert crm.names({"searchTerm": "@acm"}) == [
        "Di @acme",
        "Gil @Acme.example",
        "Ada Lovelace",
        "Bob Acme",
        "Jo Web",
        "Kai M\u00fcller",
    ]
    assert crm.names({"searchTerm": "@kcme"}) == ["Ed Stone"]  # K (U+212A) folds to k in the index
    assert crm.names({"searchTerm": "@stra\u00dfe"}) == ["Flo Gross"]
    assert crm.names({"searchTerm": "@acme ada"}) == ["Ada Lovelace"]
    assert crm.names({"searchTerm": "@acme @gamma"}) == ["Di @acme"]
    past = crm.call("filter_entity", {"entity": "contact", "searchTerm": "@beta", "pageSize": 1, "page": 2})
    assert past["items"] == [] and past["total"] == 1  # a page past the last match still counts them
    page = crm.call("filter_entity", {"entity": "contact", "searchTerm": "@acm", "pageSize": 2, "page": 2})
    assert [i["name"] for i in page["items"]] == ["Ada Lovelace", "Bob Acme"] and page["total"] == 6


def _domains(conn) -> set[tuple]:
    return {tuple(r) for r in conn.execute("SELECT num, domain, seq FROM contact_domain")}


def test_every_write_path_keeps_the_domain_index(http):
    ada, bob = make(
        http,
        "contact",
        {"firstName": "Ada", "lastName": "Lovelace", "emails": ["ada@acme.example"]},
        {"firstName": "Bob", "lastName": "Stone", "emails": ["bob@beta.example", "b@acme.example"]},
    )

    def hits(term: str) -> list[str]:
        return sorted(
            i["id"] for i in ok(http, "filter_entity", {"entity": "contact", "searchTerm": term})["items"]
        )

    def undo_last() -> None:
        (event,) = ok(http, "list_changes", {"pageSize": 1})["items"]
        ok(http, "undo_changes", {"eventIds": [event["id"]]})

    assert hits("@acme") == sorted([ada, bob]) and hits("@beta") == [bob]
    ok(http, "update_contacts", {"contacts": [{"id": bob, "emails": ["bob@gamma.example"]}]})
    assert hits("@acme") == [ada] and hits("@beta") == [] and hits("@gamma") == [bob]
    undo_last()
    assert hits("@acme") == sorted([ada, bob]) and hits("@gamma") == []
    ok(http, "update_contacts", {"contacts": [{"id": ada, "lastName": "@gamma fan"}]})
    assert hits("@gamma") == [ada]  # through its name
    ok(http, "update_contacts", {"contacts": [{"id": ada, "lastName": "Lovelace"}]})
    assert hits("@gamma") == []
    ok(http, "delete_entities", {"entity": "contact", "ids": [bob]})
    assert hits("@acme") == [ada] and hits("@beta") == []
    undo_last()
    assert hits("@acme") == sorted([ada, bob]) and hits("@beta") == [bob]


def test_the_index_holds_exactly_each_contacts_rows(crm):
    ids = _seed(crm)
    ok_rows = _domains(crm.conn)
    num = crm.conn.execute(
        "SELECT num FROM search_company WHERE company_id = ?", (crm.company_id,)
    ).fetchone()[0]
    seq = {i: s for s, i in crm.conn.execute("SELECT seq, id FROM contact")}
    expected = {
        (num, "acme.example", seq[ids["Ada Lovelace"]]),
        (num, "acme.example.org", seq[ids["Ada Lovelace"]]),
        (num, "acme-labs.example", seq[ids["Bob Acme"]]),
        (num, "beta.example", seq[ids["Cy Ng"]]),
        (num, "gamma.example", seq[ids["Di @acme"]]),
        (num, "", seq[ids["Di @acme"]]),  # its name holds '@'
        (num, "", seq[ids["Ed Stone"]]),  # a domain beyond ASCII: checked against the search row
        (num, "", seq[ids["Flo Gross"]]),
        (num, "", seq[ids["Gil @Acme.example"]]),
        (num, "park.example", seq[ids["Ida Park"]]),
        (num, "acme.example", seq[ids["Kai M\u00fcller"]]),
        (num, "acm.example", seq[ids["Jo Web"]]),
        (num, "ac.example", seq[ids["Jo Web"]]),
    }
    assert ok_rows == expected
    crm.conn.execute("UPDATE contact SET emails = '[]', first_name = 'Di', last_name = 'X' WHERE id = ?",
                     (ids["Di @acme"],))  # fmt: skip
    crm.conn.execute("DELETE FROM contact WHERE id IN (?, ?)", (ids["Ada Lovelace"], ids["Ed Stone"]))
    gone = {r for r in expected if r[2] in {seq[ids[n]] for n in ("Di @acme", "Ada Lovelace", "Ed Stone")}}
    assert _domains(crm.conn) == expected - gone


def test_0014_fills_the_index_of_an_older_file(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 14]
    monkeypatch.setattr(mig, "available", lambda: older)
    crm = open_crm(path)  # a database at 0013
    ids = _seed(crm)
    assert (
        crm.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'contact_domain'").fetchone()[0]
        == 0
    )
    crm.conn.close()
    monkeypatch.undo()

    conn = connect(path)
    assert mig.migrate(conn)[:1] == [14]  # and any later migration
    conn.close()
    upgraded = connect(path)
    seq = dict(upgraded.execute("SELECT id, seq FROM contact"))
    rows = _domains(upgraded)
    assert len(rows) == 13
    assert {(d, s) for _, d, s in rows} >= {
        ("acme.example", seq[ids["Ada Lovelace"]]),
        ("", seq[ids["Ed Stone"]]),
    }
    upgraded.close()
