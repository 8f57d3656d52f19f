"""A stateful fake of the X API v2 on 127.0.0.1, from /work/shared/PLATFORM-APIS.md §1.

Endpoints: `POST /2/tweets` (201 `{"data":{"id","text"}}`), `GET /2/users/:id/tweets`
(`start_time`, `max_results`), `DELETE /2/tweets/:id`, `GET /2/users/me`, the v2 media upload
on its dedicated paths (`/2/media/upload/initialize`, `/{id}/append` multipart
`segment_index`+`media`, `/{id}/finalize`, `GET /2/media/upload?command=STATUS`), and OAuth 2.0
with PKCE: `GET /i/oauth2/authorize`, `POST /2/oauth2/token` (2 h access tokens, rotating
single-use refresh tokens; see tests/fakes/oauth.py for the exact wire format).
Errors are problem JSON: 401 for a missing, invalid or expired token; 429 with
`x-rate-limit-limit/-remaining/-reset` (Unix seconds, no Retry-After) past 100 posts per
15 min per user (`user_limit`) or 10,000 per 24 h per app; 403 "duplicate content" only when
`dedupe` is on (X's weak, undocumented window: off for the crash test); 403 `user-suspended`.
`hang` = "after" stores the post then answers late, "before" answers late without storing.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.oauth import OAuthProvider, Refusal, Served, fake_app

WINDOW = 15 * 60


@dataclass
class Tweet:
    id: str
    author_id: str
    text: str
    created_at: float
    media_ids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Media:
    id: str
    total_bytes: int
    category: str
    received: int = 0
    segments: set[int] = field(default_factory=set)
    polls_left: int = 1
    state: str = "none"


class FakeX:
    """State and handlers of the fake (see module docstring)."""

    def __init__(self, *, dedupe: bool = True, user_limit: int = 100, app_limit: int = 10_000):
        self.oauth = OAuthProvider.x()
        self.users: dict[str, str] = {}  # id -> username
        self.tweets: list[Tweet] = []
        self.media: dict[str, Media] = {}
        self.dedupe = dedupe
        self.user_limit = user_limit
        self.app_limit = app_limit
        self.suspended: set[str] = set()
        self.fail_media = False
        self.hang: str | None = None
        self.hang_seconds = 2.0
        self.create_calls = 0
        self._ids = itertools.count(1445880548472328192)
        self._posts_at: dict[str, list[float]] = {}

    def add_user(self, user_id: str, username: str) -> dict[str, object]:
        """A user who authorized Herald; returns their token set."""
        self.users[user_id] = username
        return self.oauth.issue(user_id, "tweet.read tweet.write users.read offline.access")

    def live(self, author_id: str | None = None) -> list[Tweet]:
        return [t for t in self.tweets if not t.deleted and author_id in (None, t.author_id)]

    def app(self) -> web.Application:
        app = fake_app()
        self.oauth.routes(app, "/i/oauth2/authorize", "/2/oauth2/token")
        app.router.add_post("/2/tweets", self._create)
        app.router.add_delete("/2/tweets/{id}", self._delete)
        app.router.add_get("/2/users/me", self._me)
        app.router.add_get("/2/users/{id}/tweets", self._timeline)
        app.router.add_post("/2/media/upload/initialize", self._init)
        app.router.add_post("/2/media/upload/{id}/append", self._append)
        app.router.add_post("/2/media/upload/{id}/finalize", self._finalize)
        app.router.add_get("/2/media/upload", self._status)
        return app

    async def serve(self) -> Served:
        return await Served(self.app()).start()

    # --- helpers

    def _user(self, request: web.Request) -> str:
        user, why = self.oauth.user_of(request.headers.get("Authorization"))
        if user is None:
            raise _problem(401, "Unauthorized", f"Unauthorized ({why} token)")
        return user

    def _limit_headers(self, user: str, now: float) -> dict[str, str]:
        recent = [t for t in self._posts_at.get(user, []) if t > now - WINDOW]
        self._posts_at[user] = recent
        reset = int((recent[0] if recent else now) + WINDOW)
        return {
            "x-rate-limit-limit": str(self.user_limit),
            "x-rate-limit-remaining": str(max(0, self.user_limit - len(recent))),
            "x-rate-limit-reset": str(reset),
        }

    # --- posts

    async def _create(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        now = time.time()
        headers = self._limit_headers(user, now)
        app_today = sum(1 for t in self.tweets if t.created_at > now - 86400)
        if headers["x-rate-limit-remaining"] == "0" or app_today >= self.app_limit:
            raise _problem(429, "Too Many Requests", "Too Many Requests", headers=headers)
        if user in self.suspended:
            raise _problem(
                403,
                "Forbidden",
                "Your account is suspended and is not permitted to access this feature.",
                kind="https://api.twitter.com/2/problems/user-suspended",
            )
        body = await request.json()
        text = str(body.get("text", ""))
        media_ids = list((body.get("media") or {}).get("media_ids") or [])
        if not text and not media_ids:
            raise _problem(400, "Invalid Request", "One or more parameters are invalid.")
        if len(media_ids) > 4 or any(
            self.media.get(m) is None or self.media[m].state != "succeeded" for m in media_ids
        ):
            raise _problem(400, "Invalid Request", "Your media IDs are invalid.")
        if self.dedupe and any(t.text == text for t in self.live(user)):
            raise _problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        self.create_calls += 1
        if self.hang == "before":
            await asyncio.sleep(self.hang_seconds)
            raise _problem(503, "Service Unavailable", "Service Unavailable")
        tweet = Tweet(str(next(self._ids)), user, text, now, media_ids)
        self.tweets.append(tweet)
        self._posts_at.setdefault(user, []).append(now)
        if self.hang == "after":
            await asyncio.sleep(self.hang_seconds)
        headers = self._limit_headers(user, now)
        return web.json_response(
            {"data": {"id": tweet.id, "text": text}}, status=201, headers=headers
        )

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        for tweet in self.live(user):
            if tweet.id == request.match_info["id"]:
                tweet.deleted = True
                return web.json_response({"data": {"deleted": True}})
        raise _problem(404, "Not Found Error", "Could not find the Tweet.")

    async def _me(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        name = self.users.get(user, user)
        return web.json_response({"data": {"id": user, "name": name.title(), "username": name}})

    async def _timeline(self, request: web.Request) -> web.StreamResponse:
        self._user(request)
        start = request.query.get("start_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() if start else 0
        limit = min(100, int(request.query.get("max_results", "10")))
        found = [t for t in self.live(request.match_info["id"]) if t.created_at >= since]
        found = sorted(found, key=lambda t: t.created_at, reverse=True)[:limit]
        data = [
            {
                "id": t.id,
                "text": t.text,
                "created_at": _iso(t.created_at),
                "edit_history_tweet_ids": [t.id],
            }
            for t in found
        ]
        meta: dict[str, Any] = {"result_count": len(data)}
        return web.json_response({"data": data, "meta": meta} if data else {"meta": meta})

    # --- media

    async def _init(self, request: web.Request) -> web.StreamResponse:
        self._user(request)
        body = await request.json()
        media = Media(str(next(self._ids)), int(body["total_bytes"]), str(body["media_category"]))
        self.media[media.id] = media
        return web.json_response(
            {"data": {"id": media.id, "media_key": f"13_{media.id}", "expires_after_secs": 86400}}
        )

    async def _append(self, request: web.Request) -> web.StreamResponse:
        self._user(request)
        media = self.media.get(request.match_info["id"])
        if media is None:
            raise _problem(400, "Invalid Request", "media_id not found")
        form = await request.post()
        chunk = form["media"]
        data = chunk.file.read() if hasattr(chunk, "file") else str(chunk).encode()
        media.segments.add(int(str(form["segment_index"])))
        media.received += len(data)
        return web.Response(status=204)

    async def _finalize(self, request: web.Request) -> web.StreamResponse:
        self._user(request)
        media = self.media[request.match_info["id"]]
        if media.received != media.total_bytes:
            raise _problem(400, "Invalid Request", "File size does not match total_bytes")
        data: dict[str, Any] = {"id": media.id, "size": media.total_bytes}
        if media.category == "tweet_video":
            media.state = "pending"
            data["processing_info"] = {"state": "pending", "check_after_secs": 1}
        else:
            media.state = "succeeded"
        return web.json_response({"data": data})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self._user(request)
        media = self.media[request.query["media_id"]]
        media.polls_left -= 1
        if media.polls_left < 0:
            media.state = "failed" if self.fail_media else "succeeded"
        else:
            media.state = "in_progress"
        info: dict[str, Any] = {"state": media.state, "check_after_secs": 1}
        if media.state == "failed":
            info["error"] = {"code": 1, "name": "InvalidMedia", "message": "Unsupported video"}
        return web.json_response({"data": {"id": media.id, "processing_info": info}})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> Refusal:
    body = {"title": title, "type": kind, "status": status, "detail": detail}
    return Refusal(
        web.json_response(
            body, status=status, headers=headers, content_type="application/problem+json"
        )
    )
