"""The webhook switches read from the environment (docs/webhooks.md lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SCHEDULE = (60.0, 300.0, 900.0, 3600.0, 10800.0, 21600.0, 43200.0)


def insecure_allowed() -> bool:
    """Read on every check, so the switch applies to configuration and delivery alike."""
    return os.environ.get("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE") == "1"


SCHEDULE_VARIABLE = "CUSTOMERMATES_WEBHOOK_RETRY_SCHEDULE"


def parse_schedule(raw: str | None) -> tuple[float, ...]:
    if not raw or not raw.strip():
        return DEFAULT_SCHEDULE
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"CUSTOMERMATES_WEBHOOK_RETRY_SCHEDULE={raw!r} is not a comma-separated list of seconds"
        ) from None
    if any(d < 0 for d in delays):
        raise ValueError("CUSTOMERMATES_WEBHOOK_RETRY_SCHEDULE holds a negative delay")
    return delays


@dataclass(frozen=True)
class WebhookSettings:
    worker: bool = True
    concurrency: int = 8
    timeout: float = 10.0
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    retention_days: float = 30.0

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    @property
    def lease(self) -> float:
        """A claimed attempt that is not finished by then died with its process."""
        return self.timeout + 5.0

    @classmethod
    def from_env(cls) -> WebhookSettings:
        env = os.environ.get
        return cls(
            worker=env("CUSTOMERMATES_WEBHOOK_WORKER", "1") != "0",
            concurrency=max(1, int(env("CUSTOMERMATES_WEBHOOK_CONCURRENCY") or 8)),
            timeout=float(env("CUSTOMERMATES_WEBHOOK_TIMEOUT_SECONDS") or 10),
            schedule=parse_schedule(env(SCHEDULE_VARIABLE)),
            retention_days=float(env("CUSTOMERMATES_WEBHOOK_RETENTION_DAYS") or 30),
        )
