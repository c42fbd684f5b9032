"""`changes` between two shapes of one record (docs/webhooks.md), shared by audit and webhooks."""

from __future__ import annotations

from typing import Any

IDENTITY_KEYS = ("id", "columnId")


def _identity(items: list) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in IDENTITY_KEYS if all(k in i for i in items)), None)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the keys that changed; arrays of identified objects diffed element by element."""
    out: dict[str, Any] = {}
    for key in after.keys() | before.keys():
        if key == "updatedAt":
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        ident = _identity(old + new) if isinstance(old, list) and isinstance(new, list) else None
        if ident is None or not isinstance(old, list) or not isinstance(new, list):
            out[key] = {"previous": old, "current": new}
            continue
        old_by = {i[ident]: i for i in old}
        new_by = {i[ident]: i for i in new}
        out[key] = {
            "previous": [i for i in old if new_by.get(i[ident]) != i],
            "current": [i for i in new if old_by.get(i[ident]) != i],
        }
    return {k: out[k] for k in sorted(out, key=list(after).index) if k in after} | {
        k: v for k, v in out.items() if k not in after
    }
