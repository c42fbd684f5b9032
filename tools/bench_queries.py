"""Query benchmark (docs/query-language.md): a fixed-seed data set, every scenario timed, every plan printed.

    .venv/bin/python tools/bench_queries.py [--runs 200] [--seed 7] [--db PATH] [--rebuild] [--no-http]
    .venv/bin/python tools/bench_queries.py --million     # 1,000,000 contacts (built once, ~1 GB)

The data set is built once per seed and schema into `data/` (set-based SQL, search rows through
`model.search_insert_sql`, exactly what `refresh_search` writes), then reused.
Each scenario runs through the path a tool call takes in process: argument validation
(`Registry.prepare`), the handler, the query engine, `{id, name}` items and total, inside one read
transaction. Timed runs never assert; the printed table is the record (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_data import building, schema_digest, two_companies  # noqa: E402

from customermates.auth import Principal, authenticate  # noqa: E402
from customermates.catalog import REGISTRY  # noqa: E402
from customermates.crm import queries as q  # noqa: E402
from customermates.crm.model import SEARCH_SEQ, display_name, last_key, name_key, search_insert_sql  # noqa: E402
from customermates.ids import iso  # noqa: E402
from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402
from customermates.store.database import configure_writer  # noqa: E402

DATASET_VERSION = 2
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # the data set's "today"; queries run at this moment
NOW_ISO = iso(NOW)
CONTACTS_A, CONTACTS_B, ORGS_A, ORGS_B, USERS_A = 100_000, 10_000, 5_000, 500, 20
WARMUPS = 20
# Entity, link and email tables: a SCAN of one of these in F1-F6/C1-C2 is a defect (docs/query-language.md).
_TABLE_SCAN = re.compile(
    r"\bSCAN (contact|organization|deal|service|task|link_\w+|contact_email|custom_value)\b(?!_)"
)
STAGES = ("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost")


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Ada Grace Alan Emile Zoe Noah Liam Olivia Emma Ava Sophia Isabella Mia "
    "Lucas Mason Ethan Logan Jacob Elijah Amelia Harper Evelyn Abigail Emily Ella Elena Lukas Leon Finn Jonas "
    "Paul Felix Maximilian Lea Anna Lena Hannah Sophie Marie Laura Julia Sara Nina Ida Clara Greta Ole Timo Jan "
    "Kai Tom Ben Max Erik Lars Nils Sven Anja Petra Heike Sabine Ursula Monika Dieter Jürgen Günter Klaus Uwe "
    "Björn Søren Chloé Zoë André Renée François Hélène Ingrid Astrid Mats Ali Omar Yusuf Fatma Ayşe Mehmet Ahmet"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz "
    "Hoffmann Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
    "Hartmann Lange Schmitt Werner Krause Meier Lehmann Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs "
    "Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck "
    "Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt "
    "Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn "
    "Lovelace Hopper Turing Lamarr Curie Noether Babbage Dijkstra Knuth Ritchie Thompson Kernighan Torvalds"
)
ORG_WORDS = _words(
    "Acme Globex Initech Umbrella Stark Wayne Wonka Cyberdyne Tyrell Soylent Hooli Vandelay Dunder Pied Piper "
    "Aperture Black Mesa Massive Dynamic Oscorp Nakatomi Gringotts Monarch Virtucon Gekko Sirius Nordic Alpine "
    "Atlas Summit Harbor River Oak Pine Cedar Maple Falcon Eagle Orion Vega Nova Zenith Apex Vertex Quantum"
)
ORG_SUFFIX = ("GmbH", "Ltd", "Inc", "AG", "LLC", "Holdings", "Group", "Partners", "Labs", "Systems")


# ---- the data set ------------------------------------------------------------------------------


def _zipf(pool: list[str], rng: random.Random, count: int) -> list[str]:
    """Names with realistic repetition: a few very common, a long tail of rare ones."""
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(pool))]
    return rng.choices(pool, weights=weights, k=count)


def _stamp(rng: random.Random) -> tuple[str, str]:
    created = NOW - timedelta(seconds=rng.randrange(3 * 365 * 86400))
    updated = min(NOW, created + timedelta(seconds=rng.randrange(120 * 86400)))
    return iso(created), iso(updated)


def _uuid(rng: random.Random, moment: str) -> str:
    """A UUIDv7-shaped id from the record's creation time, so ids are time-ordered as in production."""
    ms = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _users(conn: sqlite3.Connection, company_id: str, count: int, tag: str) -> list[str]:
    role = conn.execute(
        "SELECT id FROM role WHERE company_id = ? AND name = 'Member'", (company_id,)
    ).fetchone()[0]
    return [
        acc.insert_user(conn, company_id, f"user{i}@{tag}.example", f"User{i}", tag, role, NOW_ISO)
        for i in range(count)
    ]


