"""The registry refuses inconsistent declarations when it is built, and keeps the catalog order."""

from __future__ import annotations

import dataclasses

import pytest

from customermates.catalog import REGISTRY
from customermates.registry import Registry
from customermates.rest.route import Route

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
