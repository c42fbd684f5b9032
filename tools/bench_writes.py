"""Write-path benchmark in process: CPU per call of the create and link tools, steady on a shared machine.

    python tools/bench_writes.py [--calls 300] [--rounds 3] [--only create10,W1] [--profile W2] [--webhook]
    python tools/bench_writes.py --base DIR --rounds 5   # DIR: another checkout (`git archive main`),
                                                         # both in worker processes, rounds alternating
    python tools/bench_writes.py --statements create10  # CPU and wall per statement (COMMIT included)
    python tools/bench_writes.py --pages create10       # pages one call writes to the WAL, by b-tree
    python tools/bench_writes.py --variant "DROP INDEX contact_company_last" --variant "PRAGMA temp_store = MEMORY"
                                     # each SQL on its own copy beside one as is, rounds alternating (create10)
    python tools/bench_writes.py --instructions create10,grouped10,W1,W2 [--base DIR] [--annotate grouped10]
                                     # machine instructions per call (callgrind): load-independent

Each scenario runs its tool through `Registry.run` (validation, permissions, the handler, search rows,
audit rows, webhook outbox rows, one transaction, committed) on a copy of the 100,000-contact data set
of `bench_queries.py`, and reports CPU time per call (`time.process_time`, which other processes on
the machine inflate far less than wall time), the best of `--rounds`, beside its wall time. `--webhook` adds an enabled webhook subscribed to every
event first, so each call also writes outbox rows. `--profile KEY` prints a cProfile of that scenario.

    create10   create_contacts of 10 (what the side-by-side benchmark sends)
    W1         create_contacts of 100, unlinked
    W2         create_contacts of 100, each linked to an organization (100 organizations per call)
    link10     link_entities: 10 contacts to one organization
    grouped10  (--instructions only) create_contacts of 10 in groups of 16 (`run_group`), validation and
               the result's text included: what the writer runs for a burst of calls (group commit)

`--instructions` runs each scenario under valgrind's callgrind twice, with FEW and MANY calls, each on
its own copy; (MANY - FEW) / the difference is one call's instructions (start-up and warm-up cancel
out). `--annotate KEY` keeps that scenario's profile and prints `callgrind_annotate`'s top functions.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sqlite3
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

# A counted run of `--instructions --base DIR` runs this file against DIR's code (BENCH_CHECKOUT).
ROOT = Path(os.environ.get("BENCH_CHECKOUT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import bench_queries  # noqa: E402

from customermates.auth import Principal, authenticate  # noqa: E402
from customermates.catalog import REGISTRY  # noqa: E402
from customermates.store import accounts as acc  # noqa: E402
from customermates.store import connect  # noqa: E402
from customermates.store.database import configure_writer  # noqa: E402

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
    os.environ["CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE"] = "1"
    from customermates.webhooks.events import EVENT_NAMES

    hook = {"url": "http://127.0.0.1:9/hook", "events": list(EVENT_NAMES)}
    REGISTRY.run(conn, "create_webhook", hook, principal)


def open_copy(
    tmp: str, webhook: bool, factory: type[sqlite3.Connection] = sqlite3.Connection
) -> tuple[sqlite3.Connection, Principal]:
    """A copy of the cached data set (built when missing), set up as the server's writer, and the
    owner's principal."""
    source = bench_queries.dataset_path(7)
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        bench_queries.build(source, 7)
    conn = connect(Path(tmp) / "writes.db", factory)
    configure_writer(conn)
    original = connect(source)
    original.backup(conn)
    original.close()
    principal = authenticate(conn, acc.create_key(conn, "owner@a.example", "bench-writes"))
    assert principal is not None
    if webhook:
        add_webhook(conn, principal)
    return conn, principal


def worker(opts) -> None:
    """`--worker`: on each input line (a scenario key), one round of it; answers `cpu wall` in µs."""
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = open_copy(tmp, opts.webhook)
        cases = {c[0]: c for c in scenarios(conn, principal)}
        print("ready", flush=True)
        for line in sys.stdin:
            _, _, size, make = cases[line.strip()]
            cpu, wall = measure(conn, principal, make, _calls(opts, size))
            print(f"{cpu} {wall}", flush=True)


