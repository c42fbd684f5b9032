"""The cheap TOON path writes exactly what `toon_format.encode` writes, for any value."""

from __future__ import annotations

import math

import pytest
import toon_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customermates import toon

# Characters that change quoting, escaping or structure, mixed with ordinary text.
TRICKY = st.sampled_from(
    [
        "", " ", "\t", "\n", "\r", "\x01", "-", "#", ":", ",", "|", '"', "\\", "[", "]", "{", "}",
        "true", "false", "null", "0", "05", "1.5", "-3", "+1", "1e5", "é", "ß", "\ufeff", "\u2028",
        "1-2", "5e", "1.5e+3", "+-1", "Ada", "a.b", "_k", "0195e267-7d60-757d-a799-ddfc94d91793", "2026-01-15T12:00:00.000Z",
    ]
)  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(TRICKY, st.text(max_size=3)), max_size=4).map("".join),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e21, 1e-7, 2.0**60, 1.5, 123456789.125]),
)
PRIMITIVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)


def _uniform(children):
    """Lists of objects sharing keys (tabular and keyed forms), sometimes with one odd member."""
    keys = st.lists(TEXT, min_size=1, max_size=4, unique=True)

    def build(draw_keys):
        row = st.fixed_dictionaries({k: st.one_of(PRIMITIVES, children) for k in draw_keys})
        return st.lists(row, min_size=1, max_size=4)

    return keys.flatmap(build)


def _keyed(children):
    return _uniform(children).map(lambda rows: {f"k{i}": r for i, r in enumerate(rows)})


VALUES = st.recursive(
    PRIMITIVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(TEXT, children, max_size=5),
        _uniform(children),
        _keyed(children),
    ),
    max_leaves=40,
)


def _same(value) -> None:
    try:
        expected = toon_format.encode(value)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            toon.encode(value)
        return
    assert toon.encode(value) == expected


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_matches_the_library_over_generated_values(value):
    _same(value)


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.one_of(PRIMITIVES, st.tuples(PRIMITIVES)), lambda c: st.dictionaries(
    st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats()), c, max_size=4), max_leaves=10))  # fmt: skip
def test_values_outside_the_json_model_are_left_to_the_library(value):
    _same(value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "\ud800"},  # unpaired surrogate: the library's ValueError
        {"\udfff": 1},
        [math.nan, math.inf],
        ("a", 1),
        {"items": [{"id": "x", "tags": ("p", "q")}]},
        {1: "a", "1": "b"},  # keys collide once converted: the library's ValueError
    ],
)
def test_edge_values_behave_as_the_library(value):
    _same(value)


def test_a_record_reads_as_the_library_writes_it():
    record = {
        "items": [
            {
                "entity": "contact",
                "id": "0195e267-7d60-757d-a799-ddfc94d91793",
                "record": {
                    "firstName": "Ada",
                    "emails": ["ada@example.com"],
                    "organizations": [{"id": "o1", "name": "Acme, Inc."}, {"id": "o2", "name": "-"}],
                    "customFieldValues": [],
                    "createdAt": "2026-01-15T12:00:00.000Z",
                },
            }
        ],
        "notFound": [],
        "message": "Fetched 1 record.",
    }
    text = toon.encode(record)
    assert text == toon_format.encode(record)
    assert '      organizations[2]{id,name}:\n        o1,"Acme, Inc."\n        o2,"-"' in text


# get_entities results: the shapes the fast paths (one-object arrays, repeated strings) are built for.
REF = st.fixed_dictionaries({"id": TEXT, "name": st.one_of(TEXT, st.none(), NUMBERS)})
CUSTOM_VALUE = st.fixed_dictionaries(
    {"columnId": TEXT, "label": TEXT, "type": TEXT, "value": TEXT},
    optional={"optionLabel": TEXT},
)
RECORD = st.fixed_dictionaries(
    {
        "id": TEXT,
        "firstName": PRIMITIVES,
        "emails": st.lists(TEXT, max_size=3),
        "organizations": st.lists(REF, max_size=3),
        "deals": st.lists(st.one_of(REF, st.fixed_dictionaries({"id": TEXT, "nested": REF})), max_size=2),
        "customFieldValues": st.lists(CUSTOM_VALUE, max_size=3),
        "createdAt": TEXT,
    },
    optional={"notes": st.one_of(TEXT, st.none()), "extra": st.dictionaries(TEXT, PRIMITIVES, max_size=2)},
)
FOUND = st.fixed_dictionaries({"entity": TEXT, "id": TEXT, "record": RECORD})
RESULT = st.fixed_dictionaries(
    {"items": st.lists(FOUND, min_size=1, max_size=3), "notFound": st.lists(REF, max_size=2), "message": TEXT}
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RESULT)
def test_get_entities_results_match_the_library(value):
    _same(value)
    _same(value)  # again: now from the memos of strings, keys and field lists
