"""`YouTubePublisher`: a slot's video through the YouTube Data API v3 resumable upload.

Open a session (`POST …/videos?uploadType=resumable`, metadata and privacy status), then PUT
the file in 8 MiB chunks (multiples of 256 KiB) read from the media store; a `308` says how
much arrived. After a dropped connection or a 5xx the session is asked what it holds
(`Content-Range: bytes */N`) before anything is sent again. Then `videos.list` is polled
until processing ends. Unverified API projects post private only (PLATFORM-APIS.md §3).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.adapters.media_http import (
    Answer,
    Http,
    MemoryPublishHandles,
    Unauthorized,
    byte_range,
    herald_tag,
    post_text,
    slot_media,
    with_token,
)
from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
    ContentRejected,
    DuplicateContent,
    NetworkError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    UnknownPublishError,
)
from engine.media import MediaAsset, MediaKind
from engine.ports import (
    Clock,
    MediaStore,
    PublishHandles,
    PublishReceipt,
    PublishRequest,
    TokenRefresher,
)

CHUNK = 32 * 256 * 1024  # 8 MiB: a multiple of 256 KiB, as the protocol requires
PACIFIC = ZoneInfo("America/Los_Angeles")
_SUSPENDED = {"authenticatedUserAccountSuspended", "authenticatedUserAccountClosed"}
_REJECTED = {
    "invalidTitle",
    "invalidDescription",
    "invalidTags",
    "invalidCategoryId",
    "invalidPublishAt",
    "mediaBodyRequired",
    "invalidVideoMetadata",
}


def youtube_error(answer: Answer, now: datetime) -> PublishError:
    """Google's error body mapped onto Herald's tree (docs/media.md lists the reasons)."""
    error = answer.json().get("error", {}) if isinstance(answer.json(), dict) else {}
    reasons = {e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)}
    message = f"youtube {answer.status} {','.join(sorted(reasons)) or ''}: " + str(
        error.get("message", answer.text())
    )
    if "quotaExceeded" in reasons:
        # The project's daily quota resets at midnight Pacific time.
        local = now.astimezone(PACIFIC)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return RateLimited(message, retry_after=midnight - local)
    if "uploadLimitExceeded" in reasons:
        return RateLimited(message, retry_after=timedelta(hours=24))
    if "rateLimitExceeded" in reasons or answer.status == 429:
        return RateLimited(message, retry_after=None)
    if reasons & _SUSPENDED or "youtubeSignupRequired" in reasons:
        return AccountSuspended(message)
    if reasons & _REJECTED:
        return ContentRejected(message)
    if answer.status >= 500:
        return NetworkError(message)
    return UnknownPublishError(message)


class YouTubePublisher:
    """Publisher and Reconciler for YouTube (see module docstring)."""

    supports_idempotency = False

    def __init__(
        self,
        tokens: TokenRefresher,
        media: MediaStore,
        clock: Clock,
        *,
        base_url: str = "https://www.googleapis.com",
        privacy_status: str = "public",
        private_only: bool = True,
        chunk_size: int = CHUNK,
        processing_timeout_s: float = 60.0,
        poll_interval_s: float = 10.0,
        max_resumes: int = 5,
        handles: PublishHandles | None = None,
        http: Http | None = None,
    ) -> None:
        if chunk_size % (256 * 1024):
            raise ValueError("YouTube chunks must be multiples of 256 KiB")
        self._tokens, self._media, self._clock = tokens, media, clock
        self._base = base_url.rstrip("/")
        self._privacy = "private" if private_only else privacy_status
        self._chunk = chunk_size
        self._processing_timeout = processing_timeout_s
        self._poll = poll_interval_s
        self._max_resumes = max_resumes
        # The session URI is kept before the first byte is sent, so an in-doubt slot can be
        # asked about (Reconciler), after a restart too when the handles are stored.
        self.handles = handles or MemoryPublishHandles()
        self._http = http or Http("youtube")

    async def close(self) -> None:
        await self._http.close()

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Raises RateLimited, AccountSuspended, AuthExpired, DuplicateContent,
        ContentRejected, NetworkError, OutcomeUnknown, UnknownPublishError."""
        video = self._one_video(await slot_media(request, self._media))
        account = request.account.id
        session = await with_token(
            self._tokens,
            account,
            lambda c: self._open(c, request, video),
            platform="youtube",
        )
        await self.handles.remember(request.slot_id, "youtube", f"{video.size_bytes} {session}")
        resource = await self._upload(account, session, video)
        return await self._settle(account, resource)

    def _one_video(self, media: list[MediaAsset]) -> MediaAsset:
        videos = [m for m in media if m.kind is MediaKind.VIDEO]
        if len(videos) != 1 or len(media) != 1:
            raise ContentRejected("youtube takes exactly one video per post")
        return videos[0]

    def _auth(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}"}

    async def _open(self, creds: Credentials, request: PublishRequest, video: MediaAsset) -> str:
        text = post_text(request)
        title = (request.caption.strip().splitlines() or ["video"])[0]
        title = title.replace("<", "").replace(">", "")[:100].strip() or "video"
        metadata = {
            "snippet": {
                "title": title,
                "description": text[:5000],
                "tags": [*(t.lstrip("#") for t in request.hashtags), herald_tag(request)],
                "categoryId": "22",
            },
            "status": {"privacyStatus": self._privacy, "selfDeclaredMadeForKids": False},
        }
        answer = await self._http.call(
            "POST",
            f"{self._base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
            headers={
                **self._auth(creds),
                "X-Upload-Content-Length": str(video.size_bytes),
                "X-Upload-Content-Type": video.mime_type,
            },
            json=metadata,
        )
        if answer.status == 401:
            raise Unauthorized("401 on opening the upload session")
        location = answer.header("location")
        if answer.status != 200 or not location:
            raise youtube_error(answer, self._clock.now())
        return location

    async def _upload(self, account: str, session: str, video: MediaAsset) -> dict[str, Any]:
        """Send the file from wherever the session stands; the video resource at the end."""
        total = video.size_bytes
        offset, resumes = 0, 0
        while True:
            try:
                answer = await self._send_from(account, session, video, offset)
            except (NetworkError, OutcomeUnknown) as exc:
                # Dropped or timed out mid-chunk: the session knows what it got.
                resumes += 1
                if resumes > self._max_resumes:
                    raise OutcomeUnknown(f"youtube upload kept failing: {exc}") from None
                await self._clock.sleep(min(2.0**resumes, 60.0))
                answer = await self._ask(account, session, total)
            if answer.status in (200, 201):
                return dict(answer.json())
            if answer.status == 308:
                offset = _received(answer)
                continue
            if answer.status >= 500:
                resumes += 1
                if resumes > self._max_resumes:
                    raise OutcomeUnknown(f"youtube upload answered {answer.status} repeatedly")
                await self._clock.sleep(min(2.0**resumes, 60.0))
                answer = await self._ask(account, session, total)
                if answer.status in (200, 201):
                    return dict(answer.json())
                if answer.status == 308:
                    offset = _received(answer)
                    continue
            if answer.status == 404:
                raise NetworkError("youtube upload session expired before the upload finished")
            raise youtube_error(answer, self._clock.now())

    async def _send_from(
        self, account: str, session: str, video: MediaAsset, offset: int
    ) -> Answer:
        """PUT chunks from `offset` until the platform answers anything but a 308."""
        total = video.size_bytes
        position = offset
        while True:
            last = min(position + self._chunk, total) - 1
            headers = {
                "Content-Range": f"bytes {position}-{last}/{total}",
                "Content-Length": str(last - position + 1),
            }

            async def put(
                creds: Credentials, first: int = position, h: dict[str, str] = headers
            ) -> Answer:
                # A streamed body is read once: aiohttp cannot re-send it by itself after a
                # dropped connection (it would for bytes), so a resend is always ours, after
                # asking the session what it holds.
                body = byte_range(self._media, video.id, first, int(h["Content-Length"]))
                reply = await self._http.call(
                    "PUT", session, headers={**h, **self._auth(creds)}, data=body, creates=True
                )
                if reply.status == 401:
                    raise Unauthorized("401 on an upload chunk")
                return reply

            answer = await with_token(self._tokens, account, put, platform="youtube")
            if answer.status != 308 or _received(answer) != last + 1 or last + 1 >= total:
                return answer
            position = last + 1

    async def _ask(self, account: str, session: str, total: int) -> Answer:
        """The session's state: 308 + Range (incomplete) or 200/201 + the video."""

        async def query(creds: Credentials) -> Answer:
            reply = await self._http.call(
                "PUT",
                session,
                headers={"Content-Range": f"bytes */{total}", **self._auth(creds)},
                data=b"",
            )
            if reply.status == 401:
                raise Unauthorized("401 on the upload status query")
            return reply

        return await with_token(self._tokens, account, query, platform="youtube")

    async def _settle(self, account: str, resource: dict[str, Any]) -> PublishReceipt:
        """Poll processing until it ends (or times out: the video exists, so it is posted)."""
        video_id = str(resource.get("id", ""))
        if not video_id:
            raise OutcomeUnknown("youtube finished the upload without a video id")
        status = resource.get("status", {})
        waited = 0.0
        while status.get("uploadStatus", "uploaded") == "uploaded":
            if waited >= self._processing_timeout:
                break
            await self._clock.sleep(self._poll)
            waited += self._poll
            status = await self._status(account, video_id)
        state = status.get("uploadStatus")
        if state == "rejected":
            reason = status.get("rejectionReason", "")
            if reason == "duplicate":
                raise DuplicateContent("youtube rejected the video as a duplicate")
            raise ContentRejected(f"youtube rejected the video: {reason}")
        if state == "failed":
            raise ContentRejected(
                f"youtube could not process the video: {status.get('failureReason', '?')}"
            )
        return PublishReceipt(video_id, f"https://www.youtube.com/watch?v={video_id}")

    async def _status(self, account: str, video_id: str) -> dict[str, Any]:
        async def get(creds: Credentials) -> dict[str, Any]:
            answer = await self._http.call(
                "GET",
                f"{self._base}/youtube/v3/videos?part=status,processingDetails&id={video_id}",
                headers=self._auth(creds),
            )
            if answer.status == 401:
                raise Unauthorized("401 on videos.list")
            if answer.status != 200:
                raise youtube_error(answer, self._clock.now())
            items = answer.json().get("items", [])
            return dict(items[0].get("status", {})) if items else {}

        return await with_token(self._tokens, account, get, platform="youtube")

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The video of an in-doubt slot: its resumable session when known, else the
        channel's latest uploads matched on the slot's tag. Raises OutcomeUnknown,
        NetworkError, RateLimited, AuthExpired."""
        account = request.account.id
        known = await self.handles.recall(request.slot_id, "youtube")
        if known is not None:
            size, session = known.split(" ", 1)
            total = int(size)
            answer = await self._ask(account, session, total)
            if answer.status in (200, 201):
                video_id = str(answer.json().get("id", ""))
                return PublishReceipt(
                    video_id, f"https://www.youtube.com/watch?v={video_id}", reconciled=True
                )
            if answer.status in (308, 404):
                return None  # incomplete (or expired) uploads make no video
            raise OutcomeUnknown(f"youtube session query answered {answer.status}")
        return await with_token(
            self._tokens, account, lambda c: self._search(c, request), platform="youtube"
        )

    async def _search(self, creds: Credentials, request: PublishRequest) -> PublishReceipt | None:
        tag = herald_tag(request)
        auth = self._auth(creds)
        base = f"{self._base}/youtube/v3"
        answer = await self._http.call(
            "GET", f"{base}/channels?part=contentDetails&mine=true", headers=auth
        )
        if answer.status == 401:
            raise Unauthorized("401 on channels.list")
        items = answer.json().get("items", [])
        if answer.status != 200 or not items:
            raise OutcomeUnknown(f"youtube channels.list answered {answer.status}")
        uploads = items[0]["contentDetails"]["relatedPlaylists"]["uploads"]
        answer = await self._http.call(
            "GET",
            f"{base}/playlistItems?part=contentDetails&maxResults=50&playlistId={uploads}",
            headers=auth,
        )
        ids = [i["contentDetails"]["videoId"] for i in answer.json().get("items", [])]
        if answer.status != 200:
            raise OutcomeUnknown(f"youtube playlistItems.list answered {answer.status}")
        if not ids:
            return None
        answer = await self._http.call(
            "GET", f"{base}/videos?part=snippet&id={','.join(ids)}", headers=auth
        )
        for item in answer.json().get("items", []):
            if tag in item.get("snippet", {}).get("tags", []):
                vid = str(item["id"])
                return PublishReceipt(
                    vid, f"https://www.youtube.com/watch?v={vid}", reconciled=True
                )
        return None


def _received(answer: Answer) -> int:
    """Bytes the session holds, from a 308's `Range: bytes=0-X` (none: 0)."""
    value = answer.header("range") or ""
    if value.startswith("bytes=0-") and value[8:].isdigit():
        return int(value[8:]) + 1
    return 0
