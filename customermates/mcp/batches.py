"""JSON-RPC batch rules shared by both transports: not empty, and at most MAX_BATCH messages."""

from __future__ import annotations

from typing import Any

MAX_BATCH = 100  # one batch is answered in one reply; a bound keeps that reply and its work bounded


def refusal(messages: list[Any]) -> str | None:
    """Why the batch is refused as a whole (JSON-RPC -32600), or None."""
    if not messages:
        return "Invalid Request: the batch is empty; send at least one message"
    if len(messages) > MAX_BATCH:
        return (
            f"Invalid Request: a batch holds at most {MAX_BATCH} messages; this one holds"
            f" {len(messages)}. Split it"
        )
    return None
