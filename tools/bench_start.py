"""Cold start benchmark: `customermates serve` process start to the first `/healthz` 200, then the first calls.

    .venv/bin/python tools/bench_start.py [--runs 7] [--no-pin] [--db PATH] [--load 20]

On a copy of the 100,000-contact data set of `bench_queries.py` (built first when missing), each
run starts `python -m customermates serve` (pinned to core 0 with `taskset` unless --no-pin) and
times, from the process start: the first `/healthz` 200; then, on a fresh connection each, the
first MCP `tools/list` and the first `tools/call filter_entity` (page of 25 contacts), each the
time of its own request. Also the process's RSS after those calls. Prints one row per run and the
medians; the target is a healthz at <= 0.5 s (docs/benchmarks.md). Also prints the import time of
the serving modules in a fresh interpreter, the part of the start that Python itself spends.
With --load N, one more server then takes N seconds of mixed reads from 16 connections (searches,
filters, counts, get_entities, tools/list) and its peak RSS (VmHWM) is printed (target <= 150 MB).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

TARGET_S = 0.5
RSS_TARGET_MB = 150
IMPORTS = "import time; t = time.perf_counter(); import uvicorn, customermates.cli, customermates.app; print(time.perf_counter() - t)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(source: Path = ROOT) -> dict[str, str]:
    """The server's environment: bytecode is written and reused, as from an installed package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(source), "CUSTOMERMATES_LOG_LEVEL": "warning"}


def _request(
    port: int, method: str, path: str, body: bytes | None = None, key: str = ""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if key:
            headers["x-api-key"] = key
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_healthz(port: int, proc: subprocess.Popen, began: float, timeout: float = 30) -> float:
    while time.perf_counter() - began < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return time.perf_counter() - began
        except OSError:
            time.sleep(0.001)
    raise SystemExit(f"no /healthz 200 on port {port} within {timeout} s")


def _rpc(port: int, key: str, method: str, params: dict) -> float:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    started = time.perf_counter()
    status, answer = _request(port, "POST", "/api/v1/mcp", body, key)
    took = time.perf_counter() - started
    if status != 200 or b'"error"' in answer[:200]:
        raise SystemExit(f"{method} answered {status}: {answer[:300]!r}")
    return took


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process so far (a busy machine stretches the wall clock, not this)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(db: Path, key: str, pin: bool, source: Path = ROOT) -> tuple[float, ...]:
    port = _free_port()
    cmd = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    began = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=_env(source), cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        healthz = _wait_healthz(port, proc, began)
        cpu = _cpu_s(proc.pid)
        listed = _rpc(port, key, "tools/list", {})
        called = _rpc(
            port,
            key,
            "tools/call",
            {"name": "filter_entity", "arguments": {"entity": "contact", "pageSize": 25}},
        )
        return healthz, cpu, listed, called, _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def _mix(ids: list[str]) -> list[tuple[str, dict]]:
    contact = {"entity": "contact", "pageSize": 25}
    return [
        ("filter_entity", contact),
        ("filter_entity", contact | {"searchTerm": "mit"}),
        ("filter_entity", contact | {"searchTerm": "ada lo"}),
        (
            "filter_entity",
            contact | {"sortDescriptor": {"field": "updatedAt", "direction": "desc"}, "page": 40},
        ),
        ("count_entity", {"entity": "contact", "searchTerm": "son"}),
        ("search_all_entities", {"searchTerm": "acme"}),
        *[("get_entities", {"items": [{"entity": "contact", "id": i}]}) for i in ids[:8]],
    ]


def under_load(db: Path, key: str, seconds: float, pin: bool, source: Path = ROOT) -> tuple[float, int, int]:
    """Peak RSS (MB) of a server after `seconds` of mixed reads from 16 connections; calls, errors."""
    import random
    import threading

    port = _free_port()
    cmd = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(
        cmd, env=_env(source), cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    done, errors = [0], [0]
    try:
        _wait_healthz(port, proc, time.perf_counter())
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "filter_entity", "arguments": {"entity": "contact", "pageSize": 50}}})  # fmt: skip
        listed = json.loads(_request(port, "POST", "/api/v1/mcp", body.encode(), key)[1])
        ids = [i["id"] for i in listed["result"]["structuredContent"]["items"]]
        mix = _mix(ids) + [("tools/list", {})]
        ends = time.perf_counter() + seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < ends:
                name, args = rng.choice(mix)
                method, params = (
                    ("tools/list", {})
                    if name == "tools/list"
                    else ("tools/call", {"name": name, "arguments": args})
                )
                payload = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
                status, answer = _request(port, "POST", "/api/v1/mcp", payload, key)
                done[0] += 1
                errors[0] += status != 200 or b'"isError":true' in answer

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _rss_mb(proc.pid), done[0], errors[0]
    finally:
        proc.terminate()
        proc.wait(10)


