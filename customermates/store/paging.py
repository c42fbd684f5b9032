"""Paged lists: word-search conditions and one page of rows with the total they come from."""

from __future__ import annotations

import sqlite3
from typing import Any


def match_words(where: list[str], params: list[Any], term: str, condition: str) -> None:
    """Every distinct word of `term` (case-folded) must match: one `condition` each, its `?`s bound to the word."""
    for word in dict.fromkeys(term.casefold().split()):
        where.append(condition)
        params += [word] * condition.count("?")


def counted_page(
    conn: sqlite3.Connection,
    select: str,
    count_from: str,
    where: list[str],
    params: list[Any],
    order: str,
    limit: int,
    offset: int,
) -> tuple[int, list[sqlite3.Row]]:
    """How many rows meet every condition of `where`, and one page of them by `order`.

    `select` is a whole `SELECT … FROM …`; `count_from` the `FROM …` that counts the same rows.
    """
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT count(*) {count_from} WHERE {clause}", params).fetchone()[0]
    rows = conn.execute(
        f"{select} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]
    ).fetchall()
    return total, rows
