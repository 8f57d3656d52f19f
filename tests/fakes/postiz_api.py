"""A stateful fake of the Postiz public API (`/public/v1`) on 127.0.0.1, from PLATFORM-APIS.md §6.

`Authorization: <API key>` (no Bearer): missing -> 401 `{"msg":"No API Key found"}`, unknown ->
401 `{"msg":"Invalid API key"}`. `GET /integrations` lists the team's channels.
`POST /posts` -> 201 `[{"postId","integration"}]`, the post QUEUE until the publishing
workflow runs (`publish_after` GET /posts polls), then PUBLISHED with `releaseURL` and
`releaseId`, or ERROR with `error` (`fail_next` sets the platform's reason). Only POST /posts
is throttled: `api_limit` per hour per organization (30, as `.env.example`), 429 with the
@nestjs/throttler headers (`Retry-After`, `X-RateLimit-*`; [unverified] in the reference).
Re-sending a group replaces that group's unpublished rows (documented). 400 on validation.
`GET /posts?startDate&endDate` -> `{"posts":[…]}`; `DELETE /posts/:id` soft-deletes its group.
`hang` = "after" stores the post then answers late, "before" answers late without storing.

Media (public.integrations.controller.ts `uploadSimple`, docs.postiz.com "Upload File"):
`POST /upload` takes the multipart field `file`; the type is sniffed from the bytes
(CustomFileValidationPipe: image/jpeg|png|gif|webp|avif|bmp|tiff, video/mp4, else 400
"Unsupported file type. …"; over 10 MB for an image or 1 GB for a video, 400 "File size
exceeds …"), no file is 400 `{"msg":"No file provided"}`; it answers the saved media row
(`id`, `name`, `path` on Postiz's upload host). Posts name media in
`value[].image: [{"id","path"}]`; an id Postiz never issued is refused here with 400 (the
real API would post without it).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.multipart import file_parts
from tests.fakes.oauth import Refusal, Served, fake_app

PREFIX = "/public/v1"


@dataclass
class PostizPost:
    id: str
    group: str
    integration: str
    content: str
    publish_at: float
    state: str = "QUEUE"
    polls: int = 0
    error: str | None = None
    release_url: str | None = None
    deleted: bool = False
    images: list[dict[str, str]] = field(default_factory=list)


# What CustomFileValidationPipe lets through, by the bytes' magic numbers (file-type).
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF8", "image/gif", "gif"),
)
IMAGE_MAX, VIDEO_MAX = 10 * 1024 * 1024, 1024 * 1024 * 1024


def sniff(head: bytes) -> tuple[str, str] | None:
    """The MIME type and extension of a file from its first bytes, as file-type would."""
    for magic, mime, ext in MAGIC:
        if head.startswith(magic):
            return mime, ext
    if head[4:8] == b"ftyp":
        return "video/mp4", "mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


class FakePostiz:
    """State and handlers of the fake (see module docstring)."""

    def __init__(self, *, api_limit: int = 30, publish_after: int = 1) -> None:
        self.keys: dict[str, str] = {}  # API key -> organization
        self.channels: list[dict[str, Any]] = []
        self.posts: list[PostizPost] = []
        self.api_limit = api_limit
        self.publish_after = publish_after
        self.fail_next: str | None = None
        self.hang: str | None = None
        self.hang_seconds = 2.0
        self.create_calls = 0
        self.uploads: dict[str, dict[str, Any]] = {}  # media id -> row (+ size, sha256)
        self.upload_calls = 0
        self.max_chunk = 0  # largest piece of a file read at once (streamed, not buffered)
        self._ids = itertools.count(1)
        self._calls: dict[str, list[float]] = {}

    def add_channel(self, channel_id: str, profile: str, identifier: str = "x") -> None:
        self.channels.append(
            {
                "id": channel_id,
                "name": profile.title(),
                "identifier": identifier,
                "picture": "",
                "disabled": False,
                "profile": profile,
                "customer": None,
            }
        )

    def live(self) -> list[PostizPost]:
        return [p for p in self.posts if not p.deleted]

    def published(self) -> list[PostizPost]:
        return [p for p in self.live() if p.state == "PUBLISHED"]

    def app(self) -> web.Application:
        app = fake_app()
        app.router.add_get(PREFIX + "/integrations", self._integrations)
        app.router.add_post(PREFIX + "/upload", self._upload)
        app.router.add_post(PREFIX + "/posts", self._create)
        app.router.add_get(PREFIX + "/posts", self._list)
        app.router.add_delete(PREFIX + "/posts/{id}", self._delete)
        return app

    async def serve(self) -> Served:
        return await Served(self.app()).start()

    def _org(self, request: web.Request) -> str:
        key = request.headers.get("Authorization")
        if not key:
            raise _refuse(401, {"msg": "No API Key found"})
        if key not in self.keys:
            raise _refuse(401, {"msg": "Invalid API key"})
        return self.keys[key]

    async def _integrations(self, request: web.Request) -> web.StreamResponse:
        self._org(request)
        return web.json_response(self.channels)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self._org(request)
        self.upload_calls += 1
        if not request.content_type.startswith("multipart/"):
            raise _refuse(400, {"msg": "No file provided"})
        async for upload in file_parts(request):
            part, size, head = upload.part, upload.size, upload.head
            self.max_chunk = max(self.max_chunk, upload.max_chunk)
            found = sniff(head)
            if found is None:
                raise _refuse(
                    400,
                    {
                        "message": "Unsupported file type. Valid extensions: .png, .jpg, "
                        ".jpeg, .gif, .webp, .avif, .bmp, .tif, .tiff, .mp4",
                        "error": "Bad Request",
                        "statusCode": 400,
                    },
                )
            mime, ext = found
            limit = IMAGE_MAX if mime.startswith("image/") else VIDEO_MAX
            if size > limit:
                raise _refuse(
                    400,
                    {
                        "message": f"File size exceeds the maximum allowed size of {limit} bytes.",
                        "error": "Bad Request",
                        "statusCode": 400,
                    },
                )
            media_id = f"med{next(self._ids):06d}"
            base = (part.filename or "upload").rsplit(".", 1)[0][:100] or "upload"
            row = {
                "id": media_id,
                "name": f"{base}.{ext}",
                "path": f"https://uploads.postiz.example/{media_id}.{ext}",
                "organizationId": "org",
                "thumbnail": None,
                "alt": None,
            }
            self.uploads[media_id] = {**row, "size": size, "sha256": upload.sha256}
            return web.json_response(row, status=201)
        raise _refuse(400, {"msg": "No file provided"})

    async def _create(self, request: web.Request) -> web.StreamResponse:
        org = self._org(request)
        now = time.time()
        calls = [t for t in self._calls.get(org, []) if t > now - 3600]
        self._calls[org] = calls
        reset = int(calls[0] + 3600 - now) if calls else 3600
        headers = {
            "X-RateLimit-Limit": str(self.api_limit),
            "X-RateLimit-Remaining": str(max(0, self.api_limit - len(calls) - 1)),
            "X-RateLimit-Reset": str(reset),
        }
        if len(calls) >= self.api_limit:
            headers["Retry-After"] = str(reset)
            raise _refuse(
                429,
                {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"},
                headers,
            )
        calls.append(now)
        body = await request.json()
        known = {c["id"] for c in self.channels}
        items = body.get("posts") or []
        problems = [
            "posts.integration.id must be a known integration"
            for item in items
            if (item.get("integration") or {}).get("id") not in known
        ]
        for item in items:
            for value in item.get("value") or []:
                for image in value.get("image") or []:
                    known_media = self.uploads.get(str(image.get("id")))
                    if known_media is None or known_media["path"] != image.get("path"):
                        problems.append("image must be a media row returned by /upload")
        if body.get("type") not in ("now", "schedule", "draft") or not items or problems:
            raise _refuse(
                400,
                {
                    "message": problems or ["type and posts are required"],
                    "error": "Bad Request",
                    "statusCode": 400,
                },
            )
        self.create_calls += 1
        if self.hang == "before":
            await asyncio.sleep(self.hang_seconds)
            raise _refuse(502, {"message": "Bad Gateway"})
        answer = []
        for item in items:
            group = str(item.get("group") or f"g-{next(self._ids)}")
            for old in self.live():
                if old.group == group and old.state != "PUBLISHED":
                    old.deleted = True
            first = (item.get("value") or [{}])[0]
            content = str(first.get("content", ""))
            post = PostizPost(str(next(self._ids)), group, item["integration"]["id"], content, now)
            post.images = [dict(i) for i in first.get("image") or []]
            self.posts.append(post)
            answer.append({"postId": post.id, "integration": post.integration})
        if self.hang == "after":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(answer, status=201, headers=headers)

    def _advance(self) -> None:
        """The publishing workflow: each poll brings queued posts closer to done."""
        for post in self.live():
            if post.state != "QUEUE":
                continue
            post.polls += 1
            if post.polls < self.publish_after:
                continue
            if self.fail_next is not None:
                post.state, post.error, self.fail_next = "ERROR", self.fail_next, None
                continue
            post.state = "PUBLISHED"
            channel = next(c for c in self.channels if c["id"] == post.integration)
            post.release_url = f"https://x.com/{channel['profile']}/status/{post.id}"

    async def _list(self, request: web.Request) -> web.StreamResponse:
        self._org(request)
        try:
            start = _ts(request.query["startDate"])
            end = _ts(request.query["endDate"])
        except (KeyError, ValueError):
            raise _refuse(
                400,
                {
                    "message": ["startDate and endDate must be ISO 8601 dates"],
                    "error": "Bad Request",
                    "statusCode": 400,
                },
            ) from None
        self._advance()
        posts = [
            {
                "id": p.id,
                "content": p.content,
                "group": p.group,
                "state": p.state,
                "publishDate": datetime.fromtimestamp(p.publish_at, UTC).isoformat(),
                "releaseURL": p.release_url,
                "releaseId": p.id if p.release_url else None,
                "error": p.error,
                "integration": {"id": p.integration},
            }
            for p in self.live()
            if start <= p.publish_at <= end
        ]
        return web.json_response({"posts": posts})

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        self._org(request)
        target = next((p for p in self.live() if p.id == request.match_info["id"]), None)
        if target is None:
            raise _refuse(404, {"message": "Post not found", "statusCode": 404})
        for post in self.live():
            if post.group == target.group:
                post.deleted = True
        return web.json_response({"group": target.group})


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _refuse(status: int, body: object, headers: dict[str, str] | None = None) -> Refusal:
    return Refusal(web.json_response(body, status=status, headers=headers))
