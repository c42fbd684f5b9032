"""create_<plural> / update_<plural> for all five entities, from one code path.

    drafts   = [Draft(path, id, values, links, custom), ...]    from the typed input items (`drafts`)
    check    -> invalid_input (every issue)  -> not_found (every path)  -> domain rules
    plan     -> row values + LinkChanges; every record on either end is known before writing
    write    -> one multi-row INSERT per table; deal totals; Changeset.finish (events, updatedAt, search)

Every statement handles the whole batch (json_each for id sets, one INSERT or executemany for rows),
so the number of queries does not grow with the batch size.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from customermates.call import Call
from customermates.crm import custom_values, link_rows
from customermates.crm.changeset import Changeset
from customermates.crm.drafts import (
    FIELD_COLUMNS,
    Draft,
    check_references,
    draft,
    input_issues,
    load_targets,
    system_task_issues,
)
from customermates.crm.inputs import EntityRef, Mutation
from customermates.crm.link_rows import DEAL_SERVICE, LinkChanges
from customermates.crm.loading import display_name_of
from customermates.crm.model import (
    PLURAL,
    RELATIONS,
    Relation,
    display_name,
    from_units,
    last_key,
    name_key,
    relation,
)
from customermates.errors import invalid
from customermates.ids import new_ids
from customermates.store.rows import insert_rows

_encode = msgspec.json.Encoder().encode  # the stored `emails` array (read back with json.loads)


def _derived(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    if entity == "contact":
        first, last = values["firstName"], values["lastName"]
        return {"name_key": name_key(display_name(first, last)), "last_key": last_key(first, last)}
    return {"name_key": name_key(values["name"])}


def _row(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Column -> stored value for a complete set of field values."""
    row = {FIELD_COLUMNS[entity][k]: v for k, v in values.items() if k in FIELD_COLUMNS[entity]}
    if "emails" in row:
        row["emails"] = _encode(row["emails"]).decode()
    return row | _derived(entity, values)


# ---- create -----------------------------------------------------------------------------------------


def create(call: Call, entity: str, items: list[msgspec.Struct]) -> Mutation:
    plural = PLURAL[entity]
    ids = new_ids(len(items))
    drafts = [draft(entity, item, f"$.{plural}[{i}]", ids[i], True) for i, item in enumerate(items)]
    issues = input_issues(call, entity, drafts, update=False)
    if issues:
        raise invalid(issues, plural)
    check_references(call, drafts, {})
    if not call.principal.reads_all(plural):
        # readOwn-only: assign the creator, or the new record would vanish from their view (docs/data-model.md, read scopes).
        users = relation(entity, "users")
        for d in drafts:
            assigned = d.links.setdefault(users, [])
            if call.principal.user_id not in {g[0] for g in assigned}:
                assigned.append((call.principal.user_id, link_rows.ONE))
    plan = LinkChanges()
    for d in drafts:
        for rel, given in d.links.items():
            for other, quantity in given:
                plan.add(rel, d.id, other, quantity)
    changes = Changeset(call)
    changes.created(entity, [d.id for d in drafts])
    changes.links(plan)
    changes.snapshot()
    values = _insert(call, entity, drafts)
    custom = custom_values.write(call, entity, drafts, created=True)
    if entity in _SHOWN:  # a deal's totals come from its services: it is read back
        made = {d.id: _made(call, entity, d, v, custom) for d, v in zip(drafts, values, strict=True)}
        changes.created(entity, [], made)
    plan.apply(call.conn)
    repriced = plan.deals_with_new_terms()
    if repriced:  # names only for the refusal of a total past the limit
        names = {d.id: d.values.get("name", "") for d in drafts} | changes.names("deal")
        link_rows.recompute_totals(call.conn, repriced, names)
    changes.finish()
    refs = [EntityRef(d.id, display_name_of(entity, changes.after[(entity, d.id)])) for d in drafts]
    return Mutation(refs, f"Created {_count(len(refs), entity)}.")


# A new record's scalars as a read shows them (loading.SCALARS), from its complete field values.
_SHOWN: dict[str, Any] = {
    "contact": lambda v: {
        "firstName": v["firstName"],
        "lastName": v["lastName"],
        "emails": list(v["emails"]),
    },
    "organization": lambda v: {"name": v["name"]},
    "service": lambda v: {"name": v["name"], "amount": from_units(v["amount"])},
    "task": lambda v: {"name": v["name"], "type": "custom"},
}


def _made(call: Call, entity: str, d: Draft, values: dict[str, Any], custom: dict) -> dict[str, Any]:
    """The DTO a company-wide read of the new record returns, relation arrays still empty."""
    dto = {"id": d.id, **_SHOWN[entity](values)}
    dto.update((rel.name, []) for rel in RELATIONS[entity])
    dto["customFieldValues"] = custom.get(d.id, [])
    dto["notes"] = values["notes"]
    dto["createdAt"] = dto["updatedAt"] = call.now
    return dto


# A new row's columns: the fields' (FIELD_COLUMNS order), then the keys `_derived` adds.
_INSERTED = {
    e: [*columns.values(), *(["name_key", "last_key"] if e == "contact" else ["name_key"])]
    for e, columns in FIELD_COLUMNS.items()
}


def _insert(call: Call, entity: str, drafts: list[Draft]) -> list[dict[str, Any]]:
    """Insert the new rows; returns each draft's complete field values."""
    complete = [_complete(entity, d.values) for d in drafts]
    company, now = call.company_id, call.now
    rows = []
    for d, values in zip(drafts, complete, strict=True):
        row = _row(entity, values)
        rows.append((d.id, company, *[row[c] for c in _INSERTED[entity]], now, now))
    insert_rows(
        call.conn,
        f"INSERT INTO {entity} (id, company_id, {', '.join(_INSERTED[entity])}, created_at, updated_at)",
        rows,
    )
    if entity == "contact":
        _write_emails(call, [(d.id, d.values.get("emails", [])) for d in drafts], replace=False)
    return complete


