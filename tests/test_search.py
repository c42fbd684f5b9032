"""Search (docs/query-language.md): tokens, FTS matching, literal user text, relevance order, and a brute-force
comparison against a plain-Python reading of the rules."""

from __future__ import annotations

import random
import re

import pytest

from customermates.crm.search import match_sql, read_terms
from tests.conftest import ok
from tests.crm_seed import Crm, open_crm
from tests.records_support import make


@pytest.fixture
def crm(tmp_path) -> Crm:
    crm = open_crm(tmp_path / "crm.db")
    yield crm
    crm.conn.close()


def found(crm: Crm, term: str, entity: str = "contact") -> list[str]:
    return crm.names({"entity": entity, "searchTerm": term})


def test_terms_split_drop_and_dedupe():
    terms = read_terms("  Ada  ada -- ADA lo\u00a0ve ")
    assert terms.tokens == ("Ada", "lo", "ve") and terms.phrase == "ada ada -- ada lo ve"
    assert read_terms("-- ** ()").tokens == ()
    sql, params = match_sql("contact", read_terms('ab "x" c*d AND'))
    assert params == ['"""x""" AND "c*d" AND "AND"', '"ab"*']
    assert "INTERSECT" in sql


def test_every_token_must_match_in_any_order(crm):
    crm.add("contact", "Ada Lovelace")
    crm.add("contact", "Ada Byron")
    for term in ("ada love", "love ada", "LOVELACE", "velac", "  ada   lovelace  "):
        assert found(crm, term) == ["Ada Lovelace"], term
    assert found(crm, "ada xyz") == []
    assert found(crm, "ada") == ["Ada Byron", "Ada Lovelace"]
    assert found(crm, "") == found(crm, "   ") == ["Ada Byron", "Ada Lovelace"]


def test_short_tokens_match_word_starts(crm):
    for name in ("Alice Stone", "Mary Allen", "Sally Fields", "Al Bundy"):
        crm.add("contact", name)
    assert found(crm, "Al") == ["Al Bundy", "Alice Stone", "Mary Allen"]
    assert found(crm, "al ma") == ["Mary Allen"]
    assert found(crm, "a") == ["Al Bundy", "Alice Stone", "Mary Allen"]


def test_contacts_are_found_by_emails_and_linked_organizations(crm):
    acme = crm.add("organization", "Analytical Engines")
    crm.add("contact", "Ada Lovelace", organizationIds=[acme], emails=["countess@byron.example"])
    crm.add("contact", "Charles Babbage", emails=["cb@engines.example"])
    assert found(crm, "analytical") == ["Ada Lovelace"]
    assert found(crm, "engines") == ["Ada Lovelace", "Charles Babbage"]
    assert found(crm, "@byron") == ["Ada Lovelace"]
    assert found(crm, "lovelace", "organization") == ["Analytical Engines"]


def test_user_text_is_literal(crm):
    crm.add("organization", 'Smith-Jones (UK): "Best" AND *co* NEAR ^x +1')
    crm.add("organization", "Plain")
    for term in (
        '"Best"',
        "(UK):",
        "*co*",
        "AND",
        "NEAR",
        "^x",
        "+1",
        "Smith-Jones",
        '"',
        "*",
        "(",
        "-",
        ":",
        "OR",
    ):
        assert crm.call("filter_entity", {"entity": "organization", "searchTerm": term})  # never fails
    assert found(crm, '"Best"', "organization") == ['Smith-Jones (UK): "Best" AND *co* NEAR ^x +1']
    assert found(crm, "*co* (uk):", "organization") == ['Smith-Jones (UK): "Best" AND *co* NEAR ^x +1']
    assert found(crm, "best OR plain", "organization") == []
    assert found(crm, '"', "organization") == ["Plain", 'Smith-Jones (UK): "Best" AND *co* NEAR ^x +1']


def test_relevance_tiers(crm):
    for name in ("Big Acme", "Acme Holdings", "Acme", "Zeta"):
        crm.add("organization", name)
    crm.add("contact", "Ann Acme", organizationIds=[])
    zeta = crm.conn.execute("SELECT id FROM organization WHERE name = 'Zeta'").fetchone()[0]
    crm.add("contact", "Acme Fan", organizationIds=[zeta])  # makes Zeta findable through a contact name
    assert found(crm, "Acme", "organization") == ["Acme", "Acme Holdings", "Big Acme", "Zeta"]
    assert found(crm, "acme", "contact") == ["Acme Fan", "Ann Acme"]
    sorted_by_name = crm.names(
        {"entity": "organization", "searchTerm": "acme", "sortDescriptor": {"field": "name"}}
    )
    assert sorted_by_name == ["Acme", "Acme Holdings", "Big Acme", "Zeta"]
    desc = crm.names(
        {
            "entity": "organization",
            "searchTerm": "acme",
            "sortDescriptor": {"field": "name", "direction": "desc"},
        }
    )
    assert desc == ["Zeta", "Big Acme", "Acme Holdings", "Acme"]
    echoed = crm.names(
        {"entity": "organization", "searchTerm": "acme", "sortDescriptor": {"field": "relevance"}}
    )
    assert echoed == ["Acme", "Acme Holdings", "Big Acme", "Zeta"]


