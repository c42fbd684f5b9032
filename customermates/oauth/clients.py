"""OAuth clients: their stored rows, redirect-URI rules and exact matching (RFC 8252 loopback ports)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Client:
    id: str
    kind: str  # 'registered' or 'document'
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    secret_hash: str | None
    fetched_at: str | None


def redirect_uri_problem(uri: object) -> str | None:
    """Why `uri` cannot be a redirect URI, or None: https, or http on a loopback address, no fragment."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        return f"redirect URI {uri!r} is not a string of 1-{MAX_URI_LENGTH} characters"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f"redirect URI {uri!r} is not a valid URL"
    if parts.fragment or "#" in uri:
        return f"redirect URI {uri!r} has a fragment"
    if parts.username or parts.password:
        return f"redirect URI {uri!r} carries credentials"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    return f"redirect URI {uri!r} must be https, or http on a loopback address (127.0.0.1, [::1], localhost)"


def redirect_matches(registered: str, given: str) -> bool:
    """Exact match, except that a loopback http URI may use any port (RFC 8252 §7.3)."""
    if registered == given:
        return True
    try:
        a, b = urlsplit(registered), urlsplit(given)
        a_port, b_port = a.port, b.port  # noqa: F841 - validates both
    except ValueError:
        return False
    if a.scheme != "http" or a.hostname not in LOOPBACK:
        return False
    same = (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query)
    return same and not b.fragment and not b.username and not b.password


def allowed_redirect(client: Client, given: str | None) -> str | None:
    """The redirect URI to use: `given` when registered, or the only one registered when none is given."""
    if not given:
        return client.redirect_uris[0] if len(client.redirect_uris) == 1 else None
    return given if any(redirect_matches(r, given) for r in client.redirect_uris) else None


def _client(row: sqlite3.Row | None) -> Client | None:
    if row is None:
        return None
    uris = tuple(json.loads(row["redirect_uris"]))
    return Client(
        row["id"], row["kind"], row["name"], uris, row["auth_method"], row["secret_hash"], row["fetched_at"]
    )


def get(conn: sqlite3.Connection, client_id: str) -> Client | None:
    return _client(conn.execute("SELECT * FROM oauth_client WHERE id = ?", (client_id,)).fetchone())


def save(conn: sqlite3.Connection, client: Client, metadata: dict, now: str) -> None:
    """Insert a client, or refresh a metadata document's row."""
    conn.execute(
        "INSERT INTO oauth_client (id, kind, name, redirect_uris, auth_method, secret_hash, metadata,"
        " created_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris,"
        " metadata = excluded.metadata, fetched_at = excluded.fetched_at",
        (
            client.id,
            client.kind,
            client.name,
            json.dumps(list(client.redirect_uris)),
            client.auth_method,
            client.secret_hash,
            json.dumps(metadata),
            now,
            client.fetched_at,
        ),
    )
