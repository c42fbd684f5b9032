"""The in-process delivery worker: an asyncio task in every long-running process that serves the database.

start: register for wake-ups, then loop: claim due rows (up to the free slots, one per webhook),
       attempt each in its own task, record the outcome; sleep until woken, a retry comes due,
       or one second passes (rows written by another process, leases that ran out).
stop:  claim nothing more, give attempts in flight up to 5 s, put the rest back to `pending`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import anyio

from customermates.store import Database
from customermates.webhooks import outbox
from customermates.webhooks.outbox import Claimed
from customermates.webhooks.settings import WebhookSettings

log = logging.getLogger("customermates.webhooks")

POLL_SECONDS = 1.0
GRACE_SECONDS = 5.0
PRUNE_EVERY = 3600.0


class Worker:
    def __init__(self, db: Database, settings: WebhookSettings | None = None):
        self.db = db
        self.settings = settings or WebhookSettings.from_env()
        self.in_flight: dict[tuple[str, str], str] = {}  # (company id, delivery id) -> webhook id
        self._stopping = False
        self._wake = asyncio.Event()
        self._done = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._last_prune = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def wake_from_db_thread() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        unlisten = outbox.listen(wake_from_db_thread)
        try:
            async with _Client() as client, anyio.create_task_group() as tasks:
                self._scope = tasks.cancel_scope
                while not self._stopping:
                    self._wake.clear()
                    await self._fill(client, tasks)
                    await self._prune()
                    with anyio.move_on_after(POLL_SECONDS):
                        await self._wake.wait()
                with anyio.move_on_after(GRACE_SECONDS):
                    while self.in_flight:
                        self._wake.clear()
                        await self._wake.wait()
                tasks.cancel_scope.cancel()
        finally:
            unlisten()
            if self.in_flight:
                with anyio.CancelScope(shield=True):
                    await self.db.write(outbox.requeue, list(self.in_flight))
            self._done.set()

    async def stop(self) -> None:
        """Graceful stop; returns once unfinished attempts are back in the outbox."""
        self._stopping = True
        self._wake.set()
        await self._done.wait()

    async def _fill(self, client, tasks) -> None:
        slots = self.settings.concurrency - len(self.in_flight)
        if slots <= 0:
            return
        try:
            jobs = await self.db.write(outbox.claim, set(self.in_flight.values()), slots, self.settings.lease)
        except Exception:
            log.exception("webhooks: claiming deliveries failed; retrying in a second")
            return
        for job in jobs:
            self.in_flight[job.key] = job.webhook_id
            tasks.start_soon(self._attempt, client, job)

    async def _attempt(self, client: _Client, job: Claimed) -> None:
        try:
            from customermates.webhooks import delivery

            outcome = await delivery.attempt(client.get(), job, self.settings.timeout)
            due = await self.db.write(outbox.finish, outcome, self.settings)
            if due is not None:  # wake up for the retry instead of waiting for the next poll
                asyncio.get_running_loop().call_later(max(0.0, due - time.time()), self._wake.set)
        except Exception:
            log.exception("webhooks: delivery %s failed unexpectedly; it will be retried", job.id)
        # Not in `finally`: an attempt cut short by cancellation stays listed, so `run` puts it back.
        self.in_flight.pop(job.key, None)
        self._wake.set()

    async def _prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        try:
            while await self.db.write(outbox.prune, self.settings.retention_days) > 0:
                await anyio.sleep(0)
        except Exception:
            log.exception("webhooks: pruning old deliveries failed")


class _Client:
    """The HTTP client, made at the first delivery: httpx and its TLS context cost a server start
    ~50 ms, and most servers deliver nothing for a while (docs/benchmarks.md, cold start)."""

    def __init__(self):
        self.client = None

    def get(self):
        if self.client is None:
            from customermates.webhooks import delivery

            self.client = delivery.new_client()
        return self.client

    async def __aenter__(self) -> _Client:
        return self

    async def __aexit__(self, *exc) -> None:
        if self.client is not None:
            await self.client.aclose()


def start(db: Database, tasks) -> Worker | None:
    """Start the worker in `tasks` unless CUSTOMERMATES_WEBHOOK_WORKER=0; returns it for `stop()`."""
    settings = WebhookSettings.from_env()
    if not settings.worker:
        return None
    worker = Worker(db, settings)
    tasks.start_soon(worker.run)
    return worker
