"""Search (docs/query-language.md): tokens, FTS matching, literal user text, relevance order, and a brute-force
comparison against a plain-Python reading of the rules."""

from __future__ import annotations

import random
import re

import pytest

from customermates.crm.search import match_sql, read_terms
from tests.conftest import ok
from tests.crm_seed import Crm
from tests.records_support import make


def found(crm: Crm, term: str, entity: str = "contact") -> list[str]:
    return crm.names({"entity": entity, "searchTerm": term})


def test_terms_split_drop_and_dedupe():
    terms = read_terms("  Ada  ada -- ADA lo\u00a0ve ")
    assert terms.tokens == ("Ada", "lo", "ve") and terms.phrase == "ada ada -- ada lo ve"
    assert read_terms("-- ** ()").tokens == ()
    sql, params = match_sql("contact", read_terms('ab "x" c*d AND'))
    assert params == ['"ab"*', '"""x""" AND "c*d" AND "AND"']


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


@pytest.mark.parametrize("probe_max", [0, 500])  # the rest streamed against the short word's list / probed
def test_a_long_word_inside_another_word_beside_a_short_one(crm, monkeypatch, probe_max):
    monkeypatch.setattr("customermates.crm.search.PROBE_MAX", probe_max)
    people = {
        "Jan M\u00fcller": [],  # both at word starts
        "Jan Schm\u00fcller": [],  # "m\u00fclle" inside a word
        "Jasper Km\u00fcllerova": [],
        "Anna Schm\u00fcller": ["jakob@x.example"],  # "ja" starts a word of an address
        "Ute Jagd": ["m\u00fclleimer@x.example"],
        "Jo M\u00fcller": [],  # no word starting with "ja"
        "Raja Schm\u00fcller": [],  # "ja" inside a word only
    }
    for name, emails in people.items():
        crm.add("contact", name, emails=emails)
        crm.company(f"Other {name}", f"{len(emails)}{len(name)}@other.example").add(
            "contact", name, emails=emails
        )
    expected = [
        "Jan M\u00fcller",
        "Jan Schm\u00fcller",
        "Jasper Km\u00fcllerova",
        "Anna Schm\u00fcller",
        "Ute Jagd",
    ]
    assert found(crm, "Ja M\u00fclle") == expected  # names holding both first, then by name
    assert crm.call("count_entity", {"entity": "contact", "searchTerm": "ja m\u00fclle"})["total"] == 5
    by_name = crm.names(
        {"searchTerm": "ja m\u00fclle", "sortDescriptor": {"field": "name", "direction": "asc"}}
    )
    assert by_name == sorted(expected)
    assert found(crm, "ja m\u00fclle ute") == ["Ute Jagd"]
    assert found(crm, "m\u00fclle j s") == ["Jan Schm\u00fcller", "Anna Schm\u00fcller"]


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


# How crm/queries.py ranks many matches, each way forced: every match looked up (no walk); the name
# index walked to the end; a walk too short to prove the page (then the lookup decides); the sample of
# named matches choosing.
RANKINGS = {
    "looked up": {"WALK_GAIN": 0},
    "walked": {"WALK_GAIN": 10**9, "WALK_MAX": 10**9, "_named_share": lambda *args: 1.0},
    "walk cut short": {"WALK_GAIN": 10**9, "WALK_MAX": 7, "_named_share": lambda *args: 1.0},
    "sampled": {"WALK_GAIN": 10**9},
}


def _rank_by(monkeypatch, ranking: str) -> None:
    for name, value in RANKINGS[ranking].items():
        monkeypatch.setattr(f"customermates.crm.queries.{name}", value)