def _calls(opts, size: int) -> int:
    return max(10, opts.calls // 10) if size >= 100 else opts.calls


def side_by_side(opts, keys: list[str]) -> None:
    """This checkout and `--base` in two worker processes, rounds alternating, the best of each."""
    import subprocess

    procs = {}
    for label, root in (("base", opts.base.resolve()), ("this", ROOT)):
        cmd = [
            sys.executable,
            str(root / "tools" / "bench_writes.py"),
            "--worker",
            "--calls",
            str(opts.calls),
        ]
        cmd += ["--webhook"] if opts.webhook else []
        procs[label] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for proc in procs.values():
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    titles = {c[0]: (c[1], c[2]) for c in CASES}
    print(f"CPU µs per call, best of {opts.rounds} alternating rounds (base = {opts.base})")
    print(f"{'key':8} {'base':>9} {'this':>9} {'this/base':>9}  {'base /s':>8} {'this /s':>8}  scenario")
    rates: dict[str, dict[str, float]] = {"base": {}, "this": {}}
    for key in keys:
        best = {label: float("inf") for label in procs}
        for _ in range(opts.rounds):
            for label, proc in procs.items():
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(key + "\n")
                proc.stdin.flush()
                best[label] = min(best[label], float(proc.stdout.readline().split()[0]))
        title, size = titles[key]
        for label in procs:
            rates[label][key] = size * 1e6 / best[label]
        print(
            f"{key:8} {best['base']:9.0f} {best['this']:9.0f} {best['this'] / best['base']:9.2f}"
            f"  {1e6 / best['base']:8.0f} {1e6 / best['this']:8.0f}  {title}"
        )
    for label, proc in procs.items():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)
        if "W1" in rates[label] and "W2" in rates[label]:
            print(
                f"{label}: W2 / W1 = {rates[label]['W2'] / rates[label]['W1']:.0%} of contacts/s (target >= 50%)"
            )


class Timed(sqlite3.Connection):
    """A connection that adds each statement's CPU and wall time to `spent` (first 80 characters)."""

    spent: collections.defaultdict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])

    def _timed(self, label: str, run: Callable[[], sqlite3.Cursor]) -> sqlite3.Cursor:
        cpu, wall = time.process_time(), time.perf_counter()
        cursor = run()
        entry = self.spent[label[:80]]
        entry[0] += time.process_time() - cpu
        entry[1] += time.perf_counter() - wall
        entry[2] += 1
        return cursor

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._timed(" ".join(sql.split()), lambda: super(Timed, self).execute(sql, *args))

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._timed(
            "many " + " ".join(sql.split()), lambda: super(Timed, self).executemany(sql, *args)
        )


def statements(opts, key: str) -> None:
    """CPU and wall per call of each statement the scenario runs, COMMIT included, most CPU first."""
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = open_copy(tmp, opts.webhook, Timed)
        _, title, size, make = {c[0]: c for c in scenarios(conn, principal)}[key]
        measure(conn, principal, make, 20)
        Timed.spent.clear()
        calls = _calls(opts, size)
        cpu, wall = measure(conn, principal, make, calls)
        calls += 5  # `measure`'s warm-up calls are counted in `spent` too
        total = sum(v[0] for v in Timed.spent.values()) / calls * 1e6
        print(f"{key}: {title}; per call: CPU {cpu:.0f} µs (SQL {total:.0f}), wall {wall:.0f} µs")
        print(f"{'CPU µs':>7} {'wall µs':>8} {'runs':>5}  statement")
        for label, (c, w, n) in sorted(Timed.spent.items(), key=lambda kv: -kv[1][0]):
            print(f"{c / calls * 1e6:7.0f} {w / calls * 1e6:8.0f} {n / calls:5.1f}  {label}")


