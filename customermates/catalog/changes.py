"""list_changes and undo_changes: see what keys changed in the records, take it back (docs/undo.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import undo
from customermates.crm.filters import read_moment
from customermates.crm.history import Change, Window, change_page
from customermates.crm.inputs import EntityType
from customermates.errors import BadValue, Issue, invalid
from customermates.registry import Tool, needs
from customermates.rest.route import Route
from customermates.shapes import Id, Input, Page, PageSize, total_pages

Moment = Annotated[str, Meta(max_length=40, description="Date or datetime, e.g. 2026-01-05T14:30:00Z.")]
UserId = Annotated[Id, Meta(description="Only this user's changes; ids from items' userId.")]
KeyName = Annotated[str, Meta(min_length=1, max_length=100, description="Exact key name.")]
RecordId = Annotated[
    Id, Meta(description="One record (with entity); from filter_entity or search_all_entities.")
]
MAX_EVENTS = 100


class ListChangesInput(Input):
    since: Moment | UnsetType = UNSET
    until: Moment | UnsetType = UNSET
    userId: UserId | UnsetType = UNSET
    apiKeyName: KeyName | UnsetType = UNSET
    entity: EntityType | UnsetType = UNSET
    entityId: RecordId | UnsetType = UNSET
    page: Page = 1
    pageSize: PageSize = 25


class ChangePage(msgspec.Struct):
    items: list[Change]
    total: int
    page: int
    pageSize: int
    totalPages: int


def _window(args: ListChangesInput) -> Window:
    issues, bounds = [], {}
    for name in ("since", "until"):
        raw = getattr(args, name)
        if raw is UNSET:
            continue
        try:
            # read_moment never reads its field argument: a time window belongs to no record field.
            bounds[name] = read_moment(None, raw)  # type: ignore[arg-type]
        except BadValue as bad:
            issues.append(Issue(f"$.{name}", bad.message, bad.hint))
    if "since" in bounds and "until" in bounds and bounds["since"].first >= bounds["until"].after:
        issues.append(Issue("$.since", "is after `until`", "Swap them, or widen the window."))
    if args.entityId is not UNSET and args.entity is UNSET:
        issues.append(Issue("$.entity", "is required with entityId", "Send the record's type too."))
    if issues:
        raise invalid(issues, "the arguments", writes=False)
    return Window(
        bounds["since"].first if "since" in bounds else None,
        bounds["until"].after if "until" in bounds else None,
        None if args.userId is UNSET else args.userId,
        None if args.apiKeyName is UNSET else args.apiKeyName,
        None if args.entity is UNSET else args.entity,
        None if args.entityId is UNSET else args.entityId,
    )


def list_changes(call: Call, args: ListChangesInput) -> ChangePage:
    items, total = change_page(call, _window(args), args.page, args.pageSize)
    return ChangePage(items, total, args.page, args.pageSize, total_pages(total, args.pageSize))


class UndoChangesInput(Input):
    eventIds: Annotated[
        list[Id],
        Meta(
            min_length=1,
            max_length=MAX_EVENTS,
            description="Unique event ids, from list_changes or get_entity_history. All or nothing.",
        ),
    ]
    dryRun: Annotated[bool, Meta(description="Only report what would change.")] = False


def undo_changes(call: Call, args: UndoChangesInput) -> undo.UndoResult:
    call.dry_run = args.dryRun
    return undo.undo(call, args.eventIds)


TOOLS = [
    Tool(
        "list_changes",
        "List changes",
        "What changed in the records, newest first: who (userId, via key name), which record, which"
        ' fields (previous/current). For "what did this key do in the last hour?". `undoable` items'
        " can be taken back with undo_changes.",
        ListChangesInput,
        ChangePage,
        list_changes,
        "core",
        needs("auditLog.readAll"),
        read_only=True,
        idempotent=True,
        rest=(
            Route(
                "GET",
                "/changes",
                "changes_list",
                "Changes",
                body=False,
                query=tuple(ListChangesInput.__struct_fields__),
            ),
        ),
    ),
    Tool(
        "undo_changes",
        "Undo changes",
        "Take back changes listed by list_changes: newest first, an update is set back, a create deleted,"
        " a delete restored (same id, notes, links). A field changed again since is a conflict naming the"
        " later event: undo it too or leave it. Try dryRun first; confirm with the user before restoring"
        " or deleting many records.",
        UndoChangesInput,
        undo.UndoResult,
        undo_changes,
        "core",
        needs("auditLog.readAll"),
        destructive=True,
        rest=(Route("POST", "/changes/undo", "changes_undo", "Changes"),),
    ),
]
