"""`XPublisher`: posts through the X API v2 (`POST /2/tweets`) as a connected account.

Media goes through the v2 chunked upload on its dedicated paths (initialize, append in
1 MB segments streamed from the MediaStore, finalize, STATUS until succeeded). Answers map
onto Herald's errors (docs/publishing.md): 429 -> RateLimited at `x-rate-limit-reset`,
403 duplicate -> DuplicateContent, `user-suspended` -> AccountSuspended, other 400/403 ->
ContentRejected. Reconciliation reads the account's own recent posts and matches the text.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from engine.adapters.media_http import slot_media
from engine.adapters.platform_http import (
    ApiAnswer,
    ApiClient,
    Unauthorized,
    clock_now,
    post_text,
    reset_after,
    same_text,
    short,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
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

X_API_URL = "https://api.x.com"
CHUNK = 1024 * 1024


class XPublisher:
    """X API v2 publisher and reconciler (see module docstring)."""

    supports_idempotency = False
    name = "x"

    def __init__(
        self,
        refresher: TokenRefresher,
        *,
        media: MediaStore | None = None,
        base_url: str = X_API_URL,
        timeout_seconds: float = 15.0,
        visibility_delay: timedelta = timedelta(seconds=30),
        media_poll_seconds: float = 2.0,
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._refresher = refresher
        self._media = media
        self._api = ApiClient(base_url, name="X", timeout_seconds=timeout_seconds, session=session)
        self.visibility_delay = visibility_delay
        self._poll = media_poll_seconds
        self._now = clock_now(clock)

    def __repr__(self) -> str:
        return f"XPublisher({self._api.base_url!r})"

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Post the slot's text (and media). Raises RateLimited, AuthExpired,
        AccountSuspended, DuplicateContent, ContentRejected, NetworkError, OutcomeUnknown."""

        # The distribution's media by id (the dispatcher sends ids, not files): issue 10.
        media = await slot_media(request, self._media)

        async def attempt(credentials: Credentials) -> PublishReceipt:
            media_ids = [await self._upload(credentials, asset) for asset in media]
            body: dict[str, Any] = {"text": post_text(request)}
            if media_ids:
                body["media"] = {"media_ids": media_ids}
            answer = await self._api.call(
                "POST", "/2/tweets", headers=_auth(credentials), json=body, creates=True
            )
            if answer.status in (200, 201):
                post_id = str((answer.json().get("data") or {}).get("id") or "")
                if not post_id:
                    raise OutcomeUnknown(f"X answered {answer.status} without a post id")
                return PublishReceipt(post_id, _post_url(credentials, request.account, post_id))
            raise self._error(answer)

        return await with_token(self._refresher, request.account.id, attempt, platform="X")

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The account's post since `sent_at` with exactly this text (links aside), from
        `GET /2/users/:id/tweets` (an owned read). Raises NetworkError, RateLimited,
        AuthExpired, OutcomeUnknown."""
        wanted = post_text(request)
        start = (sent_at - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

        async def attempt(credentials: Credentials) -> PublishReceipt | None:
            answer = await self._api.call(
                "GET",
                f"/2/users/{credentials.platform_user_id}/tweets",
                headers=_auth(credentials),
                params={
                    "max_results": "100",
                    "start_time": start,
                    "tweet.fields": "created_at,text",
                },
            )
            if answer.status != 200:
                error = self._error(answer)
                if isinstance(error, RateLimited | Unauthorized):
                    raise error
                raise OutcomeUnknown(f"cannot read the account's posts on X: {error}")
            for tweet in answer.json().get("data") or []:
                if same_text(str(tweet.get("text", "")), wanted):
                    post_id = str(tweet["id"])
                    url = _post_url(credentials, request.account, post_id)
                    return PublishReceipt(post_id, url, reconciled=True)
            return None

        return await with_token(self._refresher, request.account.id, attempt, platform="X")

    async def delete_post(self, account: Account, post_id: str) -> None:
        """`DELETE /2/tweets/:id`. Raises RateLimited, AuthExpired, NetworkError,
        UnknownPublishError."""

        async def attempt(credentials: Credentials) -> None:
            answer = await self._api.call(
                "DELETE", f"/2/tweets/{post_id}", headers=_auth(credentials)
            )
            if answer.status == 200 and (answer.json().get("data") or {}).get("deleted"):
                return
            raise self._error(answer)

        await with_token(self._refresher, account.id, attempt, platform="X")

    # --- media (v2 chunked upload on the dedicated paths)

    async def _upload(self, credentials: Credentials, asset: MediaAsset) -> str:
        if self._media is None:
            raise ContentRejected("this Herald has no media store: X media cannot be uploaded")
        headers = _auth(credentials)
        category = "tweet_video" if asset.kind == MediaKind.VIDEO else "tweet_image"
        init = await self._api.call(
            "POST",
            "/2/media/upload/initialize",
            headers=headers,
            json={
                "media_type": asset.mime_type,
                "total_bytes": asset.size_bytes,
                "media_category": category,
            },
        )
        if init.status not in (200, 201, 202):
            raise self._error(init)
        media_id = str((init.json().get("data") or {}).get("id") or "")
        if not media_id:
            raise UnknownPublishError("X media initialize answered without a media id")
        index = 0
        async for chunk in self._media.chunks(asset.id, chunk_size=CHUNK):
            form = aiohttp.FormData()
            form.add_field("segment_index", str(index))
            form.add_field("media", chunk, filename="blob", content_type=asset.mime_type)
            answer = await self._api.call(
                "POST", f"/2/media/upload/{media_id}/append", headers=headers, data=form
            )
            if answer.status not in (200, 201, 202, 204):
                raise self._error(answer)
            index += 1
        final = await self._api.call(
            "POST", f"/2/media/upload/{media_id}/finalize", headers=headers
        )
        if final.status not in (200, 201, 202):
            raise self._error(final)
        info = (final.json().get("data") or {}).get("processing_info")
        while info and info.get("state") in ("pending", "in_progress"):
            await asyncio.sleep(min(float(info.get("check_after_secs", self._poll)), self._poll))
            status = await self._api.call(
                "GET",
                "/2/media/upload",
                headers=headers,
                params={"command": "STATUS", "media_id": media_id},
            )
            if status.status != 200:
                raise self._error(status)
            info = (status.json().get("data") or {}).get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error") or {}
            raise ContentRejected(f"X could not process the media: {error.get('message', error)}")
        return media_id

    # --- answers

    def _error(self, answer: ApiAnswer) -> Exception:
        body = answer.json() if isinstance(answer.json(), dict) else {}
        detail = str(
            body.get("detail")
            or body.get("title")
            or "; ".join(str(e.get("message", "")) for e in body.get("errors") or [])
            or short(answer.text)
            or f"HTTP {answer.status}"
        )
        text = answer.text.lower()
        if answer.status == 401 or "unsupported authentication" in text:
            return Unauthorized(f"HTTP {answer.status}")
        if answer.status == 429:
            return RateLimited(
                f"X rate limit: {detail}", retry_after=reset_after(answer.headers, self._now())
            )
        if "duplicate content" in text or "status is a duplicate" in text:
            return DuplicateContent(f"X refused a duplicate post: {detail}")
        if "user-suspended" in text or "suspended" in text:
            return AccountSuspended(f"X account suspended: {detail}")
        if "not permitted to access this feature" in text:
            return AccountSuspended(f"X account restricted: {detail}")
        if answer.status in (400, 403, 413, 422):
            return ContentRejected(f"X refused the post (HTTP {answer.status}): {detail}")
        if answer.status >= 500:  # a create call's 5xx is OutcomeUnknown (ApiClient)
            return NetworkError(f"X answered HTTP {answer.status}: {detail}")
        return UnknownPublishError(f"X answered HTTP {answer.status}: {detail}")

    async def close(self) -> None:
        await self._api.close()


def _auth(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {credentials.access_token}"}


def _post_url(credentials: Credentials, account: Account, post_id: str) -> str:
    handle = (credentials.handle or account.handle).lstrip("@") or "i"
    return f"https://x.com/{handle}/status/{post_id}"
