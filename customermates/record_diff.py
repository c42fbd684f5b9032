"""`changes` between two shapes of one record (docs/webhooks.md), shared by audit and webhooks."""

from __future__ import annotations

from typing import Any

IDENTITY_KEYS = ("id", "columnId")


def _identity(items: list) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in IDENTITY_KEYS if all(k in i for i in items)), None)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the keys that changed, in `after`'s key order (then keys only `before` has); arrays of
    identified objects diffed element by element."""
    out: dict[str, Any] = {}
    for key, new in after.items():
        old = before.get(key)
        if old != new and key != "updatedAt":
            out[key] = _change(old, new)
    for key, old in before.items():
        if key not in after and old is not None and key != "updatedAt":
            out[key] = _change(old, None)
    return out


def _change(old: Any, new: Any) -> dict[str, Any]:
    ident = _identity(old + new) if isinstance(old, list) and isinstance(new, list) else None
    if ident is None:
        return {"previous": old, "current": new}
    old_by = {i[ident]: i for i in old}
    new_by = {i[ident]: i for i in new}
    return {
        "previous": [i for i in old if new_by.get(i[ident]) != i],
        "current": [i for i in new if old_by.get(i[ident]) != i],
    }
