"""`TikTokPublisher`: Direct Post through TikTok's Content Posting API.

Ask creator_info for the account's privacy options and longest video, init the post (pull
from Herald's signed link or the user's URL when the domain is verified, else a chunked
FILE_UPLOAD of 5-64 MB chunks streamed from the media store), keep the `publish_id`, then
poll status/fetch. An unaudited client may post only SELF_ONLY (private) to private
accounts: with `private_only` every post asks for SELF_ONLY (PLATFORM-APIS.md §5).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.adapters.media_http import (
    Answer,
    Http,
    MemoryPublishHandles,
    Unauthorized,
    byte_range,
    post_text,
    slot_media,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
    AuthExpired,
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

MB = 1024 * 1024
CHUNK = 10 * MB  # within TikTok's 5-64 MB; the last chunk takes the remainder (< 128 MB)
_RATE = {
    "rate_limit_exceeded": timedelta(minutes=1),
    "spam_risk_too_many_posts": timedelta(hours=24),
    "spam_risk_too_many_pending_share": timedelta(hours=1),
    "reached_active_user_cap": timedelta(hours=24),
}
_REJECTED = {
    "spam_risk_text",
    "unaudited_client_can_only_post_to_private_accounts",
    "url_ownership_unverified",
    "privacy_level_option_mismatch",
    "invalid_params",
    "invalid_file_upload",
    "file_format_check_failed",
    "duration_check_failed",
    "frame_rate_check_failed",
    "picture_size_check_failed",
    "video_pull_failed",
}
_PROCESSING = {"PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX"}


def tiktok_error(code: str, message: str, status: int) -> PublishError | Unauthorized:
    """TikTok's `error.code` mapped onto Herald's tree."""
    text = f"tiktok {code}: {message}"
    if code == "access_token_invalid" or (status == 401 and not code.startswith("scope")):
        return Unauthorized(text)
    if code in ("scope_not_authorized", "scope_permission_missed"):
        return AuthExpired(f"{text} (reconnect the account to grant video.publish)")
    if code in _RATE:
        return RateLimited(text, retry_after=_RATE[code])
    if code == "spam_risk_user_banned_from_posting":
        return AccountSuspended(text)
    if code == "unaudited_client_can_only_post_to_private_accounts":
        return ContentRejected(
            f"{text}: until Herald's TikTok client passes TikTok's audit, posts are private "
            "(SELF_ONLY) and the TikTok account itself must be private"
        )
    if code in _REJECTED:
        return ContentRejected(text)
    if status >= 500 or code == "internal_error":
        return NetworkError(text)
    return UnknownPublishError(text)


class TikTokPublisher:
    """Publisher and Reconciler for TikTok (see module docstring)."""

    supports_idempotency = False

    def __init__(
        self,
        tokens: TokenRefresher,
        media: MediaStore,
        clock: Clock,
        *,
        base_url: str = "https://open.tiktokapis.com",
        private_only: bool = True,
        privacy_level: str = "PUBLIC_TO_EVERYONE",
        pull_prefixes: tuple[str, ...] = (),
        chunk_size: int = CHUNK,
        link_ttl_seconds: int = 3600,
        poll_interval_s: float = 10.0,
        max_polls: int = 12,
        handles: PublishHandles | None = None,
        http: Http | None = None,
    ) -> None:
        if not 5 * MB <= chunk_size <= 64 * MB:
            raise ValueError("TikTok chunks are 5-64 MB")
        self._tokens, self._media, self._clock = tokens, media, clock
        self._base = base_url.rstrip("/")
        self._private_only = private_only
        self._privacy = privacy_level
        # URL prefixes verified with TikTok for PULL_FROM_URL (Herald's public URL, say).
        self._pull_prefixes = pull_prefixes
        self._chunk = chunk_size
        self._ttl = link_ttl_seconds
        self._poll, self._max_polls = poll_interval_s, max_polls
        # The publish_id, kept before any byte is uploaded (the Reconciler asks it).
        self.handles = handles or MemoryPublishHandles()
        self._http = http or Http("tiktok")

    async def close(self) -> None:
        await self._http.close()

    async def _api(
        self, creds: Credentials, path: str, body: dict[str, Any], *, creates: bool = False
    ) -> dict[str, Any]:
        answer = await self._http.call(
            "POST",
            f"{self._base}{path}",
            headers={
                "Authorization": f"Bearer {creds.access_token}",
                "Content-Type": "application/json; charset=UTF-8",
            },
            json=body,
            creates=creates,
        )
        payload = answer.json() if isinstance(answer.json(), dict) else {}
        error = payload.get("error", {})
        code = str(error.get("code", "ok" if answer.status == 200 else "http_error"))
        if answer.status != 200 or code != "ok":
            raise tiktok_error(code, str(error.get("message", answer.text())), answer.status)
        return dict(payload.get("data", {}))

    async def creator_info(self, creds: Credentials) -> dict[str, Any]:
        return await self._api(creds, "/v2/post/publish/creator_info/query/", {})

    async def account_limits(self, account_id: str) -> AccountLimits:
        """The creator's longest video and privacy options, read live (creator_info), and
        the privacy level this publisher would ask for."""
        info = await with_token(self._tokens, account_id, self.creator_info, platform="tiktok")
        longest = info.get("max_video_post_duration_sec")
        return AccountLimits(
            max_video_duration_s=float(longest) if longest else None,
            privacy_options=tuple(info.get("privacy_level_options", ())),
            post_privacy="SELF_ONLY" if self._private_only else self._privacy,
        )

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Raises RateLimited, AccountSuspended, AuthExpired, ContentRejected, NetworkError,
        OutcomeUnknown, UnknownPublishError."""
        media = await slot_media(request, self._media)
        if len(media) != 1 or media[0].kind is not MediaKind.VIDEO:
            raise ContentRejected("tiktok Direct Post here takes exactly one video")
        video = media[0]
        account = request.account.id
        publish_id, upload_url = await with_token(
            self._tokens, account, lambda c: self._init(c, request, video), platform="tiktok"
        )
        await self.handles.remember(request.slot_id, "tiktok", publish_id)
        if upload_url is not None:
            await self._upload(account, publish_id, upload_url, video)
        return await self._wait(account, request, publish_id)

    async def _init(
        self, creds: Credentials, request: PublishRequest, video: MediaAsset
    ) -> tuple[str, str | None]:
        info = await self.creator_info(creds)
        options = list(info.get("privacy_level_options", []))
        privacy = "SELF_ONLY" if self._private_only else self._privacy
        if privacy not in options:
            raise ContentRejected(
                f"tiktok: {request.account.handle} offers {', '.join(options) or 'no'} privacy "
                f"levels, not {privacy}"
            )
        longest = info.get("max_video_post_duration_sec")
        if longest and video.duration_s and video.duration_s > float(longest):
            raise ContentRejected(
                f"tiktok: the video is {video.duration_s:.0f} s, over this creator's {longest} s"
            )
        post_info = {
            "title": post_text(request)[:2200],
            "privacy_level": privacy,
            "disable_comment": bool(info.get("comment_disabled", False)),
            "disable_duet": bool(info.get("duet_disabled", False)),
            "disable_stitch": bool(info.get("stitch_disabled", False)),
            "video_cover_timestamp_ms": 1000,
        }
        url = self._pull_url(request, video)
        if url is not None:
            # The pull starts the post at once: a lost answer means it may exist.
            data = await self._api(
                creds,
                "/v2/post/publish/video/init/",
                {
                    "post_info": post_info,
                    "source_info": {"source": "PULL_FROM_URL", "video_url": url},
                },
                creates=True,
            )
            return str(data["publish_id"]), None
        size = video.size_bytes
        chunk = size if size < 5 * MB else self._chunk
        count = max(1, size // chunk)
        source = {
            "source": "FILE_UPLOAD",
            "video_size": size,
            "chunk_size": chunk,
            "total_chunk_count": count,
        }
        data = await self._api(
            creds, "/v2/post/publish/video/init/", {"post_info": post_info, "source_info": source}
        )
        return str(data["publish_id"]), str(data["upload_url"])

    def _pull_url(self, request: PublishRequest, video: MediaAsset) -> str | None:
        """A URL TikTok may pull from: only under a prefix verified with TikTok."""
        for url in (
            self._media.signed_url(video.id, ttl_seconds=self._ttl),
            video.source_url,
            request.content.media_url,
        ):
            if url and any(url.startswith(p) for p in self._pull_prefixes):
                return url
        return None

    async def _upload(self, account: str, publish_id: str, url: str, video: MediaAsset) -> None:
        """PUT the chunks in order (206 each, 201 at the end), each streamed from the store."""
        size = video.size_bytes
        chunk = size if size < 5 * MB else self._chunk
        count = max(1, size // chunk)
        for index in range(count):
            first = index * chunk
            last = size - 1 if index == count - 1 else first + chunk - 1
            for attempt in range(4):
                try:
                    answer = await self._put(url, video, first, last, size)
                except (NetworkError, OutcomeUnknown):
                    if attempt == 3:
                        raise OutcomeUnknown("tiktok upload kept dropping") from None
                    await self._clock.sleep(2.0**attempt)
                    # Ask what arrived before sending the chunk again (status/fetch's
                    # uploaded_bytes): it may all be there, or the upload already done.
                    status = await self._fetch(account, publish_id)
                    if status.get("status") != "PROCESSING_UPLOAD":
                        return
                    if int(status.get("uploaded_bytes", 0)) > last:
                        break
                    continue
                if answer.status in (201, 206):
                    break
                error = answer.json().get("error", {}) if isinstance(answer.json(), dict) else {}
                raised = tiktok_error(
                    str(error.get("code", "http_error")), answer.text(), answer.status
                )
                raise raised if isinstance(raised, PublishError) else NetworkError(str(raised))

    async def _put(self, url: str, video: MediaAsset, first: int, last: int, size: int) -> Answer:
        return await self._http.call(
            "PUT",
            url,
            headers={
                "Content-Type": video.mime_type,
                "Content-Length": str(last - first + 1),
                "Content-Range": f"bytes {first}-{last}/{size}",
            },
            data=byte_range(self._media, video.id, first, last - first + 1),
            creates=True,
        )

    async def _fetch(self, account: str, publish_id: str) -> dict[str, Any]:
        return await with_token(
            self._tokens,
            account,
            lambda c: self._api(c, "/v2/post/publish/status/fetch/", {"publish_id": publish_id}),
            platform="tiktok",
        )

    async def _wait(self, account: str, request: PublishRequest, publish_id: str) -> PublishReceipt:
        for _ in range(self._max_polls):
            status = await self._fetch(account, publish_id)
            state = status.get("status")
            if state == "PUBLISH_COMPLETE":
                return self._receipt(request, publish_id, status)
            if state == "FAILED":
                reason = str(status.get("fail_reason", "unknown"))
                raised = tiktok_error(reason, "the post failed", 200)
                raise raised if isinstance(raised, PublishError) else ContentRejected(reason)
            await self._clock.sleep(self._poll)
        # Uploaded and in moderation (which can take hours): the post is on its way.
        return PublishReceipt(publish_id, None)

    def _receipt(
        self,
        request: PublishRequest,
        publish_id: str,
        status: dict[str, Any],
        *,
        reconciled: bool = False,
    ) -> PublishReceipt:
        ids = status.get("publicaly_available_post_id") or []
        if not ids:
            # Private (SELF_ONLY) posts have no public id: the publish id stands for it.
            return PublishReceipt(publish_id, None, reconciled=reconciled)
        handle = request.account.handle.lstrip("@")
        return PublishReceipt(
            str(ids[0]), f"https://www.tiktok.com/@{handle}/video/{ids[0]}", reconciled=reconciled
        )

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The post of an in-doubt slot from its publish_id's status. Without one (init
        itself was lost) TikTok cannot tell: OutcomeUnknown. Raises NetworkError,
        RateLimited, AuthExpired."""
        publish_id = await self.handles.recall(request.slot_id, "tiktok")
        if publish_id is None:
            raise OutcomeUnknown("tiktok: no publish id was kept for this slot; check the app")
        status = await self._fetch(request.account.id, publish_id)
        state = status.get("status")
        if state == "PUBLISH_COMPLETE" or state in _PROCESSING:
            return self._receipt(request, publish_id, status, reconciled=True)
        return None  # FAILED, or an upload that never finished: no post
