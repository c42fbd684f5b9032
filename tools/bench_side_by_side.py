"""Side-by-side server benchmark: customermates beside the bare stack and the `mcp` SDK's own server.

    python tools/bench_side_by_side.py [--seconds 5] [--connections 16] [--http auto|h11|httptools]
                                       [--loop auto|asyncio|uvloop] [--only get,create] [--sweep 1,32]
    python tools/bench_side_by_side.py --seconds 3        # smoke run (~1.5 min)
    python tools/bench_side_by_side.py --reads            # the read targets only (~1 min)

`--reads` is `--only get,rest_get --no-cold`: the MCP and REST reads at `--connections`, then again at
each `--sweep` count (1 client for p50, 32 connections for p99), and the speed targets (docs/benchmarks.md).
At one client the servers take turns in `--p50-rounds` short rounds (ours, bare, sdk, ours, …) and each
cell is its median round (`interleaved`); the summary prints the spread of the per-turn p50 ratios.

Three servers on the same data (the 100,000-contact set of `bench_queries.py`, each on its own copy),
each pinned to core 0 with `taskset`, driven in turn by `wrk` pinned to core 1, back to back per
scenario, so every ratio is taken in one run on one machine:

    ours   `create_app` under uvicorn (what `customermates serve` runs)
    bare   a Starlette endpoint that decodes the JSON-RPC (or REST) body and runs the statements
    sdk    the SDK's `MCPServer` over streamable HTTP, stateless, JSON responses, same statements

"The statements" are exactly what ours runs for the request: before the load, each scenario's
request goes once through our app in process on a recording connection, and every database hop
it makes (authentication aside; the references do not authenticate) is saved with its SQL and
parameters. A reference replays those hops (same `Database` pool, one thread hop each, the same
transactions) with the request's own values put in: the id asked for, fresh ids for new rows.
All three run uvicorn with the same `--http`/`--loop` choice. wrk is installed with apt when missing.
Figures are for the machine at hand (2 cores shared with whatever else runs): read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from customermates.ids import new_id  # noqa: E402

SERVER_CORE, LOAD_CORE = "0", "1"
OWNER = "owner@a.example"
MCP_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_SLOT = "@ID@"  # where wrk puts a random contact id, in a body or a path


# ---- scenarios --------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """One request shape: its MCP tool call, or its REST method and path; `ID_SLOT` marks the id."""

    key: str
    title: str
    tool: str
    arguments: dict[str, Any] | None = None  # MCP
    method: str = "POST"  # REST
    path: str | None = None  # REST
    body: dict[str, Any] | None = None  # REST
    writes: bool = False

    @property
    def rest(self) -> bool:
        return self.path is not None

    def request(self) -> tuple[str, str, str]:
        """(method, path on ours, body) with `ID_SLOT` still in place."""
        if self.rest:
            return self.method, self.path, "" if self.body is None else json.dumps(self.body)
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
        call["params"] = {"name": self.tool, "arguments": self.arguments}
        return "POST", "/api/v1/mcp", json.dumps(call)


def scenarios(conn: sqlite3.Connection, company: str) -> list[Scenario]:
    org = conn.execute(
        "SELECT l.right_id FROM link_contact_organization l JOIN organization o ON o.id = l.right_id"
        " WHERE o.company_id = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 100",
        (company,),
    ).fetchone()[0]
    first, last = conn.execute(
        "SELECT first_name, last_name FROM contact WHERE company_id = ? ORDER BY id LIMIT 1 OFFSET 4242",
        (company,),
    ).fetchone()
    filtered = {
        "entity": "contact",
        "filters": [
            {"field": "organizationIds", "operator": "in", "value": [org]},
            {"field": "createdAt", "operator": "gte", "value": "2023-06-01"},
        ],
        "sortDescriptor": {"field": "name", "direction": "asc"},
        "pageSize": 10,
    }
    search = {"searchTerm": f"{first} {last}"}
    people = [
        {"firstName": "Bench", "lastName": f"Writer{i}", "emails": [f"bench.writer{i}@w.example"]}
        for i in range(10)
    ]
    one = {"items": [{"entity": "contact", "id": ID_SLOT}]}
    rest_filter = {k: v for k, v in filtered.items() if k != "entity"}
    return [
        Scenario("get", "get_entities, one random id", "get_entities", one),
        Scenario("filter", "filter_entity, 2 filters + sort, page of 10", "filter_entity", filtered),
        Scenario("search", f'search_all_entities "{first} {last}"', "search_all_entities", search),
        Scenario("create", "create_contacts, 10 items", "create_contacts", {"contacts": people}, writes=True),
        Scenario("rest_get", "GET /contacts/{id}", "get_entities", method="GET", path=f"/api/v1/contacts/{ID_SLOT}"),
        Scenario("rest_filter", "POST /contacts/search", "filter_entity", path="/api/v1/contacts/search",
                 body=rest_filter),
        Scenario("rest_search", "POST /tools/search_all_entities", "search_all_entities",
                 path="/api/v1/tools/search_all_entities", body=search),
        Scenario("rest_create", "POST /contacts/many, 10 items", "create_contacts", path="/api/v1/contacts/many",
                 body={"contacts": people}, writes=True),
    ]  # fmt: skip


# ---- recording what ours runs ------------------------------------------------------------------------


class _RecordingCursor:
    def __init__(self, cursor: sqlite3.Cursor, log: list):
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_log", log)

    def execute(self, sql, params=()):
        self._log.append(["execute", sql, list(params)])
        return self._cursor.execute(sql, params)

    def executemany(self, sql, rows):
        rows = [list(r) for r in rows]
        self._log.append(["executemany", sql, rows])
        return self._cursor.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def __setattr__(self, name, value):
        setattr(self._cursor, name, value)


class _RecordingConnection:
    """A sqlite3 connection that logs every statement and its parameters."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self.log: list = []

    def execute(self, sql, params=()):
        return self.cursor().execute(sql, params)

    def executemany(self, sql, rows):
        return self.cursor().executemany(sql, rows)

    def cursor(self):
        return _RecordingCursor(self._conn.cursor(), self.log)

    def __getattr__(self, name):
        return getattr(self._conn, name)


