"""JSON Schema from msgspec types, in the two shapes the contract publishes.

msgspec roots a schema at a `$ref`; MCP clients want `type: "object"` at the top, so the root
definition is lifted up and the others stay under `$defs` of the same document. OpenAPI gets the
components form with `#/components/schemas/<Name>` references.
"""

from __future__ import annotations

from typing import Any

import msgspec


def tool_schema(t: type) -> dict[str, Any]:
    """A self-contained schema whose root is the object itself (no external `$ref`)."""
    raw = msgspec.json.schema(t)
    defs = dict(raw.get("$defs", {}))
    ref = raw.get("$ref")
    if ref is None:
        return raw
    root = dict(defs.pop(ref.rsplit("/", 1)[-1]))
    root.pop("title", None)
    if defs:
        root["$defs"] = defs
    return root


def components(types: list[type]) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    """Schemas for OpenAPI: one `$ref` per type plus every named component they reach."""
    return msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
