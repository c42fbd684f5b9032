"""Input types of the record tools, generated from one field table, with their null guardrails.

    CreateContactItem, UpdateContactItem, CreateContactsInput, UpdateContactsInput, ... (5 entities)

Each entity's own fields come from `OWN_FIELDS`; notes, the relation arrays (model.RELATIONS, a deal's
services as `services: [{serviceId, quantity}]`) and customFieldValues are added the same way for all.
The `null` hints of the guarded fields live here, so the validator reports them at the field's path.
Field texts say what the schema cannot (where ids come from, what "" or null does); bounds, enums and
defaults are the schema's, and rules shared by a whole tool are in its description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.crm.model import ENTITY_TYPES, PLURAL, RELATIONS, Relation
from customermates.shapes import Id, Input

BATCH = 100
ALL_OR_NOTHING = "All or nothing."  # said on every batch array: one bad item writes nothing
# Dot-separated parts, none empty ("a..b@c.de" is no address), on both sides of the one @.
EMAIL_PATTERN = r"^[^@\s.]+(\.[^@\s.]+)*@[^@\s.]+(\.[^@\s.]+)+$"
MAX_NOTES = 65_535
MAX_AMOUNT = 10**12
MAX_QUANTITY = 1_000_000

EntityType = Literal[ENTITY_TYPES]  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Email = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=EMAIL_PATTERN,
        extra={
            "format_name": "an email address",
            "format_hint": 'Use a full address like "bob@example.com" or omit the entry.',
        },
    ),
]
NOTES_TEXT = 'Markdown; "" clears.'
Notes = Annotated[str, Meta(max_length=MAX_NOTES, extra={"multiline": True}, description=NOTES_TEXT)]
NOTES_NULL = 'Omit `notes` to keep them; send "" to clear them.'


# The longest custom value is plain text (10,000 code points); a currency's is at most 10^15.
# multiline: plain values keep their newlines; each column type trims and checks its own form.
CustomText = Annotated[str, Meta(max_length=10_000, extra={"multiline": True})]
CustomNumber = Annotated[float, Meta(ge=-(10**15), le=10**15)]


class CustomFieldValueInput(Input):
    columnId: Annotated[Id, Meta(description="From get_entity_configuration.")]
    value: Annotated[
        CustomText | CustomNumber | None,
        Meta(description='null or "" clears it.'),
    ]


class DealServiceInput(Input):
    serviceId: Annotated[Id, Meta(description="From filter_entity or search_all_entities.")]
    quantity: Annotated[float, Meta(ge=0, le=MAX_QUANTITY, description="Up to 4 decimals.")] = 1


REQUIRED = object()

# Own fields per entity: (name, type, create default or REQUIRED, description or None when the name and
# the schema say it all).
OWN_FIELDS: dict[str, tuple[tuple[str, Any, Any, str | None], ...]] = {
    "contact": (
        ("firstName", Name, REQUIRED, None),
        ("lastName", Annotated[str, Meta(max_length=255)], "", None),
        (
            "emails",
            Annotated[list[Email], Meta(max_length=20)],
            [],
            "Unique ignoring case; the first is the primary.",
        ),
    ),
    "organization": (("name", Name, REQUIRED, "Need not be unique."),),
    "deal": (("name", Name, REQUIRED, None),),
    "service": (
        ("name", Name, REQUIRED, None),
        ("amount", Annotated[float, Meta(gt=0, le=MAX_AMOUNT)], REQUIRED, "Unit price, up to 4 decimals."),
    ),
    "task": (("name", Name, REQUIRED, None),),
}
EMAILS_NULL = "Omit `emails` to keep the addresses; pass [] to remove all."
CUSTOM_NULL = (
    'Omit customFieldValues to keep all values; clear one column with {"columnId":"…","value":null};'
    " [] changes nothing."
)
CREATE_NULL = "Omit the field or pass [] for none."

# Keys a model may guess that are not input: the hint says what to do instead.
UNKNOWN_HINTS = {
    "deal": {
        "totalValue": "totalValue is read-only: computed from services; set `services` instead.",
        "totalQuantity": "totalQuantity is read-only: computed from services; set `services` instead.",
    },
    "task": {"type": "type is read-only: tasks made with this tool are `custom`."},
}


# Where the ids of each linked type come from, in words a `core`-only client can follow: the user
# list is an account tool, so user ids are also pointed at the records that carry them.
ID_SOURCES = {"user": "records' `users` or the account toolset"}


def id_source(other: str) -> str:
    return ID_SOURCES.get(other, "filter_entity or search_all_entities")


def relation_field(rel: Relation) -> str:
    return "services" if rel.table == "link_deal_service" and rel.entity == "deal" else rel.field


def _relation_null(rel: Relation) -> str:
    call = '{"entity":"' + rel.entity + '","sourceId":"{id}","relation":"' + rel.name + '","ids":["…"]}'
    return (
        "null at {path} was refused because it would remove every link: omit the field to keep the current"
        " links; pass [] to remove all links on purpose; to change particular links use link_entities /"
        f" unlink_entities, e.g. unlink_entities {call}."
    )


def _relation_field(rel: Relation, update: bool) -> tuple[Any, str, str]:
    """(type, description, null hint) of one relation array; the tool's description says the rest."""
    if relation_field(rel) == "services":
        item: Any = DealServiceInput
        text = "Services with their quantities, each serviceId once"
    else:
        item = Id
        text = f"Unique ids from {id_source(rel.other)}"
    text += "; replaces the links." if update else "."
    hint = _relation_null(rel) if update else CREATE_NULL
    return Annotated[list[item], Meta(max_length=BATCH)], text, hint


