"""create_<plural> / update_<plural> for the five entity types: ten declarations sharing two builders."""

from __future__ import annotations

from typing import Any

from customermates.call import Call
from customermates.catalog.entity_routes import create_routes, update_routes
from customermates.crm import writes
from customermates.crm.inputs import CREATE_INPUTS, UPDATE_INPUTS, Mutation
from customermates.crm.model import PLURAL
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


def _create(name: str, title: str, entity: str) -> Tool:
    """The declaration every create_<plural> shares; the name and title are the caller's."""
    plural = PLURAL[entity]

    def handler(call: Call, args: Any) -> Mutation:
        return writes.create(call, entity, getattr(args, plural))

    return Tool(
        name,
        title,
        ABOUT[entity][0],
        CREATE_INPUTS[entity],
        Mutation,
        handler,
        "core",
        needs(f"{plural}.create"),
        rest=create_routes(entity),
    )


def _update(name: str, title: str, entity: str) -> Tool:
    """The declaration every update_<plural> shares; the name and title are the caller's."""
    plural = PLURAL[entity]

    def handler(call: Call, args: Any) -> Mutation:
        return writes.update(call, entity, getattr(args, plural))

    return Tool(
        name,
        title,
        _update_description(entity),
        UPDATE_INPUTS[entity],
        Mutation,
        handler,
        "core",
        needs(f"{plural}.update"),
        idempotent=True,
        rest=update_routes(entity),
    )


TOOLS = [
    _create("create_contacts", "Create contacts", "contact"),
    _update("update_contacts", "Update contacts", "contact"),
    _create("create_organizations", "Create organizations", "organization"),
    _update("update_organizations", "Update organizations", "organization"),
    _create("create_deals", "Create deals", "deal"),
    _update("update_deals", "Update deals", "deal"),
    _create("create_services", "Create services", "service"),
    _update("update_services", "Update services", "service"),
    _create("create_tasks", "Create tasks", "task"),
    _update("update_tasks", "Update tasks", "task"),
]
