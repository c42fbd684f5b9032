"""SQLite access: one writer connection, a small pool of readers, one thread hop per unit of work.

A tool call's SQL runs as one synchronous function inside a connection's own thread, so a call pays
one hop to that thread instead of one per statement (aiosqlite costs ~0.13 ms a hop). Writes are
serialized through the single writer and run in one `BEGIN IMMEDIATE … COMMIT`; reads run in a
deferred transaction, so a page's items and its total come from one snapshot.

A read declared short (a few records by id, the caller's own profile) skips the hop: `read_now` runs
it on the calling (event-loop) thread on a connection of its own, in the same kind of transaction.
The hop's own cost (~40 µs of CPU, plus waking two threads) was more than such a read's statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
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
    """Run `fn(conn, *args)` in one transaction; roll everything back if it raises."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


class Database:
    """The process's connections. Create with `await Database.open(path)`."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]):
        self.path = path
        self._here = connect(path, ReadConnection)  # only used by `read_now`, on the event-loop thread
        self._writer = writer
        self._write_lock = anyio.Lock()
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

        writer = await opened(sqlite3.Connection, configure, configure_writer)
        return cls(path, writer, [await opened(ReadConnection, configure) for _ in range(readers)])

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in the writer's thread inside `BEGIN IMMEDIATE … COMMIT`."""
        async with self._write_lock:
            return await self._writer._execute(in_transaction, self._writer._conn, fn, *args, write=True)

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
