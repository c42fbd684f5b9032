"""CPU per request of the read path, in process: the ASGI app called directly, no socket, no HTTP parser.

    python tools/bench_inprocess.py [--calls 2000] [--rounds 5] [--profile [tottime|cumulative]]

On a copy of the query benchmark's data set (100,000 contacts) with a fresh API key: MCP
`tools/call get_entities` of one random contact id, and REST `GET /api/v1/contacts/{id}`, each sent
`--calls` times (a round) from one coroutine through the whole app (Gate, routing, auth, the tool, encoding).
Prints CPU µs per call (`time.process_time`, all threads of the process: the database thread too) and
wall µs per call, of the best of `--rounds` rounds. The number to compare before/after a change is the CPU column: it hardly moves
when other work shares the machine. `--profile` prints the top of a cProfile of the MCP case.
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per case; the best is printed")
    parser.add_argument("--profile", nargs="?", const="tottime", choices=("tottime", "cumulative"))
    opts = parser.parse_args()
    try:
        import uvloop  # the loop the server runs on when installed (uvicorn picks it)

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(opts.calls, opts.rounds, opts.profile))
