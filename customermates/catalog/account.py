"""The six account tools: who am I, my profile, teammates, the company, its roles."""

from __future__ import annotations

import sqlite3
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm.model import user_scope
from customermates.permissions import ALL
from customermates.record_diff import diff
from customermates.registry import Tool, needs
from customermates.rest.route import Route
from customermates.shapes import (
    CountryCode,
    Currency,
    Input,
    NoInput,
    Page,
    PageSize,
    Permission,
    SearchTerm,
    User,
    UserPage,
    total_pages,
)
from customermates.store import accounts
from customermates.store.paging import match_words
from customermates.validation import require_some

Name = Annotated[str, Meta(min_length=1, max_length=255)]
Address = Annotated[str, Meta(max_length=255, description='"" clears it.')]
AvatarUrl = Annotated[
    str,
    Meta(
        max_length=2048,
        # A host, then only the characters a URL is made of: no quotes or angle brackets (markup).
        pattern=r"^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][A-Za-z0-9._~:/?#@!$&'()*+,;=%\[\]-]*)?)?$",
        extra={"format_hint": 'Use an https:// URL, or "" to remove.'},
    ),
]
AVATAR_HELP = 'An https:// image URL; null or "" removes it.'


def _user(row: sqlite3.Row) -> User:
    return User(*row)


def load_user(conn: sqlite3.Connection, company_id: str, user_id: str) -> User:
    return _user(accounts.user_row(conn, company_id, user_id))


# ---- get_current_user ------------------------------------------------------------------------------


class CompanyRef(msgspec.Struct):
    id: str
    name: str


class CurrentUser(User):
    isSystemRole: bool
    permissions: list[Permission]
    company: CompanyRef


# Permissions are listed resource by resource, action by action, in permissions.ALL order.
_PERMISSION_RANK = {pair: i for i, pair in enumerate(ALL)}


def _role_permissions(conn: sqlite3.Connection, role_ids: list[str]) -> dict[str, list[Permission]]:
    out: dict[str, list[Permission]] = {r: [] for r in role_ids}
    rows = accounts.role_permission_rows(conn, role_ids)
    for role_id, resource, action in sorted(rows, key=lambda r: _PERMISSION_RANK.get((r[1], r[2]), 999)):
        out[role_id].append(Permission(resource, action))
    return out


def get_current_user(call: Call, _args: NoInput) -> CurrentUser:
    me = load_user(call.conn, call.company_id, call.principal.user_id)
    company = load_company(call.conn, call.company_id)
    perms = _role_permissions(call.conn, [me.roleId])[me.roleId]
    return CurrentUser(
        **msgspec.structs.asdict(me),
        isSystemRole=call.principal.is_system,
        permissions=perms,
        company=CompanyRef(company.id, company.name),
    )


# ---- update_my_profile -----------------------------------------------------------------------------


class UpdateMyProfileInput(Input):
    firstName: Name | UnsetType = UNSET
    lastName: Name | UnsetType = UNSET
    country: CountryCode | UnsetType = UNSET
    avatarUrl: Annotated[AvatarUrl | None, Meta(description=AVATAR_HELP)] | UnsetType = UNSET


class UserResult(msgspec.Struct):
    item: User
    message: str


_PROFILE_COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "country": "country",
    "avatarUrl": "avatar_url",
}


def update_my_profile(call: Call, args: UpdateMyProfileInput) -> UserResult:
    require_some(args)
    before = load_user(call.conn, call.company_id, call.principal.user_id)
    given = {k: getattr(args, k) for k in _PROFILE_COLUMNS if getattr(args, k) is not UNSET}
    if given.get("avatarUrl") == "":
        given["avatarUrl"] = None
    after = msgspec.structs.replace(before, **given)
    changes = diff(msgspec.to_builtins(before), msgspec.to_builtins(after))
    if not changes:
        return UserResult(before, "Nothing changed; your profile already had these values.")
    name_key = f"{after.firstName} {after.lastName}".strip().casefold()
    columns = {_PROFILE_COLUMNS[k]: v for k, v in given.items()}
    accounts.write_user(call.conn, before.id, columns, name_key, call.now)
    call.event("user", before.id, "user.updated", changes)
    return UserResult(load_user(call.conn, call.company_id, before.id), "Updated your profile.")


# ---- list_users ------------------------------------------------------------------------------------


class ListUsersInput(Input):
    searchTerm: Annotated[
        SearchTerm, Meta(description="Matched against first name, last name and email.")
    ] = ""
    page: Page = 1
    pageSize: PageSize = 10


def list_users(call: Call, args: ListUsersInput) -> UserPage:
    seen, allowed = user_scope(call.principal, "u") or ("0", [])
    where, params = [seen], list(allowed)
    match_words(where, params, args.searchTerm, "(instr(u.name_key, ?) > 0 OR instr(u.email_key, ?) > 0)")
    total, rows = accounts.user_page(call.conn, where, params, args.pageSize, (args.page - 1) * args.pageSize)
    return UserPage(
        [_user(r) for r in rows], total, args.page, args.pageSize, total_pages(total, args.pageSize)
    )


