"""SQLite access: one writer connection, a small pool of readers, one thread hop per unit of work.

A tool call's SQL runs as one synchronous function inside a connection's own thread, so a call pays
one hop to that thread instead of one per statement (aiosqlite costs ~0.13 ms a hop). Writes are
serialized through the single writer; reads run in a deferred transaction, so a page's items and
its total come from one snapshot.

Group commit: write calls that queue up while one runs are taken together (up to `GROUP_MAX`, in
arrival order) into one `BEGIN IMMEDIATE … COMMIT`, each call inside its own SAVEPOINT, so a
failed call leaves nothing and its neighbours are untouched; each caller gets its own result after
that COMMIT. Nothing waits to fill a group: a writer that was idle lets only the callers woken in
the same turn of the event loop join (one `checkpoint`, no timer), so a lone call runs alone, as
before, and a burst answered together comes back together. A failure of the group
itself (COMMIT, ROLLBACK TO, an error that ends the transaction) rolls the group back and runs each
call again in a transaction of its own (docs/benchmarks.md, "Group commit").

A read declared short (a few records by id, the caller's own profile) skips the hop: `read_now` runs
it on the calling (event-loop) thread on a connection of its own, in the same kind of transaction.
The hop's own cost (~40 µs of CPU, plus waking two threads) was more than such a read's statements.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import anyio

from customermates.errors import StorageError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
# Page cache per connection (KiB, negative = size): the default 2 MiB cannot hold a search's FTS
# doclists and the rows it joins, so every query re-reads them (docs/query-language.md S1/S4: 4.5 -> 1.9 ms).
CACHE_KIB = 32_768
# WAL pages a commit may leave before it checkpoints (SQLite's default: 1,000). A create_contacts of 10
# writes ~80 pages, mostly the same right-edge pages of each index again: checkpointing every ~125
# calls instead of every ~12 copies each of those pages (and syncs) ten times less often
# (docs/benchmarks.md, "Create path": -100 to -240 µs CPU per call). The WAL grows to ~40 MB.
WAL_AUTOCHECKPOINT_PAGES = 10_000
MIN_SQLITE = (3, 34, 0)


def check_engine() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StorageError(f"SQLite {sqlite3.sqlite_version} is too old; customermates needs 3.34 or newer.")
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram')")
    except sqlite3.OperationalError as exc:
        raise StorageError(f"SQLite lacks FTS5 with the trigram tokenizer ({exc}).") from exc
    finally:
        probe.close()


def connect(path: Path | str, factory: type[sqlite3.Connection] = sqlite3.Connection) -> sqlite3.Connection:
    """A configured connection in autocommit mode: transactions are opened explicitly."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        factory=factory,
    )
    configure(conn)
    return conn


class ReadConnection(sqlite3.Connection):
    """A connection that never writes, with a memo that lives while nothing is committed elsewhere.

    `PRAGMA data_version` changes when another connection (our writer, the CLI in another process)
    has committed since this one last read; it never changes for this connection's own commits, so
    only a connection that never writes may keep such a memo (the API key look-up: auth.py).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memo: dict[Any, Any] = {}
        self._memo_version = -1

    def current_memo(self) -> dict[Any, Any]:
        """The memo, emptied when the database changed; call it inside the read transaction."""
        version = self.execute("PRAGMA data_version").fetchone()[0]
        if version != self._memo_version:
            self.memo.clear()
            self._memo_version = version
        return self.memo


def configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")


def configure_writer(conn: sqlite3.Connection) -> None:
    """The writer's own settings, on top of `configure`.

    Statement journals in memory: an INSERT into a table with a trigger (the record counts) keeps one,
    by default in a temp file created and unlinked per statement (docs/benchmarks.md, "Create path":
    -100 µs CPU per create_contacts of 10). Readers keep the default so a large sort spills to disk
    instead of growing the process (peak RSS); a write's journal is a few pages.
    """
    conn.execute("PRAGMA temp_store = MEMORY")


def in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any, write: bool) -> T:
    """Run `fn(conn, *args)` in one transaction; roll everything back if it (or the COMMIT) raises."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT leaves it open; some errors have already ended it
            conn.execute("ROLLBACK")
        raise
    return result


Work = dict[Hashable, tuple[Callable[..., None], list]]  # `at_group_end` work: key -> (fn, items)


