"""Widget benchmark: get_widgets over a fixed-seed data set, every widget's SQL plan printed.

    .venv/bin/python tools/bench_widgets.py [--runs 100] [--seed 7] [--rebuild]

Data: 20,000 organizations and 50,000 deals in company A (each deal linked to one to three
organizations and two to five contacts, with one or two services), a smaller company B. Each
scenario is one `get_widgets` call as it runs in process (validation, the handler, the aggregate
SQL, inside one read transaction). X1–X4 time writes that move organizations' deal values (the
handler inside a transaction that is rolled back, so the data set stays as built). Timed runs never
assert; the printed table is the record (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_data import building, schema_digest, two_companies  # noqa: E402

from customermates.auth import Principal, authenticate  # noqa: E402
from customermates.call import Call  # noqa: E402
from customermates.catalog import REGISTRY  # noqa: E402
from customermates.crm import organization_totals  # noqa: E402
from customermates.crm.model import SCALE  # noqa: E402
from customermates.ids import new_id, now_iso  # noqa: E402
from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402

DATASET_VERSION = 1
ORGS, DEALS, CONTACTS, SERVICES = 20_000, 50_000, 30_000, 200
WARMUPS = 5
TARGET_MS = 50.0


def _insert_named(
    conn: sqlite3.Connection, table: str, company_id: str, names: list[str], extra=None
) -> list[str]:
    now = now_iso()
    ids = [new_id() for _ in names]
    columns = "id, company_id, name, name_key, created_at, updated_at" + (f", {extra[0]}" if extra else "")
    marks = ", ".join("?" * (6 + (1 if extra else 0)))
    conn.executemany(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})",
        [
            (i, company_id, n, n.casefold(), now, now, *((extra[1][k],) if extra else ()))
            for k, (i, n) in enumerate(zip(ids, names, strict=True))
        ],
    )
    return ids


def _company(conn: sqlite3.Connection, rng: random.Random, company_id: str, scale: int) -> None:
    orgs = _insert_named(conn, "organization", company_id, [f"Org {i}" for i in range(ORGS // scale)])
    now = now_iso()
    contacts = [new_id() for _ in range(CONTACTS // scale)]
    conn.executemany(
        "INSERT INTO contact (id, company_id, first_name, last_name, last_key, name_key, created_at, updated_at)"
        " VALUES (?, ?, ?, 'Person', ?, ?, ?, ?)",
        [(c, company_id, f"C{i}", f"person\tc{i}", f"c{i} person", now, now) for i, c in enumerate(contacts)],
    )
    amounts = [rng.randrange(1, 5000) * SCALE for _ in range(SERVICES)]
    services = _insert_named(
        conn, "service", company_id, [f"Service {i}" for i in range(SERVICES)], ("amount", amounts)
    )
    deals = _insert_named(conn, "deal", company_id, [f"Deal {i}" for i in range(DEALS // scale)])
    service_links, org_links, contact_links = [], set(), set()
    totals = []
    for deal in deals:
        total = 0
        for s in rng.sample(range(SERVICES), rng.choice((1, 2))):
            quantity = rng.randrange(1, 10) * SCALE
            service_links.append((deal, services[s], quantity))
            total += amounts[s] * quantity // SCALE
        totals.append((total, deal))
        org_links |= {(rng.choice(orgs), deal) for _ in range(rng.choice((1, 1, 1, 2, 3)))}
        contact_links |= {(rng.choice(contacts), deal) for _ in range(rng.randrange(2, 6))}
    conn.executemany("INSERT INTO link_deal_service VALUES (?, ?, ?)", service_links)
    conn.executemany("INSERT INTO link_organization_deal VALUES (?, ?)", sorted(org_links))
    conn.executemany("INSERT INTO link_contact_deal VALUES (?, ?)", sorted(contact_links))
    conn.executemany("UPDATE deal SET total_value = ? WHERE id = ?", totals)
    organization_totals.refresh_company(conn, company_id)


def build(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with building(path) as conn:
        conn.execute("BEGIN")
        a, b = two_companies(conn)
        _company(conn, rng, a.company_id, 1)
        _company(conn, rng, b.company_id, 10)
        conn.execute("COMMIT")


def dataset_path(seed: int) -> Path:
    return ROOT / "data" / f"bench-widgets-s{seed}-v{DATASET_VERSION}-{schema_digest()}.db"


def call(
    conn: sqlite3.Connection, principal: Principal, tool: str, args: dict, write: bool = False
) -> object:
    spec = REGISTRY.tools[tool]
    typed = REGISTRY.prepare(spec, args, principal)
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        return spec.handler(Call(principal, conn, spec.name, now_iso()), typed)
    finally:
        conn.execute("COMMIT")


SCENARIOS = [
    ("W1", "deal value by organization", {"entityType": "organization", "aggregationType": "dealValue",
                                          "groupByType": "organization"}),
    ("W2", "organization deal value, total", {"entityType": "organization", "aggregationType": "dealValue",
                                              "groupByType": "none"}),
    ("W3", "deal value by contact", {"entityType": "contact", "aggregationType": "dealValue",
                                     "groupByType": "contact"}),
    ("W4", "deal value by deal", {"entityType": "deal", "aggregationType": "dealValue", "groupByType": "deal"}),
    ("W5", "service deal value by service", {"entityType": "service", "aggregationType": "dealValue",
                                             "groupByType": "service"}),
    ("W6", "count organizations", {"entityType": "organization", "aggregationType": "count", "groupByType": "none"}),
    ("W7", "deal value by organization, deals totalValue > 20000",
     {"entityType": "organization", "aggregationType": "dealValue", "groupByType": "organization",
      "dealFilters": [{"field": "totalValue", "operator": "gt", "value": 20000}]}),
]  # fmt: skip


def _first(conn: sqlite3.Connection, table: str, company_id: str, n: int) -> list[str]:
    rows = conn.execute(f"SELECT id FROM {table} WHERE company_id = ? ORDER BY seq LIMIT ?", (company_id, n))
    return [r[0] for r in rows]


def write_scenarios(conn: sqlite3.Connection, company_id: str) -> list[tuple[str, str, str, dict]]:
    """Writes that move organizations' deal values: (id, title, tool, arguments)."""
    orgs, deals = _first(conn, "organization", company_id, 20), _first(conn, "deal", company_id, 10)
    service = _first(conn, "service", company_id, 1)[0]
    new_deals = [{"name": f"New {i}", "services": [{"serviceId": service, "quantity": 2}],
                  "organizationIds": orgs[2 * i : 2 * i + 2]} for i in range(10)]  # fmt: skip
    linked = conn.execute("SELECT count(*) FROM link_deal_service WHERE right_id = ?", (service,))
    repriced = linked.fetchone()[0]
    return [
        ("X1", "create_deals: 10 deals, 2 organizations each", "create_deals", {"deals": new_deals}),
        ("X2", "link_entities: 1 organization to 10 deals", "link_entities",
         {"entity": "organization", "sourceId": orgs[-1], "relation": "deals", "ids": deals}),
        ("X3", f"update_services: new amount, {repriced} deals repriced", "update_services",
         {"services": [{"id": service, "amount": 12345.5}]}),
        ("X4", "delete_entities: 1 deal", "delete_entities", {"entity": "deal", "ids": deals[:1]}),
    ]  # fmt: skip


