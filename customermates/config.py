"""Settings read from the environment (the README's command line section): database path, host, port, origins, switches."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = Path("data") / "customermates.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4000
MAX_BODY_BYTES = 2 * 1024 * 1024
OAUTH_ACCESS_TTL = 3600
OAUTH_REFRESH_TTL = 30 * 24 * 3600


def db_path(flag: str | None = None) -> Path:
    """`--db`, else `CUSTOMERMATES_DB`, else `data/customermates.db`."""
    return Path(flag or os.environ.get("CUSTOMERMATES_DB") or DEFAULT_DB)


def host(flag: str | None = None) -> str:
    return flag or os.environ.get("CUSTOMERMATES_HOST") or DEFAULT_HOST


def port(flag: int | None = None) -> int:
    return flag or int(os.environ.get("CUSTOMERMATES_PORT") or DEFAULT_PORT)


class SettingError(ValueError):
    """An environment setting has a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    webhook_allow_insecure: bool = False
    rate_limit: int | None = None  # requests a minute per API key (burst the same); None: no limit
    auth_failure_limit: int | None = None  # failed authentications a minute per client address
    public_url: str | None = None  # behind a reverse proxy; None = the address each request came to
    oauth: bool = True
    oauth_access_ttl: int = OAUTH_ACCESS_TTL
    oauth_refresh_ttl: int = OAUTH_REFRESH_TTL

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        origins = env("CUSTOMERMATES_ALLOWED_ORIGINS", "")
        limit = env("CUSTOMERMATES_RATE_LIMIT")
        failures = env("CUSTOMERMATES_AUTH_FAILURE_LIMIT")
        return cls(
            allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            webhook_allow_insecure=env("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE") == "1",
            rate_limit=int(limit) if limit else None,
            auth_failure_limit=int(failures) if failures else None,
            public_url=(env("CUSTOMERMATES_PUBLIC_URL") or "").rstrip("/") or None,
            oauth=env("CUSTOMERMATES_OAUTH", "1") != "0",
            oauth_access_ttl=_seconds("CUSTOMERMATES_OAUTH_ACCESS_TTL", OAUTH_ACCESS_TTL),
            oauth_refresh_ttl=_seconds("CUSTOMERMATES_OAUTH_REFRESH_TTL", OAUTH_REFRESH_TTL),
        )


def _seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingError(f"{name}={raw!r} is not a whole number of seconds (1 or more).")
    return int(raw)
