"""One attempt: resolve and check the host again, POST the stored bytes signed, read at most 1 KB back.

The connection goes to an address that passed the check (the URL's host stays in `Host` and TLS
SNI), so a DNS answer that changes between check and connect cannot redirect it. Redirects are
never followed and proxy settings from the environment are ignored.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from http import HTTPStatus

import anyio
import httpx

from customermates.webhooks import signing, url_safety
from customermates.webhooks.outbox import Claimed, Outcome
from customermates.webhooks.settings import insecure_allowed

EXCERPT = 1024


def new_client() -> httpx.AsyncClient:
    # No keep-alive: each attempt connects to the address it has just checked. No httpx timeout:
    # `attempt` bounds the whole attempt (DNS included) itself.
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=None,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _status_line(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase or ""
    line = f"HTTP {response.status_code} {phrase}".strip()
    if 300 <= response.status_code < 400:
        line = f"HTTP {response.status_code}; redirect to {response.headers.get('location', '(none)')} not followed"
    return line


async def _send(client: httpx.AsyncClient, job: Claimed, insecure: bool) -> Outcome:
    url, extra, extensions = await url_safety.pinned(job.url, insecure)
    headers = signing.headers(
        job.secret, job.event_id, job.event, job.id, job.attempt, int(time.time()), job.body
    )
    request = client.build_request(
        "POST", url, content=job.body, headers={**headers, **extra}, extensions=extensions
    )
    response = await client.send(request, stream=True)
    try:
        excerpt = b""
        async for chunk in response.aiter_bytes():
            excerpt += chunk
            if len(excerpt) >= EXCERPT:
                break
    finally:
        await response.aclose()
    code = response.status_code
    text = excerpt[:EXCERPT].decode("utf-8", errors="replace") if excerpt else None
    wait = _retry_after(response.headers.get("retry-after")) if code in (429, 503) else None
    return Outcome(job.key, 200 <= code < 300, code, _status_line(response), text, wait)


def _network_message(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ssl.SSLError):
            return f"TLS error: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


async def attempt(client: httpx.AsyncClient, job: Claimed, timeout: float) -> Outcome:
    """Everything (DNS, connect, TLS, send, status and excerpt) within `timeout` seconds."""
    insecure = insecure_allowed()
    try:
        with anyio.fail_after(timeout):
            return await _send(client, job, insecure)
    except url_safety.Refused as refused:
        return Outcome(job.key, False, None, str(refused), final=True)
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(job.key, False, None, f"timed out after {timeout:g} s")
    except (httpx.HTTPError, OSError) as exc:
        return Outcome(job.key, False, None, _network_message(exc))
