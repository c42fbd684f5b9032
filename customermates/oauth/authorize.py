"""The authorization endpoint: GET shows the consent page, POST signs in with an API key and decides.

Order of checks: the client and its redirect URI first (a failure is a 400 page, never a redirect),
then the protocol parameters (a failure goes back to the client as an RFC 6749 error redirect).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from customermates.auth import authenticate
from customermates.config import Settings
from customermates.oauth import client_documents, clients, consent, storage
from customermates.oauth.errors import InvalidTargetError, described
from customermates.oauth.forms import FormError, read_form
from customermates.oauth.metadata import MCP_PATH, base_url, our_resource, secure_cookies
from customermates.oauth.ratelimit import address

CSRF_COOKIE = "cm_oauth_csrf"


class Refused(Exception):
    """The client or redirect URI cannot be trusted: answer with an error page."""


async def _client_and_redirect(request: Request, params: dict[str, str]) -> tuple[clients.Client, str]:
    client_id = params.get("client_id", "")
    if not client_id:
        raise Refused("The request has no client_id; start the sign-in again from your app.")
    if client_documents.is_document_id(client_id):
        settings: Settings = request.app.state.settings
        try:
            client = await client_documents.load(
                request.app.state.db, client_id, settings.webhook_allow_insecure
            )
        except client_documents.DocumentError as exc:
            raise Refused(f"The client's metadata document at {client_id} {exc}.") from exc
    else:
        client = await request.app.state.db.read(clients.get, client_id)
        if client is None:
            raise Refused("Unknown client_id: this app is not registered here; reconnect it from the app.")
    redirect = clients.allowed_redirect(client, params.get("redirect_uri"))
    if redirect is None:
        raise Refused("The redirect_uri is not one this client registered; nothing was sent to it.")
    return client, redirect


def _protocol_error(request: Request, params: dict[str, str]) -> OAuth2Error | None:
    if params.get("response_type") != "code":
        error = UnsupportedResponseTypeError(params.get("response_type"))
        return described(error, "response_type must be code.")
    challenge = params.get("code_challenge")
    if not challenge:
        return InvalidRequestError("code_challenge is required (PKCE with S256).")
    if params.get("code_challenge_method") != "S256":
        return InvalidRequestError("code_challenge_method must be S256; plain is not accepted.")
    if not CODE_CHALLENGE_PATTERN.match(challenge):
        return InvalidRequestError("code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~.")
    resource = params.get("resource")
    if resource is not None and not our_resource(base_url(request), resource):
        return InvalidTargetError("resource names another server; tokens here are only for this server.")
    return None


def _back_to_client(redirect: str, params: dict[str, str], pairs: list[tuple[str, str]]) -> Response:
    if params.get("state") is not None:
        pairs = [*pairs, ("state", params["state"])]
    return RedirectResponse(add_params_to_uri(redirect, pairs), 303)


def _error_redirect(redirect: str, params: dict[str, str], error: OAuth2Error) -> Response:
    return _back_to_client(redirect, params, [(k, v) for k, v in error.get_body() if k != "state"])


def _csrf_field(request: Request, cookie: str) -> str:
    secret = request.app.state.oauth_secret
    return hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()


async def _checked(request: Request, params: dict[str, str]) -> tuple[clients.Client, str] | Response:
    try:
        client, redirect = await _client_and_redirect(request, params)
    except Refused as exc:
        return consent.error_page(str(exc))
    error = _protocol_error(request, params)
    return _error_redirect(redirect, params, error) if error else (client, redirect)


async def show(request: Request) -> Response:
    params = dict(request.query_params)
    if len(params) != len(request.query_params.multi_items()):
        return consent.error_page("A parameter is given more than once; start the sign-in again.")
    checked = await _checked(request, params)
    if isinstance(checked, Response):
        return checked
    client, redirect = checked
    cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = consent.form(client, redirect, params, _csrf_field(request, cookie))
    response.set_cookie(
        CSRF_COOKIE, cookie, path="/oauth", httponly=True, samesite="lax", secure=secure_cookies(request)
    )
    return response


async def decide(request: Request) -> Response:
    try:
        params = await read_form(request)
    except FormError as exc:
        return consent.error_page(str(exc))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(params.get("csrf", ""), _csrf_field(request, cookie)):
        return consent.error_page(
            "This form expired or was sent from another site; open the sign-in link from your app again.", 403
        )
    checked = await _checked(request, params)
    if isinstance(checked, Response):
        return checked
    client, redirect = checked
    decision = params.get("decision")
    if decision == "deny":
        return _error_redirect(redirect, params, AccessDeniedError("The person denied access."))
    if decision != "allow":
        return consent.error_page("Press Allow or Deny.")
    return await _sign_in(request, params, client, redirect)


async def _sign_in(
    request: Request, params: dict[str, str], client: clients.Client, redirect: str
) -> Response:
    limiter, who = request.app.state.oauth_failures, address(request)
    csrf = params["csrf"]
    if limiter.full(who):
        return consent.form(
            client, redirect, params, csrf, "Too many wrong keys from your address; wait 10 minutes.", 429
        )
    principal = await request.app.state.db.read(authenticate, params.get("api_key", "").strip())
    if principal is None:
        limiter.add(who)
        message = "That API key is not valid (unknown, revoked, expired, or its user is inactive)."
        return consent.form(client, redirect, params, csrf, message, 401)
    approval = storage.Approval(
        client.id,
        principal.company_id,
        principal.user_id,
        principal.key_id,
        principal.read_only or params.get("access") == "read-only",
        redirect,
        params["code_challenge"],
        params.get("resource") or base_url(request) + MCP_PATH,
    )
    code = await request.app.state.db.write(storage.issue_code, approval)
    return _back_to_client(redirect, params, [("code", code)])
