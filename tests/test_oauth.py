"""The OAuth front door over plain HTTP: discovery, registration, consent, tokens, and every bad input."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from customermates.config import Settings
from customermates.oauth import storage
from customermates.store import accounts as acc
from tests.conftest import Server, add_member, cli, make_tenant, running_server, write
from tests.oauth_support import (
    REDIRECT,
    Started,
    authorize_url,
    exchange,
    get_code,
    hidden_fields,
    oauth_error,
    pkce,
    query_of,
    register,
    submit_consent,
    tokens,
)

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Server, dict]]:
    db = tmp_path_factory.mktemp("oauth") / "crm.db"
    acme = make_tenant(db)
    other = make_tenant(db, "Globex", "owner@globex.example")
    viewer_key = add_member(db, acme, "viewer@acme.example", "Viewer")
    read_only_key = write(db, acc.create_key, acme.email, "reader", True)
    with running_server(db, Settings(oauth_access_ttl=1)) as server:
        yield server, {"acme": acme, "other": other, "viewer": viewer_key, "read_only": read_only_key}


@pytest.fixture
def server(world) -> Server:
    return world[0]


@pytest.fixture
def people(world) -> dict:
    return world[1]


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def count(server: Server, table: str) -> int:
    conn = sqlite3.connect(server.db_path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def tool(http: httpx.Client, token: str, name: str, arguments: dict | None = None) -> dict:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}},
    }
    reply = http.post("/api/v1/mcp", json=body, headers=bearer(token))
    assert reply.status_code == 200, reply.text
    return reply.json()["result"]


# ---- discovery ---------------------------------------------------------------------------------------


def test_metadata_documents_describe_this_server(server, http):
    resource = http.get("/.well-known/oauth-protected-resource/api/v1/mcp").json()
    assert resource["resource"] == f"{server.url}/api/v1/mcp"
    assert resource["authorization_servers"] == [server.url]
    assert http.get("/.well-known/oauth-protected-resource").json()["resource"] == server.url
    document = http.get("/.well-known/oauth-authorization-server").json()
    AuthorizationServerMetadata(document).validate()  # RFC 8414 rules, checked by authlib
    assert document["issuer"] == server.url
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["client_id_metadata_document_supported"] is True
    assert document["token_endpoint"] == f"{server.url}/oauth/token"


def test_every_401_on_api_v1_points_to_the_resource_metadata(server, http):
    mcp = http.post("/api/v1/mcp", json=PING)
    assert mcp.status_code == 401
    assert (
        f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/api/v1/mcp"'
        in (mcp.headers["www-authenticate"])
    )
    rest = http.get("/api/v1/company", headers=bearer("cmat_nonsense"))
    assert rest.status_code == 401 and rest.json()["error"]["code"] == "unauthorized"
    assert (
        f'resource_metadata="{server.url}/.well-known/oauth-protected-resource"'
        in (rest.headers["www-authenticate"])
    )
    assert 'error="invalid_token"' in rest.headers["www-authenticate"]


def test_public_url_setting_drives_metadata_and_the_pointer(tmp_path):
    db = tmp_path / "crm.db"
    make_tenant(db)
    settings = Settings(public_url="https://crm.example.org")
    with running_server(db, settings) as server, httpx.Client(base_url=server.url) as http:
        assert (
            http.get("/.well-known/oauth-authorization-server").json()["issuer"] == "https://crm.example.org"
        )
        challenge = http.post("/api/v1/mcp", json=PING).headers["www-authenticate"]
        assert (
            'resource_metadata="https://crm.example.org/.well-known/oauth-protected-resource/api/v1/mcp"'
            in (challenge)
        )


def test_oauth_off_serves_no_front_door_and_refuses_access_tokens(tmp_path):
    db = tmp_path / "crm.db"
    acme = make_tenant(db)
    with running_server(db) as server, httpx.Client(base_url=server.url) as http:
        _, issued = tokens(http, acme.key)
    with running_server(db, Settings(oauth=False)) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/.well-known/oauth-authorization-server").status_code == 404
        assert http.post("/oauth/register", json={}).status_code == 404
        refused = http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"]))
        assert refused.status_code == 401
        assert "resource_metadata" not in refused.headers["www-authenticate"]
        assert http.post("/api/v1/mcp", json=PING, headers=bearer(acme.key)).status_code == 200


# ---- the happy path over plain HTTP, permissions, companies ------------------------------------------


def test_token_works_on_mcp_and_rest_and_api_keys_keep_working(http, people):
    acme = people["acme"]
    _, issued = tokens(http, acme.key)
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 1
    assert tool(http, issued["access_token"], "get_company")["structuredContent"]["name"] == "Acme"
    assert http.get("/api/v1/company", headers=bearer(issued["access_token"])).json()["name"] == "Acme"
    assert http.get("/api/v1/company", headers=bearer(acme.key)).status_code == 200
    assert http.get("/api/v1/company", headers={"x-api-key": acme.key}).status_code == 200


def test_a_second_companys_key_grants_that_company_only(http, people):
    _, issued = tokens(http, people["other"].key)
    assert tool(http, issued["access_token"], "get_company")["structuredContent"]["name"] == "Globex"
    users = tool(http, issued["access_token"], "list_users")["structuredContent"]
    assert [u["email"] for u in users["items"]] == ["owner@globex.example"]


def test_role_and_read_only_limits_carry_over(http, people):
    _, viewer = tokens(http, people["viewer"])
    refused = tool(http, viewer["access_token"], "update_company", {"name": "Mine now"})
    assert refused["isError"] is True and "forbidden" in refused["content"][0]["text"]
    _, reader = tokens(http, people["read_only"])  # a read-only key asks for full access: gets read-only
    refused = tool(http, reader["access_token"], "update_my_profile", {"firstName": "X"})
    assert refused["isError"] is True and "forbidden" in refused["content"][0]["text"]
    _, narrowed = tokens(http, people["acme"].key, access="read-only")
    assert tool(http, narrowed["access_token"], "get_company")["isError"] is False
    refused = tool(http, narrowed["access_token"], "update_company", {"name": "Nope"})
    assert refused["isError"] is True and "forbidden" in refused["content"][0]["text"]


def test_expired_access_token_gets_401_with_the_pointer_on_mcp_and_rest(http, people):
    _, issued = tokens(http, people["acme"].key)
    time.sleep(1.1)
    for reply in (
        http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"])),
        http.get("/api/v1/company", headers=bearer(issued["access_token"])),
    ):
        assert reply.status_code == 401
        assert "resource_metadata=" in reply.headers["www-authenticate"]
        assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_inactive_user_tokens_stop_at_once(tmp_path):
    db = tmp_path / "crm.db"
    acme = make_tenant(db)
    member_key = add_member(db, acme, "mia@acme.example", "Member")
    with running_server(db) as server, httpx.Client(base_url=server.url) as http:
        started, issued = tokens(http, member_key)
        assert http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"])).status_code == 200
        write(db, acc.set_status, "mia@acme.example", "inactive")
        assert http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"])).status_code == 401
        reply = http.post("/oauth/token", data=_refresh_form(started, issued))
        oauth_error(reply, 400, "invalid_grant")


# ---- registration --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"client_name": ""}, "invalid_client_metadata"),
        ({"client_name": "\u200b"}, "invalid_client_metadata"),  # nothing printable: empty once cleaned
        ({"client_name": "\u202e\u200b \x07"}, "invalid_client_metadata"),
        ({"client_name": 7}, "invalid_client_metadata"),
    ],
)
def test_bad_registration_metadata_is_refused_and_stores_nothing(server, http, meta, code):
    before = count(server, "oauth_client")
    body = {"client_name": "Bad", "redirect_uris": [REDIRECT], **meta}
    oauth_error(http.post("/oauth/register", json=body), 400, code)
    assert count(server, "oauth_client") == before


def test_registration_keeps_only_the_grant_types_served_and_says_so(http):
    wanted = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
    client = register(http, grant_types=wanted)
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert client["token_endpoint_auth_method"] == "none" and "client_secret" not in client
    assert register(http, token_endpoint_auth_method=None)["client_secret"]  # RFC 7591 default: basic


def test_registration_stores_and_echoes_only_the_metadata_it_understands(server, http):
    """RFC 7591 §2: unknown metadata is ignored, so it is neither stored nor in the reply."""
    sent = {"x_tracking": "a" * 500, "jwks_uri": "https://evil.example/jwks", "client_uri": {"not": "a uri"}}
    client = register(http, client_name="\u200bMy\x00 app\u202e", **sent)
    assert client["client_name"] == "My app"
    assert not set(sent) & set(client)
    conn = sqlite3.connect(server.db_path)
    try:
        name, stored = conn.execute(
            "SELECT name, metadata FROM oauth_client WHERE id = ?", (client["client_id"],)
        ).fetchone()
    finally:
        conn.close()
    assert name == "My app"
    assert set(json.loads(stored)) == {
        "client_name", "redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method"
    }  # fmt: skip


def test_registration_body_that_is_not_json_is_refused(http):
    oauth_error(
        http.post("/oauth/register", content=b"{nope", headers={"content-type": "application/json"}),
        400,
        "invalid_client_metadata",
    )


def test_confidential_client_must_present_its_secret(http, people):
    client = register(http, token_endpoint_auth_method="client_secret_post")
    assert client["client_secret"]
    started = get_code(http, people["acme"].key, client)
    oauth_error(exchange(http, started, client_secret="wrong"), 401, "invalid_client")
    oauth_error(exchange(http, started), 401, "invalid_client")
    reply = exchange(http, started, client_secret=client["client_secret"])
    assert reply.status_code == 200, reply.text


# ---- the authorization endpoint ------------------------------------------------------------------------


def _no_redirect_page(reply: httpx.Response, status: int, words: str) -> None:
    assert reply.status_code == status, reply.text
    assert "location" not in reply.headers
    assert reply.headers["content-type"].startswith("text/html")
    assert words in reply.text


def test_unknown_client_or_unregistered_redirect_gets_an_error_page_never_a_redirect(server, http):
    client = register(http)
    _, challenge = pkce()
    unknown = authorize_url(server.url, "no-such-client", challenge)
    _no_redirect_page(http.get(unknown), 400, "Unknown client_id")
    off_by_one = authorize_url(server.url, client["client_id"], challenge, redirect_uri=REDIRECT + "x")
    _no_redirect_page(http.get(off_by_one), 400, "redirect_uri is not one this client registered")
    other_host = authorize_url(
        server.url, client["client_id"], challenge, redirect_uri="https://evil.example/cb"
    )
    _no_redirect_page(http.get(other_host), 400, "redirect_uri")


def test_loopback_redirect_may_use_any_port(server, http, people):
    client = register(http)
    _, challenge = pkce()
    moved = REDIRECT.replace("8765", "51234")
    url = authorize_url(server.url, client["client_id"], challenge, redirect_uri=moved)
    reply = submit_consent(http, url, people["acme"].key)
    assert reply.status_code == 303 and reply.headers["location"].startswith(moved + "?code=")


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"resource": "https://other.example/api/v1/mcp"}, "invalid_target"),
    ],
)
def test_bad_authorization_parameters_go_back_to_the_client_with_the_rfc_error(server, http, extra, error):
    client = register(http)
    _, challenge = pkce()
    reply = http.get(authorize_url(server.url, client["client_id"], challenge, **extra))
    assert reply.status_code == 303
    query = query_of(reply.headers["location"])
    assert reply.headers["location"].startswith(REDIRECT + "?")
    assert query["error"] == error and query["error_description"] and query["state"] == "st4te"


def test_consent_page_shows_client_and_redirect_host_and_resists_framing(server, http):
    client = register(http, client_name="Claude <script>")
    _, challenge = pkce()
    page = http.get(authorize_url(server.url, client["client_id"], challenge))
    assert page.status_code == 200
    assert "Claude &lt;script&gt;" in page.text and "<script>" not in page.text
    assert "127.0.0.1:8765" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert 'name="decision" value="allow"' in page.text and 'name="decision" value="deny"' in page.text


def test_deny_returns_access_denied_and_issues_nothing(server, http, people):
    client = register(http)
    _, challenge = pkce()
    before = count(server, "oauth_code")
    reply = submit_consent(
        http, authorize_url(server.url, client["client_id"], challenge), "", decision="deny"
    )
    assert reply.status_code == 303
    query = query_of(reply.headers["location"])
    assert (query["error"], query["state"]) == ("access_denied", "st4te")
    assert count(server, "oauth_code") == before


def test_form_without_its_csrf_field_or_from_another_site_is_refused(server, http, people):
    client = register(http)
    _, challenge = pkce()
    page = http.get(authorize_url(server.url, client["client_id"], challenge))
    form = {**hidden_fields(page.text), "api_key": people["acme"].key, "decision": "allow"}
    _no_redirect_page(http.post("/oauth/authorize", data={**form, "csrf": "forged"}), 403, "expired")
    with httpx.Client(base_url=server.url) as fresh:  # no cookie: a cross-site post carries none
        _no_redirect_page(fresh.post("/oauth/authorize", data=form), 403, "expired")
    foreign = http.post("/oauth/authorize", data=form, headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403 and "location" not in foreign.headers


def test_wrong_keys_are_refused_then_rate_limited(tmp_path):
    db = tmp_path / "crm.db"
    acme = make_tenant(db)
    with running_server(db) as server, httpx.Client(base_url=server.url) as http:
        client = register(http)
        _, challenge = pkce()
        url = authorize_url(server.url, client["client_id"], challenge)
        for _ in range(10):
            _no_redirect_page(submit_consent(http, url, "x" * 64), 401, "not valid")
        _no_redirect_page(submit_consent(http, url, acme.key), 429, "Too many")
        assert count(server, "oauth_code") == 0


# ---- the token endpoint --------------------------------------------------------------------------------


def test_missing_or_wrong_verifier_is_refused_and_the_code_still_works(http, people):
    started = get_code(http, people["acme"].key)
    oauth_error(exchange(http, started, code_verifier=None), 400, "invalid_request")
    oauth_error(exchange(http, started, code_verifier=pkce()[0]), 400, "invalid_grant")
    oauth_error(exchange(http, started, redirect_uri=REDIRECT + "x"), 400, "invalid_grant")
    other = register(http)
    oauth_error(exchange(http, started, client_id=other["client_id"]), 400, "invalid_grant")
    oauth_error(exchange(http, started, client_id="unregistered"), 401, "invalid_client")
    oauth_error(exchange(http, started, resource="https://other.example/api/v1/mcp"), 400, "invalid_target")
    oauth_error(exchange(http, started, grant_type="password"), 400, "unsupported_grant_type")
    assert exchange(http, started).status_code == 200  # none of the above used the code up


def test_reused_code_is_refused_and_revokes_what_it_issued(http, people):
    started = get_code(http, people["acme"].key)
    issued = exchange(http, started).json()
    oauth_error(exchange(http, started), 400, "invalid_grant")
    assert http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"])).status_code == 401


def test_expired_code_is_refused(http, people, monkeypatch):
    monkeypatch.setattr(storage, "CODE_TTL", 0)
    started = get_code(http, people["acme"].key)
    time.sleep(0.01)
    oauth_error(exchange(http, started), 400, "invalid_grant")


def _refresh_form(started, issued: dict, **overrides) -> dict:
    return {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": started.client["client_id"],
        **overrides,
    }


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_grant(http, people):
    started, issued = tokens(http, people["acme"].key)
    renewed = http.post("/oauth/token", data=_refresh_form(started, issued))
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["refresh_token"] != issued["refresh_token"]
    assert http.post("/api/v1/mcp", json=PING, headers=bearer(fresh["access_token"])).status_code == 200
    oauth_error(http.post("/oauth/token", data=_refresh_form(started, issued)), 400, "invalid_grant")
    assert http.post("/api/v1/mcp", json=PING, headers=bearer(fresh["access_token"])).status_code == 401
    oauth_error(http.post("/oauth/token", data=_refresh_form(started, fresh)), 400, "invalid_grant")


def test_refresh_by_another_client_or_for_another_server_is_refused(http, people):
    started, issued = tokens(http, people["acme"].key)
    other = register(http)
    reply = http.post("/oauth/token", data=_refresh_form(started, issued, client_id=other["client_id"]))
    oauth_error(reply, 400, "invalid_grant")
    reply = http.post("/oauth/token", data=_refresh_form(started, issued, resource="https://other.example/"))
    oauth_error(reply, 400, "invalid_target")
    assert http.post("/oauth/token", data=_refresh_form(started, issued)).status_code == 200


def test_token_request_that_is_not_a_form_or_repeats_a_parameter_is_invalid(http):
    oauth_error(http.post("/oauth/token", json={"grant_type": "refresh_token"}), 400, "invalid_request")
    body = "grant_type=refresh_token&grant_type=authorization_code&client_id=x"
    reply = http.post(
        "/oauth/token", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    oauth_error(reply, 400, "invalid_request")


# ---- behind a reverse proxy, settings, the CLI -----------------------------------------------------------


def test_behind_a_proxy_the_public_origin_may_post_the_form_and_loopback_cookies_stay_usable(tmp_path):
    db = tmp_path / "crm.db"
    acme = make_tenant(db)
    public = "https://crm.example.org"
    with running_server(db, Settings(public_url=public)) as server, httpx.Client(base_url=server.url) as http:
        client = register(http)
        verifier, challenge = pkce()
        url = authorize_url(server.url, client["client_id"], challenge, resource=f"{public}/api/v1/mcp")
        page = http.get(url)
        assert page.status_code == 200 and "Secure" not in page.headers["set-cookie"]  # plain-http loopback
        form = {**hidden_fields(page.text), "api_key": acme.key, "access": "full", "decision": "allow"}
        reply = http.post("/oauth/authorize", data=form, headers={"origin": public})
        assert reply.status_code == 303, reply.text
        code = query_of(reply.headers["location"])["code"]
        issued = exchange(http, Started(client, verifier, code, "st4te"), resource=f"{public}/api/v1/mcp")
        assert issued.status_code == 200, issued.text
        wrong = authorize_url(server.url, client["client_id"], challenge)  # names the loopback address
        assert query_of(http.get(wrong).headers["location"])["error"] == "invalid_target"


def test_token_lifetimes_and_switch_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CUSTOMERMATES_OAUTH_ACCESS_TTL", "120")
    monkeypatch.setenv("CUSTOMERMATES_OAUTH_REFRESH_TTL", "86400")
    monkeypatch.setenv("CUSTOMERMATES_OAUTH", "0")
    monkeypatch.setenv("CUSTOMERMATES_PUBLIC_URL", "https://crm.example.org/")
    settings = Settings.from_env()
    assert (settings.oauth_access_ttl, settings.oauth_refresh_ttl, settings.oauth) == (120, 86400, False)
    assert settings.public_url == "https://crm.example.org"
    assert Settings().oauth_access_ttl == 3600 and Settings().oauth_refresh_ttl == 30 * 24 * 3600


def test_serve_refuses_a_bad_lifetime_with_one_line(tmp_path):
    done = cli("serve", "--port", "1", db=tmp_path / "crm.db", env={"CUSTOMERMATES_OAUTH_ACCESS_TTL": "soon"})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: CUSTOMERMATES_OAUTH_ACCESS_TTL='soon' is not a whole number of seconds (1 or more)."
    )
    assert not (tmp_path / "crm.db").exists()


def test_cli_lists_grants_with_last_use_and_names_the_fix(tmp_path):
    db = tmp_path / "crm.db"
    acme = make_tenant(db)
    with running_server(db) as server, httpx.Client(base_url=server.url) as http:
        _, issued = tokens(http, acme.key, access="read-only")
        tokens(http, acme.key)  # a second grant, never used
        assert http.post("/api/v1/mcp", json=PING, headers=bearer(issued["access_token"])).status_code == 200
    listed = cli("oauth", "list", "--email", acme.email, db=db)  # the server flushed last use on stop
    assert listed.returncode == 0, listed.stderr
    used, unused = (line.split("\t") for line in listed.stdout.splitlines())
    assert used[1:3] == ["Test client", "read-only"] and used[3] <= used[4]
    assert unused[1:3] == ["Test client", "full"] and unused[4] == ""
    unknown = cli("oauth", "revoke", "--email", acme.email, "--grant", "nope", db=db)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(f"error: {acme.email} has no active OAuth grant 'nope'")
    assert f"oauth list --email {acme.email}" in unknown.stderr
    nobody = cli("oauth", "list", "--email", "nobody@example.org", db=db)
    assert nobody.returncode == 1 and "No user has the email" in nobody.stderr


def test_web_clients_of_any_origin_may_discover_register_and_exchange(http):
    origin = {"origin": "https://inspector.example"}
    preflight = http.options("/oauth/token", headers={**origin, "access-control-request-method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    found = http.get("/.well-known/oauth-authorization-server", headers=origin)
    assert found.status_code == 200 and found.headers["access-control-allow-origin"] == "*"
    reply = http.post("/oauth/token", data={"grant_type": "refresh_token"}, headers=origin)
    assert reply.headers["access-control-allow-origin"] == "*"
    oauth_error(reply, 401, "invalid_client")
    assert http.post("/api/v1/mcp", json=PING, headers=origin).status_code == 403  # the API keeps its rule
