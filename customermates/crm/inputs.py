"""Input types of the record tools, generated from one field table (TOOLS.md §4-8, guardrails §2.1-2.3).

    CreateContactItem, UpdateContactItem, CreateContactsInput, UpdateContactsInput, ... (5 entities)

Each entity's own fields come from `OWN_FIELDS`; notes, the relation arrays (model.RELATIONS, a deal's
services as `services: [{serviceId, quantity}]`) and customFieldValues are added the same way for all.
The `null` hints of the guarded fields live here, so the validator reports them at the field's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.crm.model import ENTITY_TYPES, PLURAL, RELATIONS, Relation
from customermates.shapes import Id, Input

BATCH = 100
EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
MAX_NOTES = 65_535
MAX_AMOUNT = 10**12
MAX_QUANTITY = 1_000_000

EntityType = Annotated[
    Literal[ENTITY_TYPES],  # type: ignore[valid-type]
    Meta(description=f"The record type (one of: {', '.join(ENTITY_TYPES)})."),
]
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
NOTES_TEXT = 'Markdown, up to 65,535 characters, stored as given; "" clears the notes.'
Notes = Annotated[str, Meta(max_length=MAX_NOTES, extra={"multiline": True}, description=NOTES_TEXT)]
NOTES_NULL = 'Omit `notes` to keep them; send "" to clear them.'


# DATA-MODEL.md §8.3: the longest value is plain text (10,000 code points); a currency's is <= 10^15.
# multiline: plain values keep their newlines; each column type trims and checks its own form.
CustomText = Annotated[str, Meta(max_length=10_000, extra={"multiline": True})]
CustomNumber = Annotated[float, Meta(ge=-(10**15), le=10**15)]


class CustomFieldValueInput(Input):
    columnId: Annotated[
        Id, Meta(description="A custom column id, from get_entity_configuration or list_custom_columns.")
    ]
    value: Annotated[
        CustomText | CustomNumber | None,
        Meta(description='The value in the column\'s format; null or "" clears the column.'),
    ]


class DealServiceInput(Input):
    serviceId: Annotated[Id, Meta(description="A service id, from filter_entity or search_all_entities.")]
    quantity: Annotated[
        float,
        Meta(
            ge=0,
            le=MAX_QUANTITY,
            description="How many of the service, 0-1,000,000, up to 4 decimals (default 1).",
        ),
    ] = 1


REQUIRED = object()

# Own fields per entity: (name, type, create default or REQUIRED, description).
OWN_FIELDS: dict[str, tuple[tuple[str, Any, Any, str], ...]] = {
    "contact": (
        ("firstName", Name, REQUIRED, "First name, 1-255 characters."),
        ("lastName", Annotated[str, Meta(max_length=255)], "", 'Last name, 0-255 characters; "" for none.'),
        (
            "emails",
            Annotated[list[Email], Meta(max_length=20)],
            [],
            "Email addresses, 0-20, unique ignoring case; the first is the primary.",
        ),
    ),
    "organization": (
        ("name", Name, REQUIRED, "The organization's name, 1-255 characters (need not be unique)."),
    ),
    "deal": (("name", Name, REQUIRED, "The deal's name, 1-255 characters."),),
    "service": (
        ("name", Name, REQUIRED, "The service's name, 1-255 characters."),
        (
            "amount",
            Annotated[float, Meta(gt=0, le=MAX_AMOUNT)],
            REQUIRED,
            "Unit price in the company currency (get_company), > 0 and <= 10^12, up to 4 decimals.",
        ),
    ),
    "task": (("name", Name, REQUIRED, "The task's name, 1-255 characters."),),
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


def lister(other: str) -> str:
    return "list_users" if other == "user" else "filter_entity or search_all_entities"


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
    """(type, description, null hint) of one relation array."""
    if relation_field(rel) == "services":
        item: Any = DealServiceInput
        text = "Services on this deal with quantities (0-100, unique serviceId)."
    else:
        item = Id
        text = f"Ids of {rel.name} to link (0-100, unique; ids from {lister(rel.other)})."
    if update:
        text += (
            f" REPLACES the current `{rel.name}` links (only links you can see; others stay). To add or remove"
            " some links use link_entities / unlink_entities instead. Omit to keep; [] removes all; never null."
        )
    elif rel.entity == "service" and rel.other == "deal":
        text += " Each new deal link gets quantity 1."
    hint = _relation_null(rel) if update else CREATE_NULL
    return Annotated[list[item], Meta(max_length=BATCH)], text, hint


def _field(name: str, t: Any, default: Any, description: str, update: bool, null_hint: str | None = None):
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
    texts: tuple[str, str]  # description on (create, update)
    null_hints: tuple[str, str]

    def field(self, update: bool) -> tuple:
        return _field(self.name, self.type, self.default, self.texts[update], update, self.null_hints[update])


CUSTOM_TEXT = "Custom column values [{columnId, value}] (0-50); column ids from get_entity_configuration."
NOTES_FIELD = Shared("notes", Notes, "", (NOTES_TEXT, NOTES_TEXT), (NOTES_NULL, NOTES_NULL))
CUSTOM_FIELD = Shared(
    "customFieldValues",
    Annotated[list[CustomFieldValueInput], Meta(max_length=50)],
    [],
    (CUSTOM_TEXT, CUSTOM_TEXT + " Per-column merge: listed columns change, others stay; [] changes nothing."),
    (CREATE_NULL, CUSTOM_NULL),
)
OWN_NULL_HINTS = {"emails": (CREATE_NULL, EMAILS_NULL)}


def _item_fields(entity: str, update: bool) -> list[tuple]:
    """id (update), own fields, notes, relation arrays (model.RELATIONS order), customFieldValues."""
    fields = []
    if update:
        fields.append(
            ("id", Annotated[Id, Meta(description=f"The {entity} to change; ids from filter_entity.")])
        )
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
    what = f"{entity} changes (each with `id`)" if update else f"new {plural}"
    items = Annotated[
        list[item],
        Meta(min_length=1, max_length=BATCH, description=f"1-100 {what}; the batch is all or nothing."),
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
    """The records touched, in input order, and a one-line summary (TOOLS.md §1.2)."""

    items: list[EntityRef]
    message: str
