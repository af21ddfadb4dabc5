"""One attempt to deliver a callback: a POST of the signed summary, its answer classified.

The request goes to the address `network.checked_address` approved (the URL's host in the Host
header and, for https, as the TLS server name, so the certificate is checked against the name), with
no redirect followed (a redirect could lead anywhere). The body is signed as Standard Webhooks:
`webhook-id` (the same for every attempt of one job's end, so a receiver can drop a repeat),
`webhook-timestamp` and `webhook-signature` (services.access.webhook_signatures.sign).

Outcomes: `delivered` on a 2xx; `retry` on no answer (timeouts, refused connections), a 5xx, 408,
425, 429 and 409 (n8n answers 409 to a resume URL its Wait node is not listening on yet); `failed`
on any other answer (a 4xx will not change by asking again, a 3xx is not followed) and on a URL that
may not be called.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.access.webhook_signatures import sign
from services.callbacks.network import CallbackRefused, Resolver, checked_address, system_resolver

Outcome = Literal["delivered", "retry", "failed"]
RETRY_STATUSES = frozenset({408, 409, 425, 429})
USER_AGENT = "listing-pipeline-callbacks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    status_code: int | None
    error: str | None
    duration_ms: int


def deliver(
    url: str,
    body: bytes,
    *,
    webhook_id: str,
    key: bytes | None,
    headers: Mapping[str, str],
    timeout_seconds: float,
    allow_private: bool,
    resolve: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
    now: float | None = None,
) -> Attempt:
    """POST `body` to `url` once (see the module's docstring)."""
    started = time.perf_counter()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = checked_address(host, port, allow_private=allow_private, resolve=resolve)
    except CallbackRefused as refused:
        return Attempt("failed", None, str(refused), _ms(started))
    timestamp = int(now if now is not None else time.time())
    sent_headers = {
        **headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
    }
    if key is not None:
        sent_headers["webhook-signature"] = sign(key, webhook_id, timestamp, body)
    pinned = urlunsplit((parts.scheme, _netloc(address, parts.port), parts.path, parts.query, ""))
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout_seconds, follow_redirects=False, transport=transport) as client:
            response = client.post(pinned, content=body, headers=sent_headers, extensions=extensions)
    except httpx.HTTPError as failure:
        reason = f"{type(failure).__name__}: {failure}".rstrip(": ")
        return Attempt("retry", None, reason, _ms(started))
    status = response.status_code
    if 200 <= status < 300:
        return Attempt("delivered", status, None, _ms(started))
    error = _answer_text(response)
    if status >= 500 or status in RETRY_STATUSES:
        return Attempt("retry", status, error, _ms(started))
    if 300 <= status < 400:
        where = response.headers.get("location", "elsewhere")
        return Attempt(
            "failed", status, f"redirected to {where[:200]}: redirects are not followed", _ms(started)
        )
    return Attempt("failed", status, error, _ms(started))


def _netloc(address: str, port: int | None) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}" if port else host


def _answer_text(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}" + (f": {text[:300]}" if text else "")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
