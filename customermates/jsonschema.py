"""JSON Schema from msgspec types: lean self-contained tool schemas, and OpenAPI components.

A model reads every tool's `inputSchema` on every turn, so the tool form is built to be short
without losing a rule the server enforces:

    inline      every `$defs` entry is written where it is used: no `$ref`, no `$defs`, no titles
                (several MCP clients mishandle `$ref`; each definition is used about once anyway)
    redundant   dropped: `maxLength` beside `format: uuid`, number bounds of ±10^15 (the validator
                keeps them; `exact` keeps them in the schema too, for fuzzers and REST clients),
                empty defaults (`[]`, `""`, null), `required: []`
    types       a union of distinct plain types (`anyOf` of string, number, null, ... each with only
                keywords of its own type) becomes one `type` list with the same keywords
    output      `outputSchema` keeps the typed top-level shape (each field's type, `required`,
                enums), so `structuredContent` validates and typed clients know the fields;
                objects inside it are just `{"type": "object"}` and no description is kept

OpenAPI keeps msgspec's named components with `#/components/schemas/<Name>` references for its
resource routes; its tool operations embed the tool schemas themselves (`exact`).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

HUGE = 10**15
EMPTY_DEFAULTS: tuple[object, ...] = ([], "", None, {})
OUTPUT_DEPTH = 1  # objects nested this deep in an outputSchema keep only `type: object`
OUTPUT_KEYS = ("type", "properties", "required", "items", "anyOf", "enum")  # the typed shape
# The keywords that constrain only values of one JSON type, so they mean the same in a `type` list.
OWN_KEYWORDS = {
    "string": {"maxLength", "minLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "array": {"items", "maxItems", "minItems"},
    "null": set(),
    "boolean": set(),
}
# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
ONE = ("items", "additionalProperties", "not", "contains")
MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
NAMED = ("properties", "$defs", "patternProperties")


def tool_schema(t: type, *, output: bool = False, exact: bool = False) -> dict[str, Any]:
    """The schema of a tool's input (or, with `output`, its result), rooted at the object itself."""
    return tool_schemas([t], output=[output], exact=exact)[0]


def tool_schemas(types: list[type], *, output: list[bool], exact: bool = False) -> list[dict[str, Any]]:
    """`tool_schema` of many types at once: msgspec reads each shared type once, not once per tool
    (for the whole catalog that is most of the server's start)."""
    roots, defs = msgspec.json.schema_components(types, ref_template="#/$defs/{name}")
    schemas = [_lean(_inline(root, defs, ()), exact) for root in roots]
    return [_shallow(s, 0) if out else s for s, out in zip(schemas, output, strict=True)]


def components(types: list[type]) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    """Schemas for OpenAPI: one `$ref` per type plus every named component they reach."""
    return msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")


def _children(node: dict[str, Any], fix) -> dict[str, Any]:
    """`node` with `fix` applied to every subschema it holds directly."""
    out = {}
    for key, value in node.items():
        if key in ONE and isinstance(value, dict):
            value = fix(value)
        elif key in MANY:
            value = [fix(v) for v in value]
        elif key in NAMED:
            value = {name: fix(v) for name, v in value.items()}
        out[key] = value
    return out


def _inline(node: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return _children(node, lambda child: _inline(child, defs, seen))
    name = ref.rsplit("/", 1)[-1]
    if name in seen:
        raise ValueError(f"{name} refers to itself; a tool schema cannot inline a recursive type")
    # The use site's own keywords (its description) come first and win over the definition's.
    merged = {k: v for k, v in node.items() if k != "$ref"}
    for key, value in defs[name].items():
        merged.setdefault(key, copy.deepcopy(value))
    return _inline(merged, defs, (*seen, name))


def _lean(node: dict[str, Any], exact: bool) -> dict[str, Any]:
    node = _children(node, lambda child: _lean(child, exact))
    # A discriminator maps tags to `$ref`s; each variant's tag property says the same thing.
    for key in ("title", "discriminator"):
        node.pop(key, None)
    if node.get("format") == "uuid":
        node.pop("maxLength", None)
    if node.get("minimum") == -HUGE and not exact:
        del node["minimum"]
    if node.get("maximum") == HUGE and not exact:
        del node["maximum"]
    if "default" in node and node["default"] in EMPTY_DEFAULTS:
        del node["default"]
    if node.get("required") == []:
        del node["required"]
    return _merge_types(node)


def _merge_types(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [{type: string, maxLength: 9}, {type: null}]` -> `type: [string, null], maxLength: 9`."""
    variants = node.get("anyOf")
    if not variants:
        return node
    types = [v.get("type") for v in variants]
    if len(set(map(str, types))) != len(types) or not all(t in OWN_KEYWORDS for t in types):
        return node
    # number and integer share keywords, so both in one union would mix their bounds.
    if {"number", "integer"} <= set(types) or any(
        set(v) - {"type"} - OWN_KEYWORDS[v["type"]] for v in variants
    ):
        return node
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    merged["type"] = types
    for variant in variants:
        merged.update((k, v) for k, v in variant.items() if k != "type")
    return merged


def _is_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


def _shallow(node: dict[str, Any], depth: int) -> dict[str, Any]:
    """An output schema: the typed shape only; objects below OUTPUT_DEPTH keep only their type."""
    node = {k: v for k, v in node.items() if k in OUTPUT_KEYS}
    variants = node.get("anyOf", [])
    if depth >= OUTPUT_DEPTH and (_is_object(node) or (variants and all(map(_is_object, variants)))):
        return {"type": "object"}
    nested = depth + 1 if _is_object(node) else depth
    if "properties" in node:
        node["properties"] = {k: _shallow(v, nested) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _shallow(node["items"], nested)
    if variants:
        node["anyOf"] = [_shallow(v, depth) for v in variants]
    return _merge_types(node)
