"""Tool results -> REST answers: as_is, full records in place of refs, or one `{item}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request

from customermates.call import Call
from customermates.crm.loading import load_records
from customermates.errors import Failed, ToolError
from customermates.httpio import origin_of
from customermates.registry import Finish, Outcome, Registry, Tool, authorize
from customermates.rest.route import Route
from customermates.validation import check


async def invoke(
    request: Request, registry: Registry, name: str, args: Any, finish: Finish | None = None
) -> Outcome:
    """The tool call of a request, authenticated inside the tool's own transaction."""
    return await registry.invoke(
        request.app.state.db,
        name,
        args,
        request.state.caller,
        origin=origin_of(request),
        correlation_id=request.state.request_id,
        finish=finish,
    )


@dataclass
class Ctx:
    request: Request
    registry: Registry
    route: Route

    async def invoke(self, name: str, args: Any, finish: Finish | None = None) -> Outcome:
        return await invoke(self.request, self.registry, name, args, finish)


def finish_of(route: Route, registry: Registry) -> Finish | None:
    """What a route reads in the call's own transaction after the tool: full records for `records`
    routes, the entity type's custom columns for an entity's `single` route (same snapshot, one trip)."""
    if route.output == "records":
        return full_records(route)
    columns = registry.tools.get("list_custom_columns")
    if route.output == "single" and route.entity is not None and columns is not None:
        return _columns_of(columns, route.entity)
    return None


def _columns_of(tool: Tool, entity: str) -> Finish:
    """`list_custom_columns` of one entity type, run inside another call (its input checked once)."""
    typed = check({"entityType": entity}, tool.input, writes=False)

    def load(call: Call, output: Any) -> list[Any]:
        authorize(tool, typed, call.principal, False)
        return msgspec.to_builtins(tool.handler(call, typed))["items"]

    return load


def full_records(route: Route) -> Finish | None:
    """For `records` routes: the full records of the result's refs, read in the call's own transaction."""
    if route.output != "records":
        return None
    entity = route.entity or ""

    def load(call: Call, output: Any) -> list[dict[str, Any]]:
        return load_records(call.conn, call.principal, entity, [ref.id for ref in output.items], True)

    return load


async def as_is(ctx: Ctx, outcome: Outcome) -> dict[str, Any]:
    return outcome.structured


async def records(ctx: Ctx, outcome: Outcome) -> dict[str, Any]:
    """Refs -> the full records read with the call; a wrapped route answers `{item, …}`."""
    data, items = outcome.structured, outcome.extra
    if not ctx.route.wrap:
        return {k: (items if k == "items" else v) for k, v in data.items()}
    return {("item" if k == "items" else k): (items[0] if k == "items" else v) for k, v in data.items()}


async def single(ctx: Ctx, outcome: Outcome) -> dict[str, Any]:
    """One element -> `{item}`; an entity read gives the record with its notes and the type's columns."""
    items = outcome.structured.get("items") or []
    if not items:
        raise ToolError("not_found", f"Nothing found for {ctx.request.url.path}.")
    if ctx.route.entity is None:
        return {"item": items[0]}
    first = items[0]
    columns = outcome.extra if outcome.extra is not None else await _columns(ctx)
    return {"item": {**first["record"], "notes": first.get("notes")}, "customColumns": columns}


async def _columns(ctx: Ctx) -> list[Any]:
    """The entity type's custom columns as `list_custom_columns` returns them (none until it exists)."""
    if "list_custom_columns" not in ctx.registry.tools:
        return []
    outcome = await ctx.invoke("list_custom_columns", {"entityType": ctx.route.entity})
    if outcome.is_error:
        raise Failed(outcome)
    return outcome.structured["items"]


OUTPUTS: dict[str, Callable[[Ctx, Outcome], Awaitable[dict[str, Any]]]] = {
    "as_is": as_is,
    "records": records,
    "single": single,
}


def location(route: Route, data: dict[str, Any]) -> dict[str, str] | None:
    if route.location_url is None:
        return None
    return {"Location": route.location_url.format(id=data["item"]["id"])}