# ---- company ---------------------------------------------------------------------------------------


class Company(msgspec.Struct):
    id: str
    name: str
    street: str | None
    city: str | None
    postalCode: str | None
    country: str | None
    currency: str
    createdAt: str
    updatedAt: str


_COMPANY_COLUMNS = {
    "name": "name",
    "street": "street",
    "city": "city",
    "postalCode": "postal_code",
    "country": "country",
    "currency": "currency",
}


def load_company(conn: sqlite3.Connection, company_id: str) -> Company:
    return Company(*accounts.company_row(conn, company_id))


def get_company(call: Call, _args: NoInput) -> Company:
    return load_company(call.conn, call.company_id)


class UpdateCompanyInput(Input):
    name: Name | UnsetType = UNSET
    street: Address | UnsetType = UNSET
    city: Address | UnsetType = UNSET
    postalCode: Address | UnsetType = UNSET
    country: CountryCode | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET


class CompanyResult(msgspec.Struct):
    item: Company
    message: str


def update_company(call: Call, args: UpdateCompanyInput) -> CompanyResult:
    require_some(args)
    before = load_company(call.conn, call.company_id)
    given = {k: (getattr(args, k) or None) for k in _COMPANY_COLUMNS if getattr(args, k) is not UNSET}
    after = msgspec.structs.replace(before, **given)
    changes = diff(msgspec.to_builtins(before), msgspec.to_builtins(after))
    if not changes:
        return CompanyResult(before, "Nothing changed; the company already had these values.")
    accounts.write_company(call.conn, before.id, {_COMPANY_COLUMNS[k]: v for k, v in given.items()}, call.now)
    call.event("company", before.id, "company.updated", changes)
    return CompanyResult(load_company(call.conn, call.company_id), "Updated the company profile.")


# ---- list_roles ------------------------------------------------------------------------------------


class Role(msgspec.Struct):
    id: str
    name: str
    description: str | None
    isSystemRole: bool
    permissions: list[Permission]


class RoleList(msgspec.Struct):
    items: list[Role]
    total: int


def list_roles(call: Call, _args: NoInput) -> RoleList:
    rows = accounts.role_rows(call.conn, call.company_id)
    perms = _role_permissions(call.conn, [r[0] for r in rows]) if rows else {}
    items = [Role(r[0], r[1], r[2], bool(r[3]), perms[r[0]]) for r in rows]
    return RoleList(items, len(items))


TOOLS = [
    Tool(
        "get_current_user",
        "Get current user",
        "Who am I: the calling user, their role, every permission they hold and their company. Call it"
        " first in a session to learn what you may do.",
        NoInput,
        CurrentUser,
        get_current_user,
        "account",
        read_only=True,
        idempotent=True,
        rest=(Route("GET", "/users/me", "users_get_me", "Users", body=False),),
        short=lambda _args: True,  # a handful of rows by key
    ),
    Tool(
        "update_my_profile",
        "Update my profile",
        "Edit the caller's own first name, last name, country or avatar URL; omitted fields stay as they"
        " are. Email and role cannot be changed here.",
        UpdateMyProfileInput,
        UserResult,
        update_my_profile,
        "account",
        idempotent=True,
        rest=(Route("PUT", "/users/me", "users_update_me", "Users"),),
    ),
    Tool(
        "list_users",
        "List users",
        "List the company's users (teammates) by name, one page at a time: the source of ids for `userIds`"
        " and the `users` relation. With only users.readOwn you see yourself.",
        ListUsersInput,
        UserPage,
        list_users,
        "account",
        needs("users.readAll", "users.readOwn"),
        read_only=True,
        idempotent=True,
        rest=(Route("POST", "/users/search", "users_search", "Users"),),
    ),
    Tool(
        "get_company",
        "Get company",
        "Read the caller's company profile (name, address, country, currency). Service amounts and deal"
        " totals are in this currency.",
        NoInput,
        Company,
        get_company,
        "account",
        needs("company.readOwn", "company.readAll"),
        read_only=True,
        idempotent=True,
        rest=(Route("GET", "/company", "company_get", "Company", body=False),),
    ),
    Tool(
        "update_company",
        "Update company",
        "Edit the company profile; omitted fields are kept. Changing currency converts no amounts.",
        UpdateCompanyInput,
        CompanyResult,
        update_company,
        "account",
        needs("company.update"),
        idempotent=True,
        rest=(Route("PUT", "/company", "company_update", "Company"),),
    ),
    Tool(
        "list_roles",
        "List roles",
        "List the company's roles and the permissions of each (all, not paged). Roles are read-only here;"
        " they are assigned with the command line.",
        NoInput,
        RoleList,
        list_roles,
        "account",
        needs("users.readAll", "users.readOwn"),
        read_only=True,
        idempotent=True,
        rest=(Route("GET", "/roles", "roles_list", "Company", body=False),),
    ),
]
