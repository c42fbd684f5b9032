"""A real HTTP receiver on a loopback port: records every request, can fail, stall or redirect."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    fail_times: int = 0  # answer the next N requests with `fail_status`
    fail_status: int = 500
    fail_body: bytes = b"receiver says no"
    fail_headers: dict[str, str] = field(default_factory=dict)
    stall_seconds: float = 0.0  # hold each request this long before answering
    redirect_to: str | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    per_path: dict[str, int] = field(default_factory=dict)  # requests in flight per path (= per webhook)
    max_per_path: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Block until at least `count` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}: {self.requests}")

    def quiet(self, seconds: float) -> list[Received]:
        """Wait `seconds`, then return everything received (to show that nothing more arrives)."""
        time.sleep(seconds)
        with self.lock:
            return list(self.requests)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                receiver.per_path[self.path] = receiver.per_path.get(self.path, 0) + 1
                receiver.max_per_path = max(receiver.max_per_path, receiver.per_path[self.path])
                failing = receiver.fail_times > 0
                if failing:
                    receiver.fail_times -= 1
            try:
                if receiver.stall_seconds:
                    time.sleep(receiver.stall_seconds)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif failing:
                    self.send_response(receiver.fail_status)
                    for name, value in receiver.fail_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(receiver.fail_body)))
                    self.end_headers()
                    self.wfile.write(receiver.fail_body)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with receiver.lock:
                    receiver.in_flight -= 1
                    receiver.per_path[self.path] -= 1

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    holder: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _handler(holder[0])(*a))
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    holder.append(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
