"""API keys: generation, hashing, verification, and the acting principal."""

from __future__ import annotations

import hmac
import logging
import re
import sqlite3
import time
from dataclasses import dataclass, field, replace
from typing import Any

from customermates.ids import now_iso
from customermates.permissions import READ_ACTIONS
from customermates.store import accounts
from customermates.store.accounts import generate_key, key_hash  # noqa: F401  (re-exported)

log = logging.getLogger("customermates.auth")

_KEY_SHAPE = re.compile(r"^[0-9A-Za-z]{64}$")
ACCESS_PREFIX = "cmat_"  # OAuth access tokens (customermates.oauth) start so; API keys never do
MEMO_MAX = 1024  # remembered API keys per read connection
UNAUTHORIZED = "Missing or invalid API key: send it as `x-api-key: <key>` or `Authorization: Bearer <key>`."


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's user, with the user's current role and the key's limits."""

    user_id: str
    company_id: str
    role_id: str
    role_name: str
    is_system: bool
    permissions: frozenset[str]
    key_id: str | None = None
    read_only: bool = False
    source: str = "mcp"
    oauth_grant_id: str | None = None  # set when the caller signed in with OAuth (customermates.oauth)
    oauth_client_id: str | None = None
    # `can` answers by permission: a principal is remembered across calls (Caller.verify)
    _answers: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    # the record loader's read scopes by (entity, alias), for the same reason (crm/loading.py `scope`)
    scopes: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def credential_id(self) -> str | None:
        """The key or OAuth grant whose `last_used_at` this call stamps."""
        return self.key_id or self.oauth_grant_id

    def can(self, permission: str) -> bool:
        known = self._answers.get(permission)
        if known is None:
            known = self._answers[permission] = self._can(permission)
        return known

    def _can(self, permission: str) -> bool:
        resource, action = permission.split(".")
        if self.read_only and action not in READ_ACTIONS:
            return False
        if self.is_system:
            return True
        if permission in self.permissions:
            return True
        return action == "readOwn" and f"{resource}.readAll" in self.permissions

    def reads_all(self, resource: str) -> bool:
        return self.can(f"{resource}.readAll")

    def reads(self, resource: str) -> bool:
        return self.can(f"{resource}.readOwn")


def authenticate(conn: sqlite3.Connection, key: str | None, oauth: bool = False) -> Principal | None:
    """The principal of a usable key (or OAuth access token when `oauth`), or None; the log records why
    a credential was refused (never the credential)."""
    if oauth and key and key.startswith(ACCESS_PREFIX):
        from customermates.oauth.storage import access_principal  # imports this module

        principal, why = access_principal(conn, key)
        if principal is None:
            log.info("auth refused: %s", why)
        return principal
    return _key_principal(conn, key)[0]


def _key_principal(conn: sqlite3.Connection, key: str | None) -> tuple[Principal | None, str | None]:
    """An API key's principal (or None) and the key's expiry."""
    if not key or not _KEY_SHAPE.match(key):
        log.info("auth refused: %s", "no key" if not key else "malformed key")
        return None, None
    digest = key_hash(key)
    row = accounts.key_row(conn, digest)
    if row is None or not hmac.compare_digest(row[1], digest):
        log.info("auth refused: unknown key")
        return None, None
    reason = _refusal(row)
    if reason:
        log.info("auth refused: key %s %s", row[0], reason)
        return None, None
    return principal_of(row, row[0], bool(row[2])), row[3]


def principal_of(
    row: sqlite3.Row,
    key_id: str | None,
    read_only: bool,
    grant_id: str | None = None,
    client_id: str | None = None,
) -> Principal:
    """The principal of a credential look-up row whose columns 5-11 are `accounts.PRINCIPAL_COLUMNS`."""
    perms = frozenset((row[11] or "").split(",")) - {""}
    return Principal(
        row[5], row[6], row[8], row[9], bool(row[10]), perms, key_id, read_only, "mcp", grant_id, client_id
    )


