"""Tenant isolation, generated from the registry: every id slot of every tool, given another company's
id, answers byte for byte what a random id gets, and nothing of the other company changes."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from typing import Any

import msgspec
import pytest

from customermates.catalog import REGISTRY
from customermates.errors import ToolError
from tests.crm_seed import Crm, open_crm

ENTITIES = ("contact", "organization", "deal", "service", "task")
PLURALS = {f"{e}s": e for e in ENTITIES}
SKIPPED_SLOTS = {"value"}  # a select option id: checked against the column's own options first
RELATION = {
    "contact": "organizations",
    "organization": "contacts",
    "deal": "contacts",
    "service": "deals",
    "task": "contacts",
}  # custom columns are another company's only once columns exist


def listing() -> list[dict]:
    return json.loads(bytes(REGISTRY.listing_json(None, False)))


def id_slots(schema: dict, path: tuple = ()) -> list[tuple]:
    """Paths (property names and [] for an array item) of every uuid-formatted string."""
    found = []
    if schema.get("format") == "uuid":
        found.append(path)
    for key, sub in schema.get("properties", {}).items():
        found += id_slots(sub, (*path, key))
    if isinstance(schema.get("items"), dict):
        found += id_slots(schema["items"], (*path, "[]"))
    for sub in schema.get("anyOf", []):
        found += id_slots(sub, path)
    return found


def minimal(schema: dict, slot: tuple, value: str) -> Any:
    """The smallest instance of `schema` with `value` at `slot` (required fields get plain values)."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not slot and schema.get("format") == "uuid":
        return value
    if "enum" in schema:
        return schema["enum"][0]
    if "object" in kinds or "properties" in schema:
        out = {}
        for key, sub in schema.get("properties", {}).items():
            if slot and slot[0] == key:
                out[key] = minimal(sub, slot[1:], value)
            elif key in schema.get("required", []) or (
                key in ("notes", "label", "name", "description") and slot
            ):
                out[key] = minimal(sub, (), value)  # an update needs one field besides its id
        return out
    if "array" in kinds:
        return [minimal(schema.get("items", {}), slot[1:] if slot else (), value)]
    if "anyOf" in schema:
        member = (
            next((m for m in schema["anyOf"] if id_slots(m)), schema["anyOf"][0])
            if slot
            else schema["anyOf"][0]
        )
        return minimal(member, slot, value)
    if "string" in kinds:
        return "Sweep"
    if "integer" in kinds or "number" in kinds:
        return max(1, schema.get("minimum", 1))
    if "boolean" in kinds:
        return False
    return None


def kind_of(tool: str, slot: tuple, args: dict) -> str | None:
    """Which record kind the slot names: from its field name, else the entity the call is about."""
    name = next(s for s in reversed(slot) if s != "[]")
    for stem in (*ENTITIES, "user"):
        if name in (f"{stem}Ids", f"{stem}Id"):
            return stem
    if name in SKIPPED_SLOTS:
        return None
    if tool.endswith("_custom_column"):  # update_<type>_custom_column: a column of that type
        kind = tool.removeprefix("update_").removesuffix("_custom_column")
        return "column:plain" if tool == "delete_custom_column" else f"column:{kind}"
    if name in ("columnId", "groupByCustomColumnId"):
        return "column:plain"
    if tool.endswith(("_widget", "_widgets")):
        return "widget"
    if "webhook" in tool:
        return "webhook"
    if name == "ids" and isinstance(args.get("relation"), str):  # link_entities: the related kind
        return args["relation"].removesuffix("s")
    parent: Any = args
    for step in slot[:-1]:
        parent = parent[0] if step == "[]" else parent[step]
    for holder in (parent, args):  # an item's own `entity`, else the call's
        if isinstance(holder, dict) and isinstance(holder.get("entity"), str):
            return holder["entity"]
    plural = next((p for p in PLURALS if tool.endswith("_" + p)), None)
    return PLURALS.get(plural or "", "contact")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    crm = open_crm(tmp_path_factory.mktemp("sweep") / "crm.db")
    other = crm.company("Globex", "owner@globex.example")
    ids = {"user": other.admin.user_id}
    schemas = {t["name"]: t["inputSchema"] for t in listing()}
    for entity in ENTITIES:
        made = other.call(f"create_{entity}s", minimal(schemas[f"create_{entity}s"], (), ""))
        ids[entity] = made["items"][0]["id"]
    widget = minimal(schemas["create_widget"], (), "") | {"groupByType": "none"}
    ids["widget"] = _id_of(other.call("create_widget", widget))
    hook = minimal(schemas["create_webhook"], (), "") | {
        "url": "https://hooks.example/in",
        "events": ["contact.created"],
    }
    ids["webhook"] = _id_of(other.call("create_webhook", hook))
    for tool, schema in schemas.items():  # one custom column of every type
        if tool.startswith("create_") and tool.endswith("_custom_column"):
            made = other.call(tool, minimal(schema, (), "") | {"label": tool})
            ids["column:" + tool.removeprefix("create_").removesuffix("_custom_column")] = _id_of(made)
    yield crm, other, ids
    crm.conn.close()


