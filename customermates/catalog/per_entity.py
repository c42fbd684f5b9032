"""create_<plural> / update_<plural> for the five entity types: ten declarations sharing two builders."""

from __future__ import annotations

from typing import Any

from customermates.call import Call
from customermates.catalog.entity_routes import create_routes, update_routes
from customermates.crm import writes
from customermates.crm.inputs import CREATE_INPUTS, UPDATE_INPUTS, Mutation
from customermates.crm.model import PLURAL
from customermates.registry import Tool, needs

# Per entity: (what the entity is, first line of create_<plural>, first line of update_<plural>).
ABOUT = {
    "contact": (
        "A contact is a person; their name is firstName + lastName. Link them to organizations with"
        " `organizationIds` or link_entities.",
        "Add people (contacts).",
        "Change existing people (contacts).",
    ),
    "organization": (
        "An organization is a customer company or account, not the caller's own company (get_company).",
        "Add organizations (customer companies, accounts).",
        "Change existing organizations.",
    ),
    "deal": (
        "A deal is a sales opportunity; its value comes from linked services × quantity (totalValue and"
        " totalQuantity are computed, never input). `services` on update replaces the whole list,"
        " quantities included; to add one service use link_entities (quantity 1).",
        "Add deals (sales opportunities).",
        "Change existing deals.",
    ),
    "service": (
        "A service is a product or service with a unit price: `amount` in the company currency;"
        " changing it recomputes the totals of its deals. New deal links get quantity 1.",
        "Add services (products with a price).",
        "Change existing services.",
    ),
    "task": (
        "A task is a to-do linked to records; assignees are `userIds` (ids from list_users). Due dates and"
        " status live in custom columns. Tasks made here are of type `custom`.",
        "Add tasks (to-dos).",
        "Change existing tasks.",
    ),
}

BATCH_TEXT = (
    "Batch of 1-100, all or nothing: one bad item writes nothing. Linked ids come from filter_entity /"
)
BATCH_TEXT += " search_all_entities (users: list_users)."


def _create_description(entity: str) -> str:
    about, line, _ = ABOUT[entity]
    return f"{line} {about} {BATCH_TEXT} Relation arrays link the given ids. Returns ids and names."


def _update_description(entity: str) -> str:
    about, _, line = ABOUT[entity]
    return (
        f"{line} Partial update: each item needs `id` and at least one field; omitted fields keep their value."
        f" {about} Passing a relation array REPLACES the current links (only links you can see; others stay):"
        " to add or remove some links use link_entities / unlink_entities instead. Never pass null: omit a"
        f" field to keep it, [] removes all links. {BATCH_TEXT}"
    )


def _create(name: str, title: str, entity: str) -> Tool:
    """The declaration every create_<plural> shares; the name and title are the caller's."""
    plural = PLURAL[entity]

    def handler(call: Call, args: Any) -> Mutation:
        return writes.create(call, entity, getattr(args, plural))

    return Tool(
        name,
        title,
        _create_description(entity),
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
