"""Discovery documents: Protected Resource Metadata (RFC 9728) and Authorization Server Metadata (RFC 8414)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from customermates import httpio
from customermates.oauth.clients import LOOPBACK
from customermates.oauth.errors import CORS

MCP_PATH = "/api/v1/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource"
AS_PATH = "/.well-known/oauth-authorization-server"
RESOURCE_PATHS = ("", "/api/v1", MCP_PATH)  # what a token may be asked for: this server, its API, MCP


def base_url(request: Request) -> str:
    """CUSTOMERMATES_PUBLIC_URL, else the scheme and host this request came to."""
    return httpio.origin_of(request)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def secure_cookies(request: Request) -> bool:
    """`Secure` cookies when the public URL is https, unless this request came over plain-http loopback
    (a browser or test client there would drop them)."""
    plain_loopback = request.url.scheme == "http" and request.url.hostname in LOOPBACK
    return base_url(request).startswith("https://") and not plain_loopback


def our_resource(base: str, resource: str) -> bool:
    """RFC 8707: true when `resource` names this server (its origin, its API or its MCP endpoint)."""
    try:
        given, ours = urlsplit(resource), urlsplit(base)
    except ValueError:
        return False
    if (
        given.query
        or given.fragment
        or (given.scheme.lower(), given.netloc.lower())
        != (
            ours.scheme.lower(),
            ours.netloc.lower(),
        )
    ):
        return False
    prefix = ours.path.rstrip("/")
    return given.path.rstrip("/") in {prefix + path for path in RESOURCE_PATHS}


def challenge(base: str, path: str, credential_given: bool) -> str:
    """The `WWW-Authenticate` value of a 401 on /api/v1: where to find how to get a token."""
    where = f"{base}{PRM_PATH}{MCP_PATH}" if path == MCP_PATH else f"{base}{PRM_PATH}"
    error = ', error="invalid_token"' if credential_given else ""
    return f'Bearer realm="customermates", resource_metadata="{where}"{error}'


def protected_resource(base: str, resource: str) -> dict:
    return {
        "resource": resource,
        "authorization_servers": [base],
        "bearer_methods_supported": ["header"],
        "resource_name": "customermates",
    }


def authorization_server(base: str) -> dict:
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "registration_endpoint": f"{base}/oauth/register",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "client_id_metadata_document_supported": True,
    }


def _json(data: dict) -> Response:
    return JSONResponse(data, headers={**CORS, "Cache-Control": "public, max-age=300"})


async def resource_root(request: Request) -> Response:
    base = base_url(request)
    return _json(protected_resource(base, base))


async def resource_mcp(request: Request) -> Response:
    base = base_url(request)
    return _json(protected_resource(base, base + MCP_PATH))


async def server(request: Request) -> Response:
    return _json(authorization_server(base_url(request)))
