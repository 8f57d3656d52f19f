"""Shared plumbing of the media publishers (YouTube, Instagram, TikTok).

One HTTP call with transport failures mapped by whether the request may have reached the
platform (nothing sent: NetworkError; maybe sent: OutcomeUnknown), tokens from the
TokenRefresher with one forced refresh on 401, and a slot's media read from the store.
Redirects are never followed: YouTube's `308 Resume Incomplete` is an answer, not a hop.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from engine.credentials import Credentials
from engine.errors import AuthExpired, ContentRejected, NetworkError, OutcomeUnknown
from engine.media import MediaAsset
from engine.ports import MediaStore, PublishRequest, TokenRefresher

T = TypeVar("T")


class Unauthorized(Exception):
    """The platform answered 401: the token may only have expired (refresh once, retry)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, read whole (API answers are small; media never comes back)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The JSON body, or {} when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else {}
        except ValueError:
            return {}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self, limit: int = 300) -> str:
        text = " ".join(self.body.decode("utf-8", "replace").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


class Http:
    """aiohttp calls for one platform, failures mapped to Herald's errors."""

    def __init__(
        self,
        name: str,
        *,
        timeout_seconds: float = 60.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=15.0, sock_read=timeout_seconds
        )
        self._session = session
        self._owns_session = session is None

    async def call(
        self,
        method: str,
        url: str,
        *,
        creates: bool = False,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """One request. `creates` marks a call that may make a post: once it may have been
        sent, a timeout, a dropped connection or a 5xx is OutcomeUnknown. Raises
        NetworkError, OutcomeUnknown."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        try:
            async with self._session.request(
                method,
                url,
                headers=dict(headers or {}),
                timeout=self._timeout,
                allow_redirects=False,
                **kwargs,
            ) as response:
                body = await response.read()
                answer = Answer(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, body
                )
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            raise NetworkError(f"cannot reach {self.name}: {type(exc).__name__}") from None
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            what = f"{self.name} {type(exc).__name__} after the request was sent"
            raise (OutcomeUnknown(what) if creates else NetworkError(what)) from None
        if creates and answer.status >= 500:
            raise OutcomeUnknown(f"{self.name} answered HTTP {answer.status}: {answer.text()}")
        return answer

    async def close(self) -> None:
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()


async def with_token(
    refresher: TokenRefresher,
    account_id: str,
    attempt: Callable[[Credentials], Awaitable[T]],
    *,
    platform: str,
) -> T:
    """Run `attempt` with the account's credentials; on Unauthorized force one refresh and
    run it again. Raises AuthExpired when the refreshed token is refused too, or whatever
    the refresher or `attempt` raise."""
    credentials = await refresher.credentials(account_id)
    try:
        return await attempt(credentials)
    except Unauthorized:
        pass
    credentials = await refresher.credentials(account_id, force_refresh=True)
    try:
        return await attempt(credentials)
    except Unauthorized as exc:
        raise AuthExpired(
            f"{platform} refused the refreshed token of {account_id} ({exc}): reconnect it"
        ) from None


async def slot_media(request: PublishRequest, store: MediaStore | None) -> list[MediaAsset]:
    """The slot's media: given on the request, else looked up by the content's media ids."""
    if request.media:
        return list(request.media)
    if not request.content.media:
        return []
    if store is None:
        raise ContentRejected("the content has media but this Herald has no media store")
    return [await store.get(media_id) for media_id in request.content.media]


def post_text(request: PublishRequest) -> str:
    """The caption, then its hashtags not already in it."""
    caption = request.caption.strip()
    present = {w.lower() for w in caption.split() if w.startswith("#")}
    extra = [f"#{t.lstrip('#')}" for t in request.hashtags if f"#{t}".lower() not in present]
    return f"{caption} {' '.join(extra)}".strip() if extra else caption


def herald_tag(request: PublishRequest) -> str:
    """A short tag unique to the slot, posted with it so reconciliation can find it."""
    import hashlib

    return "herald" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:10]


PIECE = 1024 * 1024


async def byte_range(
    store: MediaStore, media_id: str, start: int, length: int
) -> AsyncIterator[bytes]:
    """`length` bytes of a stored file from `start`, 1 MiB at a time (an upload body that
    never holds a whole chunk, let alone the file, in memory)."""
    left = length
    pieces = store.chunks(media_id, chunk_size=min(PIECE, length), start=start)
    async for piece in pieces:
        if len(piece) >= left:
            yield piece[:left]
            break
        yield piece
        left -= len(piece)
    aclose = getattr(pieces, "aclose", None)
    if aclose is not None:
        await aclose()


class MemoryPublishHandles:
    """PublishHandles in a dict: reconciliation within one process (tests, no database)."""

    def __init__(self) -> None:
        self._handles: dict[tuple[str, str], str] = {}

    async def remember(self, slot_id: str, publisher: str, handle: str) -> None:
        self._handles[(slot_id, publisher)] = handle

    async def recall(self, slot_id: str, publisher: str) -> str | None:
        return self._handles.get((slot_id, publisher))

    def forget_all(self) -> None:
        """Drop every handle (tests: a restart without stored handles)."""
        self._handles.clear()
