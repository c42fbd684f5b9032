"""Tool results -> REST answers: as_is, full records in place of refs, or one `{item}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from customermates.crm.loading import load_records
from customermates.errors import ToolError
from customermates.registry import Outcome, Registry
from customermates.rest.route import Route


class Failed(Exception):
    """A tool call made while adapting a result failed; its outcome is the answer."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


async def invoke(request: Request, registry: Registry, name: str, args: Any) -> Outcome:
    return await registry.invoke(
        request.app.state.db,
        name,
        args,
        request.state.principal,
        origin=str(request.base_url).rstrip("/"),
        correlation_id=request.state.request_id,
    )


@dataclass
class Ctx:
    request: Request
    registry: Registry
    route: Route

    async def invoke(self, name: str, args: Any) -> Outcome:
        return await invoke(self.request, self.registry, name, args)


async def as_is(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return data


async def records(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Refs -> full records with notes, one query per relation kind; a wrapped route answers `{item, …}`."""
    ids = [ref["id"] for ref in data["items"]]
    request = ctx.request
    rows = await request.app.state.db.read(load_records, request.state.principal, ctx.route.entity, ids, True)
    by_id = {row["id"]: row for row in rows}
    items = [by_id[i] for i in ids if i in by_id]
    if not ctx.route.wrap:
        return {k: (items if k == "items" else v) for k, v in data.items()}
    if not items:
        raise ToolError("not_found", f"The {ctx.route.entity} is gone; it was deleted meanwhile.")
    return {("item" if k == "items" else k): (items[0] if k == "items" else v) for k, v in data.items()}


async def single(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """One element -> `{item}`; an entity read gives the record with its notes and the type's columns."""
    items = data.get("items") or []
    if not items:
        raise ToolError("not_found", f"Nothing found for {ctx.request.url.path}.")
    if ctx.route.entity is None:
        return {"item": items[0]}
    first = items[0]
    return {"item": {**first["record"], "notes": first.get("notes")}, "customColumns": await _columns(ctx)}


async def _columns(ctx: Ctx) -> list[Any]:
    """The entity type's custom columns as `list_custom_columns` returns them (none until it exists)."""
    if "list_custom_columns" not in ctx.registry.tools:
        return []
    outcome = await ctx.invoke("list_custom_columns", {"entityType": ctx.route.entity})
    if outcome.is_error:
        raise Failed(outcome)
    return outcome.structured["items"]


OUTPUTS = {"as_is": as_is, "records": records, "single": single}


def location(route: Route, data: dict[str, Any]) -> dict[str, str] | None:
    if route.location_url is None:
        return None
    return {"Location": route.location_url.format(id=data["item"]["id"])}
