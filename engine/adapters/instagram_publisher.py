"""`InstagramPublisher`: Reels and image posts through the Instagram Graph API.

Instagram pulls media from a public URL: Herald's signed link (`HERALD_PUBLIC_URL`) or the
user's own URL. A container is made (`POST /{ig-user}/media`), its id kept before anything
else, its `status_code` polled until FINISHED, then `media_publish` posts it. The account's
live `content_publishing_limit` is read first and used as its daily cap (PLATFORM-APIS §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from engine.adapters.media_http import (
    Answer,
    Http,
    MemoryPublishHandles,
    Unauthorized,
    post_text,
    slot_media,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
    ContentRejected,
    NetworkError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    UnknownPublishError,
)
from engine.media import MediaAsset, MediaKind
from engine.media_check import AccountLimits
from engine.ports import (
    Clock,
    MediaStore,
    PublishHandles,
    PublishReceipt,
    PublishRequest,
    TokenRefresher,
)
from engine.request import Content

_RATE_CODES = {4, 17, 32, 613}
_RESTRICTED = {2207050, 2207051}
_MEDIA_SUBCODES = {
    2207026,
    2207004,
    2207005,
    2207009,
    36003,
    2207010,
    2207052,
    2207077,
    2207003,
    2207020,
    2207028,
}


def instagram_error(answer: Answer) -> PublishError | Unauthorized:
    """Graph API's `{"error":{message,code,error_subcode}}` mapped onto Herald's tree."""
    body = answer.json()
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code, sub = error.get("code"), error.get("error_subcode")
    message = f"instagram {code}/{sub}: {error.get('message', answer.text())}"
    if code == 190 or answer.status == 401:
        return Unauthorized(message)
    if sub == 2207042 or code == 9:
        return RateLimited(message, retry_after=None)
    if code in _RATE_CODES:
        return RateLimited(message, retry_after=timedelta(hours=1))
    if sub in _RESTRICTED:
        return AccountSuspended(message)
    if sub in _MEDIA_SUBCODES or code == 100:
        return ContentRejected(message)
    if answer.status >= 500 or code in (1, 2):
        return NetworkError(message)
    return UnknownPublishError(message)


_NO_PUBLIC_URL = (
    "instagram pulls media from a public URL: set HERALD_PUBLIC_URL "
    "(and HERALD_MEDIA_SIGNING_KEY) or give the media as a URL"
)


class InstagramPublisher:
    """Publisher and Reconciler for Instagram professional accounts."""

    supports_idempotency = False

    def __init__(
        self,
        tokens: TokenRefresher,
        media: MediaStore,
        clock: Clock,
        *,
        base_url: str = "https://graph.facebook.com/v21.0",
        link_ttl_seconds: int = 3600,
        poll_interval_s: float = 60.0,
        max_polls: int = 5,
        handles: PublishHandles | None = None,
        http: Http | None = None,
    ) -> None:
        self._tokens, self._media, self._clock = tokens, media, clock
        self._base = base_url.rstrip("/")
        self._ttl = link_ttl_seconds
        # Meta advises a poll a minute for up to five minutes. The dispatcher renews its
        # claim while a publish runs (engine.lease_keeper), so the wait may outlast a lease.
        self._poll, self._max_polls = poll_interval_s, max_polls
        # The container id, kept before media_publish (the Reconciler asks it).
        self.handles = handles or MemoryPublishHandles()
        self._http = http or Http("instagram")

    async def close(self) -> None:
        await self._http.close()

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Raises RateLimited, AccountSuspended, AuthExpired, ContentRejected, NetworkError,
        OutcomeUnknown, UnknownPublishError."""
        media = await slot_media(request, self._media)
        if not media:
            raise ContentRejected("instagram takes no post without an image or a video")
        return await with_token(
            self._tokens,
            request.account.id,
            lambda c: self._publish(c, request, media),
            platform="instagram",
        )

    async def account_limits(self, account_id: str) -> AccountLimits:
        """The account's live publishing cap (content_publishing_limit's quota_total)."""
        limit = await with_token(self._tokens, account_id, self._limit, platform="instagram")
        return AccountLimits(max_posts_per_day=int(limit["config"]["quota_total"]))

    async def _call(self, method: str, path: str, creds: Credentials, **params: str) -> Any:
        params["access_token"] = creds.access_token
        url = f"{self._base}/{path}"
        if method == "GET":
            answer = await self._http.call("GET", url, params=params)
        else:
            answer = await self._http.call(
                method, url, data=params, creates=path.endswith("media_publish")
            )
        if answer.status != 200:
            raise instagram_error(answer)
        return answer.json()

    async def _limit(self, creds: Credentials) -> dict[str, Any]:
        body = await self._call(
            "GET",
            f"{creds.platform_user_id}/content_publishing_limit",
            creds,
            fields="quota_usage,config",
        )
        return dict((body.get("data") or [{}])[0])

    async def _publish(
        self, creds: Credentials, request: PublishRequest, media: list[MediaAsset]
    ) -> PublishReceipt:
        user = creds.platform_user_id
        limit = await self._limit(creds)
        total = int(limit.get("config", {}).get("quota_total", 25))
        if int(limit.get("quota_usage", 0)) >= total:
            raise RateLimited(
                f"instagram: {user} used its {total} API posts of the last 24 h",
                retry_after=timedelta(hours=1),
            )
        caption = post_text(request)
        container = await self._container(creds, request, media, caption)
        await self.handles.remember(request.slot_id, "instagram", container)
        await self._wait_finished(creds, container)
        try:
            body = await self._call("POST", f"{user}/media_publish", creds, creation_id=container)
        except (NetworkError, OutcomeUnknown):
            # The publish may have happened: the container's status says.
            status = await self._status(creds, container)
            if status.get("status_code") != "PUBLISHED":
                raise
            found = await self._find_media(creds, request, caption)
            if found is None:
                raise OutcomeUnknown(
                    "instagram: container PUBLISHED, post not listed yet"
                ) from None
            return found
        media_id = str(body["id"])
        return PublishReceipt(media_id, await self._permalink(creds, media_id))

    async def _container(
        self, creds: Credentials, request: PublishRequest, media: list[MediaAsset], caption: str
    ) -> str:
        user = creds.platform_user_id
        story = request.content_type == "story"
        if len(media) == 1:
            asset = media[0]
            params = {"caption": caption} if not story else {}
            if asset.kind is MediaKind.VIDEO:
                params |= {
                    "media_type": "STORIES" if story else "REELS",
                    "video_url": self._url(request, asset),
                }
                if not story:
                    params["share_to_feed"] = "true"
            else:
                params["image_url"] = self._url(request, asset)
                if story:
                    params["media_type"] = "STORIES"
            return str((await self._call("POST", f"{user}/media", creds, **params))["id"])
        if any(m.kind is MediaKind.VIDEO for m in media):
            raise ContentRejected("instagram: a video is posted alone")
        children = []
        for asset in media:
            body = await self._call(
                "POST",
                f"{user}/media",
                creds,
                image_url=self._url(request, asset),
                is_carousel_item="true",
            )
            children.append(str(body["id"]))
        for child in children:
            await self._wait_finished(creds, child)
        body = await self._call(
            "POST",
            f"{user}/media",
            creds,
            media_type="CAROUSEL",
            children=",".join(children),
            caption=caption,
        )
        return str(body["id"])

    def _url(self, request: PublishRequest, asset: MediaAsset) -> str:
        url = self._pull_url(asset, request.content)
        if url is None:
            raise ContentRejected(_NO_PUBLIC_URL)
        return url

    def _pull_url(self, asset: MediaAsset, content: Content) -> str | None:
        """Where Instagram can pull `asset` from: Herald's signed link, else the user's URL."""
        url = self._media.signed_url(asset.id, ttl_seconds=self._ttl)
        for candidate in (url, asset.source_url, content.media_url):
            if candidate and candidate.startswith(("https://", "http://")):
                return candidate
        return None

    def media_problem(self, media: Sequence[MediaAsset], content: Content) -> str | None:
        """Plan time: the reason every post would fail when a file has no public URL."""
        if any(self._pull_url(asset, content) is None for asset in media):
            return _NO_PUBLIC_URL
        return None

    async def _status(self, creds: Credentials, container: str) -> dict[str, Any]:
        return dict(await self._call("GET", container, creds, fields="status_code,status"))

    async def _wait_finished(self, creds: Credentials, container: str) -> None:
        for _ in range(self._max_polls + 1):
            status = await self._status(creds, container)
            code = status.get("status_code")
            if code == "FINISHED":
                return
            if code == "ERROR":
                raise ContentRejected(
                    f"instagram could not process the media: {status.get('status', '?')}"
                )
            if code == "EXPIRED":
                raise ContentRejected("instagram container expired before it was published")
            await self._clock.sleep(self._poll)
        # Nothing was published (a container is not a post): a later retry may work.
        raise NetworkError("instagram is still processing the media; try again later")

    async def _permalink(self, creds: Credentials, media_id: str) -> str | None:
        try:
            body = await self._call("GET", media_id, creds, fields="permalink")
        except PublishError:
            return None  # the post exists; its link is a nicety
        return body.get("permalink")

    async def _find_media(
        self, creds: Credentials, request: PublishRequest, caption: str
    ) -> PublishReceipt | None:
        body = await self._call(
            "GET", f"{creds.platform_user_id}/media", creds, fields="id,caption,timestamp"
        )
        for item in body.get("data", []):
            if item.get("caption", "").strip() == caption.strip():
                media_id = str(item["id"])
                link = await self._permalink(creds, media_id)
                return PublishReceipt(media_id, link, reconciled=True)
        return None

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The post of an in-doubt slot: its container's status when known (PUBLISHED means
        posted), else the account's recent media matched on the caption. Raises
        OutcomeUnknown, NetworkError, RateLimited, AuthExpired."""
        container = await self.handles.recall(request.slot_id, "instagram")
        caption = post_text(request)

        async def look(creds: Credentials) -> PublishReceipt | None:
            if container is not None:
                status = await self._status(creds, container)
                if status.get("status_code") != "PUBLISHED":
                    return None
                found = await self._find_media(creds, request, caption)
                if found is None:
                    raise OutcomeUnknown("instagram: container PUBLISHED, post not listed yet")
                return found
            return await self._find_media(creds, request, caption)

        return await with_token(self._tokens, request.account.id, look, platform="instagram")
