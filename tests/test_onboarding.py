"""What a model reads before its first call: instructions, the setup prompt, the schema resource."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp_types.methods import validate_server_result

from customermates.onboarding import INSTRUCTIONS, SETUP_PROMPT
from tests.conftest import ROOT, add_member, rpc

SETUP, SCHEMA = "customermates://setup-prompt", "customermates://schema"


def result(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "error" not in body, body
    return body["result"]


def rpc_error(response: httpx.Response, code: int) -> str:
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == 1 and body["error"]["code"] == code, body
    return body["error"]["message"]


def read_schema(client: httpx.Client) -> dict:
    [content] = result(rpc(client, "resources/read", {"uri": SCHEMA}))["contents"]
    assert content["uri"] == SCHEMA and content["mimeType"] == "application/json"
    return json.loads(content["text"])


def test_initialize_advertises_prompts_and_resources_and_short_instructions(http):
    init = result(rpc(http, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}))
    assert init["capabilities"]["prompts"] == {"listChanged": False}
    assert init["capabilities"]["resources"] == {"subscribe": False, "listChanged": False}
    assert init["instructions"] == INSTRUCTIONS and len(INSTRUCTIONS) < 1000
    for point in ("get_current_user", "link_entities", "IRREVERSIBLE", "never invent", "setup", SCHEMA):
        assert point in INSTRUCTIONS, point


def test_resources_are_listed_with_their_media_types(http):
    listed = result(rpc(http, "resources/list"))
    assert [(r["uri"], r["mimeType"]) for r in listed["resources"]] == [
        (SETUP, "text/markdown"),
        (SCHEMA, "application/json"),
    ]
    assert all(r["name"] and r["description"] for r in listed["resources"])
    validate_server_result("resources/list", "2025-11-25", listed)
    templates = result(rpc(http, "resources/templates/list"))
    assert templates == {"resourceTemplates": []}
    validate_server_result("resources/templates/list", "2025-11-25", templates)


def test_setup_prompt_resource_and_prompt_hold_the_same_text(http):
    read = result(rpc(http, "resources/read", {"uri": SETUP}))
    validate_server_result("resources/read", "2025-11-25", read)
    assert read["contents"] == [{"uri": SETUP, "mimeType": "text/markdown", "text": SETUP_PROMPT}]
    prompt = result(rpc(http, "prompts/get", {"name": "setup"}))
    assert prompt["messages"] == [{"role": "user", "content": {"type": "text", "text": SETUP_PROMPT}}]


@pytest.mark.parametrize(
    "point",
    [
        "Contacts are people",  # what the entities are
        "link many-to-many",  # how they link
        "Never invent an id",  # ids come from list/search tools
        "filter_entity, search_all_entities, search",
        "link_entities / unlink_entities",  # relation arrays only through link/unlink
        "passing null is rejected",
        "Discover them first",  # custom columns discovered first
        "by column id",
        "IRREVERSIBLE",  # deletes need confirmation
        "explicit\n   confirmation",
        "all-or-nothing",  # batches
        "until page reaches totalPages",  # paging
    ],
)
def test_setup_prompt_covers_what_the_contract_lists(point):
    assert point in SETUP_PROMPT


def test_readme_carries_the_setup_prompt_verbatim():
    readme = (ROOT / "README.md").read_text()
    assert f"```markdown\n{SETUP_PROMPT}```" in readme


def test_schema_resource_describes_the_callers_company(http, tenant):
    schema = read_schema(http)
    assert schema["company"] == {"id": tenant.company_id, "name": "Acme", "currency": "eur"}
    assert schema["you"] == {"userId": tenant.user_id, "role": "Admin", "readOnlyKey": False}
    entities = {e["type"]: e for e in schema["entities"]}
    assert list(entities) == ["contact", "organization", "deal", "service", "task"]
    contact = entities["contact"]
    assert contact["fields"] == ["id", "firstName", "lastName", "emails", "notes", "createdAt", "updatedAt"]
    assert contact["relations"] == [
        {"name": "organizations", "type": "organization"},
        {"name": "deals", "type": "deal"},
        {"name": "tasks", "type": "task"},
        {"name": "users", "type": "user"},
    ]
    assert {"name": "services", "type": "service"} in entities["deal"]["relations"]
    assert "amount" in entities["service"]["fields"] and "totalValue" in entities["deal"]["fields"]
    assert all(e["customColumns"] == [] for e in entities.values())  # a new company has none
    assert contact["yourPermissions"] == ["create", "readOwn", "readAll", "update", "delete"]
    assert "link_entities" in schema["linking"]


def test_schema_resource_follows_the_callers_role_and_company(server, tenant, db_path):
    key = add_member(db_path, tenant, "viewer@acme.example", "viewer")
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as viewer:
        schema = read_schema(viewer)
    assert schema["you"]["role"] == "Viewer" and schema["you"]["userId"] != tenant.user_id
    assert all(e["yourPermissions"] == ["readOwn", "readAll"] for e in schema["entities"])


@pytest.mark.parametrize(
    "uri", ["customermates://nope", "customermates://schema/", "CUSTOMERMATES://SCHEMA", "", None, ["x"]]
)
def test_unknown_resource_is_32602_naming_the_real_ones(http, uri):
    params = {} if uri is None else {"uri": uri}
    message = rpc_error(rpc(http, "resources/read", params), -32602)
    assert SETUP in message and SCHEMA in message


@pytest.mark.parametrize("name", ["nope", "Setup", None, {"a": 1}])
def test_unknown_prompt_is_32602_naming_setup(http, name):
    params = {} if name is None else {"name": name}
    assert "'setup'" in rpc_error(rpc(http, "prompts/get", params), -32602)
