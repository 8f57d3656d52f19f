"""`PostizPublisher`: posts through a team's Postiz (public API, `/public/v1`).

The account maps to one of the team's channels (`GET /integrations`: by the connection's
integration id, else by handle). `POST /posts` is asynchronous, so the publisher polls
`GET /posts` until the post is PUBLISHED (its `releaseURL` is the platform URL) or ERROR.
Each post carries Herald's group id (derived from the slot's idempotency key), which is
what reconciliation matches on. `Authorization` is the bare API key, no `Bearer`.

A slot's media are uploaded first, each streamed from the media store as the multipart
field `file` of `POST /upload` (Postiz answers its media row), and named in the post's
`value[0].image` as `{id, path}`; Postiz then hands them to the platform itself.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from engine.adapters.media_form import media_form
from engine.adapters.media_http import slot_media
from engine.adapters.platform_http import (
    ApiAnswer,
    ApiClient,
    Unauthorized,
    clock_now,
    platform_error,
    post_text,
    reset_after,
    short,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    ContentRejected,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.media import MediaAsset
from engine.models import Account
from engine.ports import Clock, MediaStore, PublishReceipt, PublishRequest, TokenRefresher
from engine.url_redaction import redact_url

HERALD_GROUP = uuid.UUID("6f1c2b4e-1d0a-4e5b-9c57-4a8e0b7d2f11")


def group_id(request: PublishRequest) -> str:
    """Herald's stable Postiz/Mixpost group for a slot (same key, same group)."""
    return str(uuid.uuid5(HERALD_GROUP, request.idempotency_key or request.slot_id))