def _field(
    name: str, t: Any, default: Any, description: str | None, update: bool, null_hint: str | None = None
):
    extra = {"null_hint": null_hint} if null_hint else {}
    if update:
        return (name, Annotated[t | UnsetType, Meta(description=description, extra=extra)], UNSET)
    typed = Annotated[t, Meta(description=description, extra=extra)]
    return (name, typed) if default is REQUIRED else (name, typed, default)


@dataclass(frozen=True)
class Shared:
    """A field every entity's items carry, with its create and update wording."""

    name: str
    type: Any
    default: Any
    texts: tuple[str | None, str]  # description on (create, update)
    null_hints: tuple[str, str]

    def field(self, update: bool) -> tuple:
        return _field(self.name, self.type, self.default, self.texts[update], update, self.null_hints[update])


NOTES_FIELD = Shared("notes", Notes, "", ("Markdown.", NOTES_TEXT), (NOTES_NULL, NOTES_NULL))
CUSTOM_FIELD = Shared(
    "customFieldValues",
    Annotated[list[CustomFieldValueInput], Meta(max_length=50)],
    [],
    (None, "Only the listed columns change."),
    (CREATE_NULL, CUSTOM_NULL),
)
OWN_NULL_HINTS = {"emails": (CREATE_NULL, EMAILS_NULL)}


def _item_fields(entity: str, update: bool) -> list[tuple]:
    """id (update), own fields, notes, relation arrays (model.RELATIONS order), customFieldValues."""
    fields = []
    if update:
        fields.append(("id", Annotated[Id, Meta(description="From filter_entity or search_all_entities.")]))
    for name, t, default, text in OWN_FIELDS[entity]:
        fields.append(_field(name, t, default, text, update, OWN_NULL_HINTS.get(name, (None, None))[update]))
    fields.append(NOTES_FIELD.field(update))
    for rel in RELATIONS[entity]:
        t, text, hint = _relation_field(rel, update)
        fields.append(_field(relation_field(rel), t, [], text, update, hint))
    fields.append(CUSTOM_FIELD.field(update))
    return fields


def _item_type(entity: str, update: bool) -> type:
    verb = "Update" if update else "Create"
    return msgspec.defstruct(
        f"{verb}{entity.title()}Item",
        _item_fields(entity, update),
        bases=(Input,),
        namespace={"__unknown_hints__": UNKNOWN_HINTS.get(entity, {})},
        module=__name__,
    )


def _batch_type(entity: str, update: bool) -> type:
    plural = PLURAL[entity]
    item = _item_type(entity, update)
    items = Annotated[
        list[item],  # type: ignore[valid-type]  # `item` is a Struct built at import for this entity
        Meta(min_length=1, max_length=BATCH, description=ALL_OR_NOTHING),
    ]
    verb = "Update" if update else "Create"
    return msgspec.defstruct(
        f"{verb}{plural.title()}Input", [(plural, items)], bases=(Input,), module=__name__
    )


CREATE_INPUTS: dict[str, type] = {e: _batch_type(e, False) for e in ENTITY_TYPES}
UPDATE_INPUTS: dict[str, type] = {e: _batch_type(e, True) for e in ENTITY_TYPES}


class EntityRef(msgspec.Struct):
    id: str
    name: str


class Mutation(msgspec.Struct):
    """The records touched, in input order, and a one-line summary."""

    items: list[EntityRef]
    message: str