def pages(opts, key: str, calls: int = 10) -> None:
    """Pages one call appends to the WAL, by b-tree (dbstat), averaged over `calls` calls."""
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = open_copy(tmp, opts.webhook)
        _, title, _, make = {c[0]: c for c in scenarios(conn, principal)}[key]
        measure(conn, principal, make, 20)
        wal_path = Path(tmp) / "writes.db-wal"
        by_tree: collections.Counter[str] = collections.Counter()
        for _ in range(calls):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            REGISTRY.run(conn, *make(), principal)
            owner = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
            wal = wal_path.read_bytes()
            size = struct.unpack(">I", wal[8:12])[0]
            frames = {struct.unpack(">I", wal[at : at + 4])[0] for at in range(32, len(wal) - 23, 24 + size)}
            by_tree.update(owner.get(page, "(free list)") for page in frames)
        print(f"{key}: {title}; {sum(by_tree.values()) / calls:.1f} pages per call")
        for name, n in by_tree.most_common():
            print(f"{n / calls:6.1f}  {name}")


def variants(opts, key: str) -> None:
    """The scenario on a copy as is and on one copy per `--variant` SQL script, rounds alternating."""
    scripts = {"as is": "", **{sql: sql for sql in opts.variant}}
    with tempfile.TemporaryDirectory() as tmp:
        setups = {}
        for i, (label, sql) in enumerate(scripts.items()):
            (Path(tmp) / str(i)).mkdir()
            conn, principal = open_copy(str(Path(tmp) / str(i)), opts.webhook)
            conn.executescript(sql)
            _, _, size, make = {c[0]: c for c in scenarios(conn, principal)}[key]
            measure(conn, principal, make, 20)
            setups[label] = (conn, principal, make, _calls(opts, size))
        best = dict.fromkeys(scripts, float("inf"))
        for _ in range(opts.rounds):
            for label, (conn, principal, make, calls) in setups.items():
                best[label] = min(best[label], measure(conn, principal, make, calls)[0])
        print(f"{key}: CPU µs per call, best of {opts.rounds} alternating rounds, each on its own copy")
        for label, cpu in best.items():
            print(f"{cpu:7.0f} {cpu - best['as is']:+6.0f}  {label}")


CASES = [
    ("create10", "create_contacts of 10", 10),
    ("W1", "create_contacts of 100, unlinked", 100),
    ("W2", "create_contacts of 100, each linked to an organization", 100),
    ("link10", "link_entities: 10 contacts to one organization", 10),
]


# ---- --instructions: machine instructions per call, counted by callgrind ----------------------------------

FEW, MANY = 20, 120  # calls per counted run (W1/W2: a tenth)
GROUP = 16  # calls per group in `grouped10` (the side-by-side benchmark's 16 connections)


def _grouped(conn, key: str, make: Callable[[], tuple[str, dict]], calls: int) -> None:
    """`calls` create calls as the writer runs a burst: validated, `GROUP` per `run_group`, each
    authenticated in its own savepoint by its API key (`key`), as a request's `Caller` is, rendered."""
    import anyio

    from customermates.auth import Caller
    from customermates.registry import _execute, success
    from customermates.store.database import _Job, run_group
    from customermates.validation import check

    async def run() -> None:
        for start in range(0, calls, GROUP):
            jobs = []
            for _ in range(min(GROUP, calls - start)):
                tool_name, args = make()
                tool = REGISTRY.lookup(tool_name)
                typed = check(args, tool.input, writes=True)
                jobs.append(_Job(_execute, (tool, typed, Caller(key), False, None, None)))
            run_group(conn, jobs, collections.Counter())
            for job in jobs:
                output, _ = job.outcome()
                assert success(tool, output).text  # the result text a client reads

    anyio.run(run)


