"""REST: the tools route, the account routes, transport rules, and the route adapters.

Most tests run against the real uvicorn server. The adapters that no built tool exercises yet (wrap,
list-aware path ids, fixed fields, query parameters, `single`, Location) are checked on the real app
built with its own registry: the account tools with extra routes and two small echo tools defined here.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any, Literal

import httpx
import msgspec
import pytest
from msgspec import Meta
from starlette.testclient import TestClient

from customermates.app import create_app
from customermates.catalog import REGISTRY
from customermates.registry import Registry, Tool
from customermates.rest.requests import rewrite_path
from customermates.rest.route import LIST_QUERY, Route
from customermates.shapes import Id, Input
from customermates.store import accounts as acc
from tests.conftest import add_member, err, make_tenant, ok, write

JSON = {"content-type": "application/json"}


# ---- the tools route (the README's REST section statements 17-19) ---------------------------------------------


def test_tools_route_answers_exactly_the_structured_content(http):
    for body in (b"{}", b""):  # an empty body counts as {}
        response = http.post("/api/v1/tools/get_company", content=body, headers=JSON)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == ok(http, "get_company")


def test_tools_route_errors_equal_the_mcp_error(http):
    bad = {"currency": "EURO", "nmae": "X", "city": None}
    response = http.post("/api/v1/tools/update_company", json=bad)
    assert response.status_code == 400
    assert response.json() == {"error": err(http, "update_company", bad)}
    assert {i["path"] for i in response.json()["error"]["issues"]} == {"$.currency", "$.nmae", "$.city"}


def test_unknown_tool_is_404_with_the_mcp_suggestions(http):
    response = http.post("/api/v1/tools/create_contact", json={"firstName": "Ada"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_tool" and len(error["suggestions"]) == 3
    assert error == err(http, "create_contact", {"firstName": "Ada"})
    close = http.post("/api/v1/tools/get_compny").json()["error"]
    assert close["suggestions"][0] == "get_company"


# ---- account routes (the README's REST section) -------------------------------------------------------------------


def test_account_routes_run_their_tools(http, server, tenant):
    assert http.get("/api/v1/company").json() == ok(http, "get_company")
    updated = http.put("/api/v1/company", json={"city": "Berlin"})
    assert updated.status_code == 200 and updated.json()["item"]["city"] == "Berlin"
    assert http.get("/api/v1/roles").json() == ok(http, "list_roles")
    assert http.get("/api/v1/users/me").json() == ok(http, "get_current_user")
    me = http.put("/api/v1/users/me", json={"firstName": "Grace"})
    assert me.status_code == 200 and me.json()["item"]["firstName"] == "Grace"
    add_member(server.db_path, tenant, "zed@acme.example", "Viewer")
    everyone = http.post("/api/v1/users/search")  # the body may be empty
    assert everyone.status_code == 200 and everyone.json()["total"] == 2
    found = http.post("/api/v1/users/search", json={"searchTerm": "zed@", "pageSize": 1})
    assert [u["email"] for u in found.json()["items"]] == ["zed@acme.example"]


def test_unknown_body_key_gets_the_did_you_mean_hint(http):
    response = http.put("/api/v1/users/me", json={"first_name": "Ada"})
    assert response.status_code == 400
    issue = response.json()["error"]["issues"][0]
    assert issue["path"] == "$.first_name" and "firstName" in issue["hint"]
    empty = http.put("/api/v1/company")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_input"


def test_read_only_key_cannot_write(server, tenant):
    key = write(server.db_path, acc.create_key, tenant.email, "reader", True)
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as reader:
        before = reader.get("/api/v1/company")
        assert before.status_code == 200
        for response in (
            reader.put("/api/v1/company", json={"name": "Nope"}),
            reader.post("/api/v1/tools/update_company", json={"name": "Nope"}),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"
            assert "read-only" in response.json()["error"]["message"]
        assert reader.get("/api/v1/company").json() == before.json()


# ---- bodies, methods, unknown routes (the README's REST section statements 15, 22) ------------------------------


def test_body_over_2_mb_is_413_and_nothing_is_written(http):
    before = http.get("/api/v1/company").json()
    big = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    declared = http.put("/api/v1/company", content=big, headers=JSON)
    chunked = http.put("/api/v1/company", content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
                       headers=JSON)  # fmt: skip
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "2 MB" in response.json()["error"]["message"]
    assert http.get("/api/v1/company").json() == before


def test_body_must_be_a_json_object_sent_as_json(http):
    plain = http.put("/api/v1/company", content=b'{"city":"Rome"}', headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"]["code"] == "unsupported_media_type"
    assert "application/json" in plain.json()["error"]["message"]
    for raw in (b'{"name":', b"[]", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'"\\ud800"'):
        response = http.put("/api/v1/company", content=raw, headers=JSON)
        assert response.status_code == 400, raw[:20]
        assert response.json()["error"]["issues"][0]["path"] == "$"
    charset = http.put("/api/v1/company", content=b'{"city":"Rome"}',
                       headers={"content-type": "application/json; charset=utf-8"})  # fmt: skip
    assert charset.status_code == 200 and charset.json()["item"]["city"] == "Rome"


def test_undefined_method_is_405_with_allow(http):
    cases = {
        ("DELETE", "/api/v1/company"): "GET, PUT",
        ("GET", "/api/v1/users/search"): "POST",
        ("GET", "/api/v1/tools/get_company"): "POST",
        ("POST", "/healthz"): "GET, HEAD",
    }
    for (method, path), allow in cases.items():
        response = http.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allow
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_route_is_a_json_404_and_paths_are_exact(http, server):
    for path in ("/api/v1/nothing", "/api/v1/company/", "/nothing"):
        response = http.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{server.url}/api/v1/nothing").status_code == 401  # auth comes before routing


def test_unknown_and_repeated_query_parameters_are_refused(http):
    response = http.get("/api/v1/company", params={"verbose": "1"})
    assert response.status_code == 400
    assert response.json()["error"]["issues"][0]["path"] == "query.verbose"
    assert http.post("/api/v1/tools/get_company", params={"x": "1"}).status_code == 400
    assert http.get("/api/v1/openapi", params={"v": "2"}).status_code == 400


def test_routes_of_tools_not_served_do_not_exist(db_path, tenant):
    # A route exists only with its tool: a server without list_roles answers GET /api/v1/roles like
    # any unknown path, and PUT /api/v1/company (update_company absent) like an undefined method.
    small = Registry([REGISTRY.tools["get_company"]])
    with TestClient(create_app(db_path, registry=small), headers={"x-api-key": tenant.key}) as client:
        assert client.get("/api/v1/company").status_code == 200
        assert client.get("/api/v1/roles").status_code == 404
        refused = client.put("/api/v1/company", json={"city": "Paris"})
        assert refused.status_code == 405 and refused.headers["allow"] == "GET"


# ---- auth, request ids, origin, health (the README's REST section statements 29, 30) ----------------------------


def test_key_is_required_and_bearer_works(server, tenant):
    url = f"{server.url}/api/v1/company"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    pointer = f'resource_metadata="{server.url}/.well-known/oauth-protected-resource"'
    assert missing.headers["www-authenticate"] == f'Bearer realm="customermates", {pointer}'
    assert httpx.get(url, headers={"authorization": f"Bearer {tenant.key}"}).status_code == 200
    both = {"x-api-key": tenant.key, "authorization": "Bearer " + "0" * 64}
    assert httpx.get(url, headers=both).status_code == 200  # x-api-key wins


def test_every_response_carries_a_request_id(http, server):
    echoed = http.get("/api/v1/company", headers={"x-request-id": "trace-42.a_b"})
    assert echoed.headers["x-request-id"] == "trace-42.a_b"
    assert echoed.headers["cache-control"] == "no-store"
    invalid = http.get("/api/v1/company", headers={"x-request-id": "not ok!"})
    generated = [invalid, http.get("/api/v1/nothing"), httpx.get(f"{server.url}/api/v1/company")]
    ids = [r.headers["x-request-id"] for r in generated]
    assert "not ok!" not in ids and len(set(ids)) == 3 and all(ids)


def test_foreign_origin_is_refused(http):
    response = http.get("/api/v1/company", headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert response.headers["x-request-id"]


def test_healthz_is_public(server):
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


# ---- the binding adapters on the real app ------------------------------------------------------------


class Thing(Input):
    id: Id
    name: Annotated[str, Meta(min_length=1, max_length=20)]
    kind: Literal["widget", "gadget"]


class ThingsInput(Input):
    things: Annotated[list[Thing], Meta(min_length=1, max_length=100)]


class ThingIdsInput(Input):
    kind: Literal["widget", "gadget"]
    ids: Annotated[list[Id], Meta(min_length=1, max_length=100)]


class Echo(msgspec.Struct):
    received: dict[str, Any]


def echo(call, args) -> Echo:
    return Echo(msgspec.to_builtins(args))


WIDGET = (("kind", "widget"),)
ECHO_THINGS = Tool(
    "echo_things",
    "Echo things",
    "Echo.",
    ThingsInput,
    Echo,
    echo,
    "core",
    read_only=True,
    rest=(
        Route("PUT", "/things/{id}", "things_update", "Tools", wrap="things", fixed=WIDGET, path_field="id"),
    ),
)
ECHO_THING_IDS = Tool(
    "echo_thing_ids",
    "Echo thing ids",
    "Echo.",
    ThingIdsInput,
    Echo,
    echo,
    "core",
    read_only=True,
    rest=(
        Route("DELETE", "/things/{id}", "things_delete", "Tools", body=False, fixed=WIDGET, path_field="ids"),
        Route("DELETE", "/things/many", "things_delete_many", "Tools", fixed=(("kind", "gadget"),)),
    ),
)
PROBES = {
    "list_users": (
        Route("GET", "/probe/users", "probe_users", "Users", body=False, query=LIST_QUERY),
        Route("GET", "/probe/users/first", "probe_first_user", "Users", body=False, query=("searchTerm",),
              output="single"),
    ),
    "update_company": (
        Route("POST", "/probe/company", "probe_company", "Company", status=201, location="/probe/company/{id}",
              fixed=(("currency", "usd"),)),
    ),
}  # fmt: skip
PROBED = [dataclasses.replace(REGISTRY.tools[name], rest=routes) for name, routes in PROBES.items()]
THINGS = Registry([ECHO_THINGS, ECHO_THING_IDS, *PROBED], order=["echo_things", "echo_thing_ids", *PROBES])


@pytest.fixture
def probe(db_path, tenant):
    with TestClient(create_app(db_path, registry=THINGS), headers={"x-api-key": tenant.key}) as client:
        yield client


def issues(response) -> dict[str, dict]:
    assert response.status_code == 400, response.text
    return {i["path"]: i for i in response.json()["error"]["issues"]}


def test_wrap_fixed_and_path_id_build_one_item(probe):
    ident = str(uuid.uuid4())
    response = probe.put(f"/api/v1/things/{ident.upper()}", json={"name": "Ada"})
    assert response.status_code == 200
    assert response.json()["received"] == {"things": [{"id": ident, "name": "Ada", "kind": "widget"}]}


def test_wrapped_issues_point_into_the_body_and_the_path(probe):
    ident = str(uuid.uuid4())
    assert set(issues(probe.put(f"/api/v1/things/{ident}", json={"name": ""}))) == {"$.name"}
    found = issues(probe.put("/api/v1/things/not-a-uuid", json={"nmae": "x", "id": ident, "kind": "gadget"}))
    assert set(found) == {"path.id", "$.id", "$.kind", "$.nmae", "$.name"}
    assert "path" in found["$.id"]["hint"] and "`name`" in found["$.nmae"]["hint"]
    assert "widget" in found["$.kind"]["hint"]


def test_path_id_feeds_a_list_field(probe):
    ident = str(uuid.uuid4())
    response = probe.delete(f"/api/v1/things/{ident}")
    assert response.json()["received"] == {"kind": "widget", "ids": [ident]}
    assert set(issues(probe.delete("/api/v1/things/many-things"))) == {"path.id"}


def test_literal_segment_wins_over_id(probe):
    ident = str(uuid.uuid4())
    many = probe.request("DELETE", "/api/v1/things/many", json={"ids": [ident]})
    assert many.json()["received"] == {"kind": "gadget", "ids": [ident]}
    refused = probe.get("/api/v1/things/many")
    assert refused.status_code == 405 and refused.headers["allow"] == "DELETE"
    patch = probe.patch(f"/api/v1/things/{ident}")
    assert patch.status_code == 405 and set(patch.headers["allow"].split(", ")) == {"DELETE", "PUT"}


def test_query_parameters_feed_typed_fields(probe, db_path, tenant):
    add_member(db_path, tenant, "zed@acme.example", "Viewer")
    second = probe.get("/api/v1/probe/users", params={"pageSize": "1", "page": "2"})
    assert second.status_code == 200
    assert (second.json()["page"], second.json()["total"], len(second.json()["items"])) == (2, 2, 1)
    assert set(issues(probe.get("/api/v1/probe/users?page=abc"))) == {"query.page"}
    assert set(issues(probe.get("/api/v1/probe/users?pageSize=101"))) == {"query.pageSize"}
    assert set(issues(probe.get("/api/v1/probe/users?page=1&page=2"))) == {"query.page"}
    unknown = issues(probe.get("/api/v1/probe/users?pagesize=2"))
    assert "pageSize" in unknown["query.pagesize"]["hint"]


def test_single_unwraps_one_element_or_is_404(probe, db_path, tenant):
    add_member(db_path, tenant, "zed@acme.example", "Viewer")
    found = probe.get("/api/v1/probe/users/first", params={"searchTerm": "zed@"})
    assert found.status_code == 200 and found.json()["item"]["email"] == "zed@acme.example"
    missing = probe.get("/api/v1/probe/users/first", params={"searchTerm": "nobody"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_created_route_answers_201_with_location(probe, tenant):
    response = probe.post("/api/v1/probe/company", json={"city": "Paris"})
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/probe/company/{tenant.company_id}"
    assert response.json()["item"]["currency"] == "usd"
    refused = issues(probe.post("/api/v1/probe/company", json={"currency": "eur"}))
    assert "sets it to 'usd'" in refused["$.currency"]["hint"]


def test_route_naming_a_missing_field_is_refused_by_the_registry():
    wrong = dataclasses.replace(
        ECHO_THINGS, rest=(Route("PUT", "/things/{id}", "wrong", "Tools", wrap="items"),)
    )
    with pytest.raises(ValueError, match="no list field 'items'"):
        Registry([wrong], order=["echo_things"])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.contacts[0].firstName", "$.firstName"),
        ("$.contacts[0].emails[2]", "$.emails[2]"),
        ("$.contacts", "$"),
        ("$.contacts[0].id", "path.id"),
        ("$.page", "query.page"),
        ("$.pageSize", "$.pageSize"),
    ],
)
def test_issue_paths_are_rewritten_to_the_request(path, expected):
    route = Route("PUT", "/contacts/{id}", "x", "Contacts", wrap="contacts", path_field="id", query=("page",))
    assert rewrite_path(path, route) == expected


# ---- entity routes (the README's REST section statements 8-14, 16, 20, 22) ------------------------------------


def count(http, entity: str = "contact") -> int:
    return http.post("/api/v1/tools/count_entity", json={"entity": entity}).json()["total"]


def created(http, path: str, body: dict) -> dict:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()["item"]


def test_create_answers_201_and_location_of_the_same_record(http):
    response = http.post("/api/v1/contacts", json={"firstName": "Ada", "emails": ["ada@example.com"]})
    assert response.status_code == 201
    item = response.json()["item"]
    assert str(uuid.UUID(item["id"])) == item["id"]
    assert response.headers["location"] == f"/api/v1/contacts/{item['id']}"
    assert item["notes"] is None and response.json()["message"]
    read = http.get(response.headers["location"])
    assert read.status_code == 200
    assert read.json()["item"] == item and read.json()["customColumns"] == []


def test_batch_routes_keep_the_tool_paths_and_write_nothing_on_error(http):
    too_many = http.post("/api/v1/contacts/many", json={"contacts": [{"firstName": "A"}] * 101})
    assert set(issues(too_many)) == {"$.contacts"}
    three = [{"firstName": "A"}, {"firstName": "B"}, {"firstName": "C", "emails": ["bad@"]}]
    assert set(issues(http.post("/api/v1/contacts/many", json={"contacts": three}))) == {
        "$.contacts[2].emails[0]"
    }
    assert count(http) == 0
    made = http.post("/api/v1/contacts/many", json={"contacts": three[:2]})
    assert made.status_code == 201 and [c["firstName"] for c in made.json()["items"]] == ["A", "B"]


def test_update_by_id_keeps_the_null_guard_with_request_paths(http):
    org = created(http, "/api/v1/organizations", {"name": "Globex"})
    ada = created(http, "/api/v1/contacts", {"firstName": "Ada", "organizationIds": [org["id"]]})
    refused = issues(http.put(f"/api/v1/contacts/{ada['id']}", json={"organizationIds": None}))
    hint = refused["$.organizationIds"]["hint"]
    assert (
        "omit the field to keep the current links" in hint
        and "[]" in hint
        and "unlink_entities" in hint
        and "$.contacts[0]" not in hint
    )
    assert http.get(f"/api/v1/contacts/{ada['id']}").json()["item"]["organizations"] == [
        {"id": org["id"], "name": "Globex"}
    ]
    cleared = http.put(f"/api/v1/contacts/{ada['id']}", json={"organizationIds": []})
    assert cleared.status_code == 200 and cleared.json()["item"]["organizations"] == []
    assert set(
        issues(http.put(f"/api/v1/contacts/{ada['id']}", json={"id": ada["id"], "lastName": "L"}))
    ) == {"$.id"}


def test_missing_foreign_and_malformed_ids(http, server):
    other = make_tenant(server.db_path, "Globex", "boss@globex.example")
    with httpx.Client(base_url=server.url, headers={"x-api-key": other.key}) as globex:
        foreign = created(globex, "/api/v1/contacts", {"firstName": "Hank"})["id"]
    random_id = str(uuid.uuid4())
    answers = {i: http.get(f"/api/v1/contacts/{i}") for i in (random_id, foreign)}
    assert {r.status_code for r in answers.values()} == {404}
    bodies = {i: r.text.replace(i, "<id>") for i, r in answers.items()}
    assert bodies[random_id] == bodies[foreign]
    assert set(issues(http.get("/api/v1/contacts/not-a-uuid"))) == {"path.id"}


def test_delete_by_id_then_again_is_404(http):
    ada = created(http, "/api/v1/contacts", {"firstName": "Ada"})
    gone = http.delete(f"/api/v1/contacts/{ada['id']}")
    assert gone.status_code == 200 and gone.json()["items"] == [{"id": ada["id"], "name": "Ada"}]
    again = http.delete(f"/api/v1/contacts/{ada['id']}")
    assert again.status_code == 404 and again.json()["error"]["issues"][0]["path"] == "path.id"


def test_search_pages_full_records(http):
    for name in ("Ada", "Bob", "Cy"):
        created(http, "/api/v1/contacts", {"firstName": name})
    nested = issues(http.post("/api/v1/contacts/search", json={"pagination": {"page": 1}}))
    assert "Use page and pageSize at the top level" in nested["$.pagination"]["hint"]
    page = http.post("/api/v1/contacts/search", json={"page": 1, "pageSize": 2})
    assert page.status_code == 200 and page.json()["total"] == 3
    assert [set(r) >= {"emails", "organizations", "notes"} for r in page.json()["items"]] == [True, True]
    assert set(issues(http.post("/api/v1/contacts/search", json={"entity": "deal"}))) == {"$.entity"}


def test_entity_routes_hint_unknown_keys_and_refuse_other_methods(http):
    hint = issues(http.post("/api/v1/contacts", json={"first_name": "Ada"}))["$.first_name"]["hint"]
    assert "firstName" in hint
    patch = http.patch(f"/api/v1/contacts/{uuid.uuid4()}")
    assert patch.status_code == 405 and set(patch.headers["allow"].split(", ")) == {"DELETE", "GET", "PUT"}
    assert http.get("/api/v1/contacts/many").status_code == 405


def test_role_without_delete_gets_403_naming_it(http, server, tenant):
    ada = created(http, "/api/v1/contacts", {"firstName": "Ada"})
    key = add_member(server.db_path, tenant, "v@acme.example", "Viewer")
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as viewer:
        response = viewer.delete(f"/api/v1/contacts/{ada['id']}")
    assert response.status_code == 403 and "contacts.delete" in response.json()["error"]["message"]
    assert count(http) == 1