class PostizPublisher:
    """Postiz public API publisher and reconciler (see module docstring)."""

    supports_idempotency = False
    name = "postiz"

    def __init__(
        self,
        refresher: TokenRefresher,
        *,
        base_url: str,
        timeout_seconds: float = 15.0,
        poll_seconds: float = 5.0,
        wait_seconds: float = 120.0,
        visibility_delay: timedelta = timedelta(seconds=0),
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
        media: MediaStore | None = None,
    ) -> None:
        self._refresher = refresher
        self._api = ApiClient(
            base_url, name="Postiz", timeout_seconds=timeout_seconds, session=session
        )
        self._media = media
        self._poll = poll_seconds
        self._wait = wait_seconds
        self.visibility_delay = visibility_delay
        self._now = clock_now(clock)

    def __repr__(self) -> str:
        return f"PostizPublisher({redact_url(self._api.base_url)!r})"

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Create the post now and wait for Postiz to publish it. Raises RateLimited,
        AuthExpired, AccountSuspended, DuplicateContent, ContentRejected, NetworkError,
        OutcomeUnknown (accepted but not published within the wait)."""

        async def attempt(credentials: Credentials) -> PublishReceipt:
            channel = await self._channel(credentials, request.account)
            # Uploads make no post: a failed one is safe to retry, and leaves at most an
            # unused file in the team's Postiz media library.
            assets = await slot_media(request, self._media)
            images = [await self._upload(credentials, asset) for asset in assets]
            now = self._now()
            body: dict[str, Any] = {
                "type": "now",
                "date": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "shortLink": False,
                "tags": [],
                "posts": [
                    {
                        "integration": {"id": channel},
                        "group": group_id(request),
                        "value": [{"content": post_text(request), "image": images}],
                        "settings": {},
                    }
                ],
            }
            answer = await self._api.call(
                "POST", "/posts", headers=_auth(credentials), json=body, creates=True
            )
            if answer.status not in (200, 201):
                raise self._error(answer)
            created = answer.json()
            post_id = str(created[0].get("postId", "")) if isinstance(created, list) else ""
            if not post_id:
                raise OutcomeUnknown(f"Postiz answered {answer.status} without a post id")
            return await self._wait_published(credentials, post_id, now)

        return await with_token(self._refresher, request.account.id, attempt, platform="Postiz")

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The post in Herald's group created since `sent_at`; an ERROR one counts as not
        posted, a queued one as cannot tell. Raises NetworkError, RateLimited, AuthExpired,
        OutcomeUnknown."""
        group = group_id(request)

        async def attempt(credentials: Credentials) -> PublishReceipt | None:
            for post in await self._posts(credentials, sent_at):
                if post.get("group") != group:
                    continue
                state = post.get("state")
                if state == "PUBLISHED":
                    url = post.get("releaseURL")
                    return PublishReceipt(str(post["id"]), url or None, reconciled=True)
                if state in ("QUEUE", "DRAFT"):
                    raise OutcomeUnknown(f"Postiz still has the post {post['id']} queued")
            return None

        return await with_token(self._refresher, request.account.id, attempt, platform="Postiz")

    async def delete_post(self, account: Account, post_id: str) -> None:
        """`DELETE /posts/:id`: a soft delete inside Postiz (the platform post stays).
        Raises AuthExpired, NetworkError, UnknownPublishError."""

        async def attempt(credentials: Credentials) -> None:
            answer = await self._api.call("DELETE", f"/posts/{post_id}", headers=_auth(credentials))
            if answer.status not in (200, 204):
                raise self._error(answer)

        await with_token(self._refresher, account.id, attempt, platform="Postiz")

    async def _upload(self, credentials: Credentials, asset: MediaAsset) -> dict[str, str]:
        """`POST /upload` of one stored file; its `{id, path}` for the post's `image`.
        Raises ContentRejected (Postiz refused the file), NetworkError, Unauthorized."""
        if self._media is None:
            raise UnknownPublishError("the Postiz publisher has no media store to read files from")
        answer = await self._api.call(
            "POST", "/upload", headers=_auth(credentials), data=media_form(self._media, asset)
        )
        if answer.status in (400, 413, 415):
            body = answer.json()
            why = body.get("message") or body.get("msg") if isinstance(body, dict) else None
            name = asset.filename or asset.id
            raise ContentRejected(f"Postiz refused the file {name}: {why or short(answer.text)}")
        if answer.status not in (200, 201):
            raise self._error(answer)
        row = answer.json()
        if not isinstance(row, dict) or not row.get("id") or not row.get("path"):
            raise NetworkError(
                f"Postiz answered the upload without a media id: {short(answer.text)}"
            )
        return {"id": str(row["id"]), "path": str(row["path"])}

    async def _channel(self, credentials: Credentials, account: Account) -> str:
        if credentials.platform_user_id:
            return credentials.platform_user_id
        answer = await self._api.call("GET", "/integrations", headers=_auth(credentials))
        if answer.status != 200:
            raise self._error(answer)
        handle = account.handle.lstrip("@").lower()
        for channel in answer.json() or []:
            names = {str(channel.get(k, "")).lstrip("@").lower() for k in ("profile", "name")}
            if handle in names and not channel.get("disabled"):
                return str(channel["id"])
        raise UnknownPublishError(f"no enabled Postiz channel matches {account.handle}")

    async def _posts(self, credentials: Credentials, since: datetime) -> list[dict[str, Any]]:
        start = since - timedelta(minutes=5)
        end = self._now() + timedelta(hours=1)
        answer = await self._api.call(
            "GET",
            "/posts",
            headers=_auth(credentials),
            params={
                "startDate": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "endDate": end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
        )
        if answer.status != 200:
            error = self._error(answer)
            if isinstance(error, RateLimited | Unauthorized):
                raise error
            raise OutcomeUnknown(f"cannot list Postiz posts: {error}")
        return list(answer.json().get("posts") or [])

    async def _wait_published(
        self, credentials: Credentials, post_id: str, sent_at: datetime
    ) -> PublishReceipt:
        waited = 0.0
        while True:
            for post in await self._posts(credentials, sent_at):
                if str(post.get("id")) != post_id:
                    continue
                if post.get("state") == "PUBLISHED":
                    return PublishReceipt(post_id, post.get("releaseURL") or None)
                if post.get("state") == "ERROR":
                    raise platform_error(str(post.get("error") or "no reason given"))
            if waited >= self._wait:
                raise OutcomeUnknown(
                    f"Postiz accepted post {post_id} but did not publish it within {waited:.0f} s"
                )
            await asyncio.sleep(self._poll)
            waited += self._poll

    def _error(self, answer: ApiAnswer) -> Exception:
        body = answer.json()
        message = (
            str((body.get("msg") or body.get("message")) if isinstance(body, dict) else "")
            or short(answer.text)
            or f"HTTP {answer.status}"
        )
        if answer.status == 401:
            return Unauthorized(message)
        if answer.status == 429:
            delay = reset_after(answer.headers, self._now()) or timedelta(hours=1)
            return RateLimited(f"Postiz hourly API limit: {message}", retry_after=delay)
        if answer.status == 400:
            return ContentRejected(f"Postiz refused the post: {message}")
        if answer.status >= 500:
            return NetworkError(f"Postiz answered HTTP {answer.status}: {message}")
        return UnknownPublishError(f"Postiz answered HTTP {answer.status}: {message}")

    async def close(self) -> None:
        await self._api.close()


def _auth(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": credentials.access_token}
