"""Dynamic Client Registration (RFC 7591) at POST /oauth/register."""

from __future__ import annotations

import json
import secrets
import time

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from customermates.auth import key_hash
from customermates.httpio import BodyTooLarge, read_body
from customermates.ids import now_iso
from customermates.oauth import clients
from customermates.oauth.errors import CORS, NO_STORE, error_reply
from customermates.oauth.ratelimit import address

MAX_BODY = 16 * 1024
GRANT_TYPES_ORDER = ("authorization_code", "refresh_token")
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")


def checked_metadata(meta: object) -> dict:
    """The metadata this server acts on, checked, with defaults filled in (nothing else is kept);
    raises the RFC 7591 error naming the field."""
    if not isinstance(meta, dict):
        raise InvalidClientMetadataError("The body must be a JSON object of client metadata.")
    uris = meta.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= clients.MAX_REDIRECT_URIS:
        raise InvalidRedirectURIError(f"redirect_uris must be a list of 1-{clients.MAX_REDIRECT_URIS} URIs.")
    for uri in uris:
        problem = clients.redirect_uri_problem(uri)
        if problem:
            raise InvalidRedirectURIError(_ascii(problem))
    grants = meta.get("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grants, list) or "authorization_code" not in grants:
        raise InvalidClientMetadataError("grant_types must include authorization_code.")
    # RFC 7591 §3.2.1 lets the server replace what it does not serve (e.g. VS Code also asks for the
    # device flow): keep the two grant types served here, and say so in the reply.
    grants = [g for g in GRANT_TYPES_ORDER if g in grants]
    if meta.get("response_types", ["code"]) != ["code"]:
        raise InvalidClientMetadataError("response_types must be a list holding only code.")
    method = meta.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadataError(
            f"token_endpoint_auth_method must be one of: {', '.join(AUTH_METHODS)}."
        )
    name = meta.get("client_name", "Unnamed client")
    if isinstance(name, str):  # cleaned first, so a name of invisible characters only is empty
        name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not isinstance(name, str) or not name or len(name) > clients.MAX_NAME_LENGTH:
        raise InvalidClientMetadataError(
            f"client_name must be 1-{clients.MAX_NAME_LENGTH} printable characters."
        )
    # Only the metadata served here is kept: RFC 7591 §2 has a server ignore metadata it does not
    # understand, so anything else is neither stored nor echoed in the reply.
    return {
        "client_name": name,
        "redirect_uris": uris,
        "grant_types": grants,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    }


def _ascii(text: str) -> str:
    """RFC 6749 limits error descriptions to printable ASCII without quote or backslash."""
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\' else "?" for ch in text)


def _register(conn, meta: dict) -> dict:
    client_id = secrets.token_urlsafe(24)
    secret = None if meta["token_endpoint_auth_method"] == "none" else secrets.token_urlsafe(32)
    client = clients.Client(
        client_id,
        "registered",
        meta["client_name"],
        tuple(meta["redirect_uris"]),
        meta["token_endpoint_auth_method"],
        key_hash(secret) if secret else None,
        None,
    )
    clients.save(conn, client, meta, now_iso())
    reply = {**meta, "client_id": client_id, "client_id_issued_at": int(time.time())}
    if secret:
        reply |= {"client_secret": secret, "client_secret_expires_at": 0}
    return reply


async def register(request: Request) -> Response:
    limiter = request.app.state.oauth_registrations
    if limiter.full(address(request)):
        error = InvalidRequestError("Too many registrations from this address; try again later.")
        error.status_code = 429
        return error_reply(error)
    try:
        raw = await read_body(request, MAX_BODY)
        meta = checked_metadata(json.loads(raw or b"null"))
    except BodyTooLarge:
        return error_reply(InvalidClientMetadataError(f"The metadata is over {MAX_BODY} bytes."))
    except (ValueError, UnicodeDecodeError):
        return error_reply(InvalidClientMetadataError("The body is not valid JSON."))
    except (InvalidClientMetadataError, InvalidRedirectURIError) as error:
        return error_reply(error)
    limiter.add(address(request))
    reply = await request.app.state.db.write(_register, meta)
    return JSONResponse(reply, 201, {**CORS, **NO_STORE})