SKIPPED = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")  # the replaying hop opens its own transaction
_LOOKUP = "FROM api_key k"  # the credential's look-up: the references do not authenticate


class _RecordingDatabase:
    """Stands in for `store.Database` in process: runs each unit of work at once and keeps its SQL."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.hops: list[dict[str, Any]] = []

    async def _hop(self, fn, args, write: bool | None):
        return self._now(fn, args, write)

    def _now(self, fn, args, write: bool | None):
        from customermates.store.database import in_transaction

        recording = _RecordingConnection(self.conn)
        if write is None:
            result = fn(recording, *args)
        else:
            result = in_transaction(recording, fn, *args, write=write)
        statements = [s for s in recording.log if s[1] not in SKIPPED and _LOOKUP not in s[1]]
        self.hops.append({"fn": fn.__name__, "write": bool(write), "statements": statements})
        return result

    async def read(self, fn, *args):
        return await self._hop(fn, args, False)

    def read_now(self, fn, *args):  # ours skips the thread hop here; the references replay it as one
        return self._now(fn, args, False)

    async def write(self, fn, *args):
        return await self._hop(fn, args, True)

    async def run(self, fn, *args):
        return await self._hop(fn, args, None)


async def record(db_path: Path, key: str, cases: list[Scenario], sample_id: str) -> dict[str, Any]:
    """For each scenario, the database hops ours makes for one request (authentication left out)."""
    import httpx

    from customermates.app import create_app
    from customermates.store import connect

    app = create_app(db_path)
    conn = connect(db_path)
    plans = {}
    # Ids a write reads but does not make: accounts, and the custom columns (and options) whose
    # defaults a created record gets. Replayed with fresh values, they would break foreign keys.
    accounts = {r[0] for r in conn.execute(
        "SELECT id FROM company UNION ALL SELECT id FROM app_user UNION ALL SELECT id FROM role"
        " UNION ALL SELECT id FROM api_key UNION ALL SELECT id FROM custom_column"
        " UNION ALL SELECT id FROM custom_option UNION ALL SELECT id FROM webhook")}  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for case in cases:
            app.state.db = recorder = _RecordingDatabase(conn)
            method, path, body = case.request()
            path, body = path.replace(ID_SLOT, sample_id), body.replace(ID_SLOT, sample_id)
            headers = {**MCP_HEADERS, "x-api-key": key}
            response = await client.request(method, path, content=body or None, headers=headers)
            _check_ok(case, response.status_code, response.text)
            hops = [h for h in recorder.hops if h["statements"]]
            ids = _generated_ids(hops, accounts | set(UUID.findall(body))) if case.writes else []
            plans[case.key] = {"hops": hops, "sample_id": sample_id, "generated": ids}
    conn.close()
    return plans


def _generated_ids(hops: list[dict], known: set[str]) -> list[str]:
    """Ids a write made up: in its statements, but neither in the request nor among existing accounts."""
    return sorted(set(UUID.findall(json.dumps(hops))) - known)


def _check_ok(case: Scenario, status: int, text: str) -> None:
    if status >= 300 or '"isError":true' in text or '"error":' in text[:200]:
        raise SystemExit(f"{case.key}: the request fails ({status}): {text[:400]}")


# ---- the reference servers (run as `--serve bare|sdk` in their own process) -----------------------------


def _substitute(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in pairs:
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_substitute(v, pairs) for v in value]
    return value


def _replay(conn: sqlite3.Connection, statements: list) -> list:
    rows = []
    cur = conn.cursor()
    cur.row_factory = None
    for kind, sql, params in statements:
        if kind == "execute":
            rows.append(cur.execute(sql, params).fetchall())
        else:
            cur.executemany(sql, params)
    return rows


class Replayer:
    """Runs a scenario's recorded hops with the request's values: one thread hop per recorded hop."""

    def __init__(self, db, plans: dict[str, Any]):
        self.db = db
        self.plans = plans

    async def run(self, key: str, record_id: str | None = None) -> list:
        plan = self.plans[key]
        pairs = [(plan["sample_id"], record_id)] if record_id else []
        pairs += [(old, new_id()) for old in plan["generated"]]  # time-ordered, like ours
        out = []
        for hop in plan["hops"]:
            statements = _substitute(hop["statements"], pairs) if pairs else hop["statements"]
            run = self.db.write if hop["write"] else self.db.read
            out.append(await run(_replay, statements))
        return out


def bare_app(db_path: Path, plans: dict[str, Any]):
    """Starlette, one route per request shape: decode the body, replay the statements, encode rows."""
    import msgspec
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from customermates.store import Database

    encode, decode = msgspec.json.encode, msgspec.json.decode
    state: dict[str, Any] = {}
    by_tool = {p: k for k, p in (("get", "get_entities"), ("filter", "filter_entity"),
                                 ("search", "search_all_entities"), ("create", "create_contacts"))}  # fmt: skip

    async def mcp(request: Request) -> Response:
        message = decode(await request.body())
        params = message["params"]
        key = by_tool[params["name"]]
        args = params["arguments"]
        record_id = args["items"][0]["id"] if key == "get" else None
        rows = await state["replayer"].run(key, record_id)
        structured = {"rows": rows}
        result = {"content": [{"type": "text", "text": encode(structured).decode()}],
                  "structuredContent": structured, "isError": False}  # fmt: skip
        return Response(encode({"jsonrpc": "2.0", "id": message["id"], "result": result}),
                        media_type="application/json")  # fmt: skip

    def rest(key: str):
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            if body:
                decode(body)
            rows = await state["replayer"].run(key, request.path_params.get("id"))
            return Response(encode({"rows": rows}), media_type="application/json")

        return endpoint

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        db = await Database.open(db_path)
        state["replayer"] = Replayer(db, plans)
        yield
        await db.close()

    routes = [
        Route("/healthz", healthz),
        Route("/api/v1/mcp", mcp, methods=["POST"]),
        Route("/api/v1/contacts/{id}", rest("rest_get"), methods=["GET"]),
        Route("/api/v1/contacts/search", rest("rest_filter"), methods=["POST"]),
        Route("/api/v1/tools/search_all_entities", rest("rest_search"), methods=["POST"]),
        Route("/api/v1/contacts/many", rest("rest_create"), methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def sdk_app(db_path: Path, plans: dict[str, Any]):
    """The SDK's high-level server: typed tool functions, stateless streamable HTTP, JSON responses."""
    from typing import Literal

    from mcp.server.mcpserver import MCPServer
    from pydantic import BaseModel
    from starlette.responses import Response
    from starlette.routing import Route

    from customermates.store import Database

    state: dict[str, Any] = {}
    server = MCPServer("reference", log_level="WARNING")

    class Item(BaseModel):
        entity: Literal["contact", "organization", "deal", "service", "task"]
        id: str
        include: Literal["masterData", "withNotes"] = "masterData"

    class Rule(BaseModel):
        field: str
        operator: str
        value: Any = None

    class Sort(BaseModel):
        field: str
        direction: Literal["asc", "desc"]

    class NewContact(BaseModel):
        firstName: str
        lastName: str
        emails: list[str] = []

    # This module's annotations are strings (PEP 563): the SDK resolves them in the module globals.
    globals().update(Item=Item, Rule=Rule, Sort=Sort, NewContact=NewContact, Literal=Literal)

    @server.tool(name="get_entities")
    async def get_entities(items: list[Item]) -> dict[str, Any]:
        return {"rows": await state["replayer"].run("get", items[0].id)}

    @server.tool(name="filter_entity")
    async def filter_entity(
        entity: str, filters: list[Rule], sortDescriptor: Sort, pageSize: int = 10
    ) -> dict[str, Any]:
        return {"rows": await state["replayer"].run("filter")}

    @server.tool(name="search_all_entities")
    async def search_all_entities(searchTerm: str) -> dict[str, Any]:
        return {"rows": await state["replayer"].run("search")}

    @server.tool(name="create_contacts")
    async def create_contacts(contacts: list[NewContact]) -> dict[str, Any]:
        return {"rows": await state["replayer"].run("create")}

    app = server.streamable_http_app(
        streamable_http_path="/api/v1/mcp", stateless_http=True, json_response=True
    )

    async def healthz(request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    app.router.routes.append(Route("/healthz", healthz))
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a):
        db = await Database.open(db_path)
        state["replayer"] = Replayer(db, plans)
        async with inner(a) as value:
            yield value
        await db.close()

    app.router.lifespan_context = lifespan
    return app


