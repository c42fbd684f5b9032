"""The registry refuses inconsistent declarations when it is built, and keeps the catalog order."""

from __future__ import annotations

import dataclasses

import pytest

from customermates.auth import authenticate
from customermates.catalog import REGISTRY
from customermates.errors import ToolError
from customermates.registry import Registry
from customermates.rest.route import Route
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store.database import in_transaction
from customermates.store.migrations import migrate

COMPANY = REGISTRY.tools["get_company"]
ROLES = REGISTRY.tools["list_roles"]


def test_a_tool_missing_from_the_order_is_refused():
    with pytest.raises(ValueError, match="tool 'get_company' is not in the catalog order"):
        Registry([COMPANY], order=["list_roles"])


def test_a_name_declared_twice_is_refused():
    with pytest.raises(ValueError, match="tool 'get_company' is declared 2 times"):
        Registry([COMPANY, COMPANY])


def test_two_tools_on_one_route_are_refused():
    clash = dataclasses.replace(ROLES, rest=(Route("GET", "/company", "roles_again", "Company", body=False),))
    with pytest.raises(ValueError, match="route GET /company is declared 2 times"):
        Registry([COMPANY, clash])


def test_an_operation_id_used_twice_is_refused():
    clash = dataclasses.replace(ROLES, rest=(Route("GET", "/roles", "company_get", "Company", body=False),))
    with pytest.raises(ValueError, match="operationId 'company_get' is declared 2 times"):
        Registry([COMPANY, clash])


def test_tools_are_listed_in_catalog_order_whatever_the_declaration_order():
    registry = Registry([ROLES, COMPANY])
    assert [entry["name"] for entry in registry.listing()] == ["get_company", "list_roles"]


def test_routes_belong_to_registered_tools_only():
    registry = Registry([COMPANY])
    assert [(p.route.method, p.route.url, p.tool.name) for p in registry.routes] == [
        ("GET", "/api/v1/company", "get_company")
    ]


def test_run_is_one_transaction_that_writes_nothing_on_failure(tmp_path):
    conn = connect(tmp_path / "crm.db")
    migrate(conn)
    seeded = in_transaction(conn, acc.create_company, "Acme", "o@acme.example", "Olive", "Owner", write=True)
    owner = authenticate(conn, seeded.key)
    with pytest.raises(ToolError) as caught:
        REGISTRY.run(conn, "update_company", {"name": "", "city": "Paris"}, owner)
    assert caught.value.code == "invalid_input"
    assert REGISTRY.run(conn, "get_company", {}, owner).city is None
    assert REGISTRY.run(conn, "update_company", {"city": "Paris"}, owner).item.city == "Paris"
    events = conn.execute("SELECT event FROM audit_log WHERE entity_id = ?", (seeded.company_id,)).fetchall()
    assert [e[0] for e in events] == ["company.created", "company.updated"]  # the refused call wrote none
