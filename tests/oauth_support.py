"""Test helpers for the OAuth front door: a person at the consent form, PKCE pairs, raw flows over HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

REDIRECT = "http://127.0.0.1:8765/callback"


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge, computed here (RFC 7636 §4.2), not by the server's code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(html: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def submit_consent(
    http: httpx.Client, authorize_url: str, key: str, decision: str = "allow", access: str = "full"
) -> httpx.Response:
    """What a person does: open the page, paste the key, press a button. Returns the POST's reply."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "api_key": key, "access": access, "decision": decision}
    return http.post("/oauth/authorize", data=form)


def register(http: httpx.Client, **meta) -> dict:
    body = {"client_name": "Test client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    reply = http.post("/oauth/register", json={k: v for k, v in {**body, **meta}.items() if v is not None})
    assert reply.status_code == 201, reply.text
    return reply.json()


@dataclass
class Started:
    client: dict
    verifier: str
    code: str
    state: str


def authorize_url(base: str, client_id: str, challenge: str, state: str = "st4te", **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": f"{base}/api/v1/mcp",
        **extra,
    }
    return f"{base}/oauth/authorize?{urlencode({k: v for k, v in params.items() if v is not None})}"


def get_code(http: httpx.Client, key: str, client: dict | None = None, access: str = "full") -> Started:
    client = client or register(http)
    verifier, challenge = pkce()
    url = authorize_url(str(http.base_url).rstrip("/"), client["client_id"], challenge)
    reply = submit_consent(http, url, key, access=access)
    assert reply.status_code == 303, reply.text
    query = query_of(reply.headers["location"])
    assert reply.headers["location"].startswith(REDIRECT + "?")
    return Started(client, verifier, query["code"], query["state"])


def exchange(http: httpx.Client, started: Started, **overrides) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": started.code,
        "redirect_uri": REDIRECT,
        "client_id": started.client["client_id"],
        "code_verifier": started.verifier,
        **overrides,
    }
    return http.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})


def tokens(http: httpx.Client, key: str, access: str = "full") -> tuple[Started, dict]:
    """A full sign-in over plain HTTP: the code's story and the token response."""
    started = get_code(http, key, access=access)
    reply = exchange(http, started)
    assert reply.status_code == 200, reply.text
    return started, reply.json()


def oauth_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["error"] == code, body
    assert body["error_description"]
    return body["error_description"]
