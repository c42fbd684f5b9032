"""OAuth error replies: the RFC error objects (authlib's classes) as JSON with the right headers."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Error
from starlette.responses import JSONResponse, Response

CORS = {"Access-Control-Allow-Origin": "*"}  # no cookies here: any web client may read these replies
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the `resource` names a server these tokens are not for."""

    error = "invalid_target"


def error_reply(error: OAuth2Error) -> Response:
    headers = {**CORS, **NO_STORE}
    status = error.status_code
    if error.error == "invalid_client":  # RFC 6749 §5.2: 401 naming the scheme a client may use
        status, headers["WWW-Authenticate"] = 401, 'Basic realm="customermates"'
    return JSONResponse(dict(error.get_body()), status, headers)


def described(error: OAuth2Error, description: str) -> OAuth2Error:
    """Some authlib errors build their text only for their own server; set the RFC description here."""
    error.description = description
    return error


async def preflight(request) -> Response:
    """CORS preflight for the token, registration and metadata endpoints."""
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
            "Access-Control-Max-Age": "600",
        },
    )
