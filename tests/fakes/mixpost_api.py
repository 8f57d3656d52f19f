"""A stateful fake of the Mixpost Pro API (`/mixpost/api/{workspace}`), from PLATFORM-APIS.md §7.

`Authorization: Bearer <personal access token>`: unknown or expired -> 401
`{"message":"Unauthenticated."}`; a token of another workspace -> 403 `{"message":"Access
forbidden."}`; unknown workspace -> 404 `{"message":"Workspace not found."}`.
`GET /accounts` -> `{"data":[{id,uuid,name,username,provider,authorized}]}`.
`POST /posts` (`schedule_now`, `accounts`, `versions`) -> 201 post resource, status
`publishing` until `publish_after` reads, then `published` or `error` (`fail_next`).
422 Laravel validation `{"message","errors":{field:[…]}}`. `GET /posts?keyword=` and
`GET /posts/{uuid}`; `DELETE /posts/{uuid}` (`delete_mode`) -> 204. No de-duplication is
documented, so none here; no rate limit either (`throttle` gives Laravel's default 429).
`hang` = "after" stores the post then answers late, "before" answers late without storing.

Media (docs.mixpost.app "Upload media" / the n8n node and API clients: `POST
/api/{ws}/media`, multipart `file` and optional `alt_text`): answers the media resource
`{id, uuid, name, mime_type, type, url, thumb_url, is_video, created_at}` (the shape the
docs show for remote uploads). The type is read from the bytes; one outside Mixpost's
default `mime_types` (image/jpg, image/jpeg, image/gif, image/png, video/mp4 [unverified:
Mixpost's config defaults]) is a 422 Laravel validation error on `file`. A post names
media by integer id in `versions[].content[].media`; an unknown id is a 422.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.multipart import file_parts
from tests.fakes.oauth import Refusal, Served, fake_app
from tests.fakes.postiz_api import sniff


@dataclass
class MixpostPost:
    id: int
    uuid: str
    accounts: list[int]
    body: str
    created_at: float
    status: str = "publishing"
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    deleted: bool = False
    media: list[int] = field(default_factory=list)


MIME_TYPES = ("image/jpg", "image/jpeg", "image/gif", "image/png", "video/mp4")


class FakeMixpost:
    """State and handlers of the fake (see module docstring)."""

    def __init__(self, *, workspace: str = "ws-1", publish_after: int = 1) -> None:
        self.workspace = workspace
        self.tokens: dict[str, str] = {}  # token -> workspace
        self.accounts: list[dict[str, Any]] = []
        self.posts: list[MixpostPost] = []
        self.publish_after = publish_after
        self.fail_next: str | None = None
        self.hang: str | None = None
        self.hang_seconds = 2.0
        self.throttle = False
        self.create_calls = 0
        self.media: dict[int, dict[str, Any]] = {}  # id -> resource (+ size, sha256)
        self.upload_calls = 0
        self.max_chunk = 0
        self._ids = itertools.count(1)
        self._media_ids = itertools.count(1)

    def add_account(self, username: str, provider: str = "twitter") -> int:
        account_id = len(self.accounts) + 1
        self.accounts.append(
            {
                "id": account_id,
                "uuid": str(uuid.uuid4()),
                "name": username.title(),
                "username": username,
                "provider": provider,
                "authorized": True,
            }
        )
        return account_id

    def live(self) -> list[MixpostPost]:
        return [p for p in self.posts if not p.deleted]

    def published(self) -> list[MixpostPost]:
        return [p for p in self.live() if p.status == "published"]

    def app(self) -> web.Application:
        app = fake_app()
        base = "/mixpost/api/{ws}"
        app.router.add_get(base + "/accounts", self._accounts)
        app.router.add_post(base + "/posts", self._create)
        app.router.add_post(base + "/media", self._upload)
        app.router.add_get(base + "/posts", self._list)
        app.router.add_get(base + "/posts/{uuid}", self._get)
        app.router.add_delete(base + "/posts/{uuid}", self._delete)
        return app

    async def serve(self) -> Served:
        return await Served(self.app()).start()

    def _check(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or token not in self.tokens:
            raise _refuse(401, {"message": "Unauthenticated."})
        if request.match_info["ws"] != self.workspace:
            raise _refuse(404, {"message": "Workspace not found."})
        if self.tokens[token] != self.workspace:
            raise _refuse(403, {"message": "Access forbidden."})
        if self.throttle:  # Laravel's `throttle` middleware answer (Mixpost documents none)
            raise Refusal(
                web.json_response(
                    {"message": "Too Many Attempts."},
                    status=429,
                    headers={
                        "Retry-After": "60",
                        "X-RateLimit-Limit": "60",
                        "X-RateLimit-Remaining": "0",
                    },
                )
            )

    def _resource(self, post: MixpostPost) -> dict[str, Any]:
        if post.status == "publishing":
            post.reads += 1
            if post.reads >= self.publish_after:
                if self.fail_next is not None:
                    post.status, post.errors, self.fail_next = "error", [self.fail_next], None
                else:
                    post.status = "published"
        return {
            "id": post.id,
            "uuid": post.uuid,
            "status": post.status,
            "created_at": datetime.fromtimestamp(post.created_at, UTC).isoformat(),
            "accounts": [
                {
                    "id": a,
                    "external_url": f"https://x.com/i/status/{post.id}"
                    if post.status == "published"
                    else None,
                }
                for a in post.accounts
            ],
            "versions": [
                {
                    "account_id": 0,
                    "is_original": True,
                    "content": [{"body": post.body, "media": post.media}],
                }
            ],
            "errors": post.errors,
        }

    async def _accounts(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        return web.json_response({"data": self.accounts})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        self.upload_calls += 1
        required = {
            "message": "The file field is required.",
            "errors": {"file": ["The file field is required."]},
        }
        if not request.content_type.startswith("multipart/"):
            raise _refuse(422, required)
        stored: dict[str, Any] | None = None
        async for upload in file_parts(request):
            part, size, head = upload.part, upload.size, upload.head
            self.max_chunk = max(self.max_chunk, upload.max_chunk)
            mime = sniff_mime(head)
            if mime not in MIME_TYPES:
                text = f"The file field must be a file of type: {', '.join(MIME_TYPES)}."
                raise _refuse(422, {"message": text, "errors": {"file": [text]}})
            media_id = next(self._media_ids)
            name = part.filename or "upload"
            url = f"https://mixpost.example/storage/uploads/{media_id}-{name}"
            stored = {
                "id": media_id,
                "uuid": str(uuid.uuid4()),
                "name": name,
                "mime_type": mime,
                "type": mime.split("/", 1)[0],
                "url": url,
                "thumb_url": url,
                "is_video": mime.startswith("video/"),
                "created_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            }
            self.media[media_id] = {**stored, "size": size, "sha256": upload.sha256}
        if stored is None:
            raise _refuse(422, required)
        return web.json_response(stored, status=201)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        body = await request.json()
        errors: dict[str, list[str]] = {}
        known = {a["id"] for a in self.accounts}
        if not body.get("accounts") or any(a not in known for a in body["accounts"]):
            errors["accounts"] = ["The selected accounts are invalid."]
        versions = body.get("versions") or []
        text = str(((versions or [{}])[0].get("content") or [{}])[0].get("body", ""))
        if not text:
            errors["versions"] = ["The versions field is required."]
        content0 = ((versions or [{}])[0].get("content") or [{}])[0]
        media_ids = list(content0.get("media") or [])
        for index, media_id in enumerate(media_ids):
            if not isinstance(media_id, int) or media_id not in self.media:
                key = f"versions.0.content.0.media.{index}"
                errors[key] = [f"The selected {key} is invalid."]
        if errors:
            first = next(iter(errors.values()))[0]
            raise _refuse(422, {"message": first, "errors": errors})
        self.create_calls += 1
        if self.hang == "before":
            await asyncio.sleep(self.hang_seconds)
            raise _refuse(500, {"message": "Server Error"})
        post = MixpostPost(
            next(self._ids), str(uuid.uuid4()), list(body["accounts"]), text, time.time()
        )
        post.media = media_ids
        self.posts.append(post)
        if self.hang == "after":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response({"data": self._resource(post)}, status=201)

    async def _list(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        keyword = request.query.get("keyword", "")
        posts = [self._resource(p) for p in self.live() if keyword in p.body]
        return web.json_response({"data": posts, "meta": {"current_page": 1, "total": len(posts)}})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        post = self._find(request.match_info["uuid"])
        return web.json_response({"data": self._resource(post)})

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        self._check(request)
        self._find(request.match_info["uuid"]).deleted = True
        return web.Response(status=204)

    def _find(self, key: str) -> MixpostPost:
        for post in self.live():
            if post.uuid == key:
                return post
        raise _refuse(404, {"message": "Not found."})


def sniff_mime(head: bytes) -> str | None:
    """The type PHP's finfo would read from the first bytes (enough for these tests)."""
    found = sniff(head)
    return found[0] if found else None


def _refuse(status: int, body: object) -> Refusal:
    return Refusal(web.json_response(body, status=status))
