"""The command line applies the tools' value rules, with the tools' messages; backup refuses cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Tenant, cli
from tests.test_cli import keys_list, table_counts

INIT = {"--company": "Acme", "--email": "ann@acme.example", "--first-name": "Ann", "--last-name": "Lee"}


def flags(values: dict[str, str]) -> list[str]:
    return [part for pair in values.items() for part in pair]


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--email", "not-an-email", "is not an email address"),
        ("--email", "a..b@c.de", "is not an email address"),
        ("--first-name", "", "must not be empty"),
        ("--first-name", "\u200b", "must not be empty"),
        ("--last-name", "Lee\x07", "contains control characters"),
        ("--company", "x" * 5000, "is 5000 characters long; the limit is 255"),
        ("--company", "Acme\nInc", "contains control characters"),
    ],
)
def test_init_refuses_what_the_tools_refuse(db_path: Path, flag, value, words):
    result = cli("init", *flags({**INIT, flag: value}), db=db_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {flag}: ") and words in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert not db_path.exists() or table_counts(db_path).get("company", 0) == 0


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--email", "mia@", "is not an email address"),
        ("--first-name", "   ", "must not be empty"),
        ("--last-name", "y" * 300, "the limit is 255"),
    ],
)
def test_users_add_refuses_what_the_tools_refuse(db_path: Path, tenant: Tenant, flag, value, words):
    given = {
        "--company-id": tenant.company_id,
        "--email": "mia@acme.example",
        "--first-name": "Mia",
        "--last-name": "Moe",
        "--role": "member",
        flag: value,
    }
    result = cli("users", "add", *flags(given), db=db_path)
    assert result.returncode == 1 and f"error: {flag}: " in result.stderr and words in result.stderr


@pytest.mark.parametrize("name", ["", "  ", "ci\tkey", "ci\nkey", "k" * 101])
def test_keys_create_refuses_a_name_that_breaks_the_listing(db_path: Path, tenant: Tenant, name):
    result = cli("keys", "create", "--email", tenant.email, "--name", name, db=db_path)
    assert result.returncode == 1 and result.stderr.startswith("error: --name: "), result.stderr
    assert list(keys_list(db_path, tenant.email)) == ["default"]


def test_values_are_trimmed_like_the_tools_do(db_path: Path):
    result = cli("init", *flags({**INIT, "--company": "  Acme  "}), db=db_path)
    assert result.returncode == 0, result.stderr
    ok = cli("keys", "create", "--email", "ann@acme.example", "--name", " ci ", db=db_path)
    assert ok.returncode == 0 and ok.stdout.startswith("name: ci\n"), ok.stdout
    assert "ci" in keys_list(db_path, "ann@acme.example")


def test_backup_into_a_directory_is_one_line_and_leaves_nothing(db_path: Path, tenant: Tenant, tmp_path):
    target = tmp_path / "backups"
    target.mkdir()
    result = cli("backup", "--out", str(target), db=db_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "directory" in result.stderr
    assert list(target.iterdir()) == [] and [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
