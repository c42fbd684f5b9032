"""Token storage: one-time codes, grants, access and refresh tokens, all kept only as SHA-256 hashes.

Every function runs inside a transaction its caller opened. A refused exchange returns the RFC error
instead of raising it when it must keep a change (a replayed code or refresh token revokes its grant).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge

from customermates.auth import ACCESS_PREFIX, Principal, key_hash, principal_of
from customermates.ids import iso, new_id, now_iso
from customermates.store.accounts import PRINCIPAL_COLUMNS, principal_joins

REFRESH_PREFIX = "cmrt_"
CODE_TTL = 120


@dataclass(frozen=True)
class Ttls:
    access: int
    refresh: int


@dataclass(frozen=True)
class Approval:
    """What the person allowed on the consent page; becomes a grant when the code is exchanged."""

    client_id: str
    company_id: str
    user_id: str
    api_key_id: str | None
    read_only: bool
    redirect_uri: str
    code_challenge: str
    resource: str


def _later(seconds: int) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def issue_code(conn: sqlite3.Connection, approval: Approval) -> str:
    code = secrets.token_urlsafe(32)
    now = now_iso()
    conn.execute("DELETE FROM oauth_code WHERE expires_at < ?", (now,))
    a = approval
    conn.execute(
        "INSERT INTO oauth_code (hash, client_id, company_id, user_id, api_key_id, read_only, redirect_uri,"
        " code_challenge, resource, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key_hash(code),
            a.client_id,
            a.company_id,
            a.user_id,
            a.api_key_id,
            int(a.read_only),
            a.redirect_uri,
            a.code_challenge,
            a.resource,
            _later(CODE_TTL),
        ),
    )
    return code


def _tokens(conn: sqlite3.Connection, grant_id: str, ttls: Ttls) -> dict:
    access = ACCESS_PREFIX + secrets.token_urlsafe(32)
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    conn.execute("DELETE FROM oauth_token WHERE grant_id = ? AND expires_at < ?", (grant_id, now_iso()))
    conn.executemany(
        "INSERT INTO oauth_token (hash, grant_id, kind, expires_at) VALUES (?, ?, ?, ?)",
        [
            (key_hash(access), grant_id, "access", _later(ttls.access)),
            (key_hash(refresh), grant_id, "refresh", _later(ttls.refresh)),
        ],
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttls.access,
        "refresh_token": refresh,
    }


def _revoke(conn: sqlite3.Connection, grant_id: str) -> None:
    conn.execute(
        "UPDATE oauth_grant SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_iso(), grant_id)
    )


def exchange_code(
    conn: sqlite3.Connection, client_id: str, code: str, redirect_uri: str | None, verifier: str, ttls: Ttls
) -> dict | OAuth2Error:
    """Tokens for a valid code; a second use of a code revokes the grant it created (RFC 6749 §4.1.2)."""
    if not verifier:
        return InvalidRequestError("Missing code_verifier: send the PKCE verifier of this code.")
    if not CODE_VERIFIER_PATTERN.match(verifier):
        return InvalidRequestError("code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~.")
    row = conn.execute("SELECT * FROM oauth_code WHERE hash = ?", (key_hash(code),)).fetchone()
    if row is None or row["expires_at"] < now_iso():
        return InvalidGrantError("The authorization code is unknown or expired; start the sign-in again.")
    if row["grant_id"] is not None:
        _revoke(conn, row["grant_id"])
        return InvalidGrantError("The authorization code was already used; its grant is revoked.")
    if row["client_id"] != client_id:
        return InvalidGrantError("The authorization code was issued to another client.")
    if redirect_uri is not None and row["redirect_uri"] != redirect_uri:
        return InvalidGrantError("redirect_uri differs from the one in the authorization request.")
    if not compare_s256_code_challenge(verifier, row["code_challenge"]):
        return InvalidGrantError("code_verifier does not match the code_challenge (S256).")
    user = conn.execute("SELECT status FROM app_user WHERE id = ?", (row["user_id"],)).fetchone()
    if user is None or user["status"] != "active":
        return InvalidGrantError("The user who approved this code is not active.")
    grant_id = new_id()
    conn.execute(
        "INSERT INTO oauth_grant (id, company_id, user_id, client_id, api_key_id, read_only, resource,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            grant_id,
            row["company_id"],
            row["user_id"],
            client_id,
            row["api_key_id"],
            row["read_only"],
            row["resource"],
            now_iso(),
        ),
    )
    conn.execute("UPDATE oauth_code SET grant_id = ? WHERE hash = ?", (grant_id, row["hash"]))
    return _tokens(conn, grant_id, ttls)


def refresh(conn: sqlite3.Connection, client_id: str, token: str, ttls: Ttls) -> dict | OAuth2Error:
    """New tokens for a live refresh token, which is rotated; replaying a rotated one revokes the grant."""
    row = conn.execute(
        "SELECT t.grant_id, t.expires_at, t.rotated_at, g.client_id, g.revoked_at, u.status"
        " FROM oauth_token t JOIN oauth_grant g ON g.id = t.grant_id JOIN app_user u ON u.id = g.user_id"
        " WHERE t.hash = ? AND t.kind = 'refresh'",
        (key_hash(token),),
    ).fetchone()
    if row is None or row["client_id"] != client_id:
        return InvalidGrantError("The refresh token is unknown or belongs to another client.")
    if row["revoked_at"] is not None:
        return InvalidGrantError("The grant was revoked; sign in again.")
    if row["rotated_at"] is not None:
        _revoke(conn, row["grant_id"])
        return InvalidGrantError("The refresh token was already used; the grant is revoked, sign in again.")
    if row["expires_at"] < now_iso():
        return InvalidGrantError("The refresh token has expired; sign in again.")
    if row["status"] != "active":
        return InvalidGrantError("The user of this grant is not active.")
    conn.execute("UPDATE oauth_token SET rotated_at = ? WHERE hash = ?", (now_iso(), key_hash(token)))
    return _tokens(conn, row["grant_id"], ttls)


_PRINCIPAL = f"""
SELECT t.expires_at, g.id, g.client_id, g.read_only, g.revoked_at, {PRINCIPAL_COLUMNS}
FROM oauth_token t JOIN oauth_grant g ON g.id = t.grant_id {principal_joins("g")}
WHERE t.hash = ? AND t.kind = 'access'
"""


def access_principal(conn: sqlite3.Connection, token: str) -> tuple[Principal | None, str]:
    """The principal of a live access token, else None and why (for the log; never the token)."""
    row = conn.execute(_PRINCIPAL, (key_hash(token),)).fetchone()
    if row is None:
        return None, "unknown access token"
    if row[4] is not None:
        return None, f"grant {row[1]} is revoked"
    if row[0] < now_iso():
        return None, f"access token of grant {row[1]} has expired"
    if row[7] != "active":
        return None, f"grant {row[1]} belongs to a user who is {row[7]}"
    # No key id: the audit row names the user and, through oauth_client_id, the app.
    return principal_of(row, None, bool(row[3]), row[1], row[2]), "accepted"


def list_grants(conn: sqlite3.Connection, user_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT g.id, c.name, g.read_only, g.created_at, g.last_used_at FROM oauth_grant g"
        " JOIN oauth_client c ON c.id = g.client_id"
        " WHERE g.user_id = ? AND g.revoked_at IS NULL ORDER BY g.created_at, g.id",
        (user_id,),
    ).fetchall()


def revoke_grant(conn: sqlite3.Connection, user_id: str, grant_id: str) -> bool:
    """Revoke one live grant of this user; False when the user has no such grant."""
    cursor = conn.execute(
        "UPDATE oauth_grant SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (now_iso(), grant_id.strip().lower(), user_id),
    )
    if cursor.rowcount:
        conn.execute("DELETE FROM oauth_token WHERE grant_id = ?", (grant_id.strip().lower(),))
    return bool(cursor.rowcount)


def touch_grants(conn: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
    """Store buffered `(last_used_at, grant id)` pairs (ids of API keys among them match nothing)."""
    conn.executemany("UPDATE oauth_grant SET last_used_at = ? WHERE id = ?", rows)
