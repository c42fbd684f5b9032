"""Authentication rides in the tool's own transaction: a key revoked by another process is refused by
the very next call, on every door, before anything is validated, routed or written."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import cli, rpc

UNAUTHORIZED = {
    "error": {
        "code": "unauthorized",
        "message": "Missing or invalid API key: send it as `x-api-key: <key>` or `Authorization: Bearer <key>`.",
        "issues": [],
    }
}


def revoke_by_cli(db_path, email: str) -> None:
    done = cli("keys", "revoke", "--email", email, "--name", "default", db=db_path)
    assert done.returncode == 0, done.stderr


def contacts(http: httpx.Client) -> int:
    return http.post("/api/v1/tools/count_entity", json={"entity": "contact"}).json()["total"]


@pytest.fixture
def revoked(server, tenant, http) -> httpx.Client:
    """A client whose key worked a moment ago and was then revoked from another process."""
    assert http.post("/api/v1/contacts", json={"firstName": "Before"}).status_code == 201
    revoke_by_cli(server.db_path, tenant.email)
    return http


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/contacts", {"firstName": "After"}),  # a write: its own transaction refuses
        ("POST", "/api/v1/contacts", {"firstName": ""}),  # a bad body is not reported to a stranger
        ("POST", "/api/v1/tools/create_contacts", {"contacts": [{"firstName": "After"}]}),
        ("GET", "/api/v1/users/me", None),
        ("GET", "/api/v1/no-such-route", None),
        ("POST", "/api/v1/tools/no_such_tool", {}),
    ],
)
def test_revoked_key_is_refused_by_the_next_rest_call(revoked, method, path, body):
    response = revoked.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    # A credential was sent, so the challenge says it is invalid and where to get a token instead.
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="customermates", resource_metadata="http://127.0.0.1:')
    assert challenge.endswith('/.well-known/oauth-protected-resource", error="invalid_token"')


@pytest.mark.parametrize(
    "message",
    [
        {
            "method": "tools/call",
            "params": {"name": "create_contacts", "arguments": {"contacts": [{"firstName": "X"}]}},
        },
        {"method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}},
        {"method": "tools/list", "params": {}},
    ],
)
def test_revoked_key_is_refused_by_the_next_mcp_message(revoked, message):
    response = rpc(revoked, message["method"], message["params"])
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_nothing_is_written_with_a_revoked_key(server, tenant, revoked, db_path):
    revoked.post("/api/v1/contacts", json={"firstName": "After"})
    rpc(revoked, "tools/call", {"name": "create_contacts", "arguments": {"contacts": [{"firstName": "X"}]}})
    fresh = cli("keys", "create", "--email", tenant.email, "--name", "again", db=db_path).stdout.split()[-1]
    with httpx.Client(base_url=server.url, headers={"x-api-key": fresh}) as client:
        assert contacts(client) == 1  # only "Before"


def test_missing_key_is_refused_without_reading_the_body(server):
    response = httpx.post(f"{server.url}/api/v1/contacts", content=b"{not json")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


READS = [
    ("GET", "/api/v1/users/me", None),  # short reads: on the event loop, the key remembered
    ("POST", "/api/v1/tools/get_current_user", {}),
    ("POST", "/api/v1/tools/count_entity", {"entity": "contact"}),  # through a pooled reader
]


def _get_entities(client: httpx.Client, ident: str) -> httpx.Response:
    items = [{"entity": "contact", "id": ident}]
    return rpc(client, "tools/call", {"name": "get_entities", "arguments": {"items": items}})


def test_a_key_remembered_by_many_reads_is_refused_once_the_cli_revokes_it(server, tenant, http):
    made = http.post("/api/v1/contacts", json={"firstName": "Known"}).json()["item"]["id"]
    for _ in range(8):  # every read connection has seen (and may remember) the key
        for method, path, body in READS:
            assert http.request(method, path, json=body).status_code == 200
        assert _get_entities(http, made).json()["result"]["isError"] is False
    revoke_by_cli(server.db_path, tenant.email)
    for method, path, body in READS:
        response = http.request(method, path, json=body)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    refused = _get_entities(http, made)
    assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)


def test_a_user_deactivated_by_the_cli_is_refused_by_the_next_short_read(server, tenant, http, db_path):
    second = (
        "--email",
        "second@acme.example",
        "--first-name",
        "Sec",
        "--last-name",
        "Ond",
        "--role",
        "Admin",
    )
    added = cli("users", "add", "--company-id", tenant.company_id, *second, db=db_path)
    assert added.returncode == 0, added.stderr  # so that the owner may be deactivated
    for _ in range(8):
        assert http.get("/api/v1/users/me").json()["email"] == tenant.email
    done = cli("users", "set-status", "--email", tenant.email, "--status", "inactive", db=db_path)
    assert done.returncode == 0, done.stderr
    response = http.get("/api/v1/users/me")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
