"""The official mcp client's own OAuth support signs in against the running server, refreshes, is revoked."""

from __future__ import annotations

import sqlite3
import time

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from customermates.config import Settings
from tests.conftest import cli, running_server
from tests.oauth_support import hidden_fields, query_of

pytestmark = pytest.mark.anyio
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the test reads the code from the redirect


class Memory:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


class Person:
    """Plays the person at the consent page: opens the link, pastes the key, presses Allow (once)."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.consents = 0
        self.result: AuthorizationCodeResult | None = None
        self.refuse = False

    async def open(self, url: str) -> None:
        if self.refuse:
            raise RuntimeError("the client asked the person to sign in again")
        self.consents += 1
        async with httpx2.AsyncClient(base_url=self.base) as browser:
            page = await browser.get(url)
            assert page.status_code == 200, page.text
            assert "customermates test" in page.text
            form = {**hidden_fields(page.text), "api_key": self.key, "access": "full", "decision": "allow"}
            reply = await browser.post("/oauth/authorize", data=form)
        assert reply.status_code == 303, reply.text
        location = reply.headers["location"]
        assert location.startswith(CALLBACK + "?")
        query = query_of(location)
        self.result = AuthorizationCodeResult(code=query["code"], state=query.get("state"))

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def _causes(error: BaseException):
    """The error and everything it wraps (exception groups, causes)."""
    yield error
    for inner in [*getattr(error, "exceptions", ()), error.__cause__, error.__context__]:
        if inner is not None:
            yield from _causes(inner)


def sdk_client(mcp_url: str, person: Person, storage: Memory) -> Client:
    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(client_name="customermates test", redirect_uris=[CALLBACK]),
        storage=storage,
        redirect_handler=person.open,
        callback_handler=person.callback,
    )
    http_client = httpx2.AsyncClient(auth=provider, timeout=30)
    return Client(streamable_http_client(mcp_url, http_client=http_client), mode="legacy")


async def test_sdk_signs_in_calls_tools_refreshes_and_is_refused_after_cli_revoke(db_path, tenant):
    settings = Settings(oauth_access_ttl=2)
    with running_server(db_path, settings) as server:
        person, storage = Person(server.url, tenant.key), Memory()
        async with sdk_client(server.mcp_url, person, storage) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "get_current_user" in names and "update_my_profile" in names
            me = await client.call_tool("get_current_user", {})
            assert me.is_error is False and me.structured_content["email"] == tenant.email
            first = storage.tokens
            assert first.access_token.startswith("cmat_") and first.refresh_token

            time.sleep(2.2)  # the access token has expired: the client refreshes before the next call
            renamed = await client.call_tool("update_my_profile", {"firstName": "Oona"})
            assert renamed.is_error is False, renamed.content
            assert storage.tokens.access_token != first.access_token
            assert storage.tokens.refresh_token != first.refresh_token
            assert person.consents == 1  # refreshed, not signed in again

            listed = cli("oauth", "list", "--email", tenant.email, db=db_path)
            assert listed.returncode == 0, listed.stderr
            (line,) = listed.stdout.splitlines()
            grant_id, name, access, created, last_used = line.split("\t")
            assert (name, access) == ("customermates test", "full") and created
            revoked = cli("oauth", "revoke", "--email", tenant.email, "--grant", grant_id, db=db_path)
            assert revoked.returncode == 0, revoked.stderr

        # The stored tokens are dead: the client falls back to asking the person, who refuses.
        person.refuse = True
        with pytest.raises(BaseException) as refused:  # noqa: B017 - the SDK wraps it in a group
            async with sdk_client(server.mcp_url, person, storage) as client:
                await client.call_tool("get_current_user", {})
        assert any("asked the person to sign in again" in str(e) for e in _causes(refused.value))

        # The audit row of the rename names the user and the OAuth client (never a key).
        conn = sqlite3.connect(db_path)
        row = conn.execute(
            "SELECT actor_user_id, api_key_id, oauth_client_id, source FROM audit_log"
            " WHERE operation = 'update_my_profile'"
        ).fetchone()
        conn.close()
        assert row == (tenant.user_id, None, storage.client.client_id, "mcp")

        # After the revoke, neither token works, on MCP or REST.
        with httpx.Client(base_url=server.url) as http:
            bearer = {"authorization": f"Bearer {storage.tokens.access_token}"}
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            assert http.post("/api/v1/mcp", json=ping, headers=bearer).status_code == 401
            assert http.get("/api/v1/users/me", headers=bearer).status_code == 401
            refresh = {
                "grant_type": "refresh_token",
                "refresh_token": storage.tokens.refresh_token,
                "client_id": storage.client.client_id,
            }
            auth = (storage.client.client_id, storage.client.client_secret or "")
            assert http.post("/oauth/token", data=refresh, auth=auth).json()["error"] == "invalid_grant"
            assert cli("oauth", "list", "--email", tenant.email, db=db_path).stdout == ""
