"""Token buckets: requests per API key, failed authentications per client address (off by default)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from customermates.config import Settings
from customermates.errors import ToolError

MAX_TRACKED = 10_000  # buckets kept at most; full ones are forgotten first (they hold no state)


class Buckets:
    """`per_minute` tokens a minute for each key, at most `per_minute` saved up (the burst)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60
        self.capacity = float(per_minute)
        self.clock = clock
        self.state: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self.state.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again; 0 when it has one now (nothing is taken)."""
        tokens = self._tokens(key, self.clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token: 0 when there was one, else the seconds to wait (nothing is taken)."""
        now = self.clock()
        tokens = self._tokens(key, now)
        if tokens < 1:
            return (1 - tokens) / self.rate
        if len(self.state) >= MAX_TRACKED and key not in self.state:
            self._forget_full(now)
        self.state[key] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        full = [k for k in self.state if self._tokens(k, now) >= self.capacity]
        for key in full or list(self.state)[: MAX_TRACKED // 10]:
            del self.state[key]


class Limits:
    """The server's two limits, from Settings (CUSTOMERMATES_RATE_LIMIT, CUSTOMERMATES_AUTH_FAILURE_LIMIT)."""

    def __init__(self, settings: Settings):
        self.keys = Buckets(settings.rate_limit) if settings.rate_limit else None
        self.failures = Buckets(settings.auth_failure_limit) if settings.auth_failure_limit else None

    def refused(self, credential: str, address: str) -> tuple[ToolError, int] | None:
        """(rate_limited error, seconds to wait) when the address spent its failures or the key its
        requests; else None, and the key's request is counted."""
        if self.failures is not None and (wait := self.failures.wait(address)):
            return limited(wait, "Too many failed authentications from your address")
        if self.keys is not None and (wait := self.keys.take(credential)):
            return limited(wait, "This API key's request budget is spent")
        return None

    def failed(self, address: str) -> None:
        if self.failures is not None:
            self.failures.take(address)


def limited(wait: float, why: str) -> tuple[ToolError, int]:
    seconds = max(1, math.ceil(wait))
    return ToolError("rate_limited", f"{why}; retry in {seconds} s."), seconds