def serve(kind: str, db_path: Path, port: int, plans_path: Path | None, http: str, loop: str) -> None:
    import uvicorn

    if kind == "ours":
        from customermates.app import create_app

        app = create_app(db_path)
    else:
        plans = json.loads(plans_path.read_text())
        app = (bare_app if kind == "bare" else sdk_app)(db_path, plans)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=http, loop=loop)


# ---- processes, wrk, figures ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid: int, field_name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_http(port: int, proc: subprocess.Popen, path: str = "/healthz", timeout: float = 30) -> float:
    """Seconds until `path` answers 200 (polled every millisecond)."""
    import http.client

    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return time.perf_counter() - began
        except OSError:
            time.sleep(0.001)
        finally:
            c.close()
    raise SystemExit(f"no answer on port {port} within {timeout} s")


@dataclass
class Server:
    kind: str
    proc: subprocess.Popen
    port: int
    rss_start: float = 0.0
    hwm: float = float("nan")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CUSTOMERMATES_LOG_LEVEL": "warning"}


BASE_LAUNCH = (
    "import sys, uvicorn; sys.path.insert(0, sys.argv[1]); from customermates.app import create_app;"
    " uvicorn.run(create_app(sys.argv[2]), host='127.0.0.1', port=int(sys.argv[3]), log_level='warning',"
    " access_log=False, http=sys.argv[4], loop=sys.argv[5])"
)


