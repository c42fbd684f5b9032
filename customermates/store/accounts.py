"""Companies, users, roles and API keys: all their SQL, for the CLI, authentication and the account tools.

Each function runs inside a transaction its caller opened, so a command or a call is all or nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from customermates.audit import Actor, AuditEvent, write_events
from customermates.errors import AccountError
from customermates.ids import iso, new_id, now_iso
from customermates.permissions import SEEDED_ROLES
from customermates.store.paging import counted_page

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_LENGTH = 64


def generate_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Seeded:
    company_id: str
    user_id: str
    key: str


def user_by_email(conn: sqlite3.Connection, email: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM app_user WHERE email_key = ?", (email.strip().casefold(),)).fetchone()


def require_user(conn: sqlite3.Connection, email: str) -> sqlite3.Row:
    row = user_by_email(conn, email)
    if row is None:
        raise AccountError(
            f"No user has the email {email!r}; check the address or add the user with `users add`."
        )
    return row


def create_company(conn: sqlite3.Connection, name: str, email: str, first: str, last: str) -> Seeded:
    """A tenant with its seeded roles, its owner (Admin) and a key named `default`."""
    if user_by_email(conn, email) is not None:
        raise AccountError(
            f"A user with the email {email!r} already exists; use another email for a new company."
        )
    now = now_iso()
    company_id = new_id()
    conn.execute(
        "INSERT INTO company (id, name, currency, created_at, updated_at) VALUES (?, ?, 'eur', ?, ?)",
        (company_id, name, now, now),
    )
    actor = Actor(company_id, None, None, "cli", "init")
    events = [AuditEvent("company", company_id, "company.created")]
    role_ids = {}
    for role_name, description, is_system, perms in SEEDED_ROLES:
        role_id = role_ids[role_name] = new_id()
        conn.execute(
            "INSERT INTO role VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (role_id, company_id, role_name, role_name.casefold(), description, int(is_system), now, now),
        )
        conn.executemany("INSERT INTO role_permission VALUES (?, ?, ?)", [(role_id, r, a) for r, a in perms])
        events.append(AuditEvent("role", role_id, "role.created"))
    user_id = insert_user(conn, company_id, email, first, last, role_ids["Admin"], now)
    events.append(AuditEvent("user", user_id, "user.created"))
    key, key_id = insert_key(conn, company_id, user_id, "default", False, None, now)
    events.append(AuditEvent("apiKey", key_id, "api_key.created"))
    write_events(conn, actor, now, events)
    return Seeded(company_id, user_id, key)


def insert_user(conn, company_id: str, email: str, first: str, last: str, role_id: str, now: str) -> str:
    user_id = new_id()
    conn.execute(
        "INSERT INTO app_user (id, company_id, email, email_key, first_name, last_name, name_key, role_id,"
        " status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
        (
            user_id,
            company_id,
            email.strip(),
            email.strip().casefold(),
            first,
            last,
            f"{first} {last}".strip().casefold(),
            role_id,
            now,
            now,
        ),
    )
    return user_id


def insert_key(conn, company_id, user_id, name, read_only, expires_at, now) -> tuple[str, str]:
    key, key_id = generate_key(), new_id()
    conn.execute(
        "INSERT INTO api_key (id, company_id, user_id, name, prefix, hash, read_only, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key_id, company_id, user_id, name, key[:6], key_hash(key), int(read_only), now, expires_at),
    )
    return key, key_id


def create_key(
    conn, email: str, name: str, read_only: bool = False, expires_in_days: int | None = None
) -> str:
    user = require_user(conn, email)
    taken = conn.execute(
        "SELECT 1 FROM api_key WHERE user_id = ? AND name = ? AND revoked_at IS NULL", (user["id"], name)
    ).fetchone()
    if taken:
        raise AccountError(
            f"{email} already has an active key named {name!r}; pick another name or revoke it first."
        )
    now = now_iso()
    expires = iso(datetime.now(UTC) + timedelta(days=expires_in_days)) if expires_in_days else None
    key, key_id = insert_key(conn, user["company_id"], user["id"], name, read_only, expires, now)
    actor = Actor(user["company_id"], user["id"], None, "cli", "keys create")
    write_events(conn, actor, now, [AuditEvent("apiKey", key_id, "api_key.created")])
    return key


def list_keys(conn, email: str) -> list[sqlite3.Row]:
    user = require_user(conn, email)
    return conn.execute(
        "SELECT name, prefix, read_only, created_at, last_used_at, expires_at, revoked_at FROM api_key"
        " WHERE user_id = ? ORDER BY created_at, id",
        (user["id"],),
    ).fetchall()


def revoke_key(conn, email: str, name: str) -> None:
    user = require_user(conn, email)
    row = conn.execute(
        "SELECT id FROM api_key WHERE user_id = ? AND name = ? AND revoked_at IS NULL", (user["id"], name)
    ).fetchone()
    if row is None:
        raise AccountError(
            f"{email} has no active key named {name!r}; `keys list --email {email}` shows its keys."
        )
    now = now_iso()
    conn.execute("UPDATE api_key SET revoked_at = ? WHERE id = ?", (now, row["id"]))
    actor = Actor(user["company_id"], user["id"], None, "cli", "keys revoke")
    write_events(conn, actor, now, [AuditEvent("apiKey", row["id"], "api_key.revoked")])


def add_user(conn, company_id: str, email: str, first: str, last: str, role: str) -> str:
    if conn.execute("SELECT 1 FROM company WHERE id = ?", (company_id.lower(),)).fetchone() is None:
        raise AccountError(f"No company has the id {company_id!r}; `init` prints company ids.")
    company_id = company_id.lower()
    if user_by_email(conn, email) is not None:
        raise AccountError(
            f"A user with the email {email!r} already exists; emails are unique across companies."
        )
    role_row = conn.execute(
        "SELECT id FROM role WHERE company_id = ? AND name_key = ?", (company_id, role.casefold())
    ).fetchone()
    if role_row is None:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM role WHERE company_id = ? ORDER BY name", (company_id,))
        ]
        raise AccountError(f"The company has no role named {role!r}; use one of: {', '.join(names)}.")
    now = now_iso()
    user_id = insert_user(conn, company_id, email, first, last, role_row["id"], now)
    write_events(
        conn,
        Actor(company_id, None, None, "cli", "users add"),
        now,
        [AuditEvent("user", user_id, "user.created")],
    )
    return user_id


def set_status(conn, email: str, status: str) -> None:
    user = require_user(conn, email)
    if user["status"] == status:
        return
    if status != "active":
        others = conn.execute(
            "SELECT count(*) FROM app_user u JOIN role r ON r.id = u.role_id WHERE u.company_id = ?"
            " AND u.status = 'active' AND r.is_system = 1 AND u.id <> ?",
            (user["company_id"], user["id"]),
        ).fetchone()[0]
        is_admin = conn.execute("SELECT is_system FROM role WHERE id = ?", (user["role_id"],)).fetchone()[0]
        if is_admin and others == 0:
            raise AccountError(
                f"{email} is the company's last active admin; activate or add another Admin user first."
            )
    now = now_iso()
    conn.execute("UPDATE app_user SET status = ?, updated_at = ? WHERE id = ?", (status, now, user["id"]))
    changes = {"status": {"previous": user["status"], "current": status}}
    write_events(
        conn,
        Actor(user["company_id"], None, None, "cli", "users set-status"),
        now,
        [AuditEvent("user", user["id"], "user.updated", changes)],
    )


def has_company(conn) -> bool:
    return conn.execute("SELECT 1 FROM company LIMIT 1").fetchone() is not None


# ---- the rows the account tools and authentication read and write ---------------------------------

# A credential look-up (an API key here, an OAuth access token in oauth/storage.py) selects five
# columns of its own, then these seven of the acting user (columns 5-11, which auth.principal_of reads):
# user id, company, status, role id, role name, is_system, the role's permissions as `res.action,…`.
PRINCIPAL_COLUMNS = """u.id, u.company_id, u.status, r.id, r.name, r.is_system,
       (SELECT group_concat(p.resource || '.' || p.action) FROM role_permission p WHERE p.role_id = r.id)"""


def principal_joins(alias: str) -> str:
    """The joins from a credential row `alias` (with a `user_id`) to the columns of PRINCIPAL_COLUMNS."""
    return f"JOIN app_user u ON u.id = {alias}.user_id JOIN role r ON r.id = u.role_id"


KEY_LOOKUP = f"""
SELECT k.id, k.hash, k.read_only, k.expires_at, k.revoked_at, {PRINCIPAL_COLUMNS}
FROM api_key k {principal_joins("k")}
WHERE k.hash = ?
"""
USER_COLUMNS = """
SELECT u.id, u.email, u.first_name, u.last_name, u.role_id, r.name, u.status, u.country, u.avatar_url,
       u.created_at, u.updated_at
