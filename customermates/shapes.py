"""msgspec types shared by many tools: ids, enums, paging, and the account DTOs."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# `format: uuid` tells clients the shape; the validator enforces it (the `id` flag) with the hint
# "ids come from …", so the schema repeats no pattern: ids appear hundreds of times in tools/list.
Id = Annotated[str, Meta(max_length=36, extra_json_schema={"format": "uuid"}, extra={"id": True})]

# ISO 3166-1 alpha-2, lowercase (249 codes).
_COUNTRY_TABLE = """
ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt
bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh
er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht
hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls
lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni
nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg
sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug
um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
COUNTRY_CODES = tuple(_COUNTRY_TABLE.split())
# The currencies a company may keep its amounts in (ISO 4217, lowercase), most used first.
_CURRENCY_TABLE = """
eur usd gbp jpy cny inr brl cad aud chf sek nok dkk pln czk huf try twd zar mxn krw hkd sgd nzd aed
sar ils
"""
CURRENCIES = tuple(_CURRENCY_TABLE.split())

CountryCode = Annotated[
    Literal[COUNTRY_CODES],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description='Lowercase ISO 3166-1 alpha-2, e.g. "de".'),
]
Currency = Annotated[
    Literal[CURRENCIES],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="ISO 4217 code, lowercase."),
]
Timestamp = Annotated[str, Meta(description="ISO 8601 UTC datetime, e.g. 2026-01-05T14:30:00.000Z")]

Page = Annotated[int, Meta(ge=1, le=1_000_000)]
PageSize = Annotated[int, Meta(ge=1, le=100)]
SearchTerm = Annotated[
    str, Meta(max_length=200, description="Optional text to match; empty means no search.")
]


class Input(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of every tool input: unknown keys are errors."""


class NoInput(Input):
    # No docstring: msgspec would publish it as a description; an empty `properties` says it all.
    pass


class Permission(msgspec.Struct):
    resource: str
    action: str


class User(msgspec.Struct):
    id: str
    email: str
    firstName: str
    lastName: str
    roleId: str
    roleName: str
    status: Literal["active", "inactive", "pendingAuthorization"]
    country: str | None
    avatarUrl: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


class UserPage(msgspec.Struct):
    items: list[User]
    total: int
    page: int
    pageSize: int
    totalPages: int


def total_pages(total: int, page_size: int) -> int:
    return -(-total // page_size)