@pytest.mark.parametrize("ranking", list(RANKINGS))
def test_search_agrees_with_a_python_reference(crm, monkeypatch, ranking):
    _rank_by(monkeypatch, ranking)
    rng = random.Random(20260105)
    orgs = {
        crm.add("organization", n): n for n in {f"{_random_word(rng)} {_random_word(rng)}" for _ in range(8)}
    }
    records = {"contact": {}, "organization": {o: (n, [n]) for o, n in orgs.items()}}
    for _ in range(60):
        first, last = _random_word(rng), _random_word(rng)
        emails = (
            [f"{_random_word(rng).lower()}@{rng.choice(['x', 'yz'])}.example"] if rng.random() < 0.7 else []
        )
        linked = rng.sample(list(orgs), rng.choice((0, 1, 1, 2)))
        ident = crm.add("contact", f"{first} {last}", emails=emails, organizationIds=linked)
        records["contact"][ident] = (f"{first} {last}", [first, last, *emails, *(orgs[o] for o in linked)])
        for org in linked:  # an organization is found by its contacts' first and last names
            records["organization"][org][1].extend((first, last))
    texts = [f for _, fields in records["contact"].values() for f in fields]
    for n in range(300):
        entity = ("contact", "organization")[n % 2]
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
            for ident, (name, fields) in records[entity].items()
            if all(_matches(t, fields) for t in terms.tokens)
        ]
        out = crm.call("filter_entity", {"entity": entity, "searchTerm": term, "pageSize": 100})
        assert [i["id"] for i in out["items"]] == [e[2] for e in sorted(expected)], (entity, term)
        assert out["total"] == len(expected)
        page = crm.call("filter_entity", {"entity": entity, "searchTerm": term, "pageSize": 3, "page": 2})
        assert [i["id"] for i in page["items"]] == [e[2] for e in sorted(expected)[3:6]], (entity, term)
        assert page["total"] == len(expected)


# ---- names of linked records: matched through the link table, kept current by every write ------------------------


def test_tokens_split_across_own_and_linked_fields(crm):
    engines = crm.add("organization", "Analytical Engines")
    mills = crm.add("organization", "Lovelace Mills")
    crm.add("contact", "Ada Lovelace", organizationIds=[engines])
    crm.add("contact", "Ada Byron", organizationIds=[mills])
    crm.add("contact", "Charles Babbage", organizationIds=[engines, mills])
    crm.add("contact", "Analytical Ada")  # every token in its own name, no link
    assert found(crm, "ada analytical") == ["Analytical Ada", "Ada Lovelace"]
    assert found(crm, "an lovelace") == ["Ada Lovelace", "Charles Babbage"]  # "an" only through Analytical
    assert found(crm, "ada lovelace") == ["Ada Lovelace", "Ada Byron"]  # Byron: "lovelace" via Mills
    assert found(crm, "mills engines") == ["Charles Babbage"]  # each token through a different link
    assert found(crm, "mills engines ada") == []
    assert found(crm, "lovelace", "organization") == ["Lovelace Mills", "Analytical Engines"]
    assert found(crm, "engines babbage", "organization") == ["Analytical Engines"]
    assert found(crm, "charles ada", "organization") == ["Analytical Engines", "Lovelace Mills"]
    assert found(crm, "byron lovelace", "organization") == ["Lovelace Mills"]  # own name + a contact's


def test_many_tokens_through_linked_names(crm):
    # Five tokens each reaching a linked name: past the per-subset plan, per token own UNION linked.
    org = crm.add("organization", "Alpha Beta Gamma Delta Epsilon")
    crm.add("contact", "Zed Alphaman", organizationIds=[org])
    crm.add("contact", "Yan Other")
    crm.add("contact", "Beta Gamma", organizationIds=[crm.add("organization", "Alpha Delta Epsilon")])
    assert found(crm, "alpha beta gamma delta epsilon") == ["Beta Gamma", "Zed Alphaman"]
    assert found(crm, "alpha beta gamma delta epsilon zed") == ["Zed Alphaman"]
    assert found(crm, "al be ga de ep") == ["Beta Gamma", "Zed Alphaman"]
    assert found(crm, "alpha beta gamma delta epsilon yan") == []


