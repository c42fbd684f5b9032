"""update_entity_notes and append_entity_notes: Markdown notes of any record type (docs/data-model.md)."""

from __future__ import annotations

from customermates.call import Call
from customermates.crm.drafts import Draft, blank_to_none, load_targets, repeats
from customermates.crm.inputs import MAX_NOTES, Mutation
from customermates.crm.writes import apply_update
from customermates.errors import Issue, invalid


def set_notes(call: Call, entity: str, items: list) -> Mutation:
    drafts = [Draft(f"$.items[{i}]", it.id, {"notes": blank_to_none(it.notes)}) for i, it in enumerate(items)]
    issues = repeats([d.id for d in drafts], lambda i: f"{drafts[i].path}.id")
    if issues:
        raise invalid(issues, "items")
    targets = load_targets(call, entity, [d.id for d in drafts], [f"{d.path}.id" for d in drafts])
    return apply_update(call, entity, drafts, targets)


def append_notes(call: Call, entity: str, items: list) -> Mutation:
    paths = [f"$.items[{i}]" for i in range(len(items))]
    issues = repeats([it.id for it in items], lambda i: f"{paths[i]}.id")
    issues += [
        Issue(f"{p}.notes", "is blank", "Send the Markdown text to add.")
        for p, it in zip(paths, items, strict=True)
        if not it.notes.strip()
    ]
    if issues:
        raise invalid(issues, "items")
    targets = load_targets(call, entity, [it.id for it in items], [f"{p}.id" for p in paths])
    drafts, issues = [], []
    for p, it in zip(paths, items, strict=True):
        old = targets[it.id]["values"]["notes"]
        new = f"{old}\n\n{it.notes}" if old else it.notes
        if len(new) > MAX_NOTES:
            issues.append(
                Issue(
                    f"{p}.notes",
                    f"the notes would be {len(new)} characters long (now {len(old or '')});"
                    f" the limit is {MAX_NOTES}",
                    "Shorten the text, or rewrite with update_entity_notes.",
                )
            )
        drafts.append(Draft(p, it.id, {"notes": new}))
    if issues:
        raise invalid(issues, "items")
    return apply_update(call, entity, drafts, targets)
