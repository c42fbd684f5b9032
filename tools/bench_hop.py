"""The database thread hop against the statements it carries: is a hop worth it for short reads?

    python tools/bench_hop.py [--runs 3000]

On the query benchmark's data set (100,000 contacts): the time of a `get_entities`-style load of one
contact (`load_records` in a read transaction) run in the calling thread, the same through
`Database.read` (one aiosqlite hop), and an empty unit of work through the hop (its own cost).
Sequential calls from one coroutine: per-call latency, not throughput. Prints one table.

In process the hop costs ~0.1 ms of a ~0.2 ms load. Reads declared short (`Tool.short`: get_entities
of a few ids, get_current_user, one type's custom columns) now run on the event loop through
`Database.read_now`; the others keep their hop (docs/benchmarks.md, "Read path").
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from customermates.crm.loading import load_records  # noqa: E402
from customermates.store import Database, connect  # noqa: E402
from customermates.store.database import in_transaction  # noqa: E402


def _nothing(conn) -> None:
    return None


def _one(conn, ident: str) -> list:
    return load_records(conn, None, "contact", [ident])


def _row(name: str, times: list[float]) -> str:
    us = [t * 1e6 for t in times]
    return f"{name:46} {statistics.median(us):8.1f} {statistics.quantiles(us, n=20)[-1]:8.1f}"


async def main(runs: int) -> None:
    import bench_queries

    path = bench_queries.dataset_path(7)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        bench_queries.build(path, 7)
    conn = connect(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM contact LIMIT 20000")]
    rng = random.Random(3)
    db = await Database.open(path)
    cases = {
        "load one contact, in this thread (no hop)": lambda: in_transaction(
            conn, _one, rng.choice(ids), write=False
        ),
    }
    hopped = {
        "load one contact, through Database.read": lambda: db.read(_one, rng.choice(ids)),
        "empty unit of work, through Database.read": lambda: db.read(_nothing),
    }
    print(f"{'per call (µs)':46} {'p50':>8} {'p95':>8}")
    for name, fn in cases.items():
        for _ in range(200):
            fn()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(_row(name, times))
    for name, fn in hopped.items():
        for _ in range(200):
            await fn()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await fn()
            times.append(time.perf_counter() - t0)
        print(_row(name, times))
    await db.close()
    conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    asyncio.run(main(parser.parse_args().runs))