def rolled_back(conn: sqlite3.Connection, principal: Principal, tool: str, args: dict) -> None:
    """One write call's handler inside a transaction that is then rolled back (the data set stays)."""
    spec = REGISTRY.tools[tool]
    typed = REGISTRY.prepare(spec, args, principal)
    conn.execute("BEGIN IMMEDIATE")
    try:
        spec.handler(Call(principal, conn, spec.name, now_iso()), typed)
    finally:
        conn.execute("ROLLBACK")


def timed(fn, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per run (CPU shows the work on a busy machine)."""
    for _ in range(WARMUPS):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def run(path: Path, runs: int) -> None:
    conn = connect(path)
    key = acc.create_key(conn, "owner@a.example", f"bench-{time.time_ns()}")
    principal = authenticate(conn, key)
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, runs {runs}")
    print(
        f"data: {ORGS:,} organizations, {DEALS:,} deals, {CONTACTS:,} contacts, {SERVICES} services; {path.name}"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (busy: compare the cpu column)")
    head = f"{'id':4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'target':>6} {'':4} {'points':>6}"
    print(f"\n{head}  scenario")
    statements: list[tuple[str, list[str]]] = []
    for ident, title, config in SCENARIOS:
        args = {"name": title, "displayType": "verticalBarChart", **config}
        widget_id = call(conn, principal, "create_widget", args, write=True).item.id
        out = call(conn, principal, "get_widgets", {"ids": [widget_id]})
        wall, cpu = timed(lambda i=widget_id: call(conn, principal, "get_widgets", {"ids": [i]}), runs)
        q50, p95 = statistics.median(wall), statistics.quantiles(wall, n=20)[-1]
        target = TARGET_MS if ident == "W1" else None
        verdict = "" if target is None else ("ok" if q50 <= target else "OVER")
        figures = f"{q50:8.2f} {p95:8.2f} {max(wall):8.2f} {statistics.median(cpu):8.2f}"
        print(f"{ident:4} {figures} {target or '-':>6} {verdict:4} {len(out.items[0].data):>6}  {title}")
        statements.append((ident, _plan(conn, principal, widget_id)))
    print(f"\n{'id':4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8}  write (rolled back)")
    for ident, title, tool, args in write_scenarios(conn, principal.company_id):
        wall, cpu = timed(lambda t=tool, a=args: rolled_back(conn, principal, t, a), runs)
        q50, p95 = statistics.median(wall), statistics.quantiles(wall, n=20)[-1]
        print(f"{ident:4} {q50:8.2f} {p95:8.2f} {max(wall):8.2f} {statistics.median(cpu):8.2f}  {title}")
    print("\nEXPLAIN QUERY PLAN of each widget's aggregate statement:")
    for ident, lines in statements:
        print(ident)
        print("\n".join(lines))


def _plan(conn: sqlite3.Connection, principal: Principal, widget_id: str) -> list[str]:
    """Trace the statements one get_widgets runs and explain the aggregate ones."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        call(conn, principal, "get_widgets", {"ids": [widget_id]})
    finally:
        conn.set_trace_callback(None)
    lines = []
    for sql in seen:
        if "sum(" in sql or "count(*)" in sql or "deal_value" in sql:
            for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall():
                lines.append(f"  {row[3]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = dataset_path(args.seed)
    if args.rebuild or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build(path, args.seed)
    run(path, args.runs)


if __name__ == "__main__":
    main()