FROM app_user u JOIN role r ON r.id = u.role_id
"""
COMPANY_COLUMNS = (
    "SELECT id, name, street, city, postal_code, country, currency, created_at, updated_at FROM company"
)


def key_row(conn: sqlite3.Connection, digest: str) -> sqlite3.Row | None:
    """The key with this hash, its user and role, and the role's permissions as `res.action,…`."""
    return conn.execute(KEY_LOOKUP, (digest,)).fetchone()


def touch_keys(conn: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
    """Store buffered `(last_used_at, key id)` pairs."""
    conn.executemany("UPDATE api_key SET last_used_at = ? WHERE id = ?", rows)


def user_row(conn: sqlite3.Connection, company_id: str, user_id: str) -> sqlite3.Row:
    return conn.execute(
        USER_COLUMNS + " WHERE u.company_id = ? AND u.id = ?", (company_id, user_id)
    ).fetchone()


def user_page(
    conn: sqlite3.Connection, where: list[str], params: list, limit: int, offset: int
) -> tuple[int, list[sqlite3.Row]]:
    """The total and one page of users matching every condition of `where` (alias `u`), by name."""
    return counted_page(
        conn, USER_COLUMNS, "FROM app_user u", where, params, "u.name_key, u.id", limit, offset
    )


def write_user(
    conn: sqlite3.Connection, user_id: str, columns: dict[str, object], name_key: str, now: str
) -> None:
    sets = ", ".join(f"{c} = ?" for c in columns)
    conn.execute(
        f"UPDATE app_user SET {sets}, name_key = ?, updated_at = ? WHERE id = ?",
        [*columns.values(), name_key, now, user_id],
    )


def company_row(conn: sqlite3.Connection, company_id: str) -> sqlite3.Row:
    return conn.execute(COMPANY_COLUMNS + " WHERE id = ?", (company_id,)).fetchone()


def write_company(conn: sqlite3.Connection, company_id: str, columns: dict[str, object], now: str) -> None:
    sets = ", ".join(f"{c} = ?" for c in columns)
    conn.execute(
        f"UPDATE company SET {sets}, updated_at = ? WHERE id = ?", [*columns.values(), now, company_id]
    )


def role_rows(conn: sqlite3.Connection, company_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT id, name, description, is_system FROM role WHERE company_id = ? ORDER BY name_key, id",
        (company_id,),
    ).fetchall()


def role_permission_rows(conn: sqlite3.Connection, role_ids: list[str]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(role_ids))
    return conn.execute(
        f"SELECT role_id, resource, action FROM role_permission WHERE role_id IN ({marks})", role_ids
    ).fetchall()
