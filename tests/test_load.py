"""Load: 32 clients mixing reads and writes over MCP and REST for ~20 s against `customermates serve`,
with `customermates backup` taken in the middle: no errors, no lock errors, no lost or extra write."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time

from tests.conftest import ROOT, cli
from tests.test_crash_safety import check_file

sys.path.insert(0, str(ROOT / "tools"))
import soak  # noqa: E402  # the soak command is the workload

SECONDS = 20
CLIENTS = 32


def counts(db) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT last_name, count(*) FROM contact WHERE last_name LIKE 'soak%' GROUP BY 1")
        return dict(rows.fetchall())
    finally:
        conn.close()


def test_32_clients_for_20_seconds_with_a_backup_in_the_middle(tmp_path):
    db, log, copy = tmp_path / "crm.db", tmp_path / "serve.log", tmp_path / "backup.db"
    lines: list[str] = []
    tally = soak.Tally()
    with soak.served(db, log) as (url, key):
        runner = threading.Thread(target=soak.soak, args=(url, key, CLIENTS, SECONDS, 5, lines.append, tally))
        runner.start()
        time.sleep(SECONDS / 2)
        with tally.lock:  # what every client was told before the backup began must be in the copy
            before = dict(tally.acked)
        backup = cli("backup", "--out", str(copy), db=db)
        runner.join(SECONDS * 6)
        assert not runner.is_alive()
    assert tally.errors == [], tally.errors[:5]
    assert len(tally.samples) > CLIENTS * 10, lines
    assert "database is locked" not in log.read_text()
    assert counts(db) == {tag: n for tag, n in tally.acked.items() if n}  # nothing lost, nothing extra
    assert backup.returncode == 0, backup.stderr
    check_file(copy)
    in_copy = counts(copy)
    assert sum(before.values()) > 0 and all(in_copy.get(tag, 0) >= n for tag, n in before.items())
    print("\n" + "\n".join(lines) + f"\nbackup under load: {sum(in_copy.values())} contacts, checks clean")
