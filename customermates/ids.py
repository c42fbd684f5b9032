"""Server-generated ids (UUIDv7, monotonic inside the process) and ISO 8601 timestamps."""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
# Ids are unique, not secret: a generator seeded once from the OS avoids a system call per id, which
# on the event loop releases the GIL to a busy database thread (a request id per request).
_random = random.Random(os.urandom(32))
_last_ms = 0
_seq = 0


def new_id() -> str:
    """A lowercase UUIDv7 string; ids made later in this process always sort after earlier ones."""
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same (or an earlier) millisecond: keep the clock and count up, so order holds.
            ms = _last_ms
            _seq += 1
            if _seq >= 1 << 12:
                ms += 1
                _seq = 0
        else:
            _seq = _random.getrandbits(10)
        _last_ms = ms
        seq = _seq
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | _random.getrandbits(62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_ids(n: int) -> list[str]:
    return [new_id() for _ in range(n)]


# (second, its text up to the dot): every call in the same second reuses the formatted date and time.
_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """UTC now with millisecond precision and a `Z`: fixed width, so text order is time order."""
    global _second
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    known, prefix = _second
    if second != known:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        _second = (second, prefix)  # one tuple: a thread reads an old pair or a new one, never a mix
    return f"{prefix}{nanos // 1_000_000:03d}Z"


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
