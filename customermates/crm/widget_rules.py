"""Which widget configurations are allowed, and the message that names the fix for each that is not.

    Config (stored values overlaid with the call's)  ->  check()  ->  every broken rule at once
      combinations   aggregation x entity type x grouping (docs/widgets.md, "Allowed combinations")
      group column   exists, belongs to the entity type, is single-select
      filters        exactly as the query engine validates them, at `$.entityFilters[i]…`; on update
                     only the lists the call sends (stored ones that broke since are `dataError`)

A rule whose fields the call did not send says so ("stored value"), so an update that breaks a
stored setting points at the right field.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from customermates.crm import queries as q
from customermates.crm.columns import Column, load_column, load_columns
from customermates.crm.model import PLURAL
from customermates.errors import Issue, ToolError
from customermates.permissions import read_groups

if TYPE_CHECKING:
    from customermates.auth import Principal

PER_RECORD = ("contact", "organization", "deal", "service")
DEAL_AGGREGATIONS = ("dealValue", "dealQuantity")


@dataclass(frozen=True)
class Config:
    """A widget's configuration as checked: the merged one on update."""

    entity: str
    aggregation: str
    group_by: str
    column_id: str | None
    entity_filters: Sequence[q.FilterRule] = ()
    deal_filters: Sequence[q.FilterRule] = ()
    given: frozenset[str] = frozenset()  # fields the call sent; others are stored values
    creating: bool = True


@dataclass
class _Found:
    invalid: list[Issue] = field(default_factory=list)
    missing: list[Issue] = field(default_factory=list)


# ---- the rules ---------------------------------------------------------------------------------


def _stored(config: Config, *names: str) -> str:
    """` (entityType "contact" is the stored value)` for each involved field the call did not send."""
    if config.creating:
        return ""
    values = {
        "entityType": config.entity,
        "aggregationType": config.aggregation,
        "groupByType": config.group_by,
        "groupByCustomColumnId": config.column_id,
    }
    kept = [f'{n} "{values[n]}"' if n in values else n for n in names if n not in config.given]
    if not kept:
        return ""
    return f" ({', '.join(kept)} {'is the stored value' if len(kept) == 1 else 'are stored values'})"


def _combination(config: Config) -> list[Issue]:
    e, agg, g = config.entity, config.aggregation, config.group_by
    issues = []
    if e == "task" and agg != "count":
        issues.append(
            Issue(
                "$.aggregationType",
                f'tasks carry no deal amounts; a task widget supports only aggregationType "count"'
                f"{_stored(config, 'aggregationType', 'entityType')}.",
                'Set aggregationType to "count".',
            )
        )
    elif agg == "dealQuantity" and e != "service":
        issues.append(
            Issue(
                "$.aggregationType",
                f'aggregationType "dealQuantity" sums the quantities on deal–service links, so it needs entityType '
                f'"service"; for a {e} widget use "dealValue" or "count"{_stored(config, "aggregationType", "entityType")}.',
                'Use "dealValue" or "count", or create a service widget.',
            )
        )
    if g in PER_RECORD and g != e:
        own = '"none" or "customColumn"' if e == "task" else f'"none", "customColumn" or "{e}"'
        issues.append(
            Issue(
                "$.groupByType",
                f'a {e} widget groups by {own}, not "{g}"; to chart per {g}, create {_article(g)} {g} widget'
                f"{_stored(config, 'groupByType', 'entityType')}.",
                f"Set groupByType to {own}.",
            )
        )
    elif g == e and agg == "count":
        issues.append(
            Issue(
                "$.groupByType",
                f'counting each {e} separately gives every bar the value 1; use groupByType "none" or '
                f'"customColumn", or aggregationType "dealValue"{_stored(config, "groupByType", "aggregationType")}.',
                'Set groupByType to "none" or "customColumn".',
            )
        )
    if config.deal_filters:
        if agg == "count":
            issues.append(
                Issue(
                    "$.dealFilters",
                    f'dealFilters only narrow the deals summed by "dealValue"/"dealQuantity"; with "count" pass '
                    f'"dealFilters": [] and filter the {e} records with entityFilters{_stored(config, "dealFilters", "aggregationType")}.',
                    'Send "dealFilters": [].',
                )
            )
        elif e == "deal":
            issues.append(
                Issue(
                    "$.dealFilters",
                    "a deal widget filters its deals with entityFilters; move these rules to entityFilters and pass "
                    f'"dealFilters": []{_stored(config, "dealFilters", "entityType")}.',
                    'Send "dealFilters": [] and put the rules in entityFilters.',
                )
            )
    return issues


