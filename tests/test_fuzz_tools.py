"""Hostile input by hypothesis: every tool's arguments generated from its own inputSchema, then mutated,
sent over MCP (HTTP and stdio) and REST: never `internal`, a refusal always names a path with a hint,
and every door returns the same Error object for the same arguments."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customermates.catalog import REGISTRY
from customermates.registry import TOOLSETS
from tests.conftest import make_tenant, running_server
from tests.test_stdio import INIT, Process

EXAMPLES = 25  # per tool; the tool list is ~50, so ~1,250 calls per door
TOOLS = json.loads(bytes(REGISTRY.listing_json(None, False)))
ALL = ",".join(TOOLSETS)
TRIED: Counter[str] = Counter()
REFUSED: Counter[str] = Counter()  # cases whose Error objects were compared across the doors
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\u200b",
        "a\x00b",
        "x" * 5000,
        "２０２６-０１-０１",
        "0194a0a0-0000-7000-8000-000000000001\n",
        '"><script>',
        "a..b@c.de",
        "null",
        "me",
        "-1",
        "1e999",
        "💥" * 50,
    ]
)
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | HOSTILE_TEXT
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def from_schema(schema: dict) -> st.SearchStrategy[Any]:
    """Values the schema allows (roughly: bounds and formats are only hinted at), or junk in places."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "uuid":
        return st.uuids().map(str) | HOSTILE_TEXT
    options = []
    if "anyOf" in schema:
        options += [from_schema(s) for s in schema["anyOf"]]
    if "object" in kinds or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        options.append(
            st.fixed_dictionaries(
                {k: from_schema(v) for k, v in props.items() if k in required},
                optional={k: from_schema(v) for k, v in props.items() if k not in required},
            )
        )
    if "array" in kinds:
        items = schema.get("items", {})
        options.append(
            st.lists(from_schema(items) if items else JUNK, max_size=min(3, schema.get("maxItems", 3)))
        )
    if "string" in kinds:
        options.append(st.text(max_size=30) | HOSTILE_TEXT)
    if "integer" in kinds:
        options.append(st.integers(-5, 10**6))
    if "number" in kinds:
        options.append(st.floats(-1e16, 1e16, allow_nan=False, allow_infinity=False))
    if "boolean" in kinds:
        options.append(st.booleans())
    if "null" in kinds:
        options.append(st.none())
    return st.one_of(options) if options else JUNK


def mutated(schema: dict) -> st.SearchStrategy[Any]:
    """The schema's values, sometimes with one subtree or key replaced by junk."""
    valid = from_schema(schema)
    return st.one_of(
        valid,
        st.tuples(valid, st.text(max_size=12), JUNK).map(
            lambda t: {**t[0], t[1]: t[2]} if isinstance(t[0], dict) else t[2]
        ),
        JUNK,
    )


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "crm.db"
    tenant = make_tenant(db)
    proc = Process(db, tenant.key, "--toolsets", ALL)
    proc.send(INIT)
    proc.receive()
    with (
        running_server(db) as srv,
        httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}, timeout=30) as http,
    ):
        yield http, proc
    proc.proc.kill()
    proc.proc.wait()
    print(
        f"\nfuzz: {sum(TRIED.values())} cases per door (MCP over HTTP, stdio, REST) over {len(TRIED)} tools"
    )


def check_error(text: str, where: str) -> dict:
    error = json.loads(text)["error"]
    assert error["code"] != "internal", (where, error)
    if error["code"] == "invalid_input":
        assert error["issues"], (where, error)
        for issue in error["issues"]:
            assert issue["path"].startswith(("$", "query.", "path.")) and issue["hint"], (where, issue)
    return error


@pytest.mark.parametrize("tool", TOOLS, ids=[t["name"] for t in TOOLS])
def test_every_door_refuses_the_same_way(doors, tool):
    http, proc = doors
    name = tool["name"]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated(tool["inputSchema"]))
    def one(arguments):
        TRIED[name] += 1
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }
        over_http = http.post(f"/api/v1/mcp?toolsets={ALL}", json=body).json()["result"]
        proc.send(body)
        over_stdio = proc.receive()["result"]
        rest = http.post(
            f"/api/v1/tools/{name}", json=arguments if isinstance(arguments, dict) else arguments
        )
        if not over_http["isError"]:
            return  # it wrote or read something: the next door's answer may rightly differ
        text = over_http["content"][0]["text"]
        check_error(text, "mcp")
        REFUSED[name] += 1
        if over_stdio["isError"]:
            assert over_stdio["content"][0]["text"] == text
        if rest.status_code >= 400:
            error = check_error(rest.text, "rest")
            if isinstance(arguments, dict) and error["code"] != "not_found":
                assert rest.json() == json.loads(text)

    one()
