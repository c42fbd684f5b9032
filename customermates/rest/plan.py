"""A route joined with its tool: the input fields its adapters need, checked when the registry is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from msgspec import inspect as mi

from customermates.rest.route import Route

if TYPE_CHECKING:
    from customermates.registry import Tool


def bare(t: mi.Type) -> mi.Type:
    """The type under `Annotated` metadata and an optional `None`."""
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType) and len([m for m in t.types if not isinstance(m, mi.NoneType)]) == 1:
            t = next(m for m in t.types if not isinstance(m, mi.NoneType))
        else:
            return t


def struct_fields(t: type | mi.Type) -> dict[str, mi.Field]:
    info = bare(t if isinstance(t, mi.Type) else mi.type_info(t))
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{t} is not an object type")
    return {f.encode_name: f for f in info.fields}


@dataclass(frozen=True)
class Plan:
    """A route with its tool and the field types of the tool input, looked up once."""

    route: Route
    tool: Tool
    top: dict[str, mi.Field]  # fields of the tool input
    item: dict[str, mi.Field]  # fields of one body item (the input itself when not wrapping)

    @property
    def path_is_list(self) -> bool:
        field = self.item.get(self.route.path_field or "")
        return field is not None and isinstance(bare(field.type), mi.ListType | mi.SetType)


def plan(route: Route, tool: Tool, info: mi.Type | None = None) -> Plan:
    """Check that every field the route names exists on the tool; a mismatch fails the import.

    `info` is the tool input's `msgspec.inspect` type when the caller read many at once (faster).
    """
    top = struct_fields(info or tool.input)
    item = top
    if route.wrap:
        wrapped = top.get(route.wrap)
        kind = bare(wrapped.type) if wrapped else None
        if not isinstance(kind, mi.ListType):
            raise ValueError(f"route {route.operation_id}: {tool.name} has no list field {route.wrap!r}")
        item = struct_fields(kind.item_type)
    wanted = {
        "item": [k for k, _ in route.fixed] + [route.path_field or ""],
        "input": list(route.query),
    }
    for where, names in wanted.items():
        fields = item if where == "item" else top
        missing = [n for n in names if n and n not in fields]
        if missing:
            raise ValueError(
                f"route {route.operation_id}: {tool.name} has no {where} field {', '.join(missing)}"
            )
    return Plan(route, tool, top, item)
