"""CPU per request of the read path, in process: the ASGI app called directly, no socket, no HTTP parser.

    python tools/bench_inprocess.py [--calls 2000] [--rounds 5] [--profile [tottime|cumulative]]

On a copy of the query benchmark's data set (100,000 contacts) with a fresh API key: MCP
`tools/call get_entities` of one random contact id, and REST `GET /api/v1/contacts/{id}`, each sent
`--calls` times (a round) from one coroutine through the whole app (Gate, routing, auth, the tool, encoding).
Prints CPU µs per call (`time.process_time`, all threads of the process: the database thread too) and
wall µs per call, of the best of `--rounds` rounds. The number to compare before/after a change is the CPU column: it hardly moves
when other work shares the machine. `--profile` prints the top of a cProfile of the MCP case.

    python tools/bench_inprocess.py --instructions [--base DIR]

counts instead of timing: each case runs under valgrind (callgrind) twice, with 50 and with 250 calls,
and the difference over 200 is the machine instructions of one call (start-up cancels out). The count
does not depend on the load of a shared machine, so a change of 1 % shows; it is no wall time (a cache
miss costs one instruction). `--base DIR` (e.g. `git archive main | tar -x -C DIR`) counts that
checkout too, on the same data, as a before column. valgrind is installed with apt when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

OWNER = "owner@a.example"
PING = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'


def _data(folder: Path) -> tuple[Path, str, list[str]]:
    import bench_queries

    from customermates.store import accounts, connect
    from customermates.store.database import in_transaction

    cached = bench_queries.dataset_path(7)
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        bench_queries.build(cached, 7)
    path = folder / "bench.db"
    shutil.copyfile(cached, path)
    conn = connect(path)
    key = in_transaction(conn, accounts.create_key, OWNER, "in-process", write=True)
    company = conn.execute("SELECT company_id FROM app_user WHERE email = ?", (OWNER,)).fetchone()[0]
    ids = [r[0] for r in conn.execute("SELECT id FROM contact WHERE company_id = ? LIMIT 5000", (company,))]
    conn.close()
    return path, key, ids


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]], app) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }


async def _request(app, method: str, path: str, headers: list, body: bytes) -> tuple[int, bytes]:
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(_scope(method, path, headers, app), receive, send)
    return status, b"".join(chunks)


class Lifespan:
    """Runs the app's ASGI lifespan in a task: startup on enter, shutdown on exit."""

    def __init__(self, app):
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc):
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task


def cases(key: str) -> dict[str, tuple[str, str, list, bytes]]:
    mcp_headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json, text/event-stream"),
        (b"mcp-protocol-version", b"2025-11-25"),
        (b"x-api-key", key.encode()),
    ]
    rest_headers = [(b"host", b"127.0.0.1:8000"), (b"x-api-key", key.encode())]
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "get_entities", "arguments": {"items": [{"entity": "contact", "id": "@ID@"}]}},
    }
    return {
        "MCP tools/call get_entities (1 id)": ("POST", "/api/v1/mcp", mcp_headers, json.dumps(call).encode()),
        "REST GET /api/v1/contacts/{id}": ("GET", "/api/v1/contacts/@ID@", rest_headers, b""),
        "MCP ping (the HTTP layers and authentication)": ("POST", "/api/v1/mcp", mcp_headers, PING),
    }


