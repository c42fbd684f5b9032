"""Many rows in one INSERT statement instead of one statement run per row (`executemany`).

A table with an AFTER INSERT trigger (the record counts) makes every run of an INSERT open a
statement journal and copy into it each page the run changes: ten runs for ten contacts copied ~80
pages per call. One statement for the batch copies each page once (docs/benchmarks.md, "Create path").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain

MAX_PARAMETERS = 32_766  # SQLite's limit since 3.32 (customermates needs 3.34)


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence], tail: str = "") -> None:
    """`{head} VALUES (…), (…){tail}` for all `rows` (equal lengths), in as few statements as the limit allows."""
    if not rows:
        return
    width = len(rows[0])
    marks = "(" + ", ".join("?" * width) + ")"
    step = max(1, MAX_PARAMETERS // width)
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        conn.execute(
            f"{head} VALUES {', '.join([marks] * len(chunk))}{tail}", list(chain.from_iterable(chunk))
        )