def start(kind: str, db: Path, plans: Path, http: str, loop: str, base: Path | None = None) -> Server:
    port = free_port()
    cmd = ["taskset", "-c", SERVER_CORE, sys.executable, __file__, "--serve", kind, "--db", str(db)]
    cmd += ["--port", str(port), "--plans", str(plans), "--http", http, "--loop", loop]
    if kind == "base":  # the same launch as ours, importing the other checkout
        cmd = ["taskset", "-c", SERVER_CORE, sys.executable, "-c", BASE_LAUNCH, str(base), str(db), str(port)]
        cmd += [http, loop]
    with open(Path(plans).parent / f"{kind}.log", "w") as log:
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_http(port, proc)
    except BaseException as exc:
        proc.kill()
        raise SystemExit(
            f"{kind} did not start: {(Path(plans).parent / f'{kind}.log').read_text()[-2000:]}"
        ) from exc
    server = Server(kind, proc, port)
    server.rss_start = status_kb(proc.pid, "VmRSS")
    return server


def cold_start(db: Path, plans: Path | None = None, runs: int = 3) -> tuple[float, float]:
    """`python -m customermates serve` (or, given `plans`, the bare reference) to the first
    /healthz 200, median of `runs`; and the RSS then."""
    times, rss = [], []
    for _ in range(runs):
        port = free_port()
        if plans is None:
            cmd = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
        else:
            cmd = [sys.executable, __file__, "--serve", "bare", "--db", str(db), "--port", str(port)]
            cmd += ["--plans", str(plans)]
        proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *cmd], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            times.append(wait_http(port, proc))
            rss.append(status_kb(proc.pid, "VmRSS"))
        finally:
            proc.terminate()
            proc.wait(10)
    return statistics.median(times), statistics.median(rss)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk missing: apt-get update && apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