def _company(conn, rng, tag: str, contacts: int, orgs: int, users: list[str]) -> None:
    company_id = conn.execute("SELECT company_id FROM app_user WHERE id = ?", (users[0],)).fetchone()[0]
    org_rows = []
    for _ in range(orgs):
        created, updated = _stamp(rng)
        name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_SUFFIX)}"
        org_rows.append((_uuid(rng, created), company_id, name, name_key(name), created, updated))
    conn.executemany(
        "INSERT INTO organization (id, company_id, name, name_key, created_at, updated_at) VALUES (?,?,?,?,?,?)",
        org_rows,
    )
    firsts, lasts = _zipf(FIRST, rng, contacts), _zipf(LAST, rng, contacts)
    rows, emails, org_links, user_links = [], [], [], []
    for first, last in zip(firsts, lasts, strict=True):
        created, updated = _stamp(rng)
        ident = _uuid(rng, created)
        mails = [
            f"{first}.{last}{rng.randrange(100)}@domain{rng.randrange(1000):03d}.example".lower()
            for _ in range(rng.choice((1, 1, 2)))
        ]
        rows.append((ident, company_id, first, last, last_key(first, last), json.dumps(mails),
                     name_key(display_name(first, last)), created, updated))  # fmt: skip
        emails += [(ident, i, company_id, m.casefold()) for i, m in enumerate(mails)]
        if rng.random() < 0.8:
            org_links.append((ident, rng.choice(org_rows)[0]))
        if rng.random() < 0.3:
            user_links.append((ident, rng.choice(users)))
    conn.executemany(
        "INSERT INTO contact (id, company_id, first_name, last_name, last_key, emails, name_key, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany("INSERT INTO contact_email VALUES (?,?,?,?)", emails)
    conn.executemany("INSERT INTO link_contact_organization VALUES (?,?)", org_links)
    conn.executemany("INSERT INTO link_contact_user VALUES (?,?)", user_links)
    if tag == "a":
        _columns(conn, rng, company_id, [r[0] for r in rows])


def _columns(conn, rng, company_id: str, contacts: list[str]) -> None:
    """The three contact columns of docs/query-language.md: Stage (6 options, one default), Value (60 %), Next call (40 %)."""
    made = NOW_ISO
    columns = [
        (_uuid(rng, made), "singleSelect", "Stage", "{}"),
        (_uuid(rng, made), "currency", "Value", '{"currency": "eur"}'),
        (_uuid(rng, made), "date", "Next call", "{}"),
    ]
    conn.executemany(
        "INSERT INTO custom_column (id, company_id, entity_type, type, label, label_key, options, created_at,"
        " updated_at) VALUES (?, ?, 'contact', ?, ?, ?, ?, ?, ?)",
        [(c[0], company_id, c[1], c[2], c[2].casefold(), c[3], made, made) for c in columns],
    )
    stage, value, call = (c[0] for c in columns)
    options = [_uuid(rng, made) for _ in STAGES]
    conn.executemany(
        "INSERT INTO custom_option (id, column_id, label, label_key, color, is_default, position, rank)"
        " VALUES (?, ?, ?, ?, 'default', ?, ?, ?)",
        [
            (o, stage, label, label.casefold(), int(i == 0), i, i)
            for i, (o, label) in enumerate(zip(options, STAGES, strict=True))
        ],
    )
    weights = (35, 20, 15, 10, 12, 8)
    rows = []
    for ident in contacts:
        rank = rng.choices(range(len(STAGES)), weights)[0]
        rows.append((ident, stage, company_id, options[rank], rank, None))
        if rng.random() < 0.6:
            cents = rng.randrange(100, 5_000_000)  # 1.00 - 50,000.00
            text = f"{cents // 100}.{cents % 100:02d}".rstrip("0").rstrip(".")
            rows.append((ident, value, company_id, text, cents * 100, None))
        if rng.random() < 0.4:
            day = (NOW + timedelta(days=rng.randrange(-60, 120))).date().isoformat()
            rows.append((ident, call, company_id, day, day, None))
    conn.executemany("INSERT INTO custom_value VALUES (?, ?, ?, ?, ?, ?)", rows)


def build(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with building(path) as conn:
        conn.execute("BEGIN")
        a, b = two_companies(conn)
        _company(
            conn, rng, "a", CONTACTS_A, ORGS_A, [a.user_id, *_users(conn, a.company_id, USERS_A - 1, "a")]
        )
        _company(conn, rng, "b", CONTACTS_B, ORGS_B, [b.user_id, *_users(conn, b.company_id, 1, "b")])
        for entity in ("contact", "organization"):
            for kind in ("trigram", "words"):
                conn.execute(search_insert_sql(entity, kind))
        conn.execute("COMMIT")
        conn.execute("INSERT INTO contact_trigram(contact_trigram) VALUES ('optimize')")
        conn.execute("INSERT INTO contact_words(contact_words) VALUES ('optimize')")


def dataset_path(seed: int) -> Path:
    """Cached per seed, size, generator version and schema text (a changed schema needs a fresh file)."""
    size = "" if CONTACTS_A == 100_000 else f"-{CONTACTS_A // 1000}k"
    return ROOT / "data" / f"bench-queries-s{seed}{size}-v{DATASET_VERSION}-{schema_digest()}.db"


def scale_to_million() -> None:
    """Ten times the data set (organizations too, so each keeps ~16 contacts); targets doubled."""
    global CONTACTS_A, CONTACTS_B, ORGS_A, ORGS_B
    CONTACTS_A, CONTACTS_B, ORGS_A, ORGS_B = 1_000_000, 100_000, 50_000, 5_000
    for key in TARGETS:
        TARGETS[key] *= 2


# ---- scenarios -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, conn: sqlite3.Connection, principal: Principal):
        self.conn = conn
        self.principal = principal

    def call(self, tool: str, args: dict) -> dict:
        """What a tools/call does in process: validate, check permissions, run the handler in a snapshot."""
        return REGISTRY.run(self.conn, tool, args, self.principal, NOW_ISO)

    def plan_lines(self, args: dict) -> list[str]:
        query = q.Query(
            args["entity"],
            args.get("searchTerm", ""),
            [q.FilterRule(**f) for f in args.get("filters", [])],
            q.SortDescriptor(**args["sortDescriptor"]) if "sortDescriptor" in args else None,
            args.get("page", 1),
            args.get("pageSize", 10),
        )
        plan = q.plan_query(self.conn, self.principal, query, now=NOW)
        lines = []
        page = plan.custom_page_sql() if plan.custom_sort else plan.page_sql()
        parts = [("page", page), ("count", plan.count_sql())]
        # Each narrowing custom-column rule is first sized over its index range (queries.custom_sizes).
        checked = q.check(
            self.principal, query, columns=q.load_columns(self.conn, self.principal.company_id, query.entity)
        )
        for rule in checked.rules:
            if rule.field.custom is not None and q.narrows(rule.op):
                sql, params = q.values_sql(rule.field, rule.op, rule.value, q.fl.Scope(self.principal, NOW))
                parts.append(("size", (f"SELECT count(*) FROM {sql}", params)))
        for label, (sql, params) in parts:
            rows = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            lines += [f"  {label:5} {row[3]}" for row in rows]
        return lines


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    for _ in range(WARMUPS):
        out = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, out


def _pick_token(conn: sqlite3.Connection, company_id: str, share: float, size: int) -> str:
    """A `size`-character piece of a last name matching about `share` of company A's contacts."""
    names = conn.execute(
        "SELECT last_name FROM contact WHERE company_id = ? GROUP BY 1 HAVING count(*) >= ?",
        (company_id, CONTACTS_A * share / 20),
    ).fetchall()
    pieces = {n[0][i : i + size].lower() for n in names for i in range(len(n[0]) - size + 1)}
    count = (
        f"SELECT count(*) FROM (SELECT {SEARCH_SEQ} AS seq FROM contact_trigram WHERE contact_trigram MATCH ?) m"
        " CROSS JOIN contact e ON e.seq = m.seq WHERE e.company_id = ?"
    )
    found = {
        p: conn.execute(count, (f'"{p}"', company_id)).fetchone()[0] for p in sorted(pieces) if p.isalpha()
    }
    return min(found, key=lambda p: abs(found[p] / CONTACTS_A - share))


def scenarios(bench: Bench, a_company: str) -> list[tuple[str, str, str, dict, bool]]:
    """(id, title, tool, arguments, plan must avoid table scans)."""
    conn = bench.conn
    org = conn.execute(
        "SELECT l.right_id FROM link_contact_organization l JOIN organization o ON o.id = l.right_id"
        " WHERE o.company_id = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 100",
        (a_company,),
    ).fetchone()[0]
    user = conn.execute(
        "SELECT l.right_id FROM link_contact_user l JOIN app_user u ON u.id = l.right_id WHERE u.company_id = ?"
        " GROUP BY 1 ORDER BY 1 LIMIT 1",
        (a_company,),
    ).fetchone()[0]
    first, last = conn.execute(
        "SELECT first_name, last_name FROM contact WHERE company_id = ? ORDER BY id LIMIT 1 OFFSET 4242",
        (a_company,),
    ).fetchone()
    one_pct = _pick_token(conn, a_company, 0.01, 4)
    twenty_pct = _pick_token(conn, a_company, 0.20, 3)
    since = (NOW - timedelta(days=180)).date().isoformat()
    c = {"entity": "contact", "pageSize": 25}
    o = {"entity": "organization", "pageSize": 25}
    stage, value = (
        conn.execute(
            "SELECT id FROM custom_column WHERE company_id = ? AND entity_type = 'contact' AND label = ?",
            (a_company, label),
        ).fetchone()[0]
        for label in ("Stage", "Value")
    )
    stage_rule = {"field": stage, "operator": "in", "value": ["Proposal"]}
    value_rule = {"field": value, "operator": "gte", "value": "40000"}
    org_rule = {"field": "organizationIds", "operator": "in", "value": [org]}
    return [
        ("F1", "no filter, default sort, page 1", "filter_entity", c, True),
        ("F2", "organizationIds in [one org], name asc", "filter_entity",
         c | {"filters": [org_rule], "sortDescriptor": {"field": "name", "direction": "asc"}}, True),
        ("F3", "createdAt inLastDays 30, createdAt desc", "filter_entity",
         c | {"filters": [{"field": "createdAt", "operator": "inLastDays", "value": 30}],
              "sortDescriptor": {"field": "createdAt", "direction": "desc"}}, True),
        ("F4", "Stage in [Proposal], default sort, page 3", "filter_entity",
         c | {"filters": [stage_rule], "page": 3}, True),
        ("F5", "sort by Value desc (no value last), page 1", "filter_entity",
         c | {"sortDescriptor": {"field": value, "direction": "desc"}}, True),
        ("F6", "createdAt gte + userIds in [one user], updatedAt desc", "filter_entity",
         c | {"filters": [{"field": "createdAt", "operator": "gte", "value": since},
                          {"field": "userIds", "operator": "in", "value": [user]}],
              "sortDescriptor": {"field": "updatedAt", "direction": "desc"}}, True),
        ("S1", f'one 4-char token "{one_pct}" (~1 %)', "filter_entity", c | {"searchTerm": one_pct}, False),
        ("S2", f'"{first} {last}"', "filter_entity", c | {"searchTerm": f"{first} {last}"}, False),
        ("S3", f'2-char + 5-char "{first[:2]} {last[:5]}"', "filter_entity",
         c | {"searchTerm": f"{first[:2]} {last[:5]}"}, False),
        ("S4", 'email domain fragment "@domain37"', "filter_entity", c | {"searchTerm": "@domain37"}, False),
        ("C1", "count, no filter", "count_entity", {"entity": "contact"}, True),
        ("C2", "count, organizationIds in [one org]", "count_entity", {"entity": "contact", "filters": [org_rule]}, True),
        ("C3", f'count, search "{one_pct}"', "count_entity", {"entity": "contact", "searchTerm": one_pct}, False),
        ("F7", "Value gte 40000, default sort", "filter_entity", c | {"filters": [value_rule]}, True),
        ("X3", "Stage in [Proposal] + Value gte 40000, sort Value desc", "filter_entity",
         c | {"filters": [stage_rule, value_rule], "sortDescriptor": {"field": value, "direction": "desc"}}, True),
        ("C4", "count, Stage in [Proposal]", "count_entity", {"entity": "contact", "filters": [stage_rule]}, True),
        ("X1", "page 4,000 at pageSize 25", "filter_entity", c | {"page": 4000}, True),
        ("X2", f'token "{twenty_pct}" (~20 %)', "filter_entity", c | {"searchTerm": twenty_pct}, False),
        # Names of linked records, matched through search_contact_organization (docs/query-language.md).
        ("X4", 'contacts via an organization word "acme"', "filter_entity", c | {"searchTerm": "acme"}, False),
        ("X5", 'contacts "ac wa": both tokens via organizations', "filter_entity", c | {"searchTerm": "ac wa"}, False),
        ("X6", 'organizations via a last name "smith"', "filter_entity", o | {"searchTerm": "smith"}, False),
        ("X7", 'organizations "ac sm": own name + contact names', "filter_entity", o | {"searchTerm": "ac sm"}, False),
    ]  # fmt: skip


TARGETS = {"F": 20.0, "S": 10.0, "C": 20.0}


def _row(ident: str, title: str, times: list[float], total: object) -> str:
    q50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    target = TARGETS.get(ident[0]) if ident[0] != "X" else None
    verdict = "" if target is None else ("ok" if q50 <= target else "OVER")
    return f"{ident:4} {q50:8.2f} {p95:8.2f} {max(times):8.2f} {str(target or '-'):>6} {verdict:4} {total!s:>7}  {title}"


def _total(out: object) -> object:
    return getattr(out, "total", "")


def run(path: Path, runs: int, http: bool, writes: bool = True, only: set[str] | None = None) -> None:
    conn = connect(path)
    key = acc.create_key(conn, "owner@a.example", f"bench-{time.time_ns()}")
    principal = authenticate(conn, key)
    bench = Bench(conn, principal)
    print(
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, CPUs {os.cpu_count()}, runs {runs}"
    )
    print(
        f"data: {CONTACTS_A:,} contacts in A, {CONTACTS_B:,} in B, {ORGS_A:,} orgs in A, {USERS_A} users; {path.name}"
    )
    print(f"\n{'id':4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>6} {'':4} {'total':>7}  scenario")
    plans, defects = [], []
    cases = [case for case in scenarios(bench, principal.company_id) if not only or case[0] in only]
    for ident, title, tool, args, strict in cases:
        times, out = timed(lambda tool=tool, args=args: bench.call(tool, args), runs)
        print(_row(ident, title, times, _total(out)))
        lines = bench.plan_lines(args)
        bad = [line for line in lines if _TABLE_SCAN.search(line)]
        if strict and bad:
            defects.append(ident)
        plans.append((ident, title, lines, strict and bad))
    if not only:
        _records(bench, runs)
    if writes and not only:
        _writes(path, principal)
    if http:
        _over_http(path, key, runs)
    print("\nEXPLAIN QUERY PLAN (page query, then count query):")
    for ident, title, lines, bad in plans:
        print(f"{ident} {title}{'   <-- SCAN of a table: defect' if bad else ''}")
        print("\n".join(lines))
    print(
        f"\nplan check: {'no table SCAN in F1-F7, C1-C2, C4' if not defects else 'DEFECTS in ' + ', '.join(defects)}"
    )


def _records(bench: Bench, runs: int) -> None:
    try:
        from customermates.crm.loading import load_records
    except ImportError:
        print("R1   skipped: customermates.crm.loading.load_records is not there yet")
        return
    ids = bench.call("filter_entity", {"entity": "contact", "pageSize": 25}).items

    def load() -> object:
        bench.conn.execute("BEGIN")
        try:
            return load_records(bench.conn, bench.principal, "contact", [r.id for r in ids])
        finally:
            bench.conn.execute("COMMIT")

    times, out = timed(load, runs)
    print(_row("R1", "get_entities-style load_records of 25 contacts", times, len(out)))


def _writes(path: Path, principal: Principal, batches: int = 30) -> None:
    """create_contacts of 100, committed, on a copy of the data set (so the cached file stays fixed).

    Goes through the registry's write path: validation, the handler, search rows and audit events.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        copy = connect(Path(tmp) / "writes.db")
        configure_writer(copy)  # the server's writer settings, so W1/W2 time the path it runs
        source = connect(path)
        source.backup(copy)
        source.close()
        orgs = [r[0] for r in copy.execute("SELECT id FROM organization WHERE company_id = ? LIMIT 500",
                                           (principal.company_id,))]  # fmt: skip
        for ident, linked in (("W1", False), ("W2", True)):
            counter = iter(range(10**9))

            def batch(linked: bool = linked, counter=counter) -> dict:
                items = []
                for _ in range(100):
                    n = next(counter)
                    item = {"firstName": f"Bench{n}", "lastName": "Writer", "emails": [f"bench{n}@w.example"]}
                    if linked:
                        item["organizationIds"] = [orgs[n % len(orgs)]]
                    items.append(item)
                return {"contacts": items}

            def once(batch=batch) -> object:
                return REGISTRY.run(copy, "create_contacts", batch(), principal)

            times, _ = timed(once, batches)
            per_second = 100 / (statistics.median(times) / 1000)
            title = "create_contacts of 100" + (" each linked to an organization" if linked else "")
            print(_row(ident, f"{title}: {per_second:,.0f} contacts/s", times, 100))
        copy.close()


def _over_http(path: Path, key: str, runs: int) -> None:
    """One end-to-end filter_entity (F1) over HTTP: server in this process, client on loopback."""
    import threading

    import httpx
    import uvicorn

    from customermates.app import create_app

    config = uvicorn.Config(create_app(path), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "filter_entity", "arguments": {"entity": "contact", "pageSize": 25}}}  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": key}) as client:

            def once() -> object:
                response = client.post("/api/v1/mcp", json=body)
                response.raise_for_status()
                return response.json()["result"]["structuredContent"]["total"]

            times, total = timed(once, max(50, runs // 4))
        print(_row("H1", "F1 as filter_entity over HTTP (MCP JSON-RPC, TOON text)", times, total))
    finally:
        server.should_exit = True
        thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--million", action="store_true", help="1,000,000 contacts; writes not run")
    parser.add_argument("--only", help="comma-separated scenario ids (S1,S4,C3): those alone, no writes")
    args = parser.parse_args()
    if args.million:
        scale_to_million()
    path = args.db or dataset_path(args.seed)
    if args.rebuild or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build(path, args.seed)
    only = set(args.only.split(",")) if args.only else None
    run(path, args.runs, not args.no_http and not only, writes=not args.million, only=only)


if __name__ == "__main__":
    main()
