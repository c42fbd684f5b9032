"""MCP prompts and resources: the setup prompt, and the caller company's data model as JSON."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from customermates.auth import Principal
from customermates.crm.loading import RECORD_TYPES
from customermates.crm.model import ENTITY_TYPES, PLURAL, RELATIONS
from customermates.onboarding import SETUP_PROMPT
from customermates.permissions import ACTIONS

PROMPT = {
    "name": "setup",
    "title": "Set up the CRM assistant",
    "description": "The first message to paste: how to use this CRM's tools safely.",
}
SETUP_URI, SCHEMA_URI = "customermates://setup-prompt", "customermates://schema"
RESOURCES = [
    {
        "uri": SETUP_URI,
        "name": "setup-prompt",
        "title": "Setup prompt",
        "description": "How to use this CRM's tools safely; the same text as the prompt 'setup'.",
        "mimeType": "text/markdown",
    },
    {
        "uri": SCHEMA_URI,
        "name": "schema",
        "title": "Your company's data model",
        "description": "Entity types with their fields, relations, custom columns and your permissions.",
        "mimeType": "application/json",
    },
]
LINKING = (
    "Relations are many-to-many. Add or remove links with link_entities / unlink_entities; a relation "
    "array on update_* replaces every link and null is refused. Custom values are written by column id."
)


class UnknownName(LookupError):
    """A prompt or resource that does not exist; the message says what does."""


def prompt_messages(name: Any) -> dict[str, Any]:
    if name != PROMPT["name"]:
        # Only a string is echoed: the repr of a hostile nested value could itself fail.
        shown = repr(name[:100]) if isinstance(name, str) else "(params.name must be a string)"
        raise UnknownName(f"Unknown prompt {shown}; prompts/list has 'setup'.")
    message = {"role": "user", "content": {"type": "text", "text": SETUP_PROMPT}}
    return {"description": PROMPT["description"], "messages": [message]}


async def read(uri: Any, principal: Principal, db, registry) -> dict[str, Any]:
    """The `resources/read` result for `uri`; raises UnknownName for anything not listed."""
    if uri == SETUP_URI:
        text = SETUP_PROMPT
    elif uri == SCHEMA_URI:
        text = msgspec.json.encode(await _schema(principal, db, registry)).decode()
    else:
        shown = repr(uri[:200]) if isinstance(uri, str) else "(params.uri must be a string)"
        listed = " and ".join(r["uri"] for r in RESOURCES)
        raise UnknownName(f"Unknown resource {shown}; resources/list has {listed}.")
    mime = next(r["mimeType"] for r in RESOURCES if r["uri"] == uri)
    return {"contents": [{"uri": uri, "mimeType": mime, "text": text}]}


async def _schema(principal: Principal, db, registry) -> dict[str, Any]:
    """One hop: the custom columns as list_custom_columns returns them (none until that tool exists),
    and the schema built from them in the same transaction."""
    if "list_custom_columns" in registry.tools:

        def build(call, output) -> dict[str, Any]:
            return company_schema(call.conn, call.principal, msgspec.to_builtins(output)["items"])

        outcome = await registry.invoke(db, "list_custom_columns", {}, principal, finish=build)
        if not outcome.is_error:
            return outcome.extra
    return await db.read(company_schema, principal, [])


def company_schema(conn: sqlite3.Connection, principal: Principal, columns: list[dict[str, Any]]) -> dict:
    """Entity types as this caller sees them: fields, relations, custom columns, permitted actions."""
    name, currency = conn.execute(
        "SELECT name, currency FROM company WHERE id = ?", (principal.company_id,)
    ).fetchone()
    entities = []
    for entity in ENTITY_TYPES:
        relations = RELATIONS[entity]
        linked = {r.name for r in relations} | {"customFieldValues"}
        fields = [f.encode_name for f in msgspec.structs.fields(RECORD_TYPES[entity])]
        entities.append(
            {
                "type": entity,
                "fields": [f for f in fields if f not in linked],
                "relations": [{"name": r.name, "type": r.other} for r in relations],
                "customColumns": [
                    {k: c.get(k) for k in ("id", "label", "type", "updateTool")}
                    for c in columns
                    if c.get("entityType") == entity
                ],
                "yourPermissions": [a for a in ACTIONS if principal.can(f"{PLURAL[entity]}.{a}")],
            }
        )
    return {
        "company": {"id": principal.company_id, "name": name, "currency": currency},
        "you": {"userId": principal.user_id, "role": principal.role_name, "readOnlyKey": principal.read_only},
        "entities": entities,
        "linking": LINKING,
    }
