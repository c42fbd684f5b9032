"""One endpoint per route: request -> arguments -> tool -> adapted result; every failure as the Error object."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response

from customermates.errors import Disconnected, ToolError, invalid
from customermates.httpio import BodyTooLarge, json_response, too_large, tool_error_response
from customermates.registry import Registry
from customermates.rest.plan import Plan
from customermates.rest.requests import (
    arguments,
    body_issues,
    json_object,
    path_issues,
    query_arguments,
    refuse_query,
    rewrite_error,
    shape_issues,
)
from customermates.rest.responses import OUTPUTS, Ctx, Failed, full_records, invoke, location

log = logging.getLogger("customermates.rest")

Endpoint = Callable[[Request], Awaitable[Response]]


def bound_endpoint(registry: Registry, p: Plan) -> Endpoint:
    """The handler of one route: request -> arguments -> tool -> adapted result."""
    route, tool = p.route, p.tool
    finish = full_records(route)

    async def endpoint(request: Request) -> Response:
        body = await json_object(request, not tool.read_only) if route.body else {}
        query, issues = query_arguments(request, route.query, p.top)
        issues += path_issues(request.path_params) + body_issues(p, body)
        args = arguments(p, body, request.path_params.get("id"), query)
        if issues:
            taken = {i.path for i in issues}
            issues += [i for i in shape_issues(p, args) if i.path not in taken]
            raise invalid(issues, "the request", not tool.read_only)
        ctx = Ctx(request, registry, route)
        outcome = await ctx.invoke(tool.name, args, finish)
        if outcome.is_error:
            return json_response(rewrite_error(outcome.structured, route), outcome.status)
        data = await OUTPUTS[route.output](ctx, outcome)
        return json_response(data, route.status, location(route, data))

    return endpoint


def tools_endpoint(registry: Registry) -> Endpoint:
    """`POST /api/v1/tools/{name}`: the MCP arguments as the body, exactly `structuredContent` back."""

    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        tool = registry.tools.get(name)
        body = await json_object(request, tool is None or not tool.read_only)
        refuse_query(request)
        outcome = await invoke(request, registry, name, body)
        if outcome.error is not None:  # the very bytes MCP puts in the error's text item
            return tool_error_response(outcome.error)
        return json_response(outcome.structured, outcome.status)

    return endpoint


def document_endpoint(registry: Registry) -> Endpoint:
    """The OpenAPI document, built on the first request (in a worker thread) and kept: it is ~0.3 s of
    schema work that a server start should not pay; tests/test_openapi.py checks it is valid."""
    built: list[bytes] = []

    async def endpoint(request: Request) -> Response:
        refuse_query(request)
        if not built:
            from customermates.openapi import document_bytes

            built.append(await anyio.to_thread.run_sync(document_bytes, registry))
        return Response(built[0], 200, media_type="application/json")

    return endpoint


def guarded(endpoint: Endpoint) -> Endpoint:
    """Every failure becomes the shared Error object; nothing escapes as a bare 500 page."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BodyTooLarge:
            return too_large()
        except ToolError as error:
            return tool_error_response(error)
        except Failed as failed:
            return tool_error_response(failed.outcome.error)
        except Disconnected:
            raise  # not a failure of ours: the Gate notes it in one line
        except Exception:
            correlation = request.state.request_id
            log.exception(
                "REST %s %s failed (correlationId %s)", request.method, request.url.path, correlation
            )
            unexpected = ToolError(
                "internal",
                f"Unexpected server error; correlationId {correlation}.",
                correlation_id=correlation,
            )
            return tool_error_response(unexpected)

    return run
