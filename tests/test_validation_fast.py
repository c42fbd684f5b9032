"""The validation fast path is an optimisation only: for any input it accepts, it returns exactly what
the full walk returns, and the walk finds no issue. Inputs come from every tool's own inputSchema, as
the fuzz test generates them (clean ones, and hostile text and junk in places)."""

from __future__ import annotations

import gc
import json

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from customermates import validation
from customermates.catalog import REGISTRY
from tests.test_fuzz_tools import from_schema

TOOLS = json.loads(bytes(REGISTRY.listing_json(None, False)))


def perturbed(value):
    """The same input as a client might send it: ids in capitals, text padded, whole numbers as floats."""
    if isinstance(value, str):
        return st.sampled_from([value, value.upper(), f" {value} "])
    if isinstance(value, bool) or value is None:
        return st.just(value)
    if isinstance(value, int) and abs(value) < 2**53:
        return st.sampled_from([value, float(value)])
    if isinstance(value, list):
        return st.tuples(*map(perturbed, value)).map(list)
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: perturbed(v) for k, v in value.items()})
    return st.just(value)


def info_of(input_type):
    """The type's info as `check` keeps it: the fast path's compiled checkers are keyed by the ids of
    these objects, which must stay alive (a fresh `type_info` could reuse a dead one's id)."""
    return validation._INFO_CACHE.setdefault(input_type, mi.type_info(input_type))


def walked(args, info):
    walk = validation._Walk()
    return walk.value(args, info, "$", {}), walk.issues


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t["name"])
def test_fast_path_returns_what_the_walk_returns(tool):
    input_type = REGISTRY.lookup(tool["name"]).input
    info = info_of(input_type)
    fast = validation._fast(info, {})

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(from_schema(tool["inputSchema"]).flatmap(perturbed))
    def agrees(args):
        try:
            quick = fast(args, 0)
        except validation._Slow:
            return
        clean, issues = walked(args, info)
        assert issues == [], args
        assert msgspec.json.encode(quick) == msgspec.json.encode(clean), args

    agrees()


def test_the_fast_path_is_taken_for_clean_inputs():
    """Else the comparison above compares nothing: most tools get inputs the fast path takes."""
    taken = []
    for tool in TOOLS:
        fast = validation._fast(info_of(REGISTRY.lookup(tool["name"]).input), {})

        def takes(args, fast=fast):
            try:
                fast(args, 0)
            except validation._Slow:
                return False
            return True

        try:
            find(
                from_schema(tool["inputSchema"]),
                takes,
                settings=settings(max_examples=300, database=None, derandomize=True),
            )
        except NoSuchExample:
            continue
        taken.append(tool["name"])
    assert len(taken) >= 55 and "create_contacts" in taken and "get_entities" in taken, taken


def test_inputs_left_to_the_walk_leave_nothing_behind():
    """A filter's free-form value always takes the walk; thousands of such calls keep no frames alive."""
    input_type = REGISTRY.lookup("filter_entity").input
    rule = {"field": "organizationIds", "operator": "in", "value": ["0194a0a0-0000-7000-8000-000000000001"]}
    args = {"entity": "contact", "filters": [rule]}
    validation.check(args, input_type)
    gc.collect()
    before = sum(type(o).__name__ == "frame" for o in gc.get_objects())
    for _ in range(2000):
        validation.check(args, input_type)
    gc.collect()
    assert sum(type(o).__name__ == "frame" for o in gc.get_objects()) - before < 50
