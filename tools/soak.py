"""Soak: concurrent clients mixing reads and writes over MCP and REST; throughput and p99 over time.

    python tools/soak.py [--seconds 60] [--clients 32] [--every 5] [--url URL --key KEY]

Without --url it starts `python -m customermates serve` on a fresh database in a temp folder (the
clients share the 2 cores with it, so the figures are a floor). Half the clients speak MCP
(`tools/call`), half REST (`/api/v1/tools/<name>`); each loops: create 5 contacts tagged with its
own name, count its contacts, filter, search. At the end the database must hold exactly what the
clients were told was written. Prints one line per interval and a summary; exit 1 on any error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5


@dataclass
class Tally:
    """What every client saw: (finish time, seconds, ok) per request; contacts acknowledged per tag."""

    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def call(client: httpx.Client, door: str, tool: str, arguments: dict) -> dict:
    """One tool call over `door` ("mcp" or "rest"); the structured result, or raises with the text."""
    if door == "mcp":
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
        reply = client.post("/api/v1/mcp", json=body)
        result = reply.json().get("result", {}) if reply.status_code == 200 else {}
        if result.get("isError") is not False:
            raise RuntimeError(f"MCP {tool}: {reply.status_code} {reply.text[:300]}")
        return result["structuredContent"]
    reply = client.post(f"/api/v1/tools/{tool}", json=arguments)
    if reply.status_code not in (200, 201):
        raise RuntimeError(f"REST {tool}: {reply.status_code} {reply.text[:300]}")
    return reply.json()


def client_loop(url: str, key: str, n: int, stop: threading.Event, tally: Tally) -> None:
    door, tag = ("mcp", "rest")[n % 2], f"soak{n}"
    steps = [
        (
            "create_contacts",
            lambda i: {"contacts": [{"firstName": f"p{i}x{j}", "lastName": tag} for j in range(BATCH)]},
        ),
        ("count_entity", lambda i: {"entity": "contact", "searchTerm": tag}),
        ("filter_entity", lambda i: {"entity": "contact", "searchTerm": tag, "pageSize": 20}),
        ("search_all_entities", lambda i: {"searchTerm": f"p{i}"}),
    ]
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as client:
        i = 0
        while not stop.is_set():
            tool, args = steps[i % len(steps)]
            started = time.monotonic()
            ok = True
            try:
                out = call(client, door, tool, args(i))
                if tool == "create_contacts":
                    with tally.lock:  # live: a backup taken meanwhile must hold all of it
                        tally.acked[tag] = tally.acked.get(tag, 0) + len(out["items"])
            except Exception as exc:  # every failure is counted and shown; none may happen
                ok = False
                with tally.lock:
                    tally.errors.append(f"{door} client {n}: {exc}")
            done = time.monotonic()
            with tally.lock:
                tally.samples.append((done, done - started, ok))
            i += 1


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def soak(
    url: str, key: str, clients: int, seconds: float, every: float, out=print, tally: Tally | None = None
) -> Tally:
    """Run the clients for `seconds`; `tally` (yours to watch meanwhile) collects what they saw."""
    tally, stop = tally or Tally(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(url, key, n, stop, tally)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    out(f"{'t (s)':>6} {'req/s':>8} {'p99 ms':>8} {'errors':>7}")
    mark = began
    while (now := time.monotonic()) < began + seconds:
        time.sleep(min(every, began + seconds - now))
        with tally.lock:
            window = [s for s in tally.samples if mark <= s[0] < time.monotonic()]
        span = time.monotonic() - mark
        bad = sum(1 for s in window if not s[2])
        out(
            f"{time.monotonic() - began:6.0f} {len(window) / span:8.0f} {p99([s[1] for s in window]) * 1000:8.1f} {bad:7}"
        )
        mark = time.monotonic()
    stop.set()
    for thread in threads:
        thread.join(120)
    total = len(tally.samples)
    out(
        f"total: {total} requests by {clients} clients in {time.monotonic() - began:.0f} s,"
        f" {total / (time.monotonic() - began):.0f} req/s, p99 {p99([s[1] for s in tally.samples]) * 1000:.1f} ms,"
        f" {len(tally.errors)} errors, {sum(tally.acked.values())} contacts acknowledged"
    )
    return tally


@contextlib.contextmanager
def served(db: Path, log: Path) -> Iterator[tuple[str, str]]:
    """`customermates serve` on `db`, stderr to `log` (bootstrapped: its key ends the first lines)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUSTOMERMATES_LOG_LEVEL": "warning"}
    with log.open("ab") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    try:
        key = ""
        for line in proc.stdout:  # the bootstrap block ends with the key alone on a line
            if len(line.strip()) == 64 and line.strip().isalnum():
                key = line.strip()
                break
        url = f"http://127.0.0.1:{port}"
        for _ in range(400):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.05)
        yield url, key
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--every", type=float, default=5, help="seconds per printed line")
    parser.add_argument("--url")
    parser.add_argument("--key")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url, key = args.url, args.key
        if not url:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url, key = stack.enter_context(served(folder / "soak.db", folder / "serve.log"))
        tally = soak(url, key, args.clients, args.seconds, args.every)
    for error in tally.errors[:10]:
        print(error, file=sys.stderr)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
