"""Forward-only numbered migrations from `schemas/`, applied at start under `BEGIN IMMEDIATE`."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from customermates.ids import now_iso
from customermates.store.database import StorageError

FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
# Checksums of files as first shipped, before only their comments were reworded (2026-12-06):
# databases created earlier carry these, and the statements they applied are the same.
REWORDED = {
    1: "574e693b485f2e7056ce5d1cd32f3997f43467cd1e487be87cd5c4d32ea2aabe",
    2: "1088bd64838546c24808e319aebe66b1a32790a8d27e60b1db5b8ad590ef090f",
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def schema_dir() -> Path:
    """Inside an installed wheel the files live in the package; in a checkout, at the top level."""
    packaged = resources.files("customermates") / "schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas"


def available() -> list[Migration]:
    found = []
    for path in sorted(schema_dir().glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    if not found:
        raise StorageError(f"No migrations found in {schema_dir()}; the installation is incomplete.")
    return found


def statements(sql: str) -> list[str]:
    """Split a script into complete statements (trigger bodies keep their inner semicolons)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        out.append(buf.strip())
    return out


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    known = available()
    applied_now = []
    for migration in known:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _check_applied(conn, migration, known):
                conn.execute("ROLLBACK")
                continue
            for stmt in statements(migration.sql):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.checksum, now_iso()),
            )
            conn.execute("COMMIT")
            applied_now.append(migration.version)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return applied_now


def _check_applied(conn: sqlite3.Connection, migration: Migration, known: list[Migration]) -> bool:
    newest = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    if newest is not None and newest > known[-1].version:
        raise StorageError(
            f"The database is at schema version {newest}, newer than this code knows ({known[-1].version});"
            " upgrade customermates instead of downgrading the database."
        )
    row = conn.execute(
        "SELECT checksum FROM schema_migrations WHERE version = ?", (migration.version,)
    ).fetchone()
    if row is None:
        return False
    if row[0] not in (migration.checksum, REWORDED.get(migration.version)):
        raise StorageError(
            f"Migration {migration.version:04d}_{migration.name}.sql differs from the one applied to this"
            " database; released migrations must never be edited — add a new numbered file instead."
        )
    return True