class WriterConnection(sqlite3.Connection):
    """The writer's connection; while a group runs, the work its calls leave to the group's end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.later: Work | None = None  # the running call's work; None: no group
        self.pending: Work = {}  # the work of the group's earlier calls that kept their writes
        self.ran: Work = {}  # pending work `run_deferred` ran inside the running call
        # API keys' principals, each under its company's accounts token (auth.py `Caller._kept`)
        self.principals: dict[Any, Any] = {}


def at_group_end(conn: sqlite3.Connection, key: Hashable, fn: Callable[..., None], items: list) -> None:
    """`fn(conn, items)` now; or, inside a call of a group, once before the group's COMMIT, with the
    items of every call of the group that kept its writes (under the same `key`) in call order.

    For work whose cost is per statement more than per item: the search rows of the records a call
    changed (an FTS5 table writes a new segment each time a statement ends; one for the group, not
    one a call: docs/benchmarks.md, "Group commit"). Whatever reads what such work writes calls
    `run_deferred` first.
    """
    later = getattr(conn, "later", None)
    if later is None:
        fn(conn, items)
    else:
        later.setdefault(key, (fn, []))[1].extend(items)


def run_deferred(conn: sqlite3.Connection) -> None:
    """Run now the work left to the group's end, before the running call reads what it writes (a
    search): the earlier calls' work and this call's own. The earlier calls' work is kept aside, to
    run again should this call be rolled back; this call's own is undone with it, as it should be."""
    if not isinstance(conn, WriterConnection) or conn.later is None:
        return
    if not conn.pending and not conn.later:
        return
    _merge(conn.ran, conn.pending)
    for fn, items in _merge(conn.pending, conn.later).values():
        fn(conn, items)
    conn.pending, conn.later = {}, {}


def _merge(into: Work, work: Work) -> Work:
    for key, (fn, items) in work.items():
        into.setdefault(key, (fn, []))[1].extend(items)
    return into


def _call_ended(writer: WriterConnection, kept: bool) -> None:
    """A call of the group released (`kept`) or rolled back: its work joins the group's, or the
    earlier calls' work it ran (`run_deferred`) is pending again."""
    if kept:
        _merge(writer.pending, writer.later or {})
    else:
        writer.pending = _merge(writer.ran, writer.pending)
    writer.later, writer.ran = {}, {}


# Calls one group may take: enough to share a COMMIT among a burst, few enough that the first caller
# of a group does not wait long behind the others' work.
GROUP_MAX = 32


class _Job:
    """One queued write call and, once its group has committed, its result or exception."""

    __slots__ = ("fn", "args", "result", "error", "lead", "woken")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.lead = False  # handed the writer: run the next group
        self.woken = anyio.Event()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    def run_alone(self, conn: sqlite3.Connection) -> None:
        try:
            self.result, self.error = in_transaction(conn, self.fn, *self.args, write=True), None
        except BaseException as exc:
            self.result, self.error = None, exc


class _GroupBroken(Exception):
    """The group's transaction cannot go on (it ended, or a savepoint could not be undone)."""


def run_group(conn: sqlite3.Connection, jobs: list[_Job], tally: Counter) -> None:
    """Run `jobs` in one transaction, each in a savepoint of its own; settle every job.

    A lone job runs exactly as `in_transaction`. When the group as a whole fails, nothing of it is
    kept and each job runs again alone, so one call's disk error or broken transaction never fails
    another call, and no caller hears of a success that was not committed.
    """
    if len(jobs) == 1:
        jobs[0].run_alone(conn)
        tally[1] += 1
        return
    try:
        _group_transaction(conn, jobs)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        tally["fallback"] += 1
        for job in jobs:
            job.run_alone(conn)
        return
    tally[len(jobs)] += 1


def _group_transaction(conn: sqlite3.Connection, jobs: list[_Job]) -> None:
    writer = conn if isinstance(conn, WriterConnection) else None
    conn.execute("BEGIN IMMEDIATE")
    try:
        if writer is not None:
            writer.later, writer.pending, writer.ran = {}, {}, {}
        for job in jobs:
            conn.execute("SAVEPOINT call")
            try:
                job.result, job.error = job.fn(conn, *job.args), None
            except BaseException as exc:
                job.result, job.error = None, exc
                if not conn.in_transaction:  # e.g. SQLITE_FULL or an interrupt ended the whole transaction
                    raise _GroupBroken from exc
                try:
                    conn.execute("ROLLBACK TO call")
                except sqlite3.Error as broken:
                    raise _GroupBroken from broken
            conn.execute("RELEASE call")
            if writer is not None:
                _call_ended(writer, job.error is None)
        run_deferred(conn)
    finally:
        if writer is not None:
            writer.later, writer.pending, writer.ran = None, {}, {}
    conn.execute("COMMIT")


