"""`MixpostPublisher`: posts through a Mixpost Pro/Enterprise workspace (`/api/{workspace}`).

The account maps to a Mixpost account (the connection's id, else by username); the post is
created with `schedule_now` and polled until `published` or `failed`/`error`. Each post is
tagged by body text; reconciliation lists the workspace's posts with the text as keyword.
A slot's media are uploaded first (`POST /api/{ws}/media`, multipart `file`, streamed from
the media store) and named by their Mixpost ids in the post's `content[0].media`.
"""

from __future__ import annotations

import asyncio
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
    same_text,
    short,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AuthExpired,
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

FAILED = ("failed", "error")


class MixpostPublisher:
    """Mixpost API publisher and reconciler (see module docstring)."""

    supports_idempotency = False
    name = "mixpost"

    def __init__(
        self,
        refresher: TokenRefresher,
        *,
        base_url: str,
        workspace: str,
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
            base_url, name="Mixpost", timeout_seconds=timeout_seconds, session=session
        )
        self._media = media
        self._ws = f"/api/{workspace}"
        self._poll = poll_seconds
        self._wait = wait_seconds
        self.visibility_delay = visibility_delay
        self._now = clock_now(clock)

    def __repr__(self) -> str:
        return f"MixpostPublisher({redact_url(self._api.base_url)!r})"

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Create the post, publish it now and wait for the result. Raises RateLimited,
        AuthExpired, AccountSuspended, DuplicateContent, ContentRejected, NetworkError,
        OutcomeUnknown."""

        async def attempt(credentials: Credentials) -> PublishReceipt:
            account_id = await self._account(credentials, request.account)
            # Uploads make no post: a failed one is safe to retry.
            assets = await slot_media(request, self._media)
            media = [await self._upload(credentials, asset) for asset in assets]
            body: dict[str, Any] = {
                "schedule_now": True,
                "accounts": [account_id],
                "tags": [],
                "versions": [
                    {
                        "account_id": 0,
                        "is_original": True,
                        "content": [{"body": post_text(request), "media": media}],
                        "options": {},
                    }
                ],
            }
            answer = await self._api.call(
                "POST", f"{self._ws}/posts", headers=_auth(credentials), json=body, creates=True
            )
            if answer.status not in (200, 201):
                raise self._error(answer)
            post = answer.json()
            post = post.get("data", post) if isinstance(post, dict) else {}
            uuid = str(post.get("uuid") or "")
            if not uuid:
                raise OutcomeUnknown(f"Mixpost answered {answer.status} without a post uuid")
            return await self._wait_published(credentials, uuid)

        return await with_token(self._refresher, request.account.id, attempt, platform="Mixpost")

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """A post with exactly this text created since `sent_at` (`keyword` search).
        Raises NetworkError, RateLimited, AuthExpired, OutcomeUnknown."""
        wanted = post_text(request)
        since = sent_at - timedelta(seconds=5)

        async def attempt(credentials: Credentials) -> PublishReceipt | None:
            answer = await self._api.call(
                "GET",
                f"{self._ws}/posts",
                headers=_auth(credentials),
                params={"keyword": wanted[:100]},
            )
            if answer.status != 200:
                error = self._error(answer)
                if isinstance(error, RateLimited | Unauthorized):
                    raise error
                raise OutcomeUnknown(f"cannot list Mixpost posts: {error}")
            for post in answer.json().get("data") or []:
                created = _created_at(post)
                if (created is not None and created < since) or not same_text(_body(post), wanted):
                    continue
                status = str(post.get("status", "")).lower()
                if status == "published":
                    return PublishReceipt(str(post["uuid"]), None, reconciled=True)
                if status not in FAILED:
                    raise OutcomeUnknown(f"Mixpost post {post['uuid']} is still {status}")
            return None

        return await with_token(self._refresher, request.account.id, attempt, platform="Mixpost")

    async def delete_post(self, account: Account, post_id: str) -> None:
        """`DELETE /api/{ws}/posts/{uuid}` with `delete_mode=app_and_social` (also removes
        it from the network). Raises AuthExpired, NetworkError, UnknownPublishError."""

        async def attempt(credentials: Credentials) -> None:
            answer = await self._api.call(
                "DELETE",
                f"{self._ws}/posts/{post_id}",
                headers=_auth(credentials),
                json={"trash": False, "delete_mode": "app_and_social"},
            )
            if answer.status not in (200, 204):
                raise self._error(answer)

        await with_token(self._refresher, account.id, attempt, platform="Mixpost")

    async def _upload(self, credentials: Credentials, asset: MediaAsset) -> int:
        """`POST /api/{ws}/media` of one stored file; its Mixpost id. Raises ContentRejected
        (Mixpost refused the file), NetworkError, Unauthorized, AuthExpired."""
        if self._media is None:
            raise UnknownPublishError("the Mixpost publisher has no media store to read files from")
        answer = await self._api.call(
            "POST",
            f"{self._ws}/media",
            headers=_auth(credentials),
            data=media_form(self._media, asset),
        )
        if answer.status in (413, 422):
            body = answer.json()
            why = body.get("message") if isinstance(body, dict) else None
            name = asset.filename or asset.id
            raise ContentRejected(f"Mixpost refused the file {name}: {why or short(answer.text)}")
        if answer.status not in (200, 201):
            raise self._error(answer)
        media = answer.json()
        media = media.get("data", media) if isinstance(media, dict) else {}
        media_id = str(media.get("id", ""))
        if not media_id.isdigit():
            raise NetworkError(
                f"Mixpost answered the upload without a media id: {short(answer.text)}"
            )
        return int(media_id)

    async def _account(self, credentials: Credentials, account: Account) -> int:
        if credentials.platform_user_id.isdigit():
            return int(credentials.platform_user_id)
        answer = await self._api.call("GET", f"{self._ws}/accounts", headers=_auth(credentials))
        if answer.status != 200:
            raise self._error(answer)
        handle = account.handle.lstrip("@").lower()
        for item in answer.json().get("data") or []:
            if str(item.get("username", "")).lstrip("@").lower() == handle:
                if item.get("authorized") is False:
                    raise AuthExpired(f"Mixpost account {account.handle} needs reconnecting")
                return int(item["id"])
        raise UnknownPublishError(f"no Mixpost account matches {account.handle}")

    async def _wait_published(self, credentials: Credentials, uuid: str) -> PublishReceipt:
        waited = 0.0
        while True:
            answer = await self._api.call(
                "GET", f"{self._ws}/posts/{uuid}", headers=_auth(credentials)
            )
            if answer.status != 200:
                raise self._error(answer)
            post = answer.json()
            post = post.get("data", post)
            status = str(post.get("status", "")).lower()
            if status == "published":
                return PublishReceipt(uuid, _url(post))
            if status in FAILED:
                errors = post.get("errors") or post.get("error") or "no reason given"
                raise platform_error(str(errors))
            if waited >= self._wait:
                raise OutcomeUnknown(
                    f"Mixpost accepted post {uuid} but did not publish it within {waited:.0f} s"
                )
            await asyncio.sleep(self._poll)
            waited += self._poll

    def _error(self, answer: ApiAnswer) -> Exception:
        body = answer.json()
        message = str(body.get("message", "") if isinstance(body, dict) else "") or short(
            answer.text
        )
        if answer.status == 401:
            return Unauthorized(message or "HTTP 401")
        if answer.status == 403:
            return AuthExpired(f"Mixpost token may not do this (make a new one): {message}")
        if answer.status == 429:
            return RateLimited(
                f"Mixpost rate limit: {message}",
                retry_after=reset_after(answer.headers, self._now()),
            )
        if answer.status == 422:
            return ContentRejected(f"Mixpost refused the post: {message}")
        if answer.status >= 500:
            return NetworkError(f"Mixpost answered HTTP {answer.status}: {message}")
        return UnknownPublishError(f"Mixpost answered HTTP {answer.status}: {message}")

    async def close(self) -> None:
        await self._api.close()


def _created_at(post: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(post.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None  # unreadable: match on the text alone


def _body(post: dict[str, Any]) -> str:
    for version in post.get("versions") or []:
        for item in version.get("content") or []:
            return str(item.get("body", ""))
    return ""


def _url(post: dict[str, Any]) -> str | None:
    for account in post.get("accounts") or []:
        url = account.get("external_url") or (account.get("pivot") or {}).get("external_url")
        if url:
            return str(url)
    return None


def _auth(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {credentials.access_token}", "Accept": "application/json"}