def _child(key: str, calls: int, path: str) -> None:
    """One counted run: `calls` calls of scenario `key` on the copy at `path` (key file beside it)."""
    from customermates.store.database import WriterConnection

    conn = connect(path, WriterConnection)
    configure_writer(conn)
    conn.executescript(os.environ.get("BENCH_VARIANT", ""))
    key_text = Path(path + ".key").read_text()
    principal = authenticate(conn, key_text)
    assert principal is not None
    base = "create10" if key == "grouped10" else key
    make = {c[0]: c for c in scenarios(conn, principal)}[base][3]
    if key == "grouped10":
        _grouped(conn, key_text, make, calls)
    else:
        for _ in range(calls):
            REGISTRY.run(conn, *make(), principal)
    conn.close()


def _count(
    job: int, checkout: Path, variant: str, key: str, calls: int, source: Path, out: Path | None
) -> int:
    import re
    import shutil
    import subprocess

    copy = source.with_name(f"{source.stem}-{job}.db")
    shutil.copyfile(source, copy)
    shutil.copyfile(str(source) + ".key", str(copy) + ".key")
    env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_CHECKOUT": str(checkout), "BENCH_VARIANT": variant}
    target = f"--callgrind-out-file={out}" if out else "--callgrind-out-file=/dev/null"
    argv = ["valgrind", "--tool=callgrind", target, sys.executable, __file__]
    done = subprocess.run(
        [*argv, "--child", key, str(calls), str(copy)], env=env, capture_output=True, text=True
    )
    copy.unlink()
    for suffix in ("-wal", "-shm", ".key"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{key}: the counted run failed: {done.stderr[-800:]}")
    return int(found[1])


def instructions(opts, keys: list[str]) -> None:
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    # (label, checkout, SQL run first): this checkout as is first, then --base, then each --variant
    setups = [("this", ROOT, "")] + ([("base", opts.base.resolve(), "")] if opts.base else [])
    setups += [(sql, ROOT, sql) for sql in opts.variant]
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = open_copy(tmp, False)
        source = Path(tmp) / "writes.db"
        Path(str(source) + ".key").write_text(acc.create_key(conn, "owner@a.example", "bench-instructions"))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        outs = {n: Path(tmp) / f"callgrind-{n}.out" for n in ("few", "many")}
        jobs = []
        for key in keys:
            few, many = (FEW // 10, MANY // 10) if key in ("W1", "W2") else (FEW, MANY)
            for label, checkout, sql in setups:
                for n, size in ((few, "few"), (many, "many")):
                    keep = outs[size] if (key == opts.annotate and label == "this") else None
                    jobs.append((label, checkout, sql, key, n, keep))
        with ThreadPoolExecutor(2) as pool:  # one valgrind per core
            counts = list(pool.map(lambda i: _count(i, *jobs[i][1:5], source, jobs[i][5]), range(len(jobs))))
        per_call = {
            (jobs[i][0], jobs[i][3]): (counts[i + 1] - counts[i]) / (jobs[i + 1][4] - jobs[i][4])
            for i in range(0, len(jobs), 2)
        }
        print(f"instructions per call (callgrind; {MANY - FEW} calls, W1/W2 a tenth)")
        print(f"{'key':10} {'instructions':>12} {'change':>7}  setup")
        for key in keys:
            this = per_call[("this", key)]
            for label, _, _ in setups:
                n = per_call[(label, key)]
                shown = (
                    "this checkout" if label == "this" else label if label != "base" else f"base {opts.base}"
                )
                print(f"{key:10} {n:12,.0f} {n / this - 1:+7.1%}  {shown}")
        if opts.annotate:
            calls = [j[4] for j in jobs if j[3] == opts.annotate and j[0] == "this"]
            annotate(outs["few"], outs["many"], calls[1] - calls[0])


def annotate(few: Path, many: Path, calls: int, top: int = 45) -> None:
    """The functions of one call (the MANY run's counts less the FEW run's, per call), inclusive and
    self, largest first: start-up and warm-up cancel out as they do in the totals."""
    import re
    import subprocess

    def counts(path: Path, inclusive: bool) -> dict[str, int]:
        text = subprocess.run(
            [
                "callgrind_annotate",
                f"--inclusive={'yes' if inclusive else 'no'}",
                "--threshold=100",
                str(path),
            ],
            capture_output=True,
            text=True,
        ).stdout
        out: dict[str, int] = {}
        for line in text.splitlines():
            found = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S.*?)(?: \[(.*)\])?$", line)
            if found and "PROGRAM TOTALS" not in line:
                name = found[2].rsplit("/", 1)[-1] + (" [" + Path(found[3]).name + "]" if found[3] else "")
                out[name] = out.get(name, 0) + int(found[1].replace(",", ""))
        return out

    for inclusive in (True, False):
        a, b = counts(few, inclusive), counts(many, inclusive)
        diff = {k: (b.get(k, 0) - a.get(k, 0)) / calls for k in b}
        print(f"\n{'inclusive' if inclusive else 'self'} instructions per call, by function")
        for name, n in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{n:12,.0f}  {name[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round (W1/W2: a tenth)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario; the best is shown")
    parser.add_argument("--only", default="", help="comma list of scenario keys")
    parser.add_argument("--profile", default="", help="a scenario key: print its cProfile instead")
    parser.add_argument("--webhook", action="store_true", help="an enabled webhook for every event first")
    parser.add_argument("--base", type=Path, help="another checkout: both measured, rounds alternating")
    parser.add_argument("--statements", default="", help="a scenario key: CPU and wall per statement")
    parser.add_argument("--pages", default="", help="a scenario key: WAL pages per call by b-tree")
    parser.add_argument("--variant", action="append", default=[], help="SQL run on a copy first (repeatable)")
    parser.add_argument("--instructions", default="", help="comma list of keys: instructions per call")
    parser.add_argument("--annotate", default="", help="with --instructions: a key whose profile to print")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    if "--child" in sys.argv:  # one counted run of `--instructions`, under valgrind
        key, calls, path = sys.argv[sys.argv.index("--child") + 1 :][:3]
        return _child(key, int(calls), path)
    opts = parser.parse_args()
    if opts.worker:
        return worker(opts)
    if opts.statements:
        return statements(opts, opts.statements)
    if opts.pages:
        return pages(opts, opts.pages)
    if opts.instructions:
        return instructions(opts, opts.instructions.split(","))
    if opts.variant:
        return variants(opts, (opts.only or "create10").split(",")[0])
    keys = [c[0] for c in CASES if not opts.only or c[0] in opts.only.split(",")]
    if opts.base:
        return side_by_side(opts, keys)
    with tempfile.TemporaryDirectory() as tmp:
        conn, principal = open_copy(tmp, opts.webhook)
        cases = {c[0]: c for c in scenarios(conn, principal)}
        if opts.profile:
            _, title, _, make = cases[opts.profile]
            measure(conn, principal, make, 3)
            profiler = cProfile.Profile()
            profiler.enable()
            measure(conn, principal, make, opts.calls)
            profiler.disable()
            print(f"{opts.profile}: {title}, {opts.calls} calls")
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(30)
            return
        print(f"SQLite {sqlite3.sqlite_version}; webhook: {'yes' if opts.webhook else 'no'}")
        print(
            f"{'key':8} {'CPU µs/call':>11} {'wall µs':>9} {'calls/s (CPU)':>13} {'contacts/s':>10}  scenario"
        )
        rates = {}
        for ident in keys:
            _, title, size, make = cases[ident]
            cpu, wall = min(measure(conn, principal, make, _calls(opts, size)) for _ in range(opts.rounds))
            rates[ident] = size * 1e6 / cpu
            print(f"{ident:8} {cpu:11.0f} {wall:9.0f} {1e6 / cpu:13.0f} {rates[ident]:10.0f}  {title}")
        if "W1" in rates and "W2" in rates:
            print(f"W2 / W1 (CPU): {rates['W2'] / rates['W1']:.0%} (target >= 50%)")
        conn.close()


if __name__ == "__main__":
    main()
