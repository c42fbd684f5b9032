"""Regressions found by fuzzing the REST API (docs/fuzzing.md): each test failed before its fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLUMN = "00000000-0000-4000-8000-000000000000"


def issues(response) -> dict[str, str]:
    assert response.status_code == 400, response.text[:500]
    return {i["path"]: i["message"] for i in response.json()["error"]["issues"]}


# ---- hostile input never causes a 500 (the README's REST section) ------------------------------------------------


@pytest.mark.parametrize("origin", ["http://[::1", "http://[x]", "http://]"])
def test_malformed_origin_is_refused_not_a_500(http, origin):
    # urlsplit raised ValueError ("Invalid IPv6 URL") in the gate: a plain-text 500 before any route.
    for path in ("/api/v1/contacts/configuration", "/healthz"):
        response = http.get(path, headers={"origin": origin})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        assert response.headers["x-request-id"]


# ---- errors name the real problem --------------------------------------------------------------------


def test_custom_value_with_control_characters_says_so(http):
    # A string refused by the string member of `str | float | None` read "expected a number or a
    # string, got a string"; the member of the value's own type now explains the refusal.
    item = {"firstName": "Ada", "customFieldValues": [{"columnId": COLUMN, "value": "a\u0000b"}]}
    found = issues(http.post("/api/v1/contacts", json=item))
    assert found["$.customFieldValues[0].value"] == "contains control characters"


# ---- bounds the schema publishes are the ones the server enforces (the README's REST section) --------------------


@pytest.mark.parametrize(("value", "words"), [("x" * 10_001, "the limit is 10000"), (1e16, "out of range")])
def test_custom_value_is_bounded(http, value, words):
    item = {"firstName": "Ada", "customFieldValues": [{"columnId": COLUMN, "value": value}]}
    found = issues(http.post("/api/v1/contacts", json=item))
    assert words in found["$.customFieldValues[0].value"]


def test_filter_text_value_is_bounded(http):
    rule = {"field": "emails", "operator": "contains", "value": "a" * 10_001}
    found = issues(http.post("/api/v1/contacts/search", json={"filters": [rule]}))
    assert "the limit is 10000" in found["$.filters[0].value"]
    rule["value"] = "a" * 10_000
    assert http.post("/api/v1/contacts/search", json={"filters": [rule]}).status_code == 200


def test_filter_and_sort_field_names_are_bounded(http):
    body = {
        "filters": [{"field": "f" * 101, "operator": "isNull"}],
        "sortDescriptor": {"field": "s" * 101},
    }
    found = issues(http.post("/api/v1/contacts/search", json=body))
    assert "the limit is 100" in found["$.filters[0].field"]
    assert "the limit is 100" in found["$.sortDescriptor.field"]


def _bare_scalars(doc: dict) -> list[str]:
    """Every request string/array/number schema (parameters and bodies) that lacks its bound."""
    schemas = doc["components"]["schemas"]
    seen: set[str] = set()
    problems: list[str] = []

    def walk(node, where: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        fixed = "enum" in node or "const" in node
        if "string" in kinds and not fixed and "maxLength" not in node:
            problems.append(f"{where}: string without maxLength")
        if "array" in kinds and "maxItems" not in node:
            problems.append(f"{where}: array without maxItems")
        if {"integer", "number"} & set(kinds) and not fixed:
            low = "minimum" in node or "exclusiveMinimum" in node
            high = "maximum" in node or "exclusiveMaximum" in node
            if not (low and high):
                problems.append(f"{where}: number without both bounds")
        for key, value in node.items():
            if key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
                walk(value, f"{where}.{key}")

    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                walk(param["schema"], f"{method} {path} {param['in']}.{param['name']}")
            body = op.get("requestBody")
            if body:
                walk(body["content"]["application/json"]["schema"], f"{method} {path} body")
    return problems


def test_request_schemas_bound_every_scalar(http):
    # Filter values, filter/sort field names, custom values and the path id had no bound, so a
    # fuzzer's oversized input was "valid" and the schema did not say what the server accepts.
    doc = http.get("/api/v1/openapi").json()
    assert _bare_scalars(doc) == []


# ---- the committed schemathesis configuration -------------------------------------------------------


def test_schemathesis_config_runs_the_contract_checks():
    config = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    checks = config["checks"]
    assert checks["enabled"] is False
    enabled = {name for name, value in checks.items() if isinstance(value, dict) and value["enabled"]}
    assert enabled == {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "ignored_auth",
        "unsupported_method",
    }
    # A schema-violating body over 2 MB is refused with 413 before parsing (the README's REST section).
    assert 413 in checks["negative_data_rejection"]["expected-statuses"]
