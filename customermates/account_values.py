"""The value rules of the account commands: the tools' own field types, checked by the one validator."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from customermates.crm.inputs import Email, Name
from customermates.errors import CommandError, ToolError
from customermates.shapes import Input
from customermates.validation import check

KeyName = Annotated[str, Meta(min_length=1, max_length=100)]  # one cell of the tab-separated `keys list`


class Owner(Input):
    email: Email
    firstName: Name
    lastName: Name


class Company(Owner):
    company: Name


class KeyLabel(Input):
    name: KeyName


def checked(values: dict[str, Any], kind: type[Input]) -> Any:
    """`values` (keyed by field name) validated and normalized as a tool would, or a CommandError
    naming each refused flag with the tool's own message and hint."""
    try:
        return check(values, kind)
    except ToolError as refused:
        problems = [f"{_flag(i.path)}: {i.message}. {i.hint}".rstrip() for i in refused.issues]
        raise CommandError(" ".join(problems).replace("\n", " ")) from None


def _flag(path: str) -> str:
    name = path.removeprefix("$.")
    return "--" + "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
