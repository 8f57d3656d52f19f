"""A stateful fake of the YouTube Data API v3 upload path on 127.0.0.1 (PLATFORM-APIS.md §3).

`POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` opens a session
(200 + `Location`); `PUT <Location>` takes chunks with `Content-Range: bytes a-b/N`
(multiples of 256 KiB but the last), answering `308` + `Range: bytes=0-X` until complete, then
200 with the video resource; `Content-Range: bytes */N` with no body asks what was received.
`GET /youtube/v3/videos?part=status,processingDetails&id=` shows `uploadStatus` going
uploaded → processed (or failed / rejected). `channels` (mine) → `playlistItems` → `videos`
(part=snippet) list a channel's uploads. Errors are Google's `{"error":{code,message,errors:
[{domain,reason}]}}`: 401 authError, 403 quotaExceeded (10,000 units, insert 1600),
400 uploadLimitExceeded (per channel), 403 authenticatedUserAccountSuspended.
Faults: `drop_next_chunk` = "after" keeps the chunk then drops the connection without an
answer, "before" drops it unread. Bytes are hashed, never kept. No de-duplication.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

QUANTUM = 256 * 1024


@dataclass
class Session:
    id: str
    channel: str
    total: int
    meta: dict[str, Any]
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    video_id: str | None = None


@dataclass
class Video:
    id: str
    channel: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    sha256: str
    polls_left: int = 1
    outcome: str = "processed"  # processed | failed | rejected


def error(status: int, reason: str, message: str, domain: str = "youtube") -> web.Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }
    return web.json_response(body, status=status)


class FakeYouTube:
    """State and handlers (see module docstring)."""

    def __init__(self, *, units: int = 10_000, channel_upload_limit: int = 100) -> None:
        self.tokens: dict[str, str] = {}  # access token -> channel id
        self.units = units
        self.channel_upload_limit = channel_upload_limit
        self.suspended: set[str] = set()
        self.sessions: dict[str, Session] = {}
        self.videos: list[Video] = []
        self.drop_next_chunk: str | None = None
        self.next_outcome = "processed"
        self.puts = 0
        self.inserts = 0
        self._ids = itertools.count(1)
        self.base = ""

    def grant(self, token: str, channel: str) -> None:
        self.tokens[token] = channel

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/upload/youtube/v3/videos", self.open_session)
        app.router.add_put("/upload/youtube/v3/videos", self.put_chunk)
        app.router.add_get("/youtube/v3/videos", self.list_videos)
        app.router.add_get("/youtube/v3/channels", self.channels)
        app.router.add_get("/youtube/v3/playlistItems", self.playlist_items)
        return app

    def _channel(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return self.tokens.get(auth.removeprefix("Bearer "))

    def _unauthorized(self) -> web.Response:
        return error(401, "authError", "Request had invalid authentication credentials.", "global")

    async def open_session(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self._unauthorized()
        if request.query.get("uploadType") != "resumable":
            return error(400, "badRequest", "uploadType must be resumable", "global")
        if channel in self.suspended:
            return error(403, "authenticatedUserAccountSuspended", "The account is suspended.")
        if self.units < 1600:
            return error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "youtube.quota",
            )
        if sum(v.channel == channel for v in self.videos) >= self.channel_upload_limit:
            return error(
                400,
                "uploadLimitExceeded",
                "The user has exceeded the number of videos they may upload.",
            )
        length = request.headers.get("X-Upload-Content-Length", "")
        if not length.isdigit():
            return error(400, "badRequest", "X-Upload-Content-Length is required", "global")
        meta = json.loads(await request.read() or b"{}")
        title = meta.get("snippet", {}).get("title", "")
        if not title or len(title) > 100 or "<" in title or ">" in title:
            return error(400, "invalidTitle", "The request metadata specifies an invalid title.")
        self.units -= 1600
        sid = f"up{next(self._ids)}"
        self.sessions[sid] = Session(sid, channel, int(length), meta)
        location = f"{self.base}/upload/youtube/v3/videos?uploadType=resumable&upload_id={sid}"
        return web.Response(status=200, headers={"Location": location})

    def _range(self, session: Session) -> dict[str, str]:
        return {"Range": f"bytes=0-{session.received - 1}"} if session.received else {}

    async def put_chunk(self, request: web.Request) -> web.StreamResponse:
        self.puts += 1
        if self._channel(request) is None:
            return self._unauthorized()
        session = self.sessions.get(request.query.get("upload_id", ""))
        if session is None:
            return error(404, "notFound", "Upload session not found", "global")
        header = request.headers.get("Content-Range", "")
        if (m := re.fullmatch(r"bytes \*/(\d+)", header)) is not None:
            return self._answer(session)
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", header)
        if m is None:
            return error(400, "badContent", f"bad Content-Range {header!r}", "global")
        first, last, total = map(int, m.groups())
        size = last - first + 1
        if total != session.total or first != session.received:
            return error(400, "badContent", "Content-Range does not continue the upload")
        if last + 1 < total and size % QUANTUM:
            return error(400, "badContent", "chunk size must be a multiple of 256 KiB")
        if self.drop_next_chunk == "before":
            self.drop_next_chunk = None
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        digest, got = session.digest.copy(), 0
        async for piece in request.content.iter_chunked(QUANTUM):
            digest.update(piece)
            got += len(piece)
        if got != size:
            return error(400, "badContent", "body length does not match Content-Range")
        session.digest, session.received = digest, session.received + got
        if self.drop_next_chunk == "after":
            self.drop_next_chunk = None
            if session.received == session.total:
                self._finish(session)
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if session.received == session.total:
            self._finish(session)
        return self._answer(session)

    def _finish(self, session: Session) -> None:
        vid = f"vid{next(self._ids):08d}"
        snippet = dict(session.meta.get("snippet", {}), channelId=session.channel)
        status = dict(session.meta.get("status", {}), uploadStatus="uploaded")
        video = Video(vid, session.channel, snippet, status, session.digest.hexdigest())
        video.outcome = self.next_outcome
        self.videos.append(video)
        session.video_id = vid
        self.inserts += 1

    def _resource(self, video: Video, parts: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"kind": "youtube#video", "id": video.id}
        if "snippet" in parts:
            item["snippet"] = video.snippet
        if "status" in parts:
            item["status"] = video.status
        if "processingDetails" in parts:
            state = {"uploaded": "processing", "processed": "succeeded"}.get(
                video.status["uploadStatus"], "failed"
            )
            item["processingDetails"] = {"processingStatus": state}
        return item

    def _answer(self, session: Session) -> web.Response:
        if session.video_id is not None:
            video = next(v for v in self.videos if v.id == session.video_id)
            return web.json_response(self._resource(video, {"snippet", "status"}), status=200)
        return web.Response(status=308, headers=self._range(session))

    async def list_videos(self, request: web.Request) -> web.Response:
        if self._channel(request) is None:
            return self._unauthorized()
        ids = set(request.query.get("id", "").split(","))
        parts = set(request.query.get("part", "").split(","))
        items = []
        for video in self.videos:
            if video.id not in ids:
                continue
            if video.status["uploadStatus"] == "uploaded":
                video.polls_left -= 1
                if video.polls_left < 0:
                    video.status["uploadStatus"] = video.outcome
                    if video.outcome == "failed":
                        video.status["failureReason"] = "codec"
                    if video.outcome == "rejected":
                        video.status["rejectionReason"] = "duplicate"
            items.append(self._resource(video, parts))
        return web.json_response({"kind": "youtube#videoListResponse", "items": items})

    async def channels(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self._unauthorized()
        item = {"id": channel, "contentDetails": {"relatedPlaylists": {"uploads": "UU" + channel}}}
        return web.json_response({"items": [item]})

    async def playlist_items(self, request: web.Request) -> web.Response:
        if self._channel(request) is None:
            return self._unauthorized()
        channel = request.query.get("playlistId", "").removeprefix("UU")
        mine = [v for v in reversed(self.videos) if v.channel == channel]
        items = [{"contentDetails": {"videoId": v.id}} for v in mine[:50]]
        return web.json_response({"items": items})
