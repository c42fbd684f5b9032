"""The `customermates` command (the README's command line section): results on stdout, one-line errors on stderr, exit 1 or 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from customermates import __version__, config
from customermates import account_values as values
from customermates.account_values import checked
from customermates.errors import CommandError
from customermates.store import StorageError, connect
from customermates.store import accounts as acc
from customermates.store.database import check_engine, in_transaction
from customermates.store.migrations import migrate


def open_db(path: Path) -> sqlite3.Connection:
    check_engine()
    conn = connect(path)
    migrate(conn)
    return conn


def transact(args: argparse.Namespace, fn: Callable[..., Any], *params: Any) -> Any:
    conn = open_db(config.db_path(args.db))
    try:
        return in_transaction(conn, fn, *params, write=True)
    finally:
        conn.close()


def cmd_init(args: argparse.Namespace) -> None:
    given = {"company": args.company, "email": args.email, "firstName": args.first_name}
    v = checked({**given, "lastName": args.last_name}, values.Company)
    seeded = transact(args, acc.create_company, v.company, v.email, v.firstName, v.lastName)
    print(f"company-id: {seeded.company_id}")
    print(f"user-id: {seeded.user_id}")
    print(seeded.key)


def cmd_keys_create(args: argparse.Namespace) -> None:
    if args.expires_in_days is not None and not 1 <= args.expires_in_days <= 3650:
        raise CommandError("--expires-in-days must be between 1 and 3650.")
    name = checked({"name": args.name}, values.KeyLabel).name
    key = transact(args, acc.create_key, args.email, name, args.read_only, args.expires_in_days)
    print(f"name: {name}")
    print(key)


def cmd_keys_list(args: argparse.Namespace) -> None:
    rows = transact(args, acc.list_keys, args.email)
    print("\t".join(["name", "prefix", "readOnly", "createdAt", "lastUsedAt", "expiresAt", "revokedAt"]))
    for row in rows:
        values = [
            row["name"],
            row["prefix"],
            "true" if row["read_only"] else "false",
            row["created_at"],
            row["last_used_at"],
            row["expires_at"],
            row["revoked_at"],
        ]
        print("\t".join(v or "" for v in values))


def cmd_keys_revoke(args: argparse.Namespace) -> None:
    transact(args, acc.revoke_key, args.email, args.name)
    print(f"revoked: {args.name}")


def cmd_users_add(args: argparse.Namespace) -> None:
    given = {"email": args.email, "firstName": args.first_name, "lastName": args.last_name}
    v = checked(given, values.Owner)
    user_id = transact(args, acc.add_user, args.company_id, v.email, v.firstName, v.lastName, args.role)
    print(f"user-id: {user_id}")


def cmd_users_set_status(args: argparse.Namespace) -> None:
    transact(args, acc.set_status, args.email, args.status)
    print(f"status: {args.status}")


def cmd_oauth_list(args: argparse.Namespace) -> None:
    from customermates.oauth import storage

    def grants(conn):
        return storage.list_grants(conn, acc.require_user(conn, args.email)["id"])

    for row in transact(args, grants):
        access = "read-only" if row["read_only"] else "full"
        print("\t".join([row["id"], row["name"], access, row["created_at"], row["last_used_at"] or ""]))


def cmd_oauth_revoke(args: argparse.Namespace) -> None:
    from customermates.oauth import storage

    def revoke(conn):
        if not storage.revoke_grant(conn, acc.require_user(conn, args.email)["id"], args.grant):
            raise CommandError(
                f"{args.email} has no active OAuth grant {args.grant!r};"
                f" `oauth list --email {args.email}` shows its grants."
            )

    transact(args, revoke)
    print(f"revoked: {args.grant}")


def bootstrap(path: Path, url: str) -> None:
    """On a database without a company, create "My Company" and print its key once."""
    conn = open_db(path)
    try:
        if acc.has_company(conn):
            return
        seeded = in_transaction(
            conn, acc.create_company, "My Company", "owner@localhost", "Owner", "Admin", write=True
        )
    finally:
        conn.close()
    client = {"mcpServers": {"customermates": {"url": url, "headers": {"x-api-key": seeded.key}}}}
    print(f"company-id: {seeded.company_id}")
    print(f"mcp-url: {url}")
    print(json.dumps(client, indent=2))
    print(seeded.key, flush=True)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from customermates.app import create_app

    path, host, port = config.db_path(args.db), config.host(args.host), config.port(args.port)
    settings = config.Settings.from_env()  # a bad setting stops here, before anything is created
    shown = f"[{host}]" if ":" in host else host
    bootstrap(path, f"http://{shown}:{port}/api/v1/mcp")
    uvicorn.run(
        create_app(path, settings=settings),
        host=host,
        port=port,
        log_level=os.environ.get("CUSTOMERMATES_LOG_LEVEL", "info"),
        access_log=False,
        ws="none",  # no WebSocket route: importing a WebSocket library would only slow the start
    )


def cmd_stdio(args: argparse.Namespace) -> None:
    from customermates.mcp.stdio import serve_stdio

    key = args.api_key or os.environ.get("CUSTOMERMATES_API_KEY")
    toolsets = frozenset(t.strip() for t in args.toolsets.split(",") if t.strip()) if args.toolsets else None
    code = serve_stdio(config.db_path(args.db), key, toolsets, args.read_only, args.dry_run)
    if code:
        raise SystemExit(code)


def cmd_undo(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from customermates import undo_command as u
    from customermates.errors import Rehearsed, ToolError

    now = datetime.now(UTC)
    since = u.moment(args.since, "--since", now)
    until = u.moment(args.until, "--until", now, upper=True) if args.until else None
    try:
        done = transact(args, u.undo_window, args.email, args.key, since, until, args.dry_run)
    except Rehearsed as rehearsal:
        print("\n".join([*rehearsal.result["lines"], rehearsal.result["message"]]))
        return 0
    except ToolError as error:
        print("\n".join(u.conflicts(error)))
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print("\n".join([*done.lines, done.summary]))
    return 0


def cmd_backup(args: argparse.Namespace) -> None:
    from customermates.store.backup import backup

    size = backup(config.db_path(args.db), Path(args.out))
    print(f"backup: {args.out}")
    print(f"size: {size}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="customermates", description="Self-hostable CRM served over MCP and REST."
    )
    top.add_argument("--version", action="version", version=f"customermates {__version__}")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", help="database file (default: $CUSTOMERMATES_DB or data/customermates.db)")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[db], help="create a company, its roles, owner and first key")
    for flag in ("--company", "--email", "--first-name", "--last-name"):
        p.add_argument(flag, required=True)
    p.set_defaults(run=cmd_init)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    p = keys.add_parser("create", parents=[db])
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--read-only", action="store_true", help="the key may call read-only tools only")
    p.add_argument("--expires-in-days", type=int, help="expire the key after N days (1-3650)")
    p.set_defaults(run=cmd_keys_create)
    p = keys.add_parser("list", parents=[db])
    p.add_argument("--email", required=True)
    p.set_defaults(run=cmd_keys_list)
    p = keys.add_parser("revoke", parents=[db])
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(run=cmd_keys_revoke)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    p = users.add_parser("add", parents=[db])
    for flag in ("--company-id", "--email", "--first-name", "--last-name", "--role"):
        p.add_argument(flag, required=True)
    p.set_defaults(run=cmd_users_add)
    p = users.add_parser("set-status", parents=[db])
    p.add_argument("--email", required=True)
    p.add_argument("--status", required=True, choices=["active", "inactive"])
    p.set_defaults(run=cmd_users_set_status)

    oauth = sub.add_parser(
        "oauth", help="list and revoke OAuth grants (apps signed in as a user)"
    ).add_subparsers(dest="action", required=True)
    p = oauth.add_parser("list", parents=[db])
    p.add_argument("--email", required=True)
    p.set_defaults(run=cmd_oauth_list)
    p = oauth.add_parser("revoke", parents=[db])
    p.add_argument("--email", required=True)
    p.add_argument("--grant", required=True, help="a grant id from `oauth list`")
    p.set_defaults(run=cmd_oauth_revoke)

    p = sub.add_parser("serve", parents=[db], help="serve MCP and REST over HTTP")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("stdio", parents=[db], help="serve MCP over stdin/stdout")
    p.add_argument("--api-key")
    p.add_argument("--toolsets")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="a rehearsal: every write is rolled back")
    p.set_defaults(run=cmd_stdio)

    p = sub.add_parser("undo", parents=[db], help="take back what a user's keys changed in a time window")
    p.add_argument("--email", required=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--key", help="the key's name")
    which.add_argument("--all-keys", action="store_true")
    p.add_argument("--since", required=True, help="a duration ago (2h, 30m, 1d) or a date/datetime")
    p.add_argument("--until", help="a duration ago or a date/datetime (default: now)")
    p.add_argument("--dry-run", action="store_true", help="show what would be undone; change nothing")
    p.set_defaults(run=cmd_undo)

    p = sub.add_parser("backup", parents=[db], help="write a consistent copy of the database")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_backup)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    args = parser().parse_args(argv)
    try:
        code = args.run(args)
    except (CommandError, acc.AccountError, StorageError, config.SettingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"error: database problem: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path that cannot be written: one line, no traceback
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code or 0
