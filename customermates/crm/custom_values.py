"""Custom field values of records: the seam the custom-columns issue fills in (DATA-MODEL.md §8).

No custom columns exist yet, so every record has `customFieldValues: []` and every `columnId` a
caller sends is unknown. Both functions keep their signatures when columns arrive.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from customermates.errors import Issue


def load(conn: sqlite3.Connection, entity: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Output-shaped values per record id (records without values may be left out)."""
    return {}


def check(
    conn: sqlite3.Connection, company_id: str, entity: str, given: list[tuple[str, list]]
) -> list[Issue]:
    """Issues for `(path, [CustomFieldValueInput, ...])` pairs: unknown columns, bad values, repeats."""
    hint = (
        f"A {entity} has no custom columns yet; create one with create_<type>_custom_column"
        " (e.g. create_plain_custom_column), or leave customFieldValues out."
    )
    return [
        Issue(f"{path}[{i}].columnId", f"{value.columnId} is not a custom column of {entity}", hint)
        for path, values in given
        for i, value in enumerate(values)
    ]