def test_case_folds_but_accents_count(crm):
    crm.add("contact", "Émile Zola")
    crm.add("contact", "Emile Berliner")
    assert found(crm, "émile") == ["Émile Zola"]
    assert found(crm, "ÉMILE") == ["Émile Zola"]
    assert found(crm, "emile") == ["Emile Berliner"]
    assert found(crm, "é") == ["Émile Zola"]


def test_too_many_words_is_an_error(crm):
    error = crm.fail(
        "filter_entity", {"entity": "contact", "searchTerm": " ".join(f"w{i}" for i in range(11))}
    )
    assert error.issues[0].path == "$.searchTerm" and "10" in error.issues[0].message
    assert (
        crm.call("filter_entity", {"entity": "contact", "searchTerm": " ".join(["same"] * 11)})["total"] == 0
    )


def test_renamed_organization_is_found_by_its_new_name_only(http):
    org = make(http, "organization", {"name": "Oldname Industries"})[0]
    ada = make(http, "contact", {"firstName": "Ada", "lastName": "Lovelace", "organizationIds": [org]})[0]

    def contacts(term: str) -> list[str]:
        return [
            i["id"] for i in ok(http, "filter_entity", {"entity": "contact", "searchTerm": term})["items"]
        ]

    assert contacts("oldname") == [ada]
    ok(http, "update_organizations", {"organizations": [{"id": org, "name": "Newname Holdings"}]})
    assert contacts("newname") == [ada]
    assert contacts("oldname") == []
    hits = ok(http, "search_all_entities", {"searchTerm": "newname", "limitPerEntity": 1})
    assert [(r["entity"], r["total"]) for r in hits["results"][:2]] == [("contact", 1), ("organization", 1)]
    assert hits["results"][1]["items"] == [{"id": org, "name": "Newname Holdings"}]


# ---- brute force: the engine against a plain reading of the search rules -----------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def _matches(token: str, fields: list[str]) -> bool:
    token = token.casefold()
    if len(token) >= 3:
        return any(token in f.casefold() for f in fields)
    return any(w.startswith(token) for f in fields for w in _WORD.findall(f.casefold()))


def _tier(name: str, tokens: list[str], phrase: str) -> int:
    key = name.casefold()
    if key == phrase:
        return 0
    if key.startswith(phrase):
        return 1
    return 2 if all(_matches(t, [name]) for t in tokens) else 3


def _random_word(rng: random.Random) -> str:
    return "".join(rng.choice("abcéABÉ1") for _ in range(rng.randint(1, 6)))


def test_search_agrees_with_a_python_reference(crm):
    rng = random.Random(20260105)
    orgs = {
        crm.add("organization", n): n for n in {f"{_random_word(rng)} {_random_word(rng)}" for _ in range(8)}
    }
    people = {}
    for _ in range(60):
        first, last = _random_word(rng), _random_word(rng)
        emails = (
            [f"{_random_word(rng).lower()}@{rng.choice(['x', 'yz'])}.example"] if rng.random() < 0.7 else []
        )
        linked = rng.sample(list(orgs), rng.choice((0, 1, 1, 2)))
        ident = crm.add("contact", f"{first} {last}", emails=emails, organizationIds=linked)
        people[ident] = (f"{first} {last}", [first, last, *emails, *(orgs[o] for o in linked)])
    texts = [f for _, fields in people.values() for f in fields]
    for _ in range(150):
        tokens = []
        for _ in range(rng.randint(1, 3)):
            source = rng.choice(texts)
            start = rng.randrange(len(source))
            piece = source[start : start + rng.randint(1, 4)].strip(" @.")
            tokens.append(piece if piece and _WORD.fullmatch(piece[:2]) else _random_word(rng))
        term = " ".join(tokens)
        terms = read_terms(term)
        expected = [
            (_tier(name, list(terms.tokens), terms.phrase), name.casefold(), ident)
            for ident, (name, fields) in people.items()
            if all(_matches(t, fields) for t in terms.tokens)
        ]
        out = crm.call("filter_entity", {"entity": "contact", "searchTerm": term, "pageSize": 100})
        assert [i["id"] for i in out["items"]] == [e[2] for e in sorted(expected)], term
        assert out["total"] == len(expected)
