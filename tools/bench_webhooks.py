"""Outbox cost on writes: create_contacts of 100 with no webhooks vs 3 subscribed ones (docs/webhooks.md).

    .venv/bin/python tools/bench_webhooks.py [--batches 40] [--hooks 3]

Each batch goes through the registry's write path in process (validation, the handler, audit events
and, with webhooks, the envelopes and delivery rows), committed on a real SQLite file. The two cases
run on two copies of one seeded file and alternate batch by batch, so machine noise hits both alike.
No worker runs: this measures what the outbox adds to the write itself. Prints a table, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from customermates.auth import authenticate  # noqa: E402
from customermates.catalog import REGISTRY  # noqa: E402
from customermates.ids import new_id, now_iso  # noqa: E402
from customermates.registry import _execute  # noqa: E402
from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402
from customermates.store.database import in_transaction  # noqa: E402
from customermates.store.migrations import migrate  # noqa: E402

SEED_CONTACTS = 5_000
ORGS = 200
WARMUPS = 5


def seeded(path: Path):
    conn = connect(path)
    migrate(conn)
    made = in_transaction(conn, acc.create_company, "Bench", "owner@bench.example", "B", "Owner", write=True)
    principal = authenticate(conn, made.key)
    call(
        "create_organizations", {"organizations": [{"name": f"Org {i}"} for i in range(100)]}, conn, principal
    )
    call(
        "create_organizations",
        {"organizations": [{"name": f"Org {i}"} for i in range(100, ORGS)]},
        conn,
        principal,
    )
    for start in range(0, SEED_CONTACTS, 100):
        call("create_contacts", batch(start, []), conn, principal)
    conn.close()
    return made.key


def call(tool: str, args: dict, conn, principal):
    spec = REGISTRY.tools[tool]
    typed = REGISTRY.prepare(spec, args, principal)
    return in_transaction(conn, _execute, spec, typed, principal, False, None, None, write=True)[0]


def batch(start: int, orgs: list[str]) -> dict:
    items = []
    for n in range(start, start + 100):
        item = {"firstName": f"Bench{n}", "lastName": "Writer", "emails": [f"bench{n}@w.example"]}
        if orgs:
            item["organizationIds"] = [orgs[n % len(orgs)]]
        items.append(item)
    return {"contacts": items}


def add_hooks(conn, company_id: str, count: int) -> None:
    """Subscribed webhooks written directly (creating them through the tool would check the URL)."""
    events = json.dumps(["contact.created", "organization.updated"])
    now = now_iso()
    with conn:
        conn.executemany(
            "INSERT INTO webhook VALUES (?, ?, ?, NULL, ?, ?, 1, ?, ?)",
            [
                (new_id(), company_id, f"https://hooks{i}.example/h", events, "whsec_bench", now, now)
                for i in range(count)
            ],
        )


def outbox_rows(conn) -> int:
    return conn.execute("SELECT count(*) FROM webhook_delivery").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--hooks", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        key = seeded(base)
        cases = {}
        for label, hooks in (("none", 0), (f"{args.hooks} webhooks", args.hooks)):
            copy = connect(Path(tmp) / f"{hooks}.db")
            source = connect(base)
            source.backup(copy)
            source.close()
            principal = authenticate(copy, key)
            add_hooks(copy, principal.company_id, hooks)
            orgs = [r[0] for r in copy.execute("SELECT id FROM organization")]
            cases[label] = (copy, principal, orgs)
        print(
            f"seed: {SEED_CONTACTS:,} contacts, {ORGS} organizations; {args.batches} timed batches per case"
        )
        print(
            f"\n{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} {'contacts/s':>11} {'rows/batch':>10}"
        )
        for linked in (False, True):
            times: dict[str, list[float]] = {label: [] for label in cases}
            cpu: dict[str, list[float]] = {label: [] for label in cases}
            counter = 10**6 * (2 if linked else 1)
            rows_before = {label: outbox_rows(conn) for label, (conn, _, _) in cases.items()}
            for i in range(WARMUPS + args.batches):
                for label, (conn, principal, orgs) in cases.items():
                    args_ = batch(counter + i * 100, orgs if linked else [])
                    start, start_cpu = time.perf_counter(), time.process_time()
                    call("create_contacts", args_, conn, principal)
                    if i >= WARMUPS:
                        times[label].append((time.perf_counter() - start) * 1000)
                        cpu[label].append((time.process_time() - start_cpu) * 1000)
            medians, cpu_medians = {}, {}
            for label, (conn, _, _) in cases.items():
                per_batch = (outbox_rows(conn) - rows_before[label]) / (WARMUPS + args.batches)
                q50 = medians[label] = statistics.median(times[label])
                p95 = statistics.quantiles(times[label], n=20)[-1]
                cpu_q50 = cpu_medians[label] = statistics.median(cpu[label])
                title = f"{label}{', linked to orgs' if linked else ''}"
                print(
                    f"{title:34} {q50:8.2f} {p95:8.2f} {cpu_q50:8.2f} {100 / (q50 / 1000):11,.0f} {per_batch:10.0f}"
                )
            (base_q50, hooked_q50), (base_cpu, hooked_cpu) = medians.values(), cpu_medians.values()
            print(
                f"{'':34} with webhooks: {100 * (hooked_q50 / base_q50 - 1):+.1f}% wall time,"
                f" {100 * (hooked_cpu / base_cpu - 1):+.1f}% CPU time per batch"
            )
        for conn, _, _ in cases.values():
            conn.close()


if __name__ == "__main__":
    main()
