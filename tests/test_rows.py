"""store.rows.insert_rows: a batch of rows in as few multi-row INSERT statements as SQLite allows."""

from __future__ import annotations

import sqlite3

from customermates.store import rows


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    return conn


def test_every_row_is_inserted_in_order():
    conn = _table()
    rows.insert_rows(conn, "INSERT INTO t (a, b)", [(1, "x"), (2, "y"), (3, None)])
    assert conn.execute("SELECT a, b FROM t ORDER BY rowid").fetchall() == [(1, "x"), (2, "y"), (3, None)]


def test_a_batch_beyond_the_parameter_limit_is_split(monkeypatch):
    monkeypatch.setattr(rows, "MAX_PARAMETERS", 5)  # two rows of two values per statement
    conn = _table()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    rows.insert_rows(conn, "INSERT INTO t (a, b)", [(i, str(i)) for i in range(5)])
    assert conn.execute("SELECT count(*), sum(a) FROM t").fetchone() == (5, 10)
    assert len([s for s in seen if s.startswith("INSERT")]) == 3


def test_a_tail_applies_to_every_row():
    conn = _table()
    conn.execute("INSERT INTO t VALUES (1, 'old')")
    tail = " ON CONFLICT (a) DO UPDATE SET b = excluded.b"
    rows.insert_rows(conn, "INSERT INTO t (a, b)", [(1, "new"), (2, "two")], tail)
    assert conn.execute("SELECT a, b FROM t ORDER BY a").fetchall() == [(1, "new"), (2, "two")]


def test_no_rows_runs_nothing():
    conn = _table()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    rows.insert_rows(conn, "INSERT INTO t (a, b)", [])
    assert seen == []
