"""MCP over stdin/stdout (the README's command line section `stdio`): one JSON-RPC message per line, through the shared dispatcher.

stdout carries JSON-RPC only; everything else goes to stderr. The key is checked again on every
request, so a revocation or deactivation made by the CLI in another process ends the session.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream

from customermates.auth import Caller, LastUsed, Principal, authenticate, flush_last_used
from customermates.catalog import REGISTRY
from customermates.config import Settings
from customermates.errors import KeyRefused, ParseError
from customermates.mcp import batches, jsontext, modern
from customermates.mcp import dispatch as rpc
from customermates.ratelimit import Limits
from customermates.registry import TOOLSETS
from customermates.store import Database, connect
from customermates.store.database import check_engine
from customermates.store.migrations import migrate
from customermates.webhooks import worker as webhook_worker

log = logging.getLogger("customermates.stdio")

NO_KEY = (
    "no API key: set CUSTOMERMATES_API_KEY or pass --api-key"
    " (`customermates keys create --email EMAIL --name NAME` makes one)."
)
BAD_KEY = (
    "the API key is unknown, revoked or expired, or its user is inactive;"
    " create a new one with `customermates keys create --email EMAIL --name NAME`."
)
REVOKED = (
    "unauthorized: the API key stopped working (revoked, expired, or its user was deactivated);"
    " restart `customermates stdio` with a valid key."
)
FLUSH_SECONDS = 30
_UNPARSABLE = object()


def serve_stdio(
    db_path: Path, key: str | None, toolsets: frozenset[str] | None, read_only: bool, dry_run: bool = False
) -> int:
    """Serve until stdin closes (0), the key stops working (1), or the start is refused (1 or 2)."""
    if toolsets is not None and (not toolsets or toolsets - set(TOOLSETS)):
        unknown = ", ".join(sorted(toolsets - set(TOOLSETS))) or "(empty)"
        return _fail(f"unknown toolset {unknown} in --toolsets; valid: {', '.join(TOOLSETS)}.", 2)
    if not key:
        return _fail(NO_KEY)
    if not db_path.exists():
        return _fail(f"no database at {db_path}; create one with `customermates init --db {db_path} ...`.")
    check_engine()
    conn = connect(db_path)
    try:
        migrate(conn)
    finally:
        conn.close()
    # The protocol owns the real stdout; a stray print anywhere must land on stderr instead.
    out, sys.stdout = sys.stdout.buffer, sys.stderr
    try:
        session = Session(key, toolsets, read_only, out, dry_run)
        return anyio.run(session.serve, db_path)
    finally:
        sys.stdout = sys.__stdout__


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


@dataclass
class Session:
    key: str
    toolsets: frozenset[str] | None
    read_only: bool
    out: BinaryIO
    dry_run: bool = False  # `--dry-run`: a rehearsal session, every write rolled back
    db: Any = None
    last_used: LastUsed = field(default_factory=LastUsed)
    pending: set[Any] = field(default_factory=set)
    cancelled: set[Any] = field(default_factory=set)
    inflight: tuple[Any, anyio.CancelScope] | None = None
    limits: Limits = field(default_factory=lambda: Limits(Settings.from_env()))

    async def serve(self, db_path: Path) -> int:
        self.db = await Database.open(db_path)
        try:
            if await self.db.read(authenticate, self.key) is None:
                return _fail(BAD_KEY)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._flush_periodically)
                worker = webhook_worker.start(self.db, tasks)
                code = await self._loop()
                if worker is not None:
                    await worker.stop()
                tasks.cancel_scope.cancel()
            return code
        finally:
            await self._flush()
            await self.db.close()

    async def _loop(self) -> int:
        send, receive = anyio.create_memory_object_stream[Any](math.inf)
        token = anyio.lowlevel.current_token()
        # A daemon thread, not anyio.to_thread: a blocked readline must not keep the process alive.
        threading.Thread(target=self._pump, args=(send, token), name="stdin", daemon=True).start()
        async with receive:
            async for message in receive:
                try:
                    self._send(await self._reply(message))
                except KeyRefused as refused:
                    log.warning("stdio: %s", refused)
                    self._send(refused.answer)
                    return 1
                except BrokenPipeError:
                    return 0
        return 0

    def _pump(self, send: MemoryObjectSendStream[Any], token: Any) -> None:
        try:
            for line in _lines(sys.stdin.fileno()):
                if line.strip():
                    # Parsed here, off the event loop; a line that is not JSON becomes a parse error.
                    anyio.from_thread.run_sync(self._arrived, _parse(line), send, token=token)
            anyio.from_thread.run_sync(send.close, token=token)
        except (RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the session has ended: nobody is listening any more

    def _arrived(self, message: Any, send: MemoryObjectSendStream[Any]) -> None:
        """Runs on the event loop as each line arrives, so a cancellation can reach a running request."""
        if isinstance(message, dict) and message.get("method") == "notifications/cancelled":
            self._cancel(message.get("params"))
            return
        if _is_call(message):
            self.pending.add(message["id"])
        send.send_nowait(message)

    def _cancel(self, params: Any) -> None:
        ident = params.get("requestId") if isinstance(params, dict) else None
        if self.inflight is not None and self.inflight[0] == ident:
            self.inflight[1].cancel()
        elif ident in self.pending:
            self.cancelled.add(ident)

    async def _reply(self, message: Any) -> Any:
        if message is _UNPARSABLE:
            return rpc.error(None, rpc.PARSE_ERROR, "Parse error: the line is not valid JSON")
        if isinstance(message, list):
            return await self._batch(message)
        return await self._one(message)

    async def _batch(self, messages: list[Any]) -> list[dict[str, Any]] | dict[str, Any] | None:
        refused = batches.refusal(messages)
        if any(modern.has_envelope(m) for m in messages):
            refused = "Batches are allowed only at protocol 2025-03-26"
        if refused:
            return rpc.error(None, rpc.INVALID_REQUEST, refused)
        answers = [await self._one(m) for m in messages]
        return [a for a in answers if a is not None] or None

    async def _one(self, message: Any) -> dict[str, Any] | None:
        if rpc.malformed(message):
            return rpc.error(None, rpc.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
        if not _is_call(message):
            return None  # notifications and responses get no reply
        ident = message["id"]
        self.pending.discard(ident)
        if ident in self.cancelled:
            self.cancelled.discard(ident)
            return None
        if modern.has_envelope(message):
            refusal = _envelope_refusal(message)
            if refusal is not None:
                return refusal
        # Every message re-checks the key (the CLI may revoke it meanwhile); a tool call does so
        # inside its own transaction, anything else in a hop of its own.
        caller = Caller(self.key)
        answer = None
        refused = self.limits.refused(self.key, "stdio") if message.get("method") == "tools/call" else None
        if refused is not None:  # a tool error the model can read, as over HTTP's 429 body
            text = refused[0].to_json().decode()
            answer = rpc.result(ident, {"content": [{"type": "text", "text": text}], "isError": True})
        elif message.get("method") == "tools/call":
            answer = await self._dispatch(message, self._context(caller, message))
        elif (principal := await self.db.read(caller.verify)) is not None:
            answer = await self._dispatch(message, self._context(principal, message))
        if not caller.checked:  # the call was refused before its transaction (e.g. an unknown tool)
            await self.db.read(caller.verify)
        if caller.principal is None:
            raise KeyRefused(rpc.error(ident, rpc.INVALID_REQUEST, REVOKED))
        self.last_used.touch(caller.principal.key_id)
        return answer

    async def _dispatch(self, message: dict[str, Any], ctx: rpc.Context) -> dict[str, Any] | None:
        answer = None
        with anyio.CancelScope() as scope:
            self.inflight = (message["id"], scope)
            try:
                answer = await rpc.dispatch(message, ctx)
            finally:
                self.inflight = None
        return None if scope.cancel_called else answer

    def _context(self, who: Principal | Caller, message: dict[str, Any]) -> rpc.Context:
        # stdio has no headers: the envelope's version plays the part of MCP-Protocol-Version.
        return rpc.Context(
            who,
            self.db,
            REGISTRY,
            toolsets=self.toolsets,
            read_only_url=self.read_only,
            dry_run=self.dry_run,
            version=modern.MODERN if modern.has_envelope(message) else "2025-03-26",
        )

    def _send(self, answer: Any) -> None:
        if answer is not None:
            self.out.write(jsontext.dumps(answer) + b"\n")
            self.out.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await anyio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        rows = self.last_used.take()
        if rows:
            await self.db.write(flush_last_used, rows)


def _parse(line: bytes) -> Any:
    """The one JSON reader of the HTTP doors too: values msgspec refuses still reach the tools."""
    try:
        return jsontext.loads(line)
    except ParseError:
        return _UNPARSABLE


def _lines(fd: int) -> Iterator[bytes]:
    """Lines from a raw descriptor: a thread blocked in sys.stdin's buffered reader holds its lock,
    and interpreter shutdown then aborts the process (SIGABRT) instead of exiting with our status."""
    buffer = b""
    while chunk := os.read(fd, 65536):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete
    if buffer:
        yield buffer


def _is_call(message: Any) -> bool:
    return rpc.is_request(message) and "id" in message


def _envelope_refusal(message: dict[str, Any]) -> dict[str, Any] | None:
    """An enveloped line's checks (no headers on stdio): incomplete (-32602), then its version (-32022)."""
    problem = modern.incomplete(message)
    if problem:
        return rpc.error(message["id"], rpc.INVALID_PARAMS, problem)
    version = modern.envelope_version(message)
    if version != modern.MODERN:
        data = {"supported": rpc.SUPPORTED_VERSIONS, "requested": version}
        return rpc.error(message["id"], rpc.UNSUPPORTED_VERSION, "Unsupported protocol version", data)
    return None
