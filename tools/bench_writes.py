"""Write-path benchmark in process: CPU per call of the create and link tools, steady on a shared machine.

    python tools/bench_writes.py [--calls 300] [--rounds 3] [--only create10,W1] [--profile W2] [--webhook]

Each scenario runs its tool through `Registry.run` (validation, permissions, the handler, search rows,
audit rows, webhook outbox rows, one transaction, committed) on a copy of the 100,000-contact data set
of `bench_queries.py`, and reports CPU time per call (`time.process_time`, which other processes on
the machine inflate far less than wall time), the best of `--rounds`, beside its wall time. `--webhook` adds an enabled webhook subscribed to every
event first, so each call also writes outbox rows. `--profile KEY` prints a cProfile of that scenario.

    create10   create_contacts of 10 (what the side-by-side benchmark sends)
    W1         create_contacts of 100, unlinked
    W2         create_contacts of 100, each linked to an organization (100 organizations per call)
    link10     link_entities: 10 contacts to one organization
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import bench_queries  # noqa: E402

from customermates.auth import Principal, authenticate  # noqa: E402
from customermates.catalog import REGISTRY  # noqa: E402
from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402

Scenario = tuple[str, str, int, Callable[[], tuple[str, dict]]]


def scenarios(conn: sqlite3.Connection, principal: Principal) -> list[Scenario]:
    """(key, title, contacts per call, next call's (tool, arguments))."""
    company = principal.company_id
    orgs = [
        r[0] for r in conn.execute("SELECT id FROM organization WHERE company_id = ? LIMIT 500", (company,))
    ]
    loose = [
        r[0] for r in conn.execute("SELECT id FROM contact WHERE company_id = ? LIMIT 20000", (company,))
    ]
    n = count()

    def people(size: int, linked: bool) -> tuple[str, dict]:
        items = []
        for _ in range(size):
            i = next(n)
            item = {"firstName": "Bench", "lastName": f"Writer{i}", "emails": [f"bench.writer{i}@w.example"]}
            if linked:
                item["organizationIds"] = [orgs[i % len(orgs)]]
            items.append(item)
        return "create_contacts", {"contacts": items}

    def link() -> tuple[str, dict]:
        i = next(n)
        ids = [loose[(i * 10 + k) % len(loose)] for k in range(10)]
        args = {"entity": "organization", "sourceId": orgs[i % len(orgs)], "relation": "contacts", "ids": ids}
        return "link_entities", args

    return [
        ("create10", "create_contacts of 10", 10, lambda: people(10, False)),
        ("W1", "create_contacts of 100, unlinked", 100, lambda: people(100, False)),
        ("W2", "create_contacts of 100, each linked to an organization", 100, lambda: people(100, True)),
        ("link10", "link_entities: 10 contacts to one organization", 10, link),
    ]


def measure(conn, principal, make: Callable[[], tuple[str, dict]], calls: int) -> tuple[float, float]:
    """(CPU µs per call, wall µs per call) over `calls` calls after a few warm-up calls."""
    for _ in range(5):
        REGISTRY.run(conn, *make(), principal)
    work = [make() for _ in range(calls)]
    cpu, wall = time.process_time(), time.perf_counter()
    for tool, args in work:
        REGISTRY.run(conn, tool, args, principal)
    return (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def add_webhook(conn: sqlite3.Connection, principal: Principal) -> None:
    import os

    os.environ["CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE"] = "1"
    from customermates.webhooks.events import EVENT_NAMES

    hook = {"url": "http://127.0.0.1:9/hook", "events": list(EVENT_NAMES)}
    REGISTRY.run(conn, "create_webhook", hook, principal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per scenario (W1/W2: a tenth)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario; the best is shown")
    parser.add_argument("--only", default="", help="comma list of scenario keys")
    parser.add_argument("--profile", default="", help="a scenario key: print its cProfile instead")
    parser.add_argument("--webhook", action="store_true", help="an enabled webhook for every event first")
    opts = parser.parse_args()
    source = bench_queries.dataset_path(7)
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        bench_queries.build(source, 7)
    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "writes.db")
        original = connect(source)
        original.backup(conn)
        original.close()
        key = acc.create_key(conn, "owner@a.example", "bench-writes")
        principal = authenticate(conn, key)
        assert principal is not None
        if opts.webhook:
            add_webhook(conn, principal)
        cases = scenarios(conn, principal)
        if opts.profile:
            _, title, _, make = next(c for c in cases if c[0] == opts.profile)
            measure(conn, principal, make, 3)
            profiler = cProfile.Profile()
            profiler.enable()
            measure(conn, principal, make, opts.calls)
            profiler.disable()
            print(f"{opts.profile}: {title}, {opts.calls} calls")
            pstats.Stats(profiler).sort_stats(__import__("os").environ.get("SORT", "tottime")).print_stats(30)
            return
        print(f"SQLite {sqlite3.sqlite_version}; webhook: {'yes' if opts.webhook else 'no'}")
        print(
            f"{'key':8} {'CPU µs/call':>11} {'wall µs':>9} {'calls/s (CPU)':>13} {'contacts/s':>10}  scenario"
        )
        rates = {}
        for ident, title, size, make in cases:
            if opts.only and ident not in opts.only.split(","):
                continue
            calls = max(10, opts.calls // 10) if size >= 100 else opts.calls
            cpu, wall = min(measure(conn, principal, make, calls) for _ in range(opts.rounds))
            rates[ident] = size * 1e6 / cpu
            print(f"{ident:8} {cpu:11.0f} {wall:9.0f} {1e6 / cpu:13.0f} {rates[ident]:10.0f}  {title}")
        if "W1" in rates and "W2" in rates:
            print(f"W2 / W1 (CPU): {rates['W2'] / rates['W1']:.0%} (target >= 50%)")
        conn.close()


if __name__ == "__main__":
    main()
