"""validation.check: every issue of an input at once, by JSON path, with what was wrong and a hint."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from msgspec import Meta

from customermates.errors import ToolError
from customermates.shapes import Id, Input
from customermates.validation import check

ID = "0b6f5f6e-3b1a-4c2e-9a53-2f6f1f7c9d10"


class Email(Input):
    value: Annotated[str, Meta(min_length=3, max_length=50)]


class Person(Input):
    id: Id
    firstName: Annotated[str, Meta(min_length=1, max_length=10)]
    age: Annotated[int, Meta(ge=0, le=150)] = 0
    kind: Literal["lead", "customer"] = "lead"
    emails: Annotated[list[Email], Meta(max_length=2)] = []


class People(Input):
    people: Annotated[list[Person], Meta(min_length=1, max_length=3)]


def issues(args, writes: bool = True) -> dict[str, tuple[str, str]]:
    with pytest.raises(ToolError) as caught:
        check(args, People, writes)
    assert caught.value.code == "invalid_input"
    return {i.path: (i.message, i.hint) for i in caught.value.issues}


def test_a_valid_input_comes_back_typed():
    typed = check({"people": [{"id": ID.upper(), "firstName": " Ada "}]}, People)
    assert typed.people[0].firstName == "Ada" and typed.people[0].kind == "lead"
    assert typed.people[0].id == ID


def test_every_issue_is_reported_at_its_path():
    found = issues(
        {
            "people": [
                {"id": ID, "firstName": "", "age": -1},
                {"id": "nope", "firstName": "Bo", "kind": "vip", "emails": [{"value": "x"}], "nmae": 1},
            ]
        }
    )
    assert set(found) == {
        "$.people[0].firstName",
        "$.people[0].age",
        "$.people[1].id",
        "$.people[1].kind",
        "$.people[1].emails[0].value",
        "$.people[1].nmae",
    }
    assert found["$.people[1].id"][0] == '"nope" is not a valid id (a UUID)'
    assert "never invent" in found["$.people[1].id"][1]
    assert found["$.people[1].nmae"][0] == "unknown field 'nmae'"
    assert "lead" in found["$.people[1].kind"][1] and "customer" in found["$.people[1].kind"][1]


def test_missing_required_fields_and_wrong_types():
    found = issues({"people": [{"firstName": 5}]})
    assert set(found) == {"$.people[0].id", "$.people[0].firstName"}
    assert found["$.people[0].firstName"][0] == "expected a string, got a number"


def test_batch_bounds():
    assert set(issues({"people": []})) == {"$.people"}
    four = [{"id": ID, "firstName": "A"}] * 4
    assert set(issues({"people": four})) == {"$.people"}


def test_writes_say_that_nothing_was_written():
    with pytest.raises(ToolError) as caught:
        check({"people": "x"}, People, writes=True)
    assert caught.value.message == "1 problem in the arguments; nothing was written."
    with pytest.raises(ToolError) as caught:
        check({"people": "x"}, People, writes=False)
    assert caught.value.message == "1 problem in the arguments."


def test_null_is_refused_with_a_hint():
    found = issues({"people": [{"id": ID, "firstName": None}]})
    message, hint = found["$.people[0].firstName"]
    assert "null" in message and hint


class Noted(Input):
    label: Annotated[str, Meta(min_length=1, max_length=5)]
    note: Annotated[str, Meta(max_length=20, extra={"multiline": True})] = ""
    count: Annotated[int, Meta(ge=0, le=9)] = 0
    value: str | float | None = None
    meta: dict = {}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Already clean: comes back as sent.
        ({"label": "Ada", "count": 3, "value": 2.5}, ("Ada", "", 3, 2.5, {})),
        # Trimmed, a whole float taken as an int, a multiline note keeping its surrounding spaces.
        ({"label": "  Ada ", "count": 3.0, "note": " a b "}, ("Ada", " a b ", 3, None, {})),
        # The same with line ends to normalize.
        ({"label": "  Ada ", "count": 3.0, "note": " a\r\nb "}, ("Ada", " a\nb ", 3, None, {})),
        # Text that NFC composes (e + combining acute), and a union member chosen by the JSON type.
        ({"label": "Jose\u0301", "value": " x "}, ("Jos\u00e9", "", 0, "x", {})),
        # A free-form value is kept whole.
        ({"label": "A", "meta": {"a": [1, {"b": None}]}}, ("A", "", 0, None, {"a": [1, {"b": None}]})),
    ],
)
def test_inputs_come_back_normalized(args, expected):
    typed = check(args, Noted)
    assert (typed.label, typed.note, typed.count, typed.value, typed.meta) == expected


def test_an_issue_behind_a_clean_prefix_is_still_reported_at_its_path():
    found = issues({"people": [{"id": ID, "firstName": "Ada"}, {"id": ID, "firstName": "Ada", "age": 151}]})
    assert found == {"$.people[1].age": ("151 is out of range 0–150", "Send a value from 0 to 150.")}


def test_a_free_form_value_nested_too_deep_is_refused():
    deep: list = []
    for _ in range(80):
        deep = [deep]
    with pytest.raises(ToolError) as caught:
        check({"label": "A", "meta": {"x": deep}}, Noted)
    assert "nests deeper than 64 levels" in caught.value.issues[0].message
