"""The REST routes of the entity tools: nine per entity type, each builder gives one tool's share."""

from __future__ import annotations

from collections.abc import Callable

from customermates.crm.model import ENTITY_TYPES, PLURAL
from customermates.rest.route import Route

TAGS = {
    "contact": "Contacts",
    "organization": "Organizations",
    "deal": "Deals",
    "service": "Services",
    "task": "Tasks",
}


def create_routes(entity: str) -> tuple[Route, ...]:
    """`POST /<plural>` (one item, 201 + Location) and `POST /<plural>/many`."""
    plural, tag = PLURAL[entity], TAGS[entity]
    return (
        Route("POST", f"/{plural}", f"{plural}_create", tag, wrap=plural, output="records", status=201,
              location=f"/{plural}/{{id}}", entity=entity),
        Route("POST", f"/{plural}/many", f"{plural}_create_many", tag, output="records", status=201,
              entity=entity),
    )  # fmt: skip


def update_routes(entity: str) -> tuple[Route, ...]:
    """`PUT /<plural>/many` and `PUT /<plural>/{id}` (one item, the id from the path)."""
    plural, tag = PLURAL[entity], TAGS[entity]
    return (
        Route("PUT", f"/{plural}/many", f"{plural}_update_many", tag, output="records", entity=entity),
        Route("PUT", f"/{plural}/{{id}}", f"{plural}_update", tag, wrap=plural, path_field="id",
              output="records", entity=entity),
    )  # fmt: skip


def _delete(entity: str) -> tuple[Route, ...]:
    plural, tag, typed = PLURAL[entity], TAGS[entity], (("entity", entity),)
    return (
        Route("DELETE", f"/{plural}/many", f"{plural}_delete_many", tag, fixed=typed, entity=entity),
        Route("DELETE", f"/{plural}/{{id}}", f"{plural}_delete", tag, body=False, fixed=typed,
              path_field="ids", entity=entity),
    )  # fmt: skip


def _search(entity: str) -> tuple[Route, ...]:
    plural = PLURAL[entity]
    return (
        Route("POST", f"/{plural}/search", f"{plural}_search", TAGS[entity], fixed=(("entity", entity),),
              output="records", entity=entity),
    )  # fmt: skip


def _configuration(entity: str) -> tuple[Route, ...]:
    plural = PLURAL[entity]
    return (
        Route("GET", f"/{plural}/configuration", f"{plural}_get_configuration", TAGS[entity], body=False,
              fixed=(("entity", entity),), entity=entity),
    )  # fmt: skip


def _get(entity: str) -> tuple[Route, ...]:
    plural = PLURAL[entity]
    return (
        Route("GET", f"/{plural}/{{id}}", f"{plural}_get", TAGS[entity], body=False, wrap="items",
              fixed=(("entity", entity), ("include", "withNotes")), path_field="id", output="single",
              entity=entity),
    )  # fmt: skip


def for_every_entity(routes: Callable[[str], tuple[Route, ...]]) -> tuple[Route, ...]:
    return tuple(route for entity in ENTITY_TYPES for route in routes(entity))


DELETE_ROUTES = for_every_entity(_delete)
SEARCH_ROUTES = for_every_entity(_search)
CONFIGURATION_ROUTES = for_every_entity(_configuration)
GET_ROUTES = for_every_entity(_get)
