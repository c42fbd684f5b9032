"""Settings read from the environment (CLI.md): database path, host, port, origins, switches."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = Path("data") / "customermates.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4000
MAX_BODY_BYTES = 2 * 1024 * 1024


def db_path(flag: str | None = None) -> Path:
    """`--db`, else `CUSTOMERMATES_DB`, else `data/customermates.db`."""
    return Path(flag or os.environ.get("CUSTOMERMATES_DB") or DEFAULT_DB)


def host(flag: str | None = None) -> str:
    return flag or os.environ.get("CUSTOMERMATES_HOST") or DEFAULT_HOST


def port(flag: int | None = None) -> int:
    return flag or int(os.environ.get("CUSTOMERMATES_PORT") or DEFAULT_PORT)


@dataclass(frozen=True)
class Settings:
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    webhook_allow_insecure: bool = False
    rate_limit: int | None = None  # requests a minute per API key (burst the same); None: no limit
    auth_failure_limit: int | None = None  # failed authentications a minute per client address

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get("CUSTOMERMATES_ALLOWED_ORIGINS", "")
        limit = os.environ.get("CUSTOMERMATES_RATE_LIMIT")
        failures = os.environ.get("CUSTOMERMATES_AUTH_FAILURE_LIMIT")
        return cls(
            allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            webhook_allow_insecure=os.environ.get("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE") == "1",
            rate_limit=int(limit) if limit else None,
            auth_failure_limit=int(failures) if failures else None,
        )
