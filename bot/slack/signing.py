"""Slack request signatures, checked before anything of the request is read or used.

Slack signs `v0:{timestamp}:{raw body}` with the app's signing secret (HMAC-SHA256, hex,
prefixed `v0=`). slack_sdk's verifier raises on a non-numeric timestamp, which made bolt's
error handler answer the (unverified) body's response_url; this one only ever says no.
Socket Mode needs none of this: its envelopes arrive on a websocket the app opened itself
with its app-level token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_sdk.signature import SignatureVerifier

TOLERANCE_SECONDS = 300  # Slack's documented replay window: five minutes either way
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def is_signed(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes | str,
    *,
    now: float | None = None,
) -> bool:
    """Whether `body` carries Slack's signature for `secret`, made within five minutes."""
    if not secret or timestamp is None or signature is None:
        return False
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def headers_signed(secret: str, headers: Mapping[str, str], body: bytes | str) -> bool:
    """`is_signed` with the timestamp and signature taken from HTTP headers."""
    return is_signed(
        secret,
        headers.get("X-Slack-Request-Timestamp"),
        headers.get("X-Slack-Signature"),
        body,
    )


class SafeSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier interface answering through `is_signed` (never raising)."""

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self._secret = signing_secret

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        return is_signed(self._secret, timestamp, signature, body)


class SafeRequestVerification(AsyncRequestVerification):
    """Bolt's request-verification middleware using `SafeSignatureVerifier`."""

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self._safe = SafeSignatureVerifier(signing_secret)

    @property
    def verifier(self) -> SignatureVerifier:
        return self._safe
