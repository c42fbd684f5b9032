"""The tool catalogue as a model sees it in tools/list (TOOLS.md §0, §1.7, §2, §16)."""

from __future__ import annotations

import re

import pytest

from customermates.catalog import REGISTRY
from customermates.registry import CATALOG

LISTING = REGISTRY.listing()
# TOOLS.md §0: the tools that carry readOnlyHint (R) and destructiveHint (D).
READ_ONLY = set(
    [
        "get_entity_configuration",
        "filter_entity",
        "count_entity",
        "search_all_entities",
        "get_entities",
        "list_widgets",
        "get_widgets",
        "list_webhooks",
        "get_webhook",
        "list_webhook_deliveries",
        "get_current_user",
        "list_users",
        "get_company",
        "list_roles",
        "list_custom_columns",
        "search",
        "fetch",
        "get_entity_history",
    ]
)
DESTRUCTIVE = {"delete_entities", "delete_widget", "delete_webhook", "delete_custom_column"}
NOT_IDEMPOTENT = set(
    [
        "append_entity_notes",
        "delete_entities",
        "create_contacts",
        "create_organizations",
        "create_deals",
        "create_services",
        "create_tasks",
        "create_widget",
        "delete_widget",
        "create_webhook",
        "delete_webhook",
        "resend_webhook_delivery",
    ]
) | {n for n in CATALOG if n.startswith("create_") or n == "delete_custom_column"}


def resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    return resolve(root["$defs"][ref.rsplit("/", 1)[-1]], root) if ref else schema


def properties(schema: dict, root: dict, path: str = "$"):
    """Every (path, property schema) of an input schema, nested objects and array items included."""
    schema = resolve(schema, root)
    for variant in schema.get("anyOf", []):
        yield from properties(variant, root, path)
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}.{name}", prop
        yield from properties(prop, root, f"{path}.{name}")
    if "items" in schema:
        yield from properties(schema["items"], root, f"{path}[]")


def test_listing_follows_the_catalog_order():
    names = [t["name"] for t in LISTING]
    assert names == [n for n in CATALOG if n in names]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("tool", LISTING, ids=lambda t: t["name"])
def test_tool_shape_and_hints(tool):
    name, notes = tool["name"], tool["annotations"]
    assert tool["inputSchema"]["type"] == "object" and tool["outputSchema"]["type"] == "object"
    assert tool["title"] and notes["title"] == tool["title"] and tool["title"][0].isupper()
    assert notes["openWorldHint"] is False
    assert notes["readOnlyHint"] is (name in READ_ONLY)
    assert notes["destructiveHint"] is (name in DESTRUCTIVE)
    assert notes["idempotentHint"] is (name not in NOT_IDEMPOTENT)
    assert tool["description"].startswith("IRREVERSIBLE.") is (name in DESTRUCTIVE)
    assert "$ref" not in {k for k in tool["inputSchema"]}, "the root must be the object itself"


@pytest.mark.parametrize("tool", LISTING, ids=lambda t: t["name"])
def test_every_parameter_is_described_and_enums_list_their_values(tool):
    root = tool["inputSchema"]
    for path, prop in properties(root, root):
        target = resolve(prop, root)
        if target.get("type") == "object" and "properties" in target:
            continue  # an object's fields carry the descriptions
        description = prop.get("description") or target.get("description")
        assert description, f"{tool['name']} {path} has no description"
        values = target.get("enum") or next((v["enum"] for v in target.get("anyOf", []) if "enum" in v), None)
        # CountryCode only gives examples; custom-column tools already follow the lean rule (enums not repeated)
        if values and len(values) < 100 and "custom_column" not in tool["name"]:
            listed = re.search(r"\(one of: ([^)]*)\)", description)
            assert listed, f"{tool['name']} {path}: enum description must end with (one of: ...)"
            assert {v.strip() for v in listed[1].split(",")} >= {str(v) for v in values}


@pytest.mark.parametrize("tool", LISTING, ids=lambda t: t["name"])
def test_filter_parameters_carry_an_example(tool):
    root = tool["inputSchema"]
    for path, prop in properties(root, root):
        if path.rsplit(".", 1)[-1] in ("filters", "entityFilters", "dealFilters"):
            description = prop.get("description") or resolve(prop, root).get("description", "")
            assert "operator" in description and "[{" in description, f"{tool['name']} {path}"


def test_update_tools_warn_that_relation_arrays_replace():
    for tool in LISTING:
        if re.fullmatch(r"update_(contacts|organizations|deals|services|tasks)", tool["name"]):
            text = tool["description"]
            assert "REPLACE" in text and "link_entities" in text and "unlink_entities" in text