def test_linked_names_follow_rename_link_unlink_delete_and_undo(http):
    (org,) = make(http, "organization", {"name": "Analytical Engines"})
    (ada,) = make(http, "contact", {"firstName": "Ada", "lastName": "Lovelace", "emails": ["ada@x.example"]})

    def hits(entity: str, term: str) -> list[str]:
        return [i["id"] for i in ok(http, "filter_entity", {"entity": entity, "searchTerm": term})["items"]]

    def undo_last(count: int) -> None:
        events = ok(http, "list_changes", {"pageSize": count})["items"]
        ok(http, "undo_changes", {"eventIds": [e["id"] for e in events]})

    def linked(contact_term: str, org_term: str) -> bool:
        contact, organization = hits("contact", contact_term), hits("organization", org_term)
        assert (contact, organization) in (([ada], [org]), ([], [])), (contact_term, org_term)
        return contact == [ada]

    assert not linked("analytical", "lovelace")
    link = {"entity": "contact", "sourceId": ada, "relation": "organizations", "ids": [org]}
    ok(http, "link_entities", link)
    assert linked("analytical", "lovelace") and linked("lovelace engines", "ada engines")
    assert hits("organization", "ada@x") == []  # a contact's emails stay its own
    ok(http, "update_organizations", {"organizations": [{"id": org, "name": "Difference Engines"}]})
    assert linked("difference", "ada") and not linked("analytical", "zzz-none")
    ok(http, "update_contacts", {"contacts": [{"id": ada, "lastName": "Byron"}]})
    assert linked("byron difference", "byron") and not linked("lovelace difference", "lovelace")
    undo_last(1)  # the contact's rename
    assert linked("lovelace difference", "lovelace") and not linked("byron", "byron")
    ok(http, "unlink_entities", link)
    assert not linked("difference", "lovelace")
    undo_last(2)  # the unlink: one event per end
    assert linked("difference", "lovelace")
    ok(http, "delete_entities", {"entity": "organization", "ids": [org]})
    assert hits("contact", "difference") == [] and hits("contact", "lovelace") == [ada]
    undo_last(2)  # the delete and the contact's lost link
    assert linked("difference", "lovelace")
    ok(http, "delete_entities", {"entity": "contact", "ids": [ada]})
    assert hits("organization", "lovelace") == [] and hits("organization", "difference") == [org]


# ---- each company's search rows are one rowid range (schemas/0012_search_company_keys.sql) --------------------------


@pytest.mark.parametrize("ranking", list(RANKINGS))
def test_a_company_finds_and_counts_only_its_own_records(crm, monkeypatch, ranking):
    _rank_by(monkeypatch, ranking)
    other = crm.company("Globex", "owner@globex.example")
    engines = crm.add("organization", "Analytical Engines")
    crm.add("contact", "Ada Lovelace", emails=["ada@engines.example"], organizationIds=[engines])
    crm.add("contact", "Lovelace Ada")
    far = other.add("organization", "Analytical Engines")
    for name in ("Ada Lovelace", "Ada Lovelace", "Ada Byron"):
        other.add("contact", name, emails=["ada@engines.example"], organizationIds=[far])
    assert found(crm, "lovelace") == ["Lovelace Ada", "Ada Lovelace"]  # a name starting with it first
    assert found(other, "lovelace") == ["Ada Lovelace", "Ada Lovelace"]
    assert found(crm, "analytical") == ["Ada Lovelace"]  # through its own company's organization only
    assert found(other, "ada analytical") == ["Ada Byron", "Ada Lovelace", "Ada Lovelace"]
    assert found(crm, "lovelace", "organization") == ["Analytical Engines"]
    assert crm.call("count_entity", {"entity": "contact", "searchTerm": "@engines"})["total"] == 1
    assert other.call("count_entity", {"entity": "contact", "searchTerm": "@engines"})["total"] == 3
    assert other.call("count_entity", {"entity": "contact", "searchTerm": "ad lo"})["total"] == 2
