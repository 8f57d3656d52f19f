"""A stateful fake of the Instagram Graph API content publishing on 127.0.0.1 (§4).

`POST /{ver}/{ig-user}/media` makes a container (REELS + video_url, image_url, STORIES,
`is_carousel_item`, CAROUSEL + children) and **pulls the media from its URL**, as Meta does
("We cURL media"): a URL that does not answer 200 turns the container to ERROR (2207052).
`GET /{ver}/{container}?fields=status_code` goes IN_PROGRESS → FINISHED after `polls`
(or ERROR / EXPIRED); `POST /{ver}/{ig-user}/media_publish?creation_id=` publishes it (code 9
/ subcode 2207042 past the account's publishing limit in a 24 h moving window);
`GET /{ver}/{ig-user}/content_publishing_limit`, `GET /{ver}/{ig-user}/media`,
`GET /{ver}/{media}?fields=permalink`. Tokens go as `access_token`; a bad one is code 190.
No de-duplication (Instagram has none; only caps).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

VERSION = "v21.0"


@dataclass
class Container:
    id: str
    user: str
    media_type: str
    caption: str
    url: str
    children: list[str] = field(default_factory=list)
    status: str = "IN_PROGRESS"
    polls_left: int = 1
    error: str = ""
    sha256: str = ""
    media_id: str | None = None


@dataclass
class Media:
    id: str
    user: str
    caption: str
    media_type: str
    timestamp: float
    container: str


def graph_error(
    code: int, message: str, subcode: int | None = None, status: int = 400
) -> web.Response:
    body: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf",
    }
    if subcode is not None:
        body["error_subcode"] = subcode
    return web.json_response({"error": body}, status=status)


class FakeInstagram:
    """State and handlers (see module docstring)."""

    def __init__(self, *, quota_total: int = 50, polls: int = 1) -> None:
        self.tokens: dict[str, str] = {}
        self.quota_total = quota_total
        self.polls = polls
        self.restricted: set[str] = set()
        self.containers: dict[str, Container] = {}
        self.media: list[Media] = []
        self.fail_processing = False
        self.publish_calls = 0
        self.pulled_bytes = 0
        self._ids = itertools.count(17_900_000_000_000_001)

    def grant(self, token: str, user: str) -> None:
        self.tokens[token] = user

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{{user}}/media", self.create_container)
        app.router.add_post(f"/{VERSION}/{{user}}/media_publish", self.publish)
        app.router.add_get(f"/{VERSION}/{{user}}/content_publishing_limit", self.limit)
        app.router.add_get(f"/{VERSION}/{{user}}/media", self.list_media)
        app.router.add_get(f"/{VERSION}/{{node}}", self.node)
        return app

    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        return params

    def _user(self, params: dict[str, str]) -> str | None:
        return self.tokens.get(params.get("access_token", ""))

    def _bad_token(self) -> web.Response:
        return graph_error(190, "Error validating access token: Session has expired.", 463)

    def used(self, user: str) -> int:
        day_ago = time.time() - 86400
        return sum(1 for m in self.media if m.user == user and m.timestamp > day_ago)

    async def create_container(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        user = self._user(params)
        if user is None or user != request.match_info["user"]:
            return self._bad_token()
        if user in self.restricted:
            return graph_error(10, "Instagram user is restricted", 2207050)
        media_type = params.get("media_type", "IMAGE")
        url = params.get("video_url") or params.get("image_url") or ""
        if media_type == "CAROUSEL":
            children = [c for c in params.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 10 or any(c not in self.containers for c in children):
                return graph_error(100, "Invalid parameter: children", 2207028)
        elif not url:
            return graph_error(100, "The parameter video_url or image_url is required")
        container = Container(
            str(next(self._ids)),
            user,
            media_type,
            params.get("caption", ""),
            url,
            children=[c for c in params.get("children", "").split(",") if c],
            polls_left=self.polls,
        )
        if url:
            await self._pull(
                container,
                is_video=media_type in ("REELS", "VIDEO", "STORIES") and "video_url" in params,
            )
        self.containers[container.id] = container
        return web.json_response({"id": container.id})

    async def _pull(self, container: Container, *, is_video: bool) -> None:
        """Fetch the media from its URL, hashing it (nothing is kept)."""
        digest = hashlib.sha256()
        try:
            async with aiohttp.ClientSession() as http, http.get(container.url) as response:
                if response.status != 200:
                    container.status, container.error = "ERROR", "2207052: media fetch failed"
                    return
                kind = response.headers.get("Content-Type", "")
                if not is_video and kind != "image/jpeg":
                    container.status, container.error = "ERROR", "2207005: unsupported image"
                    return
                async for piece in response.content.iter_chunked(1 << 20):
                    digest.update(piece)
                    self.pulled_bytes += len(piece)
        except aiohttp.ClientError:
            container.status, container.error = "ERROR", "2207052: media fetch failed"
            return
        container.sha256 = digest.hexdigest()

    async def node(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if self._user(params) is None:
            return self._bad_token()
        node = request.match_info["node"]
        if node in self.containers:
            c = self.containers[node]
            if c.status == "IN_PROGRESS":
                c.polls_left -= 1
                if c.polls_left < 0:
                    c.status = "ERROR" if self.fail_processing else "FINISHED"
                    if self.fail_processing:
                        c.error = "2207026: unsupported video format"
            body: dict[str, Any] = {"id": c.id, "status_code": c.status}
            if c.error:
                body["status"] = f"Error: {c.error}"
            return web.json_response(body)
        for m in self.media:
            if m.id == node:
                kind = "reel" if m.media_type == "REELS" else "p"
                return web.json_response(
                    {"id": m.id, "permalink": f"https://www.instagram.com/{kind}/{m.id[-8:]}/"}
                )
        return graph_error(100, "Unsupported get request.", 33)

    async def publish(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        user = self._user(params)
        if user is None or user != request.match_info["user"]:
            return self._bad_token()
        self.publish_calls += 1
        container = self.containers.get(params.get("creation_id", ""))
        if container is None or container.user != user:
            return graph_error(100, "Invalid parameter: creation_id")
        if self.used(user) >= self.quota_total:
            return graph_error(9, "Application request limit reached", 2207042)
        if container.status != "FINISHED":
            return graph_error(9007, "Media ID is not available", 2207027)
        media = Media(
            str(next(self._ids)),
            user,
            container.caption,
            container.media_type,
            time.time(),
            container.id,
        )
        self.media.append(media)
        container.status, container.media_id = "PUBLISHED", media.id
        return web.json_response({"id": media.id})

    async def limit(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        user = self._user(params)
        if user is None:
            return self._bad_token()
        config = {"quota_total": self.quota_total, "quota_duration": 86400}
        return web.json_response({"data": [{"quota_usage": self.used(user), "config": config}]})

    async def list_media(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        user = self._user(params)
        if user is None:
            return self._bad_token()
        mine = [m for m in reversed(self.media) if m.user == user][:25]
        data = [
            {
                "id": m.id,
                "caption": m.caption,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(m.timestamp)),
            }
            for m in mine
        ]
        return web.json_response({"data": data})