_CREATE_DEFAULTS: dict[str, Any] = {"lastName": "", "emails": [], "notes": None}


def _complete(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    wanted = FIELD_COLUMNS[entity]
    return {k: values[k] if k in values else _CREATE_DEFAULTS[k] for k in wanted}


def _write_emails(call: Call, contacts: list[tuple[str, list[str]]], replace: bool) -> None:
    """contact_email rows (the index behind the `emails` filter) for these contacts."""
    if replace:
        call.conn.execute(
            "DELETE FROM contact_email WHERE contact_id IN (SELECT value FROM json_each(?))",
            (json.dumps([c for c, _ in contacts]),),
        )
    insert_rows(
        call.conn,
        "INSERT INTO contact_email (contact_id, position, company_id, email_key)",
        [(c, i, call.company_id, e.casefold()) for c, emails in contacts for i, e in enumerate(emails)],
    )


# ---- update -----------------------------------------------------------------------------------------


def update(call: Call, entity: str, items: list[Any]) -> Mutation:
    plural = PLURAL[entity]
    return update_drafts(
        call, entity, [draft(entity, it, f"$.{plural}[{i}]", it.id) for i, it in enumerate(items)]
    )


def update_drafts(call: Call, entity: str, drafts: list[Draft], subject: str | None = None) -> Mutation:
    """Partial updates of existing records: check, then write (the update tools, custom fields)."""
    issues = input_issues(call, entity, drafts, update=True)
    if issues:
        raise invalid(issues, subject or PLURAL[entity])
    targets = load_targets(call, entity, [d.id for d in drafts], [f"{d.path}.id" for d in drafts])
    return apply_update(call, entity, drafts, targets)


def apply_update(call: Call, entity: str, drafts: list[Draft], targets: dict) -> Mutation:
    """Existence of linked ids, domain rules, then the writes of an update of checked drafts."""
    given_rels = list(dict.fromkeys(rel for d in drafts for rel in d.links))
    current = {
        rel: link_rows.current_links(call.conn, rel, [d.id for d in drafts if rel in d.links])
        for rel in given_rels
    }
    seen = check_references(call, drafts, current)
    issues = system_task_issues(entity, drafts, targets)
    if issues:
        raise invalid(issues, PLURAL[entity])
    plan = LinkChanges()
    for d in drafts:
        for rel, given in d.links.items():
            _replace(plan, rel, d.id, dict(given), current[rel][d.id], seen[rel.other])
    changes = Changeset(call)
    changes.touch((entity, d.id) for d in drafts)
    changes.links(plan)
    repriced = _repriced_deals(call, entity, drafts, targets)
    changes.touch(("deal", i) for i in repriced)
    changes.snapshot()
    _write_values(call, entity, drafts, targets)
    custom_values.write(call, entity, drafts, created=False)
    plan.apply(call.conn)
    link_rows.recompute_totals(call.conn, plan.deals_with_new_terms() | repriced, changes.names("deal"))
    changes.finish()
    refs = [EntityRef(d.id, display_name_of(entity, changes.after[(entity, d.id)])) for d in drafts]
    changed = sum((entity, d.id) in changes.changed for d in drafts)
    return Mutation(refs, _updated_message(entity, changed, len(drafts)))


def _replace(plan: LinkChanges, rel: Relation, own: str, wanted: dict, now: dict, seen: set[str]) -> None:
    """Make the visible links of `own` exactly `wanted`; links the caller cannot see stay."""
    quantities = rel.table == DEAL_SERVICE and rel.entity == "deal"
    for other in now:
        if other in seen and other not in wanted:
            plan.remove(rel, own, other)
    for other, quantity in wanted.items():
        if other not in now:
            plan.add(rel, own, other, quantity)
        elif quantities and now[other] != quantity:
            plan.requantify(rel, own, other, quantity)


def _repriced_deals(call: Call, entity: str, drafts: list[Draft], targets: dict) -> set[str]:
    """Deals linked to services whose amount changes: their totals move."""
    if entity != "service":
        return set()
    repriced = [
        d.id
        for d in drafts
        if d.values.get("amount", targets[d.id]["values"]["amount"]) != targets[d.id]["values"]["amount"]
    ]
    return set(link_rows.linked_ids(call.conn, relation("service", "deals"), repriced))


def _write_values(call: Call, entity: str, drafts: list[Draft], targets: dict) -> None:
    merged = []
    for d in drafts:
        old = targets[d.id]["values"]
        new = old | {k: v for k, v in d.values.items() if k in old}
        if new != old:
            merged.append((d.id, new, "emails" in d.values and new["emails"] != old["emails"]))
    if not merged:
        return
    rows = [(record_id, _row(entity, values)) for record_id, values, _ in merged]
    columns = list(rows[0][1])
    call.conn.executemany(
        f"UPDATE {entity} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
        [(*row.values(), record_id) for record_id, row in rows],
    )
    emails = [(record_id, values["emails"]) for record_id, values, touched in merged if touched]
    if emails:
        _write_emails(call, emails, replace=True)


def _count(n: int, entity: str) -> str:
    return f"{n} {entity if n == 1 else PLURAL[entity]}"


def _updated_message(entity: str, changed: int, total: int) -> str:
    same = total - changed
    if changed == 0:
        return f"Nothing changed; {_count(total, entity)} already had these values."
    if same == 0:
        return f"Updated {_count(changed, entity)}."
    return f"Updated {_count(changed, entity)}; {same} already had these values."
