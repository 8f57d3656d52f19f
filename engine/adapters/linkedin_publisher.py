"""`LinkedInPublisher`: posts through the LinkedIn Posts API (`POST /rest/posts`).

Member (`urn:li:person:…`) and organization (`urn:li:organization:…`) authors; text, link,
image (initializeUpload + one PUT), multi-image (2 to 20 images, each uploaded so, posted as
`content.multiImage.images`: the MultiImage API) and video (initializeUpload, one PUT per
upload instruction streamed from the MediaStore, finalizeUpload with the ETags, wait for
AVAILABLE).
Every call sends `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`; the post URN comes
back in the `x-restli-id` header. A 422 DUPLICATE_POST names the existing post, which is
how an in-doubt resend is reconciled.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from engine.adapters.media_http import slot_media
from engine.adapters.platform_http import (
    ApiAnswer,
    ApiClient,
    Unauthorized,
    clock_now,
    next_utc_midnight,
    post_text,
    same_text,
    short,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
    AuthExpired,
    ContentRejected,
    DuplicateContent,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.media import MediaAsset, MediaKind
from engine.models import Account
from engine.ports import Clock, MediaStore, PublishReceipt, PublishRequest, TokenRefresher

LINKEDIN_API_URL = "https://api.linkedin.com"
LINKEDIN_VERSION = "202601"
CHUNK = 1024 * 1024
_URN = re.compile(r"urn:li:(?:share|ugcPost):[\w-]+")
MAX_IMAGES = 20  # MultiImage API: a post carries 2 to 20 images


class LinkedInPublisher:
    """LinkedIn Posts API publisher and reconciler (see module docstring)."""

    supports_idempotency = False
    name = "linkedin"

    def __init__(
        self,
        refresher: TokenRefresher,
        *,
        media: MediaStore | None = None,
        base_url: str = LINKEDIN_API_URL,
        version: str = LINKEDIN_VERSION,
        timeout_seconds: float = 15.0,
        visibility_delay: timedelta = timedelta(seconds=30),
        video_poll_seconds: float = 3.0,
        video_wait_seconds: float = 600.0,
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._refresher = refresher
        self._media = media
        self._api = ApiClient(
            base_url, name="LinkedIn", timeout_seconds=timeout_seconds, session=session
        )
        self._version = version
        self.visibility_delay = visibility_delay
        self._poll = video_poll_seconds
        self._wait = video_wait_seconds
        self._now = clock_now(clock)

    def __repr__(self) -> str:
        return f"LinkedInPublisher({self._api.base_url!r})"

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Create the post. When the slot is in doubt (`sent_before_at`) and LinkedIn answers
        DUPLICATE_POST naming a post, that post is the receipt (reconciled). Raises
        RateLimited, AuthExpired, AccountSuspended, DuplicateContent, ContentRejected,
        NetworkError, OutcomeUnknown."""
        # The distribution's media by id (the dispatcher sends ids, not files): issue 10.
        media = await slot_media(request, self._media)
        _check_media(media)

        async def attempt(credentials: Credentials) -> PublishReceipt:
            author = _author(credentials)
            body: dict[str, Any] = {
                "author": author,
                "commentary": post_text(request),
                "visibility": "PUBLIC",
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            }
            if len(media) == 1:
                urn = await self._upload(credentials, author, media[0])
                body["content"] = {"media": {"id": urn}}
            elif media:
                urns = [await self._upload(credentials, author, image) for image in media]
                body["content"] = {"multiImage": {"images": [{"id": urn} for urn in urns]}}
            answer = await self._api.call(
                "POST", "/rest/posts", headers=self._headers(credentials), json=body, creates=True
            )
            if answer.status == 201:
                urn = answer.header("x-restli-id") or ""
                if not urn:
                    raise OutcomeUnknown("LinkedIn answered 201 without an x-restli-id header")
                return PublishReceipt(urn, _post_url(urn))
            error = self._error(answer)
            if (
                isinstance(error, DuplicateContent)
                and error.existing_post_id
                and request.sent_before_at is not None
            ):
                found = error.existing_post_id
                return PublishReceipt(found, _post_url(found), reconciled=True)
            raise error

        return await with_token(self._refresher, request.account.id, attempt, platform="LinkedIn")

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """Organizations: the author's posts since `sent_at` with this commentary. Members
        cannot list their posts (`r_member_social` is restricted), so None: the one resend
        that follows is answered DUPLICATE_POST with the existing URN if the first went out.
        Raises NetworkError, RateLimited, AuthExpired, OutcomeUnknown."""
        wanted = post_text(request)
        since_ms = int((sent_at - timedelta(seconds=5)).timestamp() * 1000)

        async def attempt(credentials: Credentials) -> PublishReceipt | None:
            author = _author(credentials)
            if not author.startswith("urn:li:organization:"):
                return None
            answer = await self._api.call(
                "GET",
                "/rest/posts",
                headers=self._headers(credentials),
                params={"q": "author", "author": author, "count": "50", "sortBy": "CREATED"},
            )
            if answer.status != 200:
                error = self._error(answer)
                if isinstance(error, RateLimited | Unauthorized):
                    raise error
                raise OutcomeUnknown(f"cannot list the page's posts on LinkedIn: {error}")
            for post in answer.json().get("elements") or []:
                created = int(post.get("createdAt") or post.get("publishedAt") or 0)
                if created >= since_ms and same_text(str(post.get("commentary", "")), wanted):
                    urn = str(post["id"])
                    return PublishReceipt(urn, _post_url(urn), reconciled=True)
            return None

        return await with_token(self._refresher, request.account.id, attempt, platform="LinkedIn")

    async def delete_post(self, account: Account, post_id: str) -> None:
        """`DELETE /rest/posts/{urn}`. Raises RateLimited, AuthExpired, NetworkError,
        UnknownPublishError."""

        async def attempt(credentials: Credentials) -> None:
            answer = await self._api.call(
                "DELETE",
                f"/rest/posts/{quote(post_id, safe='')}",
                headers=self._headers(credentials),
            )
            if answer.status not in (200, 204):
                raise self._error(answer)

        await with_token(self._refresher, account.id, attempt, platform="LinkedIn")

    # --- media

    async def _upload(self, credentials: Credentials, owner: str, asset: MediaAsset) -> str:
        if self._media is None:
            raise ContentRejected("this Herald has no media store: LinkedIn media cannot be sent")
        headers = self._headers(credentials)
        video = asset.kind == MediaKind.VIDEO
        init_body: dict[str, Any] = {"owner": owner}
        if video:
            init_body.update(fileSizeBytes=asset.size_bytes, uploadCaptions=False)
            init_body["uploadThumbnail"] = False
        init = await self._api.call(
            "POST",
            f"/rest/{'videos' if video else 'images'}?action=initializeUpload",
            headers=headers,
            json={"initializeUploadRequest": init_body},
        )
        if init.status != 200:
            raise self._error(init)
        value = init.json().get("value") or {}
        if not video:
            await self._put(headers, str(value["uploadUrl"]), asset, 0, asset.size_bytes - 1)
            return str(value["image"])
        urn = str(value["video"])
        etags = []
        for part in value.get("uploadInstructions") or []:
            first, last = int(part["firstByte"]), int(part["lastByte"])
            etags.append(await self._put(headers, str(part["uploadUrl"]), asset, first, last))
        final = await self._api.call(
            "POST",
            "/rest/videos?action=finalizeUpload",
            headers=headers,
            json={
                "finalizeUploadRequest": {
                    "video": urn,
                    "uploadToken": str(value.get("uploadToken", "")),
                    "uploadedPartIds": etags,
                }
            },
        )
        if final.status not in (200, 201, 204):
            raise self._error(final)
        await self._wait_available(headers, urn)
        return urn

    async def _put(
        self, headers: dict[str, str], url: str, asset: MediaAsset, first: int, last: int
    ) -> str:
        assert self._media is not None
        store = self._media

        async def part() -> AsyncIterator[bytes]:
            left = last - first + 1
            async for chunk in store.chunks(asset.id, chunk_size=CHUNK, start=first):
                yield chunk[:left]
                left -= len(chunk)
                if left <= 0:
                    return

        put_headers = {
            "Authorization": headers["Authorization"],
            "Content-Type": "application/octet-stream",
            "Content-Length": str(last - first + 1),
        }
        answer = await self._api.call("PUT", url, headers=put_headers, data=part())
        if answer.status not in (200, 201):
            raise self._error(answer)
        return (answer.header("etag") or "").strip('"')

    async def _wait_available(self, headers: dict[str, str], urn: str) -> None:
        waited = 0.0
        while True:
            answer = await self._api.call(
                "GET", f"/rest/videos/{quote(urn, safe='')}", headers=headers
            )
            if answer.status != 200:
                raise self._error(answer)
            data = answer.json()
            status = data.get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                reason = data.get("processingFailureReason", "no reason given")
                raise ContentRejected(f"LinkedIn could not process the video: {reason}")
            if waited >= self._wait:
                raise NetworkError(f"LinkedIn video still {status} after {waited:.0f} s")
            await asyncio.sleep(self._poll)
            waited += self._poll

    # --- answers

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {credentials.access_token}",
            "LinkedIn-Version": self._version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def _error(self, answer: ApiAnswer) -> Exception:
        body = answer.json() if isinstance(answer.json(), dict) else {}
        message = str(body.get("message") or short(answer.text) or f"HTTP {answer.status}")
        text = answer.text
        if answer.status == 401:
            return Unauthorized(f"HTTP 401 {body.get('serviceErrorCode', '')}".strip())
        if answer.status == 429:
            return RateLimited(
                f"LinkedIn daily limit reached: {message}",
                retry_after=next_utc_midnight(self._now()),
            )
        if "DUPLICATE_POST" in text or "duplicate" in message.lower():
            match = _URN.search(message)
            return DuplicateContent(
                f"LinkedIn refused a duplicate post: {message}",
                existing_post_id=match.group(0) if match else None,
            )
        lowered = message.lower()
        if "restricted" in lowered or "suspended" in lowered:
            return AccountSuspended(f"LinkedIn account restricted: {message}")
        if answer.status == 403 and "permission" in lowered:
            return AuthExpired(f"LinkedIn token lacks a permission (reconnect): {message}")
        if answer.status in (400, 403, 413, 422):
            return ContentRejected(f"LinkedIn refused the post (HTTP {answer.status}): {message}")
        if answer.status >= 500:
            return NetworkError(f"LinkedIn answered HTTP {answer.status}: {message}")
        return UnknownPublishError(f"LinkedIn answered HTTP {answer.status}: {message}")

    async def close(self) -> None:
        await self._api.close()


def _check_media(media: list[MediaAsset]) -> None:
    """What LinkedIn cannot post, refused before any upload (plan time says so too): a
    video with other files, more images than a MultiImage post takes."""
    if len(media) > 1 and any(a.kind is MediaKind.VIDEO for a in media):
        raise ContentRejected(f"LinkedIn posts a video alone; the slot has {len(media)} files")
    if len(media) > MAX_IMAGES:
        raise ContentRejected(
            f"LinkedIn takes at most {MAX_IMAGES} images in a post; the slot has {len(media)}"
        )


def _author(credentials: Credentials) -> str:
    user = credentials.platform_user_id
    return user if user.startswith("urn:li:") else f"urn:li:person:{user}"


def _post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"
