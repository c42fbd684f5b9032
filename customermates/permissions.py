"""Resources, actions and the roles every new company is seeded with (docs/data-model.md)."""

from __future__ import annotations

from collections.abc import Iterable

CRM_RESOURCES = ("contacts", "organizations", "deals", "services", "tasks")
RESOURCES = (*CRM_RESOURCES, "users", "company", "api", "auditLog")
ACTIONS = ("create", "readOwn", "readAll", "update", "delete")
READ_ACTIONS = frozenset({"readOwn", "readAll"})

ALL = [(r, a) for r in RESOURCES for a in ACTIONS]
_READS = [("readOwn",), ("readAll",)]

SEEDED_ROLES = [
    ("Admin", "Full access; the system role.", True, ALL),
    (
        "Member",
        "Works with CRM records; cannot manage webhooks, the company or users.",
        False,
        [(r, a) for r in CRM_RESOURCES for a in ACTIONS]
        + [(r, a) for r in ("users", "company") for a in ("readOwn", "readAll")],
    ),
    (
        "Viewer",
        "Reads CRM records, users and the company; changes nothing.",
        False,
        [(r, a) for r in (*CRM_RESOURCES, "users", "company") for a in ("readOwn", "readAll")],
    ),
]


def read_groups(resources: Iterable[str]) -> list[list[str]]:
    """Reading needs, for each resource once, `readAll` or `readOwn` (permission groups of a tool)."""
    return [[f"{r}.readAll", f"{r}.readOwn"] for r in dict.fromkeys(resources)]
