"""Server benchmark: start-up time, memory, and requests per second over real HTTP.

    python tools/bench_server.py [--seconds 5] [--concurrency 16]

Starts `python -m customermates serve` on a fresh database in a temp folder, waits for /healthz,
then drives it from this process with httpx (which shares the 2 cores with the server, so the
figures are a floor, not a ceiling). Prints one line per scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(db: Path, port: int) -> tuple[subprocess.Popen, str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUSTOMERMATES_LOG_LEVEL": "warning"}
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    key = ""
    for line in proc.stdout:
        line = line.strip()
        if len(line) == 64 and line.isalnum():
            key = line
            break
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc, key, time.perf_counter() - began
        except httpx.TransportError:
            time.sleep(0.02)


async def drive(
    client: httpx.AsyncClient, request, seconds: float, concurrency: int
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            response = await request(client)
            assert response.status_code in (200, 201), response.text
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server so far: per request, it is steadier than req/s on a busy box."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tool_call(name: str, arguments: dict):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return lambda c: c.post("/api/v1/mcp", json=body)


SCENARIOS = {
    "GET /healthz": lambda c: c.get("/healthz"),
    "tools/list": lambda c: c.post("/api/v1/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    "tools/call get_current_user": tool_call("get_current_user", {}),
    "tools/call list_users": tool_call("list_users", {}),
    "REST GET /api/v1/users/me": lambda c: c.get("/api/v1/users/me"),
    "REST POST /api/v1/contacts": lambda c: c.post("/api/v1/contacts", json={"firstName": "Bench"}),
}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc, key, startup = start(Path(tmp) / "bench.db", port)
        try:
            print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
            print(
                f"start-up to first /healthz 200 (incl. bootstrap): {startup * 1000:.0f} ms;"
                f" RSS after start: {rss_mb(proc.pid):.1f} MB"
            )
            limits = httpx.Limits(max_connections=opts.concurrency)
            headers = {"x-api-key": key}
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits
            ) as c:
                for name, request in SCENARIOS.items():
                    await drive(c, request, 0.5, opts.concurrency)
                    cpu = cpu_seconds(proc.pid)
                    count, lat = await drive(c, request, opts.seconds, opts.concurrency)
                    cpu_ms = (cpu_seconds(proc.pid) - cpu) * 1000 / count
                    p50 = statistics.median(lat) * 1000
                    p95 = statistics.quantiles(lat, n=20)[-1] * 1000
                    print(
                        f"{name:32s} {count / opts.seconds:8.0f} req/s   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms"
                        f"   server CPU {cpu_ms:5.2f} ms/req"
                    )
            print(f"RSS after load: {rss_mb(proc.pid):.1f} MB")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
