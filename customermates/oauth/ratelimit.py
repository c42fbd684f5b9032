"""Per-address counters in memory: failed sign-ins on the consent page, and client registrations."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class Window:
    """At most `limit` events per address in a sliding window of `seconds`."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, address: str) -> deque[float]:
        events = self._events[address]
        cutoff = time.monotonic() - self.seconds
        while events and events[0] < cutoff:
            events.popleft()
        if not events:
            del self._events[address]  # keeps the table from growing with every address ever seen
            return deque()
        return events

    def full(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def add(self, address: str) -> None:
        if len(self._events) > 10_000:  # addresses that never came back: drop their stale entries
            for seen in list(self._events):
                self._recent(seen)
        self._recent(address)
        self._events[address].append(time.monotonic())


def address(request) -> str:
    return request.client.host if request.client else "unknown"