async def measure(
    app, case, ids: list[str], calls: int, rng: random.Random, rounds: int = 1
) -> tuple[float, float]:
    method, path, headers, body = case
    for _ in range(200):
        ident = rng.choice(ids)
        status, out = await _request(
            app, method, path.replace("@ID@", ident), headers, body.replace(b"@ID@", ident.encode())
        )
        if status != 200 or b'isError":true' in out:
            raise SystemExit(f"{path}: {status} {out[:300]!r}")
    best = (float("inf"), float("inf"))
    for _ in range(rounds):  # the best round: other work on the machine only ever adds time
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            ident = rng.choice(ids)
            await _request(
                app, method, path.replace("@ID@", ident), headers, body.replace(b"@ID@", ident.encode())
            )
        took = ((time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6)
        best = min(best, took)
    return best


async def _bare(path: Path, key: str, ids: list[str], calls: int, rounds: int, rng: random.Random) -> None:
    """The side-by-side benchmark's bare reference (a Starlette endpoint replaying our statements)."""
    import bench_side_by_side as side

    from customermates.store import connect

    conn = connect(path)
    company = conn.execute("SELECT company_id FROM app_user WHERE email = ?", (OWNER,)).fetchone()[0]
    wanted = [c for c in side.scenarios(conn, company) if c.key in ("get", "rest_get")]
    conn.close()
    plans = await side.record(path, key, wanted, ids[0])
    app = side.bare_app(path, plans)
    async with Lifespan(app):
        for case in wanted:
            method, route, body = case.request()
            headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
            shaped = (method, route, headers, body.encode())
            cpu, wall = await measure(app, shaped, ids, calls, rng, rounds)
            print(f"{'bare reference: ' + case.key:44} {cpu:8.0f} {wall:8.0f}")


async def main(calls: int, rounds: int, profile: str | None) -> None:
    from customermates.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        path, key, ids = _data(Path(tmp))
        app = create_app(path)
        rng = random.Random(5)
        async with Lifespan(app):
            print(f"{f'per call, in process (best of {rounds} x {calls})':44} {'CPU µs':>8} {'wall µs':>8}")
            for name, case in cases(key).items():
                cpu, wall = await measure(app, case, ids, calls, rng, rounds)
                print(f"{name:44} {cpu:8.0f} {wall:8.0f}")
            await _bare(path, key, ids, calls, rounds, rng)
            if profile:
                import cProfile
                import pstats

                first = next(iter(cases(key).values()))
                profiler = cProfile.Profile()
                profiler.enable()
                await measure(app, first, ids, calls, rng)
                profiler.disable()
                pstats.Stats(profiler).sort_stats(profile).print_stats(40)


# ---- --instructions: machine instructions per call, counted by callgrind -------------------------------

COUNTED = {  # what a child counts: ours by `cases` name, or the bare reference by scenario key
    "MCP tools/call get_entities (1 id)": "ours",
    "REST GET /api/v1/contacts/{id}": "ours",
    "MCP ping (the HTTP layers and authentication)": "ours",
    "get": "bare",
    "rest_get": "bare",
}
FEW, MANY = 50, 250


async def _child(case: str, calls: int, path: Path) -> None:
    """Runs `calls` requests of one case on a prepared copy (`path`, with `.key` and `.ids` beside it)."""
    key = path.with_suffix(".key").read_text()
    ids = path.with_suffix(".ids").read_text().split()
    rng = random.Random(5)
    if COUNTED[case] == "ours":
        from customermates import app as served
        from customermates.app import create_app

        # No timer may fire inside a counted run: it would land in the 50-call or the 250-call run
        # by chance (the tools/list build after 1 s is ~300 M instructions). The webhook worker's
        # 1 s poll is off too (`_count`'s environment).
        served.WARM_AFTER_S = 1e9
        app = create_app(path)
        shaped = cases(key)[case]
    else:
        import bench_side_by_side as side

        from customermates.store import connect

        conn = connect(path)
        company = conn.execute("SELECT company_id FROM app_user WHERE email = ?", (OWNER,)).fetchone()[0]
        wanted = [c for c in side.scenarios(conn, company) if c.key == case]
        conn.close()
        app = side.bare_app(path, await side.record(path, key, wanted, ids[0]))
        method, route, body = wanted[0].request()
        shaped = (
            method,
            route,
            [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")],
            body.encode(),
        )
    method, route, headers, body = shaped
    async with Lifespan(app):
        for _ in range(calls):
            ident = rng.choice(ids)
            await _request(
                app, method, route.replace("@ID@", ident), headers, body.replace(b"@ID@", ident.encode())
            )


def _valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        import subprocess

        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=False, capture_output=True)
        found = shutil.which("valgrind")
    if found is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    return found


def _count(valgrind: str, checkout: Path, case: str, calls: int, path: Path) -> int:
    import os
    import re
    import subprocess

    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(checkout),
        "CUSTOMERMATES_WEBHOOK_WORKER": "0",
    }
    # This file drives every checkout's code, so each is counted the same way (timers off: `_child`).
    script = Path(__file__)
    env["BENCH_CHECKOUT"] = str(checkout)
    argv = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(script)]
    done = subprocess.run(
        [*argv, "--child", case, str(calls), str(path)], env=env, capture_output=True, text=True
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{case}: the counted run failed: {done.stderr[-600:]}")
    return int(found[1])


def instructions(base: Path | None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    valgrind = _valgrind()
    checkouts = [ROOT] + ([base.resolve()] if base else [])
    with tempfile.TemporaryDirectory() as tmp:
        path, key, ids = _data(Path(tmp))
        path.with_suffix(".key").write_text(key)
        path.with_suffix(".ids").write_text("\n".join(ids))
        # The bare reference is the same code whichever checkout: counted once.
        jobs = [
            (c, case, n)
            for case in COUNTED
            for c in (checkouts if COUNTED[case] == "ours" else checkouts[:1])
            for n in (FEW, MANY)
        ]
        with ThreadPoolExecutor(2) as pool:  # one valgrind per core
            counts = list(pool.map(lambda job: _count(valgrind, job[0], job[1], job[2], path), jobs))
    per_call = {
        (c, case): (counts[i + 1] - counts[i]) / (MANY - FEW)
        for i, (c, case, n) in enumerate(jobs)
        if n == FEW
    }
    head = f"{'instructions per call (callgrind, ' + str(MANY - FEW) + ' calls)':48} {'this':>10}"
    print(head + (f" {'base':>10} {'change':>7}" if base else ""))
    for case in COUNTED:
        label = case if COUNTED[case] == "ours" else f"bare reference: {case}"
        row = f"{label:48} {per_call[(ROOT, case)]:10,.0f}"
        if base and COUNTED[case] == "ours":
            before = per_call[(checkouts[1], case)]
            row += f" {before:10,.0f} {per_call[(ROOT, case)] / before - 1:+7.1%}"
        print(row)


if __name__ == "__main__":
    import os

    if "--child" in sys.argv:  # one counted run (see `instructions`), in the checkout named by PYTHONPATH
        checkout = os.environ.get("BENCH_CHECKOUT")
        if checkout:
            sys.path.insert(0, checkout)
        _, _, case, calls, db = sys.argv[sys.argv.index("--child") - 1 :][:5]
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(_child(case, int(calls), Path(db)))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per case; the best is printed")
    parser.add_argument("--profile", nargs="?", const="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--instructions", action="store_true", help="count instructions per call (valgrind)")
    parser.add_argument("--base", type=Path, help="with --instructions: another checkout, counted too")
    opts = parser.parse_args()
    if opts.instructions:
        instructions(opts.base)
        raise SystemExit(0)
    try:
        import uvloop  # the loop the server runs on when installed (uvicorn picks it)

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(opts.calls, opts.rounds, opts.profile))