def single_selects(conn: sqlite3.Connection, company_id: str, entity: str) -> list[Column]:
    return [c for c in load_columns(conn, company_id, entity) if c.type == "singleSelect"]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _choices(columns: list[Column], entity: str) -> str:
    if not columns:
        return "(none yet: create one with create_single_select_custom_column)"
    return ", ".join(f"{c.label} ({c.id})" for c in columns)


def _group_column(conn: sqlite3.Connection, company_id: str, config: Config, found: _Found) -> None:
    e, path = config.entity, "$.groupByCustomColumnId"
    lister = f'list_custom_columns {{"entityType":"{e}"}}'
    if config.group_by != "customColumn":
        if config.column_id is not None:
            found.invalid.append(
                Issue(
                    path,
                    'groupByCustomColumnId is used only when groupByType is "customColumn"; remove it, or set '
                    f'groupByType to "customColumn"{_stored(config, "groupByCustomColumnId", "groupByType")}.',
                    'Send groupByCustomColumnId null, or groupByType "customColumn".',
                )
            )
        return
    if config.column_id is None:
        found.invalid.append(
            Issue(
                path,
                f'groupByType "customColumn" needs groupByCustomColumnId: the id of a single-select column of {e}.'
                f" Find one with {lister}.",
                'Add groupByCustomColumnId, or set groupByType to "none".',
            )
        )
        return
    column = load_column(conn, company_id, config.column_id)
    if column is None:
        found.missing.append(
            Issue(
                path,
                f"custom column {config.column_id} not found; {lister} lists valid ids.",
                f"Use an id from {lister}.",
            )
        )
        return
    if column.entity_type != e:
        choices = _choices(single_selects(conn, company_id, e), e)
        found.invalid.append(
            Issue(
                path,
                f'column "{column.label}" ({column.id}) belongs to {column.entity_type}, not {e}; group by a single-select '
                f"column of {e}: {choices}{_stored(config, 'groupByCustomColumnId', 'entityType')}.",
                f"Use a single-select column of {e}.",
            )
        )
    elif column.type != "singleSelect":
        choices = _choices(single_selects(conn, company_id, e), e)
        found.invalid.append(
            Issue(
                path,
                f'column "{column.label}" is a {column.type} column; grouping needs a singleSelect column of {e}: '
                f"{choices}.",
                f"Use a single-select column of {e}.",
            )
        )


def _filters(
    conn: sqlite3.Connection,
    principal: Principal,
    entity: str,
    rules: Sequence[q.FilterRule],
    at: str,
    found: _Found,
) -> None:
    """Exactly what filter_entity checks for these rules; relation ids must be in the caller's scope."""
    if not rules:
        return
    try:  # the query engine checks the rules (custom columns included) and resolves their ids
        q.plan_query(conn, principal, q.Query(entity, filters=list(rules)), paths=q.Paths(filters=at))
    except ToolError as error:
        (found.missing if error.code == "not_found" else found.invalid).extend(error.issues)


def _sent(config: Config, name: str) -> bool:
    """Whether a filter list is checked: on create, or when the call sends it. A stored list was checked
    when it was sent; one that broke since (an option removed) is the chart's `dataError`, so an update
    that leaves the filters alone (a rename) still works."""
    return config.creating or name in config.given


def check(conn: sqlite3.Connection, principal: Principal, config: Config) -> None:
    """Raise one error listing every broken rule; `not_found` only when nothing else is wrong."""
    found = _Found(_combination(config))
    _group_column(conn, principal.company_id, config, found)
    if _sent(config, "entityFilters") and principal.reads(PLURAL[config.entity]):
        _filters(conn, principal, config.entity, config.entity_filters, "$.entityFilters", found)
    refused = any(i.path == "$.dealFilters" for i in found.invalid)
    if not refused and _sent(config, "dealFilters") and principal.reads("deals"):
        _filters(conn, principal, "deal", config.deal_filters, "$.dealFilters", found)
    issues = found.invalid + found.missing
    if found.invalid:
        count = len(issues)
        raise ToolError(
            "invalid_input",
            f"{count} problem{'s' if count > 1 else ''} in the widget configuration; nothing was written.",
            issues,
        )
    if found.missing:
        raise ToolError("not_found", f"{found.missing[0].message} Nothing was written.", issues)


def permission_groups(entity: str, aggregation: str) -> list[list[str]]:
    """Read on the entity type, and on deals when the widget sums deals."""
    return read_groups([PLURAL[entity], *(["deals"] if aggregation in DEAL_AGGREGATIONS else [])])


def filter_dicts(rules: Sequence[Any]) -> list[dict[str, Any]]:
    """Stored form of filter rules: the keys a caller sent, nothing added."""
    import msgspec

    return [msgspec.to_builtins(r) for r in rules]