LUA = r"""
local ids = {%(ids)s}
local method, path, body = %(method)s, %(path)s, %(body)s
local headers = {%(headers)s}
local slot = "@ID@"
request = function()
  local id = ids[math.random(#ids)]
  local p = path:gsub(slot, id)
  local b = body:gsub(slot, id)
  if b == "" then b = nil end
  return wrk.format(method, p, headers, b)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\nRESULT {"requests": %%d, "us": %%d, "errors": %%d, "p50": %%d, "p99": %%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def lua_script(case: Scenario, kind: str, key: str, ids: list[str], folder: Path) -> Path:
    method, path, body = case.request()
    headers = {**MCP_HEADERS, "x-api-key": key} if kind in ("ours", "base") else dict(MCP_HEADERS)
    if method == "GET":
        headers.pop("content-type")
    text = LUA % {
        "ids": ", ".join(f'"{i}"' for i in ids),
        "method": _lua_string(method),
        "path": _lua_string(path),
        "body": _lua_string(body),
        "headers": ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()),
    }
    script = folder / f"{case.key}-{kind}.lua"
    script.write_text(text)
    return script


@dataclass
class Figures:
    rps: float
    p50: float
    p99: float
    errors: int

    @classmethod
    def parse(cls, out: str) -> Figures:
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        d = json.loads(line[7:])
        return cls(d["requests"] / (d["us"] / 1e6), d["p50"] / 1000, d["p99"] / 1000, d["errors"])


def drive(wrk: str, script: Path, port: int, seconds: float, connections: int) -> Figures:
    cmd = ["taskset", "-c", LOAD_CORE, wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"wrk failed: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    return Figures.parse(out.stdout)


@dataclass
class Row:
    case: Scenario
    connections: int
    by_kind: dict[str, Figures] = field(default_factory=dict)
    rounds: dict[str, list[Figures]] = field(default_factory=dict)  # each kind's rounds, in run order


def interleaved(
    wrk: str, servers: dict, scripts: dict[str, Path], seconds: float, connections: int, rounds: int
) -> tuple[dict[str, Figures], dict[str, list[Figures]]]:
    """Each kind loaded `rounds` times, the kinds taking turns (ours, bare, sdk, ours, …), each round
    `seconds / rounds` long (1 s at least); per kind the median round's req/s and p50, the worst p99.

    At one client the p50 is a fraction of a millisecond and the shared VM's speed drifts over
    seconds, so one back-to-back cell per server compares two moments as much as two servers.
    Taking turns in short rounds gives every server the same moments; the median drops a round
    that a burst of other work hit, whichever server it fell on."""
    each = max(1.0, seconds / rounds)
    runs: dict[str, list[Figures]] = {kind: [] for kind in scripts}
    for _ in range(rounds):
        for kind, script in scripts.items():
            runs[kind].append(drive(wrk, script, servers[kind].port, each, connections))
    merged = {
        kind: Figures(
            statistics.median(f.rps for f in got),
            statistics.median(f.p50 for f in got),
            max(f.p99 for f in got),
            sum(f.errors for f in got),
        )
        for kind, got in runs.items()
    }
    return merged, runs


def fmt_row(row: Row) -> str:
    cells = []
    for kind in ("ours", "bare", "sdk"):
        f = row.by_kind.get(kind)
        cells.append(
            f"{f.rps:8.0f} {f.p50:6.2f} {f.p99:7.2f} {f.errors:4d}" if f else f"{'-':>8} {'':6} {'':7} {'':4}"
        )
    ours, bare, sdk = (row.by_kind.get(k) for k in ("ours", "bare", "sdk"))
    vs_bare = f"{ours.rps / bare.rps:6.2f}" if ours and bare else f"{'-':>6}"
    vs_sdk = f"{ours.rps / sdk.rps:6.2f}" if ours and sdk else f"{'-':>6}"
    name = ("MCP " if not row.case.rest else "REST ") + row.case.title
    line = f"{name[:46]:46} {row.connections:3d} | " + " | ".join(cells) + f" | {vs_bare} {vs_sdk}"
    base = row.by_kind.get("base")
    if base:
        line += f" | {base.rps:8.0f} {base.p50:6.2f} {base.p99:7.2f} {ours.rps / base.rps:6.2f}"
    return line


HEADER = (
    f"{'scenario':46} {'c':>3} | "
    + " | ".join(f"{k + ' req/s':>8} {'p50':>6} {'p99':>7} {'err':>4}" for k in ("ours", "bare", "sdk"))
    + " | /bare   /sdk"
)


# ---- the run -----------------------------------------------------------------------------------------------


def prepare_data(folder: Path) -> tuple[Path, str, str, list[str]]:
    """A copy of the cached 100,000-contact set with a fresh key; (path, key, company, 1,000 ids)."""
    import bench_queries

    from customermates.store import accounts as acc
    from customermates.store import connect
    from customermates.store.database import in_transaction

    cached = bench_queries.dataset_path(7)
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        bench_queries.build(cached, 7)
    path = folder / "ours.db"
    shutil.copyfile(cached, path)
    conn = connect(path)
    key = in_transaction(conn, acc.create_key, OWNER, "side-by-side", write=True)
    company = conn.execute("SELECT company_id FROM app_user WHERE email = ?", (OWNER,)).fetchone()[0]
    rng = random.Random(11)
    ids = [r[0] for r in conn.execute("SELECT id FROM contact WHERE company_id = ?", (company,))]
    picked = rng.sample(ids, 1000)
    conn.close()
    return path, key, company, picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--http", default="auto", choices=("auto", "h11", "httptools"))
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"))
    parser.add_argument(
        "--compare-stacks",
        action="store_true",
        help="only MCP get_entities, ours and bare under h11+asyncio and under httptools+uvloop",
    )
    parser.add_argument(
        "--base",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C DIR`): its server runs as a 4th column",
    )
    parser.add_argument("--only", default="", help="comma list of scenario keys (get, filter, rest_get, …)")
    parser.add_argument(
        "--sweep", default="1,32", help="extra connection counts for the reads (get, rest_get); '' for none"
    )
    parser.add_argument(
        "--p50-rounds",
        type=int,
        default=5,
        help="cells at one client: the servers take turns this many times, the median round counts",
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurement")
    parser.add_argument("--reads", action="store_true", help="--only get,rest_get --no-cold")
    parser.add_argument("--serve", choices=("ours", "bare", "sdk"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plans", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve:
        serve(opts.serve, opts.db, opts.port, opts.plans, opts.http, opts.loop)
        return
    if opts.reads:
        opts.only, opts.no_cold = "get,rest_get", True
    run(opts)


def run(opts) -> None:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db, key, company, ids = prepare_data(folder)
        from customermates.store import connect

        conn = connect(db)
        cases = scenarios(conn, company)
        conn.close()
        if opts.compare_stacks:
            opts.only = "get"
        if opts.only:
            cases = [c for c in cases if c.key in opts.only.split(",")]
        plans = asyncio.run(record(db, key, cases, ids[0]))
        plans_path = folder / "plans.json"
        plans_path.write_text(json.dumps(plans))
        for kind in ("bare", "sdk", "base"):
            shutil.copyfile(db, folder / f"{kind}.db")
        import uvicorn.config  # noqa: F401  (which stack "auto" picks)

        print(_context(opts))
        started = time.perf_counter()
        if opts.compare_stacks:
            return compare_stacks(wrk, folder, plans_path, cases[0], key, ids, opts)
        if not opts.no_cold:
            cold, cold_rss = cold_start(folder / "bare.db")
            bare_cold, _ = cold_start(folder / "bare.db", plans_path)
            print(f"cold start `customermates serve` -> /healthz 200 (100,000 contacts): {cold * 1000:.0f} ms"
                  f" (median of 3; the bare reference: {bare_cold * 1000:.0f} ms); RSS then {cold_rss:.1f} MB")  # fmt: skip
        servers: dict[str, Server] = {}
        try:
            for kind in ("ours", "bare", "sdk", "base") if opts.base else ("ours", "bare", "sdk"):
                servers[kind] = start(
                    kind, folder / f"{kind}.db", plans_path, opts.http, opts.loop, opts.base
                )
            rows = _load(wrk, servers, cases, key, ids, folder, opts)
        finally:
            for s in servers.values():
                s.proc.terminate()
        ours = servers["ours"]
        print(
            f"\nours RSS: after start {ours.rss_start:.1f} MB; peak (VmHWM) after the load {ours.hwm:.1f} MB"
        )
        print(f"(bare: {servers['bare'].rss_start:.1f} MB at start, sdk: {servers['sdk'].rss_start:.1f} MB)")
        _summary(rows)
        print(f"\nrun took {time.perf_counter() - started:.0f} s")
        for s in servers.values():
            s.proc.wait(10)


STACKS = (("h11", "asyncio"), ("httptools", "uvloop"))


def compare_stacks(wrk, folder, plans_path, case, key, ids, opts) -> None:
    """Ours and bare under each HTTP stack, the four back to back, twice over (same run, same data)."""
    servers = {}
    try:
        for http, loop in STACKS:
            for kind in ("ours", "bare"):
                servers[(kind, http)] = start(kind, folder / f"{kind}.db", plans_path, http, loop)
        figures: dict[tuple[str, str], list[Figures]] = {k: [] for k in servers}
        for _ in range(2):
            for (kind, http), server in servers.items():
                script = lua_script(case, kind, key, ids, folder)
                drive(wrk, script, server.port, opts.warmup or 1, opts.connections)
                figures[(kind, http)].append(drive(wrk, script, server.port, opts.seconds, opts.connections))
    finally:
        for s in servers.values():
            s.proc.terminate()
    print(f"\nMCP get_entities, {opts.connections} connections, best of 2 per cell")
    print(f"{'stack':22} {'ours req/s':>10} {'bare req/s':>10} {'ours/bare':>9}")
    for http, loop in STACKS:
        ours = max(f.rps for f in figures[("ours", http)])
        bare = max(f.rps for f in figures[("bare", http)])
        print(f"{http + ' + ' + loop:22} {ours:10.0f} {bare:10.0f} {ours / bare:9.2f}")
    for s in servers.values():
        s.proc.wait(10)


def _load(wrk, servers, cases, key, ids, folder, opts) -> list[Row]:
    rows = []
    passes = [(c, opts.connections) for c in cases]
    # Latency at one client, and p99 at 32 connections, for the reads by id.
    sweep = [int(n) for n in opts.sweep.split(",") if n.strip()]
    passes += [(c, n) for c in cases if c.key in ("get", "rest_get") for n in sweep]
    extra = f" | {'base req/s':>8} {'p50':>6} {'p99':>7} {'/base':>6}" if "base" in servers else ""
    print(f"\n{HEADER}{extra}")
    for case, connections in passes:
        row = Row(case, connections)
        kinds = ("ours", "bare") if case.rest else ("ours", "bare", "sdk")
        if "base" in servers:
            kinds = ("base", *kinds)
        scripts = {kind: lua_script(case, kind, key, ids, folder) for kind in kinds}
        for kind in kinds:
            _smoke(case, kind, servers[kind].port, key, ids[1])
            if opts.warmup:
                drive(wrk, scripts[kind], servers[kind].port, opts.warmup, connections)
        rounds = opts.p50_rounds if connections == 1 else 1
        row.by_kind, row.rounds = interleaved(wrk, servers, scripts, opts.seconds, connections, rounds)
        print(fmt_row(row), flush=True)
        rows.append(row)
    servers["ours"].hwm = status_kb(servers["ours"].proc.pid, "VmHWM")
    return rows


def _smoke(case: Scenario, kind: str, port: int, key: str, record_id: str) -> None:
    """One request before the load: a reply that is an error would make the figures meaningless."""
    import httpx

    method, path, body = case.request()
    headers = {**MCP_HEADERS, "x-api-key": key} if kind in ("ours", "base") else MCP_HEADERS
    path, body = path.replace(ID_SLOT, record_id), body.replace(ID_SLOT, record_id)
    r = httpx.request(method, f"http://127.0.0.1:{port}{path}", content=body or None, headers=headers)
    _check_ok(case, r.status_code, f"{kind}: {r.text}")


def _context(opts) -> str:
    import importlib.util

    have = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m)]
    return (
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs;"
        f" servers on core {SERVER_CORE}, wrk (1 thread) on core {LOAD_CORE}; {opts.seconds:g} s per cell"
        f" after {opts.warmup:g} s warm-up; uvicorn http={opts.http} loop={opts.loop}"
        f" (installed: {', '.join(have) or 'neither uvloop nor httptools'})\n"
        "columns: requests/s, p50 and p99 in ms, errors (non-2xx + socket); /bare and /sdk = our req/s"
        " over theirs"
    )


def _spread(row: Row) -> str:
    """The p50 ratio of each round (ours over bare's round taken just after it), when there were rounds."""
    pairs = list(zip(row.rounds.get("ours", []), row.rounds.get("bare", []), strict=True))
    if len(pairs) < 2:
        return ""
    ratios = sorted(o.p50 / b.p50 for o, b in pairs)
    return f"; median of {len(pairs)} turns, each turn {ratios[0]:.2f}x-{ratios[-1]:.2f}x"


def _summary(rows: list[Row]) -> None:
    get = {r.connections: r for r in rows if r.case.key == "get"}
    print("\nspeed targets (docs/benchmarks.md):")
    main = next((r for r in rows if r.case.key == "get" and r.connections not in (1, 32)), None)
    if main:
        o, b, s = (main.by_kind[k] for k in ("ours", "bare", "sdk"))
        print(f"  get_entities req/s vs sdk  {o.rps / s.rps:5.2f}x  (target >= 3x)")
        print(f"  get_entities req/s vs bare {o.rps / b.rps:5.0%}   (target >= 60%)")
    if 1 in get:
        o, b = get[1].by_kind["ours"], get[1].by_kind["bare"]
        print(
            f"  p50 at one client: {o.p50:.2f} ms vs bare {b.p50:.2f} ms = {o.p50 / b.p50:.2f}x (target <= 2x)"
            + _spread(get[1])
        )
    if 32 in get:
        print(f"  p99 at 32 connections: {get[32].by_kind['ours'].p99:.1f} ms (target <= 50 ms)")
    rest = {r.connections: r for r in rows if r.case.key == "rest_get"}
    main_rest = next((r for n, r in rest.items() if n not in (1, 32)), None)
    if main_rest:
        o, b = main_rest.by_kind["ours"], main_rest.by_kind["bare"]
        print(f"  REST GET /contacts/{{id}} req/s vs bare {o.rps / b.rps:5.0%}")
    if 1 in rest:
        o, b = rest[1].by_kind["ours"], rest[1].by_kind["bare"]
        print(
            f"  REST p50 at one client: {o.p50:.2f} ms vs bare {b.p50:.2f} ms = {o.p50 / b.p50:.2f}x"
            + _spread(rest[1])
        )
    if 32 in rest:
        print(f"  REST p99 at 32 connections: {rest[32].by_kind['ours'].p99:.1f} ms (target <= 50 ms)")
    create = next((r for r in rows if r.case.key == "create"), None)
    if create:
        print(f"  create_contacts of 10: {create.by_kind['ours'].rps:.0f} calls/s (target >= 500)")


if __name__ == "__main__":
    main()
