"""Standard Webhooks signatures (https://www.standardwebhooks.com), checked without a dependency.

The rules:
- A secret is `whsec_` followed by base64; the HMAC key is the decoded bytes (configuration's
  business: services.platform.settings.signing_key reads the secrets into keys at start-up).
- The signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`, the body exactly as received.
- `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` entries: a sender rotating its
  secret signs with both, and we accept the request when any entry matches any of our secrets.
- `webhook-timestamp` (unix seconds) more than 5 minutes from our clock is refused, so a captured
  request cannot be replayed later; within the window, the webhook-id makes a replay the same job.
- Signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TOLERANCE_SECONDS = 5 * 60
VERSION = "v1"
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class SignatureRejected(ValueError):
    """The request's signature headers do not prove it came from a holder of our secret."""


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """A delivery whose signature checked out."""

    webhook_id: str
    timestamp: int


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one delivery."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def has_signature_headers(headers: Mapping[str, str]) -> bool:
    return any(name in headers for name in HEADERS)


def verify(
    keys: Iterable[bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> SignedDelivery:
    """Checks a delivery against every key; raises `SignatureRejected` saying what is wrong.

    `headers` must be case-insensitive as Starlette's are (or use lower-case names)."""
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise SignatureRejected(f"missing {', '.join(missing)} header (Standard Webhooks signature)")
    webhook_id, raw_timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureRejected("webhook-timestamp must be unix seconds") from None
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureRejected(
            f"webhook-timestamp is more than {tolerance_seconds // 60} minutes away from the server's"
            " clock: too old (a replay?) or the sender's clock is wrong"
        )
    entries = (entry.partition(",") for entry in headers["webhook-signature"].split())
    offered = [value for version, _, value in entries if version == VERSION]
    for key in keys:
        expected = sign(key, webhook_id, timestamp, body).partition(",")[2].encode()
        # Constant time: how long a comparison takes must not tell how much of a guess was right.
        if any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
            return SignedDelivery(webhook_id, timestamp)
    raise SignatureRejected(
        "webhook-signature does not match: signed with another secret, or the body was changed"
    )
