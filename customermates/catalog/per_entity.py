"""create_<plural> / update_<plural> for the five entities, declared from one table."""

from __future__ import annotations

from customermates.crm import writes
from customermates.crm.inputs import CREATE_INPUTS, UPDATE_INPUTS, Mutation
from customermates.crm.model import ENTITY_TYPES, PLURAL
from customermates.registry import Tool, needs

# Per entity: (create_<plural> description, update_<plural> first line, what only update adds).
ABOUT = {
    "contact": ("Add people (contacts).", "Change people (contacts).", " `emails` replaces the list too."),
    "organization": (
        "Add organizations: customer companies, not the caller's own.",
        "Change organizations (customers).",
        "",
    ),
    "deal": (
        "Add deals (sales opportunities); a deal's value comes from its services × quantity.",
        "Change deals.",
        " `services` carries the quantities too; to add one service use link_entities (quantity 1).",
    ),
    "service": (
        "Add services (products with a unit price in the company currency). New deal links get quantity 1.",
        "Change services.",
        " A new amount recomputes its deals' values; new deal links get quantity 1.",
    ),
    "task": (
        "Add tasks (to-dos); assignees are `userIds`, due dates and status live in custom columns.",
        "Change tasks.",
        "",
    ),
}
REPLACE = (
    " Send `id` and only the fields to change. A relation array REPLACES the links you can see (others"
    " stay); to add or remove some, use link_entities / unlink_entities. Never send null: omit a field to"
    " keep it; [] removes all links."
)


def _update_description(entity: str) -> str:
    _, update, extra = ABOUT[entity]
    return f"{update}{REPLACE}{extra}"


def _tools(entity: str) -> list[Tool]:
    plural = PLURAL[entity]

    def create(call, args):
        return writes.create(call, entity, getattr(args, plural))

    def update(call, args):
        return writes.update(call, entity, getattr(args, plural))

    return [
        Tool(
            f"create_{plural}",
            f"Create {plural}",
            ABOUT[entity][0],
            CREATE_INPUTS[entity],
            Mutation,
            create,
            "core",
            needs(f"{plural}.create"),
        ),
        Tool(
            f"update_{plural}",
            f"Update {plural}",
            _update_description(entity),
            UPDATE_INPUTS[entity],
            Mutation,
            update,
            "core",
            needs(f"{plural}.update"),
            idempotent=True,
        ),
    ]


TOOLS = [tool for entity in ENTITY_TYPES for tool in _tools(entity)]
