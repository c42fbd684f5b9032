"""Storage guarantees: migrations, pragmas, ids, timestamps (docs/data-model.md)."""

from __future__ import annotations

import re
import uuid

import pytest

from customermates.ids import new_id, new_ids, now_iso
from customermates.store import StorageError, connect
from customermates.store import migrations as mig
from tests.conftest import cli


def test_migrations_apply_once_and_are_recorded(db_path):
    conn = connect(db_path)
    applied = mig.migrate(conn)
    assert applied == [m.version for m in mig.available()]
    assert mig.migrate(conn) == []
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()
    assert [(r[0], r[2]) for r in rows] == [(m.version, m.checksum) for m in mig.available()]
    conn.close()


def test_connection_pragmas(db_path):
    conn = connect(db_path)
    mig.migrate(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_an_edited_migration_stops_startup(db_path):
    conn = connect(db_path)
    mig.migrate(conn)
    conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(StorageError, match="0001_accounts.sql"):
        mig.migrate(conn)
    conn.close()


def test_a_newer_database_is_refused_not_downgraded(db_path):
    conn = connect(db_path)
    mig.migrate(conn)
    conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'x', ?)", (now_iso(),))
    conn.close()
    result = cli("keys", "list", "--email", "a@b.example", db=db_path)
    assert result.returncode == 1
    assert "newer than this code" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_statement_splitter_keeps_trigger_bodies():
    sql = "CREATE TABLE a (x);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n-- tail\n"
    assert len(mig.statements(sql)) == 2


def test_ids_are_uuidv7_and_ordered_within_a_millisecond():
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 and i == i.lower() for i in ids[:10])


def test_ids_made_together_are_the_ids_made_one_by_one():
    # 9,000 in one batch pass the 12-bit counter of a millisecond at least once: the clock moves on.
    ids = [new_id()] + new_ids(10) + [new_id() for _ in range(3)] + new_ids(9000) + [new_id()] + new_ids(0)
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 9015
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 7 for i in ids)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    assert len({i[:13] for i in ids[14:9014]}) >= 2  # the batch's milliseconds


def test_timestamps_are_fixed_width_iso_utc():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now_iso())


def test_the_wheel_layout_finds_migrations():
    # In a checkout the files sit at the top level; in a wheel they ship inside the package.
    assert (mig.schema_dir() / "0001_accounts.sql").is_file()


def test_a_database_made_before_the_comments_were_reworded_still_opens(db_path):
    """0001 and 0002 first shipped with other comment text; databases made then keep that checksum."""
    conn = connect(db_path)
    mig.migrate(conn)
    shipped = {
        1: "574e693b485f2e7056ce5d1cd32f3997f43467cd1e487be87cd5c4d32ea2aabe",
        2: "1088bd64838546c24808e319aebe66b1a32790a8d27e60b1db5b8ad590ef090f",
    }
    for version, checksum in shipped.items():
        conn.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", (checksum, version))
    assert mig.migrate(conn) == []
    conn.execute("UPDATE schema_migrations SET checksum = ? WHERE version = 3", (shipped[1],))
    with pytest.raises(StorageError, match="0003_"):
        mig.migrate(conn)
    conn.close()
