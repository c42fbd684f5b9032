"""The REST route of a tool, declared with the tool: method, path and how request and result adapt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PREFIX = "/api/v1"
LIST_QUERY = ("searchTerm", "page", "pageSize")
Output = Literal["as_is", "records", "single"]


@dataclass(frozen=True)
class Route:
    """One REST route of the tool that declares it (paths are under `/api/v1`).

    body       the JSON body is the tool input (or, with `wrap`, one item of it)
    wrap       the body is one item; the tool gets `{wrap: [item]}`
    fixed      constants set by the route, inside the wrapped item when wrapping
    path_field the input field fed by `{id}` (inside the item when wrapping; `[id]` when a list)
    query      declared query parameters; each feeds the input field of the same name
    output     as_is | records (refs -> full records) | single (one element -> `{item}`; none -> 404)
    location   for 201 routes: the `Location` template (under `/api/v1`), filled with the item's id
    entity     the entity type served, for `records` and `single` look-ups
    """

    method: str
    path: str
    operation_id: str
    tag: str
    body: bool = True
    wrap: str | None = None
    fixed: tuple[tuple[str, Any], ...] = ()
    path_field: str | None = None
    query: tuple[str, ...] = ()
    output: Output = "as_is"
    status: int = 200
    location: str | None = None
    entity: str | None = None

    @property
    def url(self) -> str:
        """The full path as served and documented."""
        return PREFIX + self.path

    @property
    def location_url(self) -> str | None:
        return None if self.location is None else PREFIX + self.location

    @property
    def fed(self) -> dict[str, str]:
        """Item fields the route sets itself, each with why (a body may not send them)."""
        out = {key: f"the route {self.url} sets it to {value!r}" for key, value in self.fixed}
        if self.path_field:
            out[self.path_field] = f"it comes from the path ({self.url})"
        return out
