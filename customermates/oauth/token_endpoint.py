"""The token endpoint (POST /oauth/token): authorization codes with PKCE, and rotating refresh tokens."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedGrantTypeError,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from customermates.auth import key_hash
from customermates.config import Settings
from customermates.oauth import clients, storage
from customermates.oauth.errors import CORS, NO_STORE, InvalidTargetError, described, error_reply
from customermates.oauth.forms import FormError, read_form
from customermates.oauth.metadata import base_url, our_resource


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClientError("The Basic credentials are not valid base64.") from None
    return unquote(user), unquote(password)


async def _client(request: Request, form: dict[str, str]) -> clients.Client:
    """The authenticated client (RFC 6749 §2.3), or InvalidClientError."""
    basic = _basic(request)
    client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret"))
    if basic and form.get("client_id") not in (None, client_id):
        raise InvalidClientError("client_id in the body differs from the Basic credentials.")
    if not client_id:
        raise InvalidClientError("client_id is missing.")
    client = await request.app.state.db.read(clients.get, client_id)
    if client is None:
        raise InvalidClientError("Unknown client_id; register the client first.")
    if client.auth_method != "none" and not (
        secret and client.secret_hash and hmac.compare_digest(key_hash(secret), client.secret_hash)
    ):
        raise InvalidClientError("The client secret is missing or wrong.")
    return client


async def token(request: Request) -> Response:
    try:
        form = await read_form(request)
        client = await _client(request, form)
        result = await _grant(request, form, client)
    except FormError as exc:
        return error_reply(InvalidRequestError(str(exc)))
    except OAuth2Error as error:
        return error_reply(error)
    if isinstance(result, OAuth2Error):
        return error_reply(result)
    return JSONResponse(result, 200, {**CORS, **NO_STORE})


async def _grant(request: Request, form: dict[str, str], client: clients.Client) -> dict | OAuth2Error:
    settings: Settings = request.app.state.settings
    ttls = storage.Ttls(settings.oauth_access_ttl, settings.oauth_refresh_ttl)
    resource = form.get("resource")
    if resource is not None and not our_resource(base_url(request), resource):
        raise InvalidTargetError("resource names another server; tokens here are only for this server.")
    grant_type = form.get("grant_type")
    db = request.app.state.db
    if grant_type == "authorization_code":
        if not form.get("code"):
            raise InvalidRequestError("code is missing.")
        return await db.write(
            storage.exchange_code,
            client.id,
            form["code"],
            form.get("redirect_uri"),
            form.get("code_verifier", ""),
            ttls,
        )
    if grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise InvalidRequestError("refresh_token is missing.")
        return await db.write(storage.refresh, client.id, form["refresh_token"], ttls)
    if not grant_type:
        raise InvalidRequestError("grant_type is missing.")
    raise described(
        UnsupportedGrantTypeError(grant_type), "grant_type must be authorization_code or refresh_token."
    )
