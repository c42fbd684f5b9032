"""The one "did you mean" matcher: field names, query parameters, operators and tool names."""

from __future__ import annotations

import time

import pytest

from customermates.nearest import closest, distance
from customermates.registry import CATALOG, suggest


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [("", "", 0), ("name", "nmae", 1), ("ab", "ba", 1), ("kitten", "sitting", 3), ("abc", "", 3)],
)
def test_distance(a, b, edits):
    assert distance(a, b) == edits


@pytest.mark.parametrize(
    ("word", "choices", "found"),
    [
        ("first_name", ["lastName", "firstName"], ["firstName"]),  # case, `_` and `-` do not count
        ("nmae", ["email", "name"], ["name"]),
        ("pagesize", ["searchTerm", "page", "pageSize"], ["pageSize"]),
        ("sie", ["size", "site"], ["size"]),
        ("sxyz", ["size"], []),  # 3 edits of 4 letters is too far
        ("zzzzzz", ["name", "email"], []),
    ],
)
def test_closest_finds_near_spellings_only(word, choices, found):
    assert closest(word, choices) == found


def test_closest_keeps_the_choices_order_on_ties():
    assert closest("cat", ["bat", "hat", "cap"], n=3) == ["bat", "hat", "cap"]


@pytest.mark.parametrize(
    ("name", "picks"),
    [
        ("create_contact", ["create_contacts"]),
        ("delete_contacts", ["delete_entities", "create_contacts"]),
        ("getCompany", ["get_company"]),
        ("read_deal", ["get_entities"]),
        ("add_note", ["append_entity_notes", "update_entity_notes"]),
    ],
)
def test_tool_suggestions_start_with_the_expected_names(name, picks):
    found = suggest(name, CATALOG)
    assert len(found) == 3 and len(set(found)) == 3
    assert found[: len(picks)] == [p for p in picks if p in CATALOG][: len(picks)]


def test_a_huge_name_is_ranked_quickly():
    started = time.monotonic()
    assert len(suggest("x" * 1_000_000, CATALOG)) == 3
    assert time.monotonic() - started < 5
