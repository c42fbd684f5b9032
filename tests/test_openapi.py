"""The OpenAPI document against the live server and tools/list."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate

from customermates import openapi
from customermates.catalog import REGISTRY, account
from customermates.registry import Registry, Tool
from customermates.shapes import NoInput
from tests.conftest import ROOT, rpc

CHECKED_IN = ROOT / "schemas" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def server(shared):
    return shared.server  # every test here only reads: one server for the module


@pytest.fixture(scope="module")
def tenant(shared):
    return shared.tenant


@pytest.fixture(scope="module")
def doc(server) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/openapi")  # no key: the document is public
    assert response.status_code == 200, response.text
    return response.json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def resolve(node: Any, lookup, depth: int = 0) -> Any:
    """Inline every `$ref` (and drop `$defs`), so two documents compare as JSON Schema."""
    assert depth < 50, "recursive schema"
    if isinstance(node, dict):
        if "$ref" in node:
            return resolve(lookup(node["$ref"]), lookup, depth + 1)
        if "propertyName" in node and "mapping" in node:  # a discriminator: its mapping values are refs too
            return {**node, "mapping": {k: v.rsplit("/", 1)[-1] for k, v in node["mapping"].items()}}
        return {k: resolve(v, lookup, depth + 1) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [resolve(v, lookup, depth + 1) for v in node]
    return node


def in_document(doc):
    return lambda ref: doc["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


def test_document_is_public_and_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "/"}]
    assert doc["info"]["title"] == "customermates API"
    validate(doc)


def test_every_tool_has_exactly_one_operation_named_after_it(doc, http):
    tools = rpc(http, "tools/list").json()["result"]["tools"]
    ops = operations(doc)
    for tool in tools:
        named = [(path, method) for path, method, op in ops if op["operationId"] == tool["name"]]
        assert named == [(f"/api/v1/tools/{tool['name']}", "post")]
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids))


def without_huge_bounds(node: Any) -> Any:
    """The schema minus `minimum: -10^15` / `maximum: 10^15`, which tools/list leaves out for models."""
    if isinstance(node, dict):
        huge = {k for k in ("minimum", "maximum") if abs(node.get(k, 0)) == 10**15}
        return {k: without_huge_bounds(v) for k, v in node.items() if k not in huge}
    if isinstance(node, list):
        return [without_huge_bounds(v) for v in node]
    return node


def test_tool_operation_schemas_equal_tools_list(doc, http):
    tools = rpc(http, "tools/list").json()["result"]["tools"]
    bounded = set()
    for tool in tools:
        op = doc["paths"][f"/api/v1/tools/{tool['name']}"]["post"]
        request = op["requestBody"]["content"]["application/json"]["schema"]
        answer = op["responses"]["200"]["content"]["application/json"]["schema"]
        # Self-contained on both sides (no `$ref`); REST also states the ±10^15 number bounds the
        # server enforces, so that fuzzers and clients know them; tools/list spares models them.
        assert without_huge_bounds(request) == tool["inputSchema"]
        assert answer == tool["outputSchema"]
        if request != tool["inputSchema"]:
            bounded.add(tool["name"])
    assert {"filter_entity", "count_entity", "update_entity_custom_fields", "create_contacts"} <= bounded


def test_security_schemes_and_public_operations(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"apiKey": []}, {"bearer": []}]
    public = {(p, m) for p, m, op in operations(doc) if op.get("security") == []}
    assert public == {("/healthz", "get"), ("/healthz", "head"), ("/api/v1/openapi", "get")}
    for path, method, op in operations(doc):
        assert ("401" in op["responses"]) == ((path, method) not in public), (path, method)


def test_account_resource_routes_are_listed_with_their_tools(doc):
    expected = {
        ("get", "/api/v1/company"): ("company_get", "get_company"),
        ("put", "/api/v1/company"): ("company_update", "update_company"),
        ("get", "/api/v1/roles"): ("roles_list", "list_roles"),
        ("get", "/api/v1/users/me"): ("users_get_me", "get_current_user"),
        ("put", "/api/v1/users/me"): ("users_update_me", "update_my_profile"),
        ("post", "/api/v1/users/search"): ("users_search", "list_users"),
    }
    for (method, path), (operation_id, tool) in expected.items():
        op = doc["paths"][path][method]
        assert (op["operationId"], op["x-customermates-tool"]) == (operation_id, tool)
        assert op["summary"] == REGISTRY.tools[tool].title
    tool_ops = [op for p, _, op in operations(doc) if p.startswith("/api/v1/tools/")]
    assert all("x-customermates-tool" not in op for op in tool_ops)


def test_every_operation_declares_its_errors_and_the_request_id(doc):
    components = doc["components"]["responses"]
    for path, method, op in operations(doc):
        codes = set(op["responses"])
        has_body = "requestBody" in op
        wanted = {"400", "403", "404", "405", "409", "429", "500"}
        assert wanted <= codes, (path, method)
        assert {"413", "415"} <= codes if has_body else not {"413", "415"} & codes, (path, method)
        for status, answer in op["responses"].items():
            if "$ref" in answer:
                answer = components[answer["$ref"].rsplit("/", 1)[-1]]
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
            assert "X-Request-Id" in answer["headers"], (path, method, status)
        assert op["summary"] and op["description"] and op["tags"], (path, method)


CONTACT_OPERATIONS = {
    ("/api/v1/contacts", "post"): ("contacts_create", "create_contacts"),
    ("/api/v1/contacts/many", "post"): ("contacts_create_many", "create_contacts"),
    ("/api/v1/contacts/many", "put"): ("contacts_update_many", "update_contacts"),
    ("/api/v1/contacts/many", "delete"): ("contacts_delete_many", "delete_entities"),
    ("/api/v1/contacts/search", "post"): ("contacts_search", "filter_entity"),
    ("/api/v1/contacts/configuration", "get"): ("contacts_get_configuration", "get_entity_configuration"),
    ("/api/v1/contacts/{id}", "get"): ("contacts_get", "get_entities"),
    ("/api/v1/contacts/{id}", "put"): ("contacts_update", "update_contacts"),
    ("/api/v1/contacts/{id}", "delete"): ("contacts_delete", "delete_entities"),
}


def test_contact_routes_and_the_tools_they_run(doc):
    found = {
        (path, method): (op["operationId"], op["x-customermates-tool"])
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/contacts")
        for method, op in item.items()
    }
    assert found == CONTACT_OPERATIONS


def test_only_registered_tools_get_routes_and_operations():
    small = Registry([t for t in account.TOOLS if t.name == "get_company"])
    paths = openapi.document(small)["paths"]
    assert set(paths) == {"/api/v1/company", "/api/v1/tools/get_company", "/api/v1/openapi", "/healthz"}
    assert list(paths["/api/v1/company"]) == ["get"]


def test_checked_in_copy_is_byte_identical(server):
    served = httpx.get(f"{server.url}/api/v1/openapi").content
    assert CHECKED_IN.read_bytes() == served, (
        "schemas/openapi.json is stale: run python tools/write_openapi.py"
    )


class Company(msgspec.Struct):
    """Not account.Company: a second type with the same name must not be merged or renamed quietly."""

    motto: str


def test_two_types_with_one_name_fail_generation():
    clash = Tool("get_motto", "Get motto", "A motto.", NoInput, Company, lambda call, args: None, "account")
    registry = Registry([*account.TOOLS, clash], order=[*(t.name for t in account.TOOLS), "get_motto"])
    with pytest.raises(ValueError, match="Company"):
        openapi.document(registry)


def test_request_objects_forbid_unknown_fields(doc):
    # the README's REST section: every input object has additionalProperties: false, so fuzzers find no gap.
    lookup = in_document(doc)

    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    for path, method, op in operations(doc):
        if "requestBody" not in op:
            continue
        schema = resolve(op["requestBody"]["content"]["application/json"]["schema"], lookup)
        for node in objects(schema):
            assert node.get("additionalProperties") is False, (path, method, node)
