"""Benchmark data set files: built once per seed and schema into `data/`, then reused."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402
from customermates.store.migrations import migrate, schema_dir  # noqa: E402


def schema_digest() -> str:
    """Ten hex digits of the migrations' text: a changed schema needs a fresh data set file."""
    schema = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(schema_dir().glob("*.sql")))).hexdigest()
    return schema[:10]


@contextmanager
def building(path: Path) -> Iterator[sqlite3.Connection]:
    """A migrated database at `<path>.building`, renamed to `path` only once filled: no half-built reuse."""
    started = time.perf_counter()
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    conn = connect(tmp)
    migrate(conn)
    yield conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    print(f"built {path} in {time.perf_counter() - started:.1f} s")


def two_companies(conn: sqlite3.Connection) -> tuple[acc.Seeded, acc.Seeded]:
    """Company A (owner Olive) and company B (owner Bob), the tenants every data set holds."""
    a = acc.create_company(conn, "Company A", "owner@a.example", "Olive", "Owner")
    b = acc.create_company(conn, "Company B", "owner@b.example", "Bob", "Owner")
    return a, b
