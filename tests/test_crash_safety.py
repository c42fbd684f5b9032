"""Crash safety: `customermates serve` SIGKILLed at random moments under a batch writer, restarted each
time; every batch is whole or absent, every acknowledged batch is there, and the file checks clean."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port, make_tenant

KILLS = 10
BATCH = 100


def start(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    with log.open("ab") as err:
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        time.sleep(0.05)
    raise AssertionError(log.read_text())


def batch(tag: str) -> dict:
    contacts = [{"firstName": f"n{i}", "lastName": tag, "notes": "x" * 200} for i in range(BATCH)]
    params = {"name": "create_contacts", "arguments": {"contacts": contacts}}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def write_batches(url: str, key: str, round_: int, acked: list[str], stop: threading.Event) -> None:
    """Send batches until the server dies; a batch counts as acknowledged only on a success reply."""
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=10) as client:
        n = 0
        while not stop.is_set():
            tag = f"r{round_}b{n}"
            n += 1
            try:
                reply = client.post("/api/v1/mcp", json=batch(tag))
            except httpx.TransportError:
                return
            assert reply.status_code == 200 and reply.json()["result"]["isError"] is False, reply.text
            acked.append(tag)


def check_file(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for entity in ("contact", "organization", "deal", "service", "task"):
            for kind in ("trigram", "words"):
                table = f"{entity}_{kind}"
                conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")  # raises if corrupt
    finally:
        conn.close()


def test_sigkill_under_a_batch_writer_leaves_whole_batches(tmp_path):
    db, log = tmp_path / "crm.db", tmp_path / "serve.log"
    tenant = make_tenant(db)
    rng = random.Random(16)
    acked: list[str] = []
    for round_ in range(KILLS):
        proc, url = start(db, log)
        stop = threading.Event()
        writer = threading.Thread(target=write_batches, args=(url, tenant.key, round_, acked, stop))
        writer.start()
        time.sleep(rng.uniform(0.2, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        writer.join(20)
        assert not writer.is_alive()
    proc, url = start(db, log)  # the last restart recovers the WAL like every earlier one
    try:
        with httpx.Client(base_url=url, headers={"x-api-key": tenant.key}) as client:
            assert client.get("/healthz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    check_file(db)
    conn = sqlite3.connect(db)
    try:
        sizes = dict(conn.execute("SELECT last_name, count(*) FROM contact GROUP BY last_name").fetchall())
    finally:
        conn.close()
    assert all(size == BATCH for size in sizes.values()), {t: s for t, s in sizes.items() if s != BATCH}
    assert set(acked) <= set(sizes), set(acked) - set(sizes)
    assert len(acked) >= KILLS  # the writer got work done between kills
    print(f"\n{KILLS} SIGKILLs, {len(sizes)} batches found whole ({len(acked)} acknowledged), none partial")
