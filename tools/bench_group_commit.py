"""Group commit in process: create_contacts of 10 from concurrent callers, grouped against one by one.

    python tools/bench_group_commit.py [--callers 16] [--calls 1500] [--rounds 3] [--webhook]
                                       [--modes grouped,"one by one","no turn"]

A copy of the 100,000-contact data set of `bench_queries.py` (as `bench_writes.py` makes it), opened
as the server opens it (`Database`), and `--callers` tasks each sending create_contacts of 10 through
`Registry.invoke` (validation, auth, the handler, search/audit/outbox rows, the commit) back to back.
Rounds alternate, on the same file: `grouped` (as served: a group takes what is queued, and a
writer that was idle first lets the callers woken in the same turn of the event loop join), `one by
one` (`group_max` 1: one transaction per call, as before) and `no turn` (grouped, without that
turn). Prints calls/s (wall), CPU µs per call (`time.process_time`, this process only), the WAL pages
a call writes (counted over 64 calls per mode: steady at any load) and the groups formed. No HTTP:
the side-by-side benchmark measures the served figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import bench_writes  # noqa: E402

from customermates.catalog import REGISTRY  # noqa: E402
from customermates.store.database import GROUP_MAX, Database  # noqa: E402

MODES = {"grouped": (GROUP_MAX, True), "one by one": (1, False), "no turn": (GROUP_MAX, False)}


async def round_(db: Database, principal, make, callers: int, calls: int) -> tuple[float, float, Counter]:
    """(calls/s, CPU µs per call, groups by size) for `calls` calls spread over `callers` tasks."""
    work = [make() for _ in range(calls)]
    before = Counter(db.group_sizes)
    failed = 0

    async def caller(share: list) -> None:
        nonlocal failed
        for tool, args in share:
            failed += (await REGISTRY.invoke(db, tool, args, principal)).is_error

    cpu, wall = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(callers):
            tg.start_soon(caller, work[i::callers])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert failed == 0, f"{failed} calls failed"
    return calls / wall, cpu / calls * 1e6, db.group_sizes - before


def _checkpoint(conn, mode: str) -> int:
    """Frames in the WAL (before a TRUNCATE checkpoint empties it)."""
    return conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[1]


async def frames_per_call(db: Database, principal, make, callers: int, calls: int = 64) -> float:
    """WAL frames (pages) written per call: counted, so as steady on a loaded machine as on a quiet one."""
    await db.run(_checkpoint, "TRUNCATE")
    await round_(db, principal, make, callers, calls)
    return await db.run(_checkpoint, "PASSIVE") / calls


async def main(opts) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = bench_writes.open_copy(tmp, opts.webhook)
        make = {c[0]: c for c in bench_writes.scenarios(conn, principal)}["create10"][3]
        conn.close()
        db = await Database.open(Path(tmp) / "writes.db")
        best: dict[str, tuple[float, float, Counter]] = {}
        try:
            await round_(db, principal, make, opts.callers, 100)  # warm-up
            pages = {}
            for mode in opts.modes.split(","):
                db.group_max, db.join_turn = MODES[mode]
                pages[mode] = await frames_per_call(db, principal, make, opts.callers)
            for _ in range(opts.rounds):
                for mode in opts.modes.split(","):
                    size, turn = MODES[mode]
                    db.group_max, db.join_turn = size, turn
                    got = await round_(db, principal, make, opts.callers, opts.calls)
                    if mode not in best or got[0] > best[mode][0]:
                        best[mode] = got
        finally:
            await db.close()
    print(f"create_contacts of 10, {opts.callers} concurrent callers, {opts.calls} calls a round,")
    print(f"best of {opts.rounds} alternating rounds (calls/s); webhook: {opts.webhook}")
    print(
        f"{'mode':<10} {'calls/s':>8} {'CPU µs/call':>12} {'pages/call':>10}  groups (size x count, most frequent 6)"
    )
    for mode, (rate, cpu, groups) in best.items():
        shown = sorted(((k, n) for k, n in groups.items() if isinstance(k, int)), key=lambda x: -x[1])[:6]
        print(
            f"{mode:<10} {rate:>8.0f} {cpu:>12.0f} {pages[mode]:>10.1f}  "
            + " ".join(f"{k}x{n}" for k, n in shown)
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES), help="comma list of: " + ", ".join(MODES))
    parser.add_argument("--webhook", action="store_true", help="an enabled webhook on every event first")
    opts = parser.parse_args()
    anyio.run(main, opts)
