"""Client ID Metadata Documents: a client id that is the https URL of its own metadata, fetched safely.

The fetch follows the webhook rules: public https only (CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE=1 also
admits http and private addresses, for local testing), the connection pinned to the address that was
checked (no DNS rebinding), no redirects, at most 5 KB, at most 5 seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import anyio
import httpx

from customermates.ids import iso, now_iso
from customermates.oauth import clients
from customermates.oauth.registration import checked_metadata
from customermates.webhooks import url_safety

MAX_BYTES = 5 * 1024
TIMEOUT = 5.0
FRESH_FOR = timedelta(hours=1)


class DocumentError(Exception):
    """The metadata document cannot be used; the message says why (plain ASCII, for an error page)."""


def is_document_id(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def _url_problem(url: str, insecure: bool) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https" and not (insecure and parts.scheme == "http"):
        return "must use https"
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return "must name a host, without credentials or fragment"
    if parts.path in ("", "/"):
        return "must have a path"
    return None


async def _download(url: str, insecure: bool) -> bytes:
    body = b""
    with anyio.fail_after(TIMEOUT):
        try:  # the webhook rules: public addresses only, the connection pinned to the one checked
            target, headers, extensions = await url_safety.pinned(url, insecure)
        except url_safety.Refused as exc:
            raise DocumentError("resolves to a private or reserved address; serve it from a public host" if exc.rule == "address_not_public"
                                else "is not a valid https URL") from exc  # fmt: skip
        except ConnectionError as exc:
            raise DocumentError(f"has a host that does not resolve ({exc})") from exc
        async with (
            httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT, trust_env=False) as client,
            client.stream("GET", target, headers={**headers, "Accept": "application/json"},
                          extensions=extensions) as reply,
        ):  # fmt: skip
            if reply.is_redirect:
                raise DocumentError("redirects; the document must be served at its own URL")
            if reply.status_code != 200:
                raise DocumentError(f"answered HTTP {reply.status_code}")
            async for chunk in reply.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise DocumentError(f"is over {MAX_BYTES} bytes")
    return body


def _client_of(url: str, raw: bytes) -> tuple[clients.Client, dict]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DocumentError("is not JSON") from exc
    if not isinstance(doc, dict) or doc.get("client_id") != url:
        raise DocumentError("must be a JSON object whose client_id is its own URL")
    if doc.get("token_endpoint_auth_method", "none") != "none":
        raise DocumentError("must use token_endpoint_auth_method none")
    try:
        meta = checked_metadata({**doc, "token_endpoint_auth_method": "none"})
    except Exception as exc:  # the RFC 7591 error of the bad field
        raise DocumentError(getattr(exc, "description", "has invalid metadata")) from exc
    client = clients.Client(
        url, "document", meta["client_name"], tuple(meta["redirect_uris"]), "none", None, now_iso()
    )
    return client, meta


async def load(db, url: str, insecure: bool) -> clients.Client:
    """The client described at `url`: a recent copy from the database, else fetched and stored."""
    cached = await db.read(clients.get, url)
    if cached and cached.fetched_at and cached.fetched_at > iso(datetime.now(UTC) - FRESH_FOR):
        return cached
    problem = _url_problem(url, insecure)
    if problem:
        raise DocumentError(problem)
    try:
        raw = await _download(url, insecure)
    except TimeoutError as exc:
        raise DocumentError(f"did not answer within {TIMEOUT:g} seconds") from exc
    except httpx.HTTPError as exc:
        raise DocumentError(f"could not be fetched ({type(exc).__name__})") from exc
    client, meta = _client_of(url, raw)
    await db.write(clients.save, client, meta, client.fetched_at)
    return client
