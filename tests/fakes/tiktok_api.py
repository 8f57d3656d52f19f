"""A stateful fake of TikTok's Content Posting API (Direct Post) on 127.0.0.1 (§5).

`POST /v2/post/publish/creator_info/query/` → privacy options, max duration;
`POST /v2/post/publish/video/init/` with FILE_UPLOAD (chunk rules: 5-64 MB chunks, the last up
to 128 MB, files under 5 MB in one chunk, `total_chunk_count` = size // chunk) or
PULL_FROM_URL (the URL must start with a verified prefix; the fake then pulls it);
`PUT /upload/?upload_id=` with `Content-Range: bytes a-b/N` → 206 per partial chunk, 201 when
complete; `POST /v2/post/publish/status/fetch/` → PROCESSING_UPLOAD → PROCESSING_DOWNLOAD →
PUBLISH_COMPLETE (`publicaly_available_post_id`, TikTok's spelling; empty for SELF_ONLY) or
FAILED with `fail_reason`. Errors `{"error":{"code","message","log_id"}}`: 401
access_token_invalid, 429 rate_limit_exceeded (init 6/min per token), 403
spam_risk_too_many_posts (15/day), unaudited_client_can_only_post_to_private_accounts,
privacy_level_option_mismatch, url_ownership_unverified. No de-duplication.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

MB = 1024 * 1024


@dataclass
class Publish:
    id: str
    user: str
    privacy: str
    title: str
    source: str
    size: int = 0
    chunk: int = 0
    chunks: int = 0
    received: int = 0
    last_first: int = -1
    digest: Any = field(default_factory=hashlib.sha256)
    previous: Any = None  # the digest before the last chunk (a re-sent chunk replaces it)
    status: str = "PROCESSING_UPLOAD"
    polls_left: int = 1
    fail_reason: str = ""
    post_id: str | None = None


def tt_error(status: int, code: str, message: str = "") -> web.Response:
    body = {"data": {}, "error": {"code": code, "message": message or code, "log_id": "2026"}}
    return web.json_response(body, status=status)


def ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"data": data, "error": {"code": "ok", "message": "", "log_id": "1"}})


class FakeTikTok:
    """State and handlers (see module docstring)."""

    def __init__(self, *, audited: bool = False, daily_cap: int = 15) -> None:
        self.tokens: dict[str, str] = {}
        self.audited = audited
        self.daily_cap = daily_cap
        self.max_duration: dict[str, int] = {}
        self.private_accounts: set[str] = set()
        self.verified_prefixes: list[str] = []
        self.publishes: dict[str, Publish] = {}
        self.fail_next: str | None = None
        self.drop_next_chunk: str | None = None
        self.init_calls: list[tuple[str, float]] = []
        self.base = ""
        self._ids = itertools.count(1)

    def grant(self, token: str, user: str) -> None:
        self.tokens[token] = user

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/post/publish/creator_info/query/", self.creator_info)
        app.router.add_post("/v2/post/publish/video/init/", self.init)
        app.router.add_put("/upload/", self.upload)
        app.router.add_post("/v2/post/publish/status/fetch/", self.status)
        return app

    def _user(self, request: web.Request) -> str | None:
        return self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))

    def _options(self, user: str) -> list[str]:
        if user in self.private_accounts:
            return ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]
        return ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]

    async def creator_info(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return tt_error(401, "access_token_invalid")
        return ok(
            {
                "creator_username": user,
                "creator_nickname": user.title(),
                "privacy_level_options": self._options(user),
                "comment_disabled": False,
                "duet_disabled": False,
                "stitch_disabled": True,
                "max_video_post_duration_sec": self.max_duration.get(user, 600),
            }
        )

    async def init(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return tt_error(401, "access_token_invalid")
        token = request.headers["Authorization"]
        now = time.time()
        recent = [t for tok, t in self.init_calls if tok == token and t > now - 60]
        if len(recent) >= 6:
            return tt_error(429, "rate_limit_exceeded", "init: 6 requests per minute")
        self.init_calls.append((token, now))
        body = await request.json()
        post, source = body.get("post_info", {}), body.get("source_info", {})
        privacy = post.get("privacy_level", "")
        if privacy not in self._options(user):
            return tt_error(400, "privacy_level_option_mismatch")
        if not self.audited and (privacy != "SELF_ONLY" or user not in self.private_accounts):
            # Unaudited clients post SELF_ONLY, and only to private accounts (§5 Audit).
            return tt_error(403, "unaudited_client_can_only_post_to_private_accounts")
        day = [p for p in self.publishes.values() if p.user == user and p.status != "FAILED"]
        if len(day) >= self.daily_cap:
            return tt_error(403, "spam_risk_too_many_posts")
        pub = Publish(
            f"v_pub_file~v2-1.{next(self._ids)}",
            user,
            privacy,
            post.get("title", ""),
            source.get("source", ""),
        )
        if pub.source == "FILE_UPLOAD":
            size, chunk, count = (
                int(source.get(k, 0)) for k in ("video_size", "chunk_size", "total_chunk_count")
            )
            small = size < 5 * MB and chunk == size and count == 1
            if not small and (
                not 5 * MB <= chunk <= 64 * MB
                or count != size // chunk
                or size - chunk * (count - 1) > 128 * MB
            ):
                return tt_error(400, "invalid_params", "chunk_size / total_chunk_count")
            pub.size, pub.chunk, pub.chunks = size, chunk, count
            self.publishes[pub.id] = pub
            return ok(
                {"publish_id": pub.id, "upload_url": f"{self.base}/upload/?upload_id={pub.id}"}
            )
        if pub.source == "PULL_FROM_URL":
            url = source.get("video_url", "")
            if not any(url.startswith(p) for p in self.verified_prefixes):
                return tt_error(403, "url_ownership_unverified")
            self.publishes[pub.id] = pub
            await self._pull(pub, url)
            return ok({"publish_id": pub.id})
        return tt_error(400, "invalid_params", "source_info.source")

    async def _pull(self, pub: Publish, url: str) -> None:
        try:
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                if response.status != 200:
                    pub.status, pub.fail_reason = "FAILED", "video_pull_failed"
                    return
                async for piece in response.content.iter_chunked(MB):
                    pub.digest.update(piece)
                    pub.received += len(piece)
        except aiohttp.ClientError:
            pub.status, pub.fail_reason = "FAILED", "video_pull_failed"
            return
        pub.size = pub.received
        pub.status = "PROCESSING_DOWNLOAD"

    async def upload(self, request: web.Request) -> web.Response:
        pub = self.publishes.get(request.query.get("upload_id", ""))
        if pub is None or pub.source != "FILE_UPLOAD":
            return tt_error(404, "invalid_params", "unknown upload")
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("Content-Range", ""))
        if m is None:
            return tt_error(400, "invalid_params", "Content-Range")
        first, last, total = map(int, m.groups())
        index = first // pub.chunk if pub.chunk else 0
        expected_last = total - 1 if index == pub.chunks - 1 else first + pub.chunk - 1
        if total != pub.size or last != expected_last or first % max(pub.chunk, 1):
            return tt_error(400, "invalid_params", "chunk does not match the init")
        resend = first == pub.last_first and first < pub.received
        if first != pub.received and not resend:
            return tt_error(400, "invalid_params", "chunks must be sent in order")
        if self.drop_next_chunk == "before":
            self.drop_next_chunk = None
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        digest = pub.digest.copy() if not resend else pub.previous
        before = digest.copy()
        got = 0
        async for piece in request.content.iter_chunked(MB):
            digest.update(piece)
            got += len(piece)
        if got != last - first + 1:
            return tt_error(400, "invalid_params", "body length")
        pub.previous, pub.digest = before, digest
        pub.last_first, pub.received = first, last + 1
        if pub.received == pub.size:
            pub.status = "PROCESSING_DOWNLOAD"
        if self.drop_next_chunk == "after":
            self.drop_next_chunk = None
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.Response(status=201 if pub.received == pub.size else 206)

    async def status(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return tt_error(401, "access_token_invalid")
        pub = self.publishes.get((await request.json()).get("publish_id", ""))
        if pub is None or pub.user != user:
            return tt_error(400, "invalid_params", "publish_id")
        if pub.status == "PROCESSING_DOWNLOAD":
            pub.polls_left -= 1
            if pub.polls_left < 0:
                if self.fail_next:
                    pub.status, pub.fail_reason, self.fail_next = "FAILED", self.fail_next, None
                else:
                    pub.status = "PUBLISH_COMPLETE"
                    if pub.privacy != "SELF_ONLY":
                        pub.post_id = str(7_400_000_000_000_000_000 + next(self._ids))
        data: dict[str, Any] = {
            "status": pub.status,
            "uploaded_bytes": pub.received,
            "publicaly_available_post_id": [int(pub.post_id)] if pub.post_id else [],
        }
        if pub.fail_reason:
            data["fail_reason"] = pub.fail_reason
        return ok(data)