@dataclass
class Caller:
    """A request's credential, verified at most once, inside the first database hop that needs it.

    A tool call verifies it in its own transaction (`Registry.invoke`), so a call costs one hop and
    a revoked key, even revoked by the CLI in another process, is refused by the next call.
    """

    credential: str | None
    source: str = "mcp"
    principal: Principal | None = None
    checked: bool = False
    oauth: bool = False  # also accept OAuth access tokens (HTTP with the OAuth front door on)

    def verify(self, conn: sqlite3.Connection) -> Principal | None:
        """The principal, authenticating on the first use (inside the call's transaction).

        On a connection that never writes (`store.database.ReadConnection`) an API key's principal is
        remembered until anything is committed elsewhere (`PRAGMA data_version`), so a key revoked, a
        role changed or a user suspended, by this process or the CLI, is seen by the next call. The
        writer (`WriterConnection`) keeps it under its company's `accounts_token` instead (`_kept`).
        """
        if not self.checked:
            if hasattr(conn, "current_memo"):
                self.principal = self._remembered(conn)
            elif hasattr(conn, "principals"):
                self.principal = self._kept(conn)
            else:
                self.principal = self._looked_up(conn)
            self.checked = True
        return self.principal

    def _looked_up(self, conn: sqlite3.Connection) -> Principal | None:
        found = authenticate(conn, self.credential, self.oauth)
        return None if found is None else replace(found, source=self.source)

    def _remembered(self, conn) -> Principal | None:
        if self.oauth and self.credential and self.credential.startswith(ACCESS_PREFIX):
            return self._looked_up(conn)  # OAuth tokens are not remembered
        memo = conn.current_memo()
        slot = (key_hash(self.credential or ""), self.source)  # a digest: no key kept in memory
        hit = memo.get(slot)
        if hit is not None and (hit[1] is None or hit[1] > now_iso()):
            return hit[0]
        found, expires = _key_principal(conn, self.credential)
        if found is None:
            return None
        principal = replace(found, source=self.source)
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[slot] = (principal, expires)
        return principal

    def _kept(self, conn) -> Principal | None:
        """The writer's memo: a key's principal, reused while its company's `accounts_token` (one
        primary-key read in the call's own transaction) is the one it was kept under. Triggers give
        the company a fresh random token with every change to its keys, users, roles or permissions,
        by any writer (migration 0015); `data_version` cannot serve here, as it never changes for the
        writer's own commits (docs/benchmarks.md, "Writer-side key memo")."""
        if self.oauth and self.credential and self.credential.startswith(ACCESS_PREFIX):
            return self._looked_up(conn)  # OAuth tokens are not remembered
        memo = conn.principals
        slot = (key_hash(self.credential or ""), self.source)  # a digest: no key kept in memory
        hit = memo.get(slot)
        fresh = hit is not None and (hit[1] is None or hit[1] > now_iso())
        if fresh and _accounts_token(conn, hit[0].company_id) == hit[2]:
            return hit[0]
        found, expires = _key_principal(conn, self.credential)
        if found is None:
            memo.pop(slot, None)
            return None
        principal = replace(found, source=self.source)
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[slot] = (principal, expires, _accounts_token(conn, principal.company_id))
        return principal


def _accounts_token(conn: sqlite3.Connection, company_id: str) -> int | None:
    row = conn.execute("SELECT accounts_token FROM company WHERE id = ?", (company_id,)).fetchone()
    return None if row is None else row[0]


def _refusal(row: sqlite3.Row) -> str | None:
    if row[4] is not None:
        return "is revoked"
    if row[3] is not None and row[3] <= now_iso():
        return "has expired"
    if row[7] != "active":
        return f"belongs to a user who is {row[7]}"
    return None


class LastUsed:
    """Buffers `lastUsedAt` in memory so a read never waits for the write lock; flushed each minute."""

    def __init__(self) -> None:
        self._pending: dict[str, str] = {}
        self._stamped: dict[str, float] = {}

    def touch(self, key_id: str | None) -> None:
        if key_id is None:
            return
        now = time.monotonic()
        if now - self._stamped.get(key_id, -120.0) >= 60.0:
            self._stamped[key_id] = now
            self._pending[key_id] = now_iso()

    def take(self) -> list[tuple[str, str]]:
        pending, self._pending = self._pending, {}
        return [(at, key_id) for key_id, at in pending.items()]


def flush_last_used(conn: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
    """Store buffered `(last_used_at, id)` pairs; an id is an API key's or an OAuth grant's."""
    from customermates.oauth.storage import touch_grants  # imports this module

    accounts.touch_keys(conn, rows)
    touch_grants(conn, rows)