def prepared(source: Path, folder: Path) -> tuple[Path, str]:
    """A copy of the data set (the server migrates it) and a fresh key for company A's owner."""
    from customermates.store import accounts as acc
    from customermates.store import connect

    db = folder / "start.db"
    shutil.copyfile(source, db)
    conn = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        key = acc.create_key(conn, "owner@a.example", f"start-{time.time_ns()}")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server to core 0")
    parser.add_argument("--db", type=Path, help="a data set file (default: the 100,000-contact set)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to start (default: this one)")
    parser.add_argument("--load", type=float, default=0, help="seconds of mixed reads for the peak RSS")
    args = parser.parse_args()
    source = args.db
    if source is None:
        import bench_queries

        source = bench_queries.dataset_path(7)
        if not source.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            bench_queries.build(source, 7)
    imports = [
        float(subprocess.run([sys.executable, "-c", IMPORTS], env=_env(args.source), cwd=args.source, capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(args.runs)
    ]  # fmt: skip
    print(
        f"Python {sys.version.split()[0]}, CPUs {os.cpu_count()}, load {os.getloadavg()[0]:.2f};"
        f" {args.source}; {source.name}"
    )
    print(
        f"imports (uvicorn, cli, app) in a fresh interpreter: median {statistics.median(imports) * 1000:.0f} ms"
    )
    print(
        f"\n{'run':>3} {'healthz ms':>10} {'cpu ms':>7} {'tools/list ms':>13} {'tools/call ms':>13} {'peak RSS MB':>11}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db, key = prepared(source, Path(tmp))
        one_start(db, key, not args.no_pin, args.source)  # migrates the copy, writes bytecode; not counted
        for run in range(1, args.runs + 1):
            row = one_start(db, key, not args.no_pin, args.source)
            rows.append(row)
            print(_line(str(run), row))
        if args.load:
            peak, calls, errors = under_load(db, key, args.load, not args.no_pin, args.source)
    medians = [statistics.median(col) for col in zip(*rows, strict=True)]
    verdict = "ok" if medians[0] <= TARGET_S else "OVER"
    print(
        f"{_line('p50', medians)}   target healthz <= {TARGET_S * 1000:.0f} ms: {verdict}; load {os.getloadavg()[0]:.2f}"
    )
    if args.load:
        verdict = "ok" if peak <= RSS_TARGET_MB else "OVER"
        print(
            f"under load: {calls:,} calls in {args.load:.0f} s from 16 connections, {errors} errors;"
            f" peak RSS {peak:.0f} MB (target <= {RSS_TARGET_MB}): {verdict}"
        )


def _line(label: str, row) -> str:
    healthz, cpu, listed, called, rss = row
    return f"{label:>3} {healthz * 1000:>10.0f} {cpu * 1000:>7.0f} {listed * 1000:>13.1f} {called * 1000:>13.1f} {rss:>11.0f}"


if __name__ == "__main__":
    main()