def _id_of(made: dict) -> str:
    return (
        made["id"]
        if "id" in made
        else next(v["id"] for v in made.values() if isinstance(v, dict) and "id" in v)
    )


def snapshot(conn: sqlite3.Connection, company_id: str) -> list:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows = []
    for table in tables:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if "company_id" in columns:
            rows += [
                (table, *r)
                for r in conn.execute(f"SELECT * FROM {table} WHERE company_id = ?", (company_id,))
            ]
    return sorted(rows, key=repr)


def outcome(crm: Crm, tool: str, args: dict) -> bytes:
    try:
        return msgspec.json.encode(crm.call(tool, args))
    except ToolError as refused:
        return refused.to_json()


CASES = []
for tool in listing():
    for slot in id_slots(tool["inputSchema"]):
        for entity in ENTITIES if "entity" in tool["inputSchema"].get("properties", {}) else (None,):
            CASES.append(
                pytest.param(tool["name"], slot, entity, id=f"{tool['name']}:{'.'.join(slot)}:{entity}")
            )


@pytest.mark.parametrize(("name", "slot", "entity"), CASES)
def test_another_companys_id_is_a_random_id(world, name, slot, entity):
    crm, other, ids = world
    schema = next(t["inputSchema"] for t in listing() if t["name"] == name)
    extra = {"entity": entity} if entity else {}
    if entity and "relation" in schema["properties"]:
        extra["relation"] = RELATION[entity]
    if slot[-1] == "groupByCustomColumnId":  # a widget grouped by a column names the column
        extra["groupByType"] = "customColumn"
    elif "groupByType" in schema["properties"]:
        extra["groupByType"] = "none"
    probe = minimal(schema, slot, "") | extra
    kind = kind_of(name, slot, probe)
    if kind is None:
        pytest.skip(f"{slot[-1]}: no such record kind yet")
    theirs, random_id = ids[kind], str(uuid.uuid4())

    def args(value: str) -> dict:
        return minimal(schema, slot, value) | extra

    before = snapshot(crm.conn, other.company_id)
    with_theirs = outcome(crm, name, args(theirs))
    with_random = outcome(crm, name, args(random_id))
    assert with_theirs.replace(theirs.encode(), random_id.encode()) == with_random
    assert theirs.encode() not in with_random and b"Globex" not in with_theirs
    assert snapshot(crm.conn, other.company_id) == before
    error = json.loads(with_random).get("error", {})
    if error.get("code") == "invalid_input":  # an unknown column is refused where its values are
        assert all(re.search("customFieldValues|CustomColumn", i["path"]) for i in error["issues"]), error


def test_every_tool_that_takes_ids_is_swept():
    swept = {c.values[0] for c in CASES}
    assert len(swept) >= 29, sorted(swept)
    print(f"\n{len(swept)} tools swept over {len(CASES)} id slots")
