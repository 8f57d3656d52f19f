"""A stateful fake of the LinkedIn Posts API on 127.0.0.1, from PLATFORM-APIS.md §2.

Every `/rest` call needs `LinkedIn-Version: YYYYMM` (missing -> 400 VERSION_MISSING; not in
`active_versions` -> 426 NONEXISTENT_VERSION) and `X-Restli-Protocol-Version: 2.0.0`.
`POST /rest/posts` -> 201, empty body, the URN in `x-restli-id`; an identical commentary by
the same author -> 422 DUPLICATE_POST naming the existing URN (documented de-duplication).
`GET /rest/posts?q=author&author=urn:li:organization:…` lists a Page's posts (a member author
-> 403: `r_member_social` is restricted). `DELETE /rest/posts/{urn}` -> 204. Images:
`POST /rest/images?action=initializeUpload`, one `PUT` to `uploadUrl`; a post names one image
or video in `content.media.id`, or 2 to 20 images in `content.multiImage.images[].id`
(MultiImage API; fewer, more, a video, or a file not uploaded -> 422). Videos:
`?action=initializeUpload` with `uploadInstructions` per `part_size` bytes, PUTs answering an
`ETag`, `?action=finalizeUpload` with the ETags, `GET /rest/videos/{urn}` PROCESSING then
AVAILABLE. 401 `serviceErrorCode` 65600 (invalid), 65601 (revoked), 65602 (expired).
429 (no headers) past `daily_limit` posts per member per UTC day. `GET /v2/userinfo` (OpenID).
OAuth: `GET /oauth/v2/authorization`, `POST /oauth/v2/accessToken` (60-day access tokens;
refresh tokens only for approved partners, not rotated; see tests/fakes/oauth.py).
`hang` = "after" stores the post then answers late, "before" answers late without storing.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.oauth import OAuthProvider, Refusal, Served, fake_app


@dataclass
class Post:
    urn: str
    author: str
    commentary: str
    content: dict[str, Any]
    created_ms: int
    deleted: bool = False


class FakeLinkedIn:
    """State and handlers of the fake (see module docstring)."""

    def __init__(self, *, daily_limit: int = 150, part_size: int = 4 * 1024 * 1024) -> None:
        self.oauth = OAuthProvider.linkedin()
        self.active_versions = {"202511", "202512", "202601", "202602", "202603"}
        self.members: dict[str, str] = {}  # person id -> name
        self.page_admins: dict[str, set[str]] = {}  # organization id -> person ids
        self.posts: list[Post] = []
        self.assets: dict[str, dict[str, Any]] = {}
        self.daily_limit = daily_limit
        self.part_size = part_size
        self.fail_video = False
        self.hang: str | None = None
        self.hang_seconds = 2.0
        self.create_calls = 0
        self._ids = itertools.count(7141138937766391808)

    def add_member(self, person_id: str, name: str = "") -> dict[str, object]:
        """A member who authorized Herald; returns their token set."""
        self.members[person_id] = name or person_id
        return self.oauth.issue(person_id, "openid profile w_member_social")

    def live(self, author: str | None = None) -> list[Post]:
        return [p for p in self.posts if not p.deleted and author in (None, p.author)]

    def app(self) -> web.Application:
        app = fake_app()
        self.oauth.routes(app, "/oauth/v2/authorization", "/oauth/v2/accessToken")
        app.router.add_get("/v2/userinfo", self._userinfo)
        app.router.add_post("/rest/posts", self._create)
        app.router.add_get("/rest/posts", self._list)
        app.router.add_delete("/rest/posts/{urn}", self._delete)
        app.router.add_post("/rest/images", self._init_upload)
        app.router.add_post("/rest/videos", self._video_action)
        app.router.add_get("/rest/videos/{urn}", self._video)
        app.router.add_put("/upload/{urn}/{part}", self._put)
        return app

    async def serve(self) -> Served:
        return await Served(self.app()).start()

    # --- helpers

    def _member(self, request: web.Request, *, rest: bool = True) -> str:
        user, why = self.oauth.user_of(request.headers.get("Authorization"))
        if user is None:
            code = {"expired": 65602, "invalid": 65600}.get(why, 65601)
            message = {
                65602: "The token used in the request has expired",
                65600: "Invalid access token",
                65601: "The token used in the request has been revoked by the user",
            }[code]
            raise _error(401, message, serviceErrorCode=code, code="INVALID_ACCESS_TOKEN")
        if rest:
            version = request.headers.get("LinkedIn-Version")
            if not version:
                raise _error(
                    400,
                    "A version must be present. Please specify a version by adding the "
                    "LinkedIn-Version header.",
                    code="VERSION_MISSING",
                )
            if version not in self.active_versions:
                raise _error(
                    426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION"
                )
            if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
                raise _error(400, "X-Restli-Protocol-Version 2.0.0 is required")
        return user

    def _may_post_as(self, member: str, author: str) -> bool:
        if author == f"urn:li:person:{member}":
            return True
        org = author.removeprefix("urn:li:organization:")
        return author.startswith("urn:li:organization:") and member in self.page_admins.get(
            org, set()
        )

    # --- posts

    async def _create(self, request: web.Request) -> web.StreamResponse:
        member = self._member(request)
        body = await request.json()
        author = str(body.get("author", ""))
        commentary = str(body.get("commentary", ""))
        if not self._may_post_as(member, author):
            raise _error(
                403,
                f"Not enough permissions to access: POST /rest/posts as {author}",
                serviceErrorCode=100,
            )
        if len(commentary) > 3000:
            raise _error(422, "commentary is longer than 3000 characters")
        today = time.time() // 86400
        posted_today = [
            p for p in self.posts if p.created_ms // 86_400_000 == today and p.author == author
        ]
        if len(posted_today) >= self.daily_limit:
            raise _error(
                429,
                "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
            )
        content = dict(body.get("content") or {})
        self._check_content(content)
        for existing in self.live(author):
            if existing.commentary == commentary and existing.content == content:
                raise Refusal(
                    web.json_response(
                        {
                            "errorDetailType": "com.linkedin.common.error.BadRequest",
                            "message": (
                                f"ERROR :: /commentary :: Content is a duplicate of {existing.urn}"
                            ),
                            "errorDetails": {
                                "inputErrors": [
                                    {
                                        "description": "Duplicate post is detected",
                                        "input": {"inputPath": {"fieldPath": "/commentary"}},
                                        "code": "DUPLICATE_POST",
                                    }
                                ]
                            },
                            "status": 422,
                        },
                        status=422,
                    )
                )
        self.create_calls += 1
        if self.hang == "before":
            await asyncio.sleep(self.hang_seconds)
            raise _error(503, "Service Unavailable")
        post = Post(
            f"urn:li:share:{next(self._ids)}", author, commentary, content, int(time.time() * 1000)
        )
        self.posts.append(post)
        if self.hang == "after":
            await asyncio.sleep(self.hang_seconds)
        return web.Response(status=201, headers={"x-restli-id": post.urn})

    def _check_content(self, content: dict[str, Any]) -> None:
        """The media a post names exist and were uploaded; a MultiImage post has 2-20 images."""
        if "multiImage" in content:
            images = list((content["multiImage"] or {}).get("images") or [])
            if not 2 <= len(images) <= 20:
                raise _error(422, f"multiImage takes 2 to 20 images, got {len(images)}")
            urns = [str(i.get("id", "")) for i in images]
            if any(not u.startswith("urn:li:image:") for u in urns):
                raise _error(422, "multiImage images must be image URNs")
        elif "media" in content:
            urns = [str((content["media"] or {}).get("id", ""))]
        else:
            return
        for urn in urns:
            asset = self.assets.get(urn)
            if asset is None or asset["status"] != "AVAILABLE":
                raise _error(422, f"{urn} is not an uploaded, available media asset")

    async def _list(self, request: web.Request) -> web.StreamResponse:
        member = self._member(request)
        author = request.query.get("author", "")
        if request.query.get("q") != "author" or not author:
            raise _error(400, "q=author and author are required")
        if not author.startswith("urn:li:organization:") or not self._may_post_as(member, author):
            raise _error(
                403, "Not enough permissions to access: GET /rest/posts", serviceErrorCode=100
            )
        count = int(request.query.get("count", "10"))
        posts = sorted(self.live(author), key=lambda p: p.created_ms, reverse=True)[:count]
        elements = [
            {
                "id": p.urn,
                "author": p.author,
                "commentary": p.commentary,
                "createdAt": p.created_ms,
                "publishedAt": p.created_ms,
                "lifecycleState": "PUBLISHED",
                "visibility": "PUBLIC",
            }
            for p in posts
        ]
        return web.json_response({"elements": elements, "paging": {"start": 0, "count": count}})

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        member = self._member(request)
        urn = unquote(request.match_info["urn"])
        for post in self.live():
            if post.urn == urn and self._may_post_as(member, post.author):
                post.deleted = True
                return web.Response(status=204)
        raise _error(404, f"Post {urn} not found")

    async def _userinfo(self, request: web.Request) -> web.StreamResponse:
        member = self._member(request, rest=False)
        name = self.members.get(member, member)
        return web.json_response(
            {
                "sub": member,
                "name": name,
                "given_name": name,
                "family_name": "",
                "locale": {"language": "en"},
            }
        )

    # --- media

    async def _init_upload(self, request: web.Request) -> web.StreamResponse:
        self._member(request)
        if request.query.get("action") != "initializeUpload":
            raise _error(400, "unknown action")
        n = next(self._ids)
        urn = f"urn:li:image:C{n}"
        self.assets[urn] = {"size": None, "received": {}, "status": "WAITING_UPLOAD"}
        return web.json_response(
            {
                "value": {
                    "uploadUrlExpiresAt": int(time.time() * 1000) + 3_600_000,
                    "uploadUrl": f"{request.scheme}://{request.host}/upload/{urn}/0",
                    "image": urn,
                }
            }
        )

    async def _video_action(self, request: web.Request) -> web.StreamResponse:
        self._member(request)
        body = await request.json()
        if request.query.get("action") == "initializeUpload":
            size = int(body["initializeUploadRequest"]["fileSizeBytes"])
            urn = f"urn:li:video:C{next(self._ids)}"
            parts = [
                {
                    "uploadUrl": f"{request.scheme}://{request.host}/upload/{urn}/{i}",
                    "firstByte": first,
                    "lastByte": min(size, first + self.part_size) - 1,
                }
                for i, first in enumerate(range(0, size, self.part_size))
            ]
            self.assets[urn] = {
                "size": size,
                "received": {},
                "status": "WAITING_UPLOAD",
                "parts": len(parts),
            }
            return web.json_response(
                {"value": {"video": urn, "uploadToken": "", "uploadInstructions": parts}}
            )
        if request.query.get("action") == "finalizeUpload":
            final = body["finalizeUploadRequest"]
            asset = self.assets[final["video"]]
            etags = [f"etag-{final['video']}-{i}" for i in range(asset["parts"])]
            if (
                final["uploadedPartIds"] != etags
                or sum(asset["received"].values()) != asset["size"]
            ):
                raise _error(400, "uploadedPartIds do not match the uploaded parts")
            asset["status"] = "PROCESSING"
            return web.json_response({})
        raise _error(400, "unknown action")

    async def _put(self, request: web.Request) -> web.StreamResponse:
        urn, part = request.match_info["urn"], int(request.match_info["part"])
        asset = self.assets.get(urn)
        if asset is None:
            raise _error(404, "upload not found")
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
        asset["received"][part] = size
        if urn.startswith("urn:li:image:"):
            asset["status"] = "AVAILABLE"
            return web.Response(status=201)
        return web.Response(status=200, headers={"ETag": f'"etag-{urn}-{part}"'})

    async def _video(self, request: web.Request) -> web.StreamResponse:
        self._member(request)
        urn = unquote(request.match_info["urn"])
        asset = self.assets[urn]
        answer: dict[str, Any] = {"id": urn, "status": asset["status"]}
        if asset["status"] == "PROCESSING":
            asset["status"] = "PROCESSING_FAILED" if self.fail_video else "AVAILABLE"
        if asset["status"] == "PROCESSING_FAILED":
            answer["processingFailureReason"] = "Video format not supported"
        return web.json_response(answer)


def _error(status: int, message: str, **extra: object) -> Refusal:
    body: dict[str, object] = {"status": status, "message": message, **extra}
    return Refusal(web.json_response(body, status=status))
