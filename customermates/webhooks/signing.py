"""Secrets and the two signature schemes every attempt carries (docs/webhooks.md, "Signing")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from customermates import __version__

PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` + standard base64 of 32 random bytes, as Standard Webhooks libraries expect."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    """A `whsec_` secret carries its key in base64; any other secret is its own key."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except ValueError:
            pass  # a caller-chosen "whsec_…" that is not base64: sign with the text itself
    return secret.encode()


def hex_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(
    secret: str, event_id: str, event: str, delivery_id: str, attempt: int, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"customermates-webhooks/{__version__}",
        "X-Webhook-Signature": hex_signature(secret, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, event_id, timestamp, body),
        "X-Webhook-Event": event,
        "X-Webhook-Delivery": delivery_id,
        "X-Webhook-Attempt": str(attempt),
    }
