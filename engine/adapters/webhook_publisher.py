"""`WebhookPublisher`: publishes a slot by POSTing JSON to the operator's posting service.

The contract (docs/dispatch.md): `POST <url>` with a JSON body, headers `Idempotency-Key`
(stable per slot; the service must not post a key twice), `X-Herald-Timestamp` and
`X-Herald-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
2xx with `{"id", "url"}` is a post. 429 (+ Retry-After) is a rate limit. 423, 403, or an
`{"error": "account_suspended"}` body is a suspension. 5xx, 408 and failures to connect
are network errors. A read timeout or a dropped connection after the request was sent is
OUTCOME_UNKNOWN: the post may exist, and Herald never retries it blindly.

A slot's media travel as `media`: each file's facts (kind, type, size, sha256, dimensions,
duration, codec) and a short-lived signed link under HERALD_PUBLIC_URL the service
downloads it from (else the user's own URL); the bytes never go in the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from engine.adapters.media_http import slot_media
from engine.errors import (
    AccountSuspended,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.media import MediaAsset
from engine.ports import MediaStore, PublishReceipt, PublishRequest
from engine.request import Content
from engine.url_redaction import redact_url, redact_urls

SIGNATURE_HEADER = "X-Herald-Signature"
TIMESTAMP_HEADER = "X-Herald-Timestamp"
SUSPENDED_CODES = frozenset({"account_suspended", "suspended"})
_NO_LINK = (
    "the posting service downloads media from a link: set HERALD_PUBLIC_URL and "
    "HERALD_MEDIA_SIGNING_KEY, or give the media as a public URL"
)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (for receivers and tests)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookPublisher:
    """Posts through an HTTP service that honours `Idempotency-Key` (see module docstring)."""

    supports_idempotency = True

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_seconds: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout_seconds, sock_read=timeout_seconds
        )
        self._session = session
        self._owns_session = session is None
        self._media: MediaStore | None = None
        self._ttl = 3600

    def attach_media(self, media: MediaStore | None, *, ttl_seconds: int = 3600) -> None:
        """Link slots' media from `media` (signed links live `ttl_seconds`): the composition
        root calls it, since publisher factories see only settings and the clock."""
        self._media, self._ttl = media, ttl_seconds

    def media_problem(self, media: Sequence[MediaAsset], content: Content) -> str | None:
        """Plan time: why the service could not download the media (no link to give)."""
        if any(self._link(asset, content) is None for asset in media):
            return _NO_LINK
        return None

    def _link(self, asset: MediaAsset, content: Content) -> str | None:
        """Herald's signed link to the file, else the URL the user gave it from."""
        signed = self._media.signed_url(asset.id, ttl_seconds=self._ttl) if self._media else None
        for candidate in (signed, asset.source_url, content.media_url):
            if candidate and candidate.startswith(("https://", "http://")):
                return candidate
        return None

    def __repr__(self) -> str:  # never show the secret, nor the one a URL may carry
        return f"WebhookPublisher({redact_url(self._url)!r})"

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """POST the slot; map the answer to a receipt or an engine PublishError."""
        payload = _payload(request)
        # The dispatcher names media by id (content.media): read their facts from the store.
        assets = await slot_media(request, self._media) if self._media else request.media
        payload["media"] = [self._described(a, request.content) for a in assets]
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        session = self._client()
        try:
            async with session.post(
                self._url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ConnectionTimeoutError as exc:
            raise NetworkError(f"posting service did not accept a connection: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            raise NetworkError(f"cannot reach the posting service: {exc.os_error}") from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise OutcomeUnknown(
                "the posting service did not answer in time after the post was sent"
            ) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise OutcomeUnknown(
                f"connection dropped after the post was sent: {redact_urls(str(exc))}"
            ) from None
        except aiohttp.ClientError as exc:
            raise NetworkError(f"posting service request failed: {redact_urls(str(exc))}") from None
        return _interpret(status, text, retry_after)

    def _described(self, asset: MediaAsset, content: Content) -> dict[str, Any]:
        return {
            "id": asset.id,
            "kind": asset.kind.value,
            "mime_type": asset.mime_type,
            "size_bytes": asset.size_bytes,
            "sha256": asset.sha256,
            "filename": asset.filename,
            "width": asset.width,
            "height": asset.height,
            "duration_s": asset.duration_s,
            "codec": asset.codec,
            # Signed, short-lived: the service downloads the file soon after the POST.
            "url": self._link(asset, content),
        }

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the HTTP session this publisher opened."""
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()


def _payload(request: PublishRequest) -> dict[str, Any]:
    return {
        "slot_id": request.slot_id,
        "distribution_id": request.distribution_id,
        "account": {
            "id": request.account.id,
            "platform": request.account.platform,
            "handle": request.account.handle,
        },
        "platform": request.platform,
        "language": request.language,
        "caption": request.caption,
        "hashtags": list(request.hashtags),
        "content_type": request.content_type,
        "content": {"id": request.content.id, "media_url": request.content.media_url},
    }


def _interpret(status: int, text: str, retry_after: str | None) -> PublishReceipt:
    data: dict[str, Any] = {}
    try:
        parsed = json.loads(text) if text else {}
        if isinstance(parsed, dict):
            data = parsed
    except ValueError:
        pass
    code = str(data.get("error") or data.get("code") or "").lower()
    detail = str(data.get("message") or code or text[:200] or f"HTTP {status}")
    if 200 <= status < 300:
        post_id = data.get("id") or data.get("post_id")
        if not post_id:
            raise OutcomeUnknown(f"HTTP {status} without a post id: the post may exist")
        url = data.get("url")
        return PublishReceipt(str(post_id), str(url) if url else None)
    if status == 429:
        raise RateLimited(f"rate limited: {detail}", retry_after=_retry_after(retry_after))
    if status in (403, 423) or code in SUSPENDED_CODES:
        raise AccountSuspended(f"account suspended (HTTP {status}): {detail}")
    if status >= 500 or status == 408:
        raise NetworkError(f"posting service error HTTP {status}: {detail}")
    raise UnknownPublishError(f"posting service refused the post (HTTP {status}): {detail}")


def _retry_after(value: str | None) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # An HTTP date is relative to the wall clock by definition.
    return max(timedelta(0), when - datetime.now(UTC))