class Database:
    """The process's connections. Create with `await Database.open(path)`."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]):
        self.path = path
        self._here = connect(path, ReadConnection)  # only used by `read_now`, on the event-loop thread
        self._writer = writer
        self._queue: list[_Job] = []  # write calls not yet taken into a group, in arrival order
        self._writing = False  # a group is being formed or run; the next one is handed on, not raced
        # Groups run, by size, and "fallback": groups that failed as a whole and ran call by call.
        self.group_sizes: Counter = Counter()
        self.join_turn = True  # an idle writer lets this turn's callers join (tools/bench_group_commit.py)
        self.group_max = GROUP_MAX  # 1 turns grouping off (tools/bench_group_commit.py compares)
        self._readers = readers
        self._idle = list(readers)
        self._reader_slots = anyio.Semaphore(len(readers))

    @classmethod
    async def open(cls, path: Path | str, readers: int = 3) -> Database:
        path = Path(path)

        async def opened(factory: type[sqlite3.Connection], *setups: Callable) -> aiosqlite.Connection:
            conn = await aiosqlite.connect(
                path, isolation_level=None, check_same_thread=False, factory=factory
            )
            for setup in setups:
                await conn._execute(setup, conn._conn)
            return conn

        writer = await opened(WriterConnection, configure, configure_writer)
        return cls(path, writer, [await opened(ReadConnection, configure) for _ in range(readers)])

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in the writer's thread inside a committed transaction (see module doc)."""
        job = _Job(fn, args)
        self._queue.append(job)
        if self._writing:
            try:
                await job.woken.wait()
            except BaseException:
                self._forget(job)
                raise
            if not job.lead:
                return job.outcome()
        else:
            self._writing = True
            # Without the turn, 16 callers alternate groups of 1 and 16 (20.0 WAL pages a call, not 15.7).
            if self.join_turn:
                job.lead = True
                try:
                    await anyio.lowlevel.checkpoint()
                except BaseException:
                    self._forget(job)
                    raise
        await self._lead()
        return job.outcome()

    async def _lead(self) -> None:
        """Run the oldest waiting calls as one group (this caller's is first), then hand the writer on."""
        group = self._queue[: self.group_max]
        del self._queue[: self.group_max]
        try:
            with anyio.CancelScope(shield=True):  # the group runs anyway: its callers must hear of it
                await self._writer._execute(run_group, self._writer._conn, group, self.group_sizes)
        except BaseException as exc:  # the thread hop itself failed (a closed connection): none ran
            for job in group:
                job.result, job.error = None, exc
            raise
        finally:
            for job in group:
                job.woken.set()
            self._hand_on()

    def _hand_on(self) -> None:
        if self._queue:
            head = self._queue[0]
            head.lead = True
            head.woken.set()
        else:
            self._writing = False

    def _forget(self, job: _Job) -> None:
        """A caller cancelled while waiting: drop its call if no group took it, pass on its turn."""
        if job in self._queue:
            self._queue.remove(job)
            if job.lead:
                self._hand_on()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a reader inside one read transaction (one snapshot)."""
        async with self._reader_slots:
            conn = self._idle.pop()
            try:
                return await conn._execute(in_transaction, conn._conn, fn, *args, write=False)
            finally:
                self._idle.append(conn)

    def read_now(self, fn: Callable[..., T], *args: Any) -> T:
        """`read`, but on the calling thread: only for work known to be short (it blocks the loop)."""
        return in_transaction(self._here, fn, *args, write=False)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a reader without opening a transaction (e.g. online backup)."""
        async with self._reader_slots:
            conn = self._idle.pop()
            try:
                return await conn._execute(fn, conn._conn, *args)
            finally:
                self._idle.append(conn)

    async def close(self) -> None:
        self._here.close()
        for conn in [self._writer, *self._readers]:
            await conn.close()
