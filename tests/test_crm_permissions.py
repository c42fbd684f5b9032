"""Read scope, permissions and tenancy of the record tools (docs/data-model.md rules 1-6)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import add_member, err, make_tenant, ok
from tests.records_support import add_role_user, dump, get, ids, make, user_id

ZERO = "00000000-0000-7000-8000-000000000000"
OWN_CONTACTS = [
    "contacts.create",
    "contacts.readOwn",
    "contacts.update",
    "contacts.delete",
    "organizations.readOwn",
    "users.readAll",
]


@pytest.fixture
def client_for(server):
    clients = []

    def make_client(key: str) -> httpx.Client:
        clients.append(httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=30))
        return clients[-1]

    yield make_client
    for c in clients:
        c.close()


def test_read_own_scope(http, server, tenant, client_for):
    rita = client_for(add_role_user(server.db_path, tenant, "rita@acme.example", "OwnOnly", OWN_CONTACTS))
    rita_id = user_id(server.db_path, "rita@acme.example")
    hidden_org, shared_org = make(
        http, "organization", {"name": "Hidden"}, {"name": "Shared", "userIds": [rita_id]}
    )
    (admin_contact,) = make(http, "contact", {"firstName": "Admin's"})

    (mine,) = make(rita, "contact", {"firstName": "Mine", "organizationIds": [shared_org]})
    record = get(rita, "contact", mine)
    assert ids(record["users"]) == [rita_id]  # auto-assigned so it stays visible
    assert (
        err(rita, "get_entities", {"items": [{"entity": "contact", "id": admin_contact}]})["code"]
        == "not_found"
    )
    error = err(rita, "update_contacts", {"contacts": [{"id": admin_contact, "firstName": "X"}]})
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.contacts[0].id"
    error = err(rita, "create_contacts", {"contacts": [{"firstName": "Y", "organizationIds": [hidden_org]}]})
    assert error["code"] == "not_found" and error["issues"][0]["path"] == "$.contacts[0].organizationIds[0]"

    # The admin links a hidden org; Rita's replacing update keeps it, and she never sees it.
    ok(
        http,
        "link_entities",
        {"entity": "contact", "sourceId": mine, "relation": "organizations", "ids": [hidden_org]},
    )
    assert ids(get(rita, "contact", mine)["organizations"]) == [shared_org]
    ok(rita, "update_contacts", {"contacts": [{"id": mine, "organizationIds": []}]})
    assert ids(get(http, "contact", mine)["organizations"]) == [hidden_org]
    unlinked = ok(
        rita,
        "unlink_entities",
        {"entity": "contact", "sourceId": mine, "relation": "organizations", "ids": [hidden_org]},
    )
    assert unlinked["unchangedIds"] == [hidden_org]
    assert ids(get(http, "contact", mine)["organizations"]) == [hidden_org]

    ok(rita, "update_contacts", {"contacts": [{"id": mine, "userIds": [tenant.user_id]}]})
    assert err(rita, "get_entities", {"items": [{"entity": "contact", "id": mine}]})["code"] == "not_found"
    error = err(rita, "get_entities", {"items": [{"entity": "task", "id": ZERO}]})
    assert error["code"] == "forbidden" and "tasks.readAll" in error["message"]


def test_roles_without_rights_are_forbidden(http, server, tenant, client_for):
    (contact,) = make(http, "contact", {"firstName": "Ada"})
    viewer = client_for(add_member(server.db_path, tenant, "vic@acme.example", "Viewer"))
    assert get(viewer, "contact", contact)["firstName"] == "Ada"
    no_delete = client_for(
        add_role_user(
            server.db_path, tenant, "nod@acme.example", "NoDelete", ["contacts.readAll", "contacts.update"]
        )
    )
    before = dump(server.db_path)
    calls = [
        ("create_contacts", {"contacts": [{"firstName": "B"}]}, "contacts.create"),
        ("update_contacts", {"contacts": [{"id": contact, "firstName": "B"}]}, "contacts.update"),
        ("delete_entities", {"entity": "contact", "ids": [contact]}, "contacts.delete"),
        (
            "link_entities",
            {"entity": "contact", "sourceId": contact, "relation": "users", "ids": [tenant.user_id]},
            "contacts.update",
        ),
        (
            "append_entity_notes",
            {"entity": "contact", "items": [{"id": contact, "notes": "x"}]},
            "contacts.update",
        ),
    ]
    for name, args, permission in calls:
        error = err(viewer, name, args)
        assert (
            error["code"] == "forbidden" and permission in error["message"] and "Viewer" in error["message"]
        ), name
    error = err(no_delete, "delete_entities", {"entity": "contact", "ids": [contact]})
    assert error["code"] == "forbidden" and "contacts.delete" in error["message"]
    assert dump(server.db_path) == before


def test_tenants_never_see_each_other(http, server, tenant, client_for):
    other = make_tenant(server.db_path, "Globex", "boss@globex.example")
    globex = client_for(other.key)
    (theirs,) = make(globex, "contact", {"firstName": "Hank"})
    (mine,) = make(http, "contact", {"firstName": "Ada"})
    before = dump(server.db_path)

    def same_shape(real: dict, random: dict, foreign: str = theirs) -> None:
        assert real["code"] == random["code"] == "not_found"
        assert [i["path"] for i in real["issues"]] == [i["path"] for i in random["issues"]]
        assert real["message"].replace(foreign, "ID") == random["message"].replace(ZERO, "ID")

    for target in (theirs, ZERO):
        assert (
            err(http, "get_entities", {"items": [{"entity": "contact", "id": target}]})["code"] == "not_found"
        )
    same_shape(
        err(http, "get_entities", {"items": [{"entity": "contact", "id": theirs}]}),
        err(http, "get_entities", {"items": [{"entity": "contact", "id": ZERO}]}),
    )
    same_shape(
        err(http, "update_contacts", {"contacts": [{"id": theirs, "lastName": "X"}]}),
        err(http, "update_contacts", {"contacts": [{"id": ZERO, "lastName": "X"}]}),
    )
    same_shape(
        err(http, "delete_entities", {"entity": "contact", "ids": [theirs]}),
        err(http, "delete_entities", {"entity": "contact", "ids": [ZERO]}),
    )
    link_to = lambda target: {"entity": "contact", "sourceId": mine, "relation": "users", "ids": [target]}  # noqa: E731
    same_shape(
        err(http, "link_entities", link_to(other.user_id)),
        err(http, "link_entities", link_to(ZERO)),
        other.user_id,
    )
    same_shape(
        err(http, "create_deals", {"deals": [{"name": "D", "contactIds": [theirs]}]}),
        err(http, "create_deals", {"deals": [{"name": "D", "contactIds": [ZERO]}]}),
    )
    assert dump(server.db_path) == before
    assert get(globex, "contact", theirs)["firstName"] == "Hank"
