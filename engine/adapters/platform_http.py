"""Shared plumbing of the platform API publishers (X, LinkedIn, Postiz, Mixpost).

One HTTP call whose transport failures are mapped by whether the request may have reached
the platform (nothing sent: NetworkError; maybe sent: OutcomeUnknown), rate-limit resets read
from the answer's headers, and tokens from the TokenRefresher with one forced refresh on 401.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp

from engine.credentials import Credentials
from engine.errors import (
    AccountSuspended,
    AuthExpired,
    ContentRejected,
    DuplicateContent,
    NetworkError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
)
from engine.ports import Clock, PublishRequest, TokenRefresher
from engine.url_redaction import redact_urls

T = TypeVar("T")
Now = Callable[[], datetime]


def wall_now() -> datetime:
    return datetime.now(UTC)


def clock_now(clock: Clock | None) -> Now:
    """Rate-limit resets are wall-clock Unix times; a Clock (tests) may stand in for it."""
    return clock.now if clock is not None else wall_now


class Unauthorized(Exception):
    """The platform answered 401: the token may only have expired (refresh once and retry)."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """One HTTP answer, read whole (API answers are small; media never comes back)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The JSON body, or {} when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else {}
        except ValueError:
            return {}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ApiClient:
    """aiohttp calls to one API base URL, with failures mapped to Herald's errors."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        timeout_seconds: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"{name} API URL must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.name = name
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout_seconds, sock_read=timeout_seconds
        )
        self._session = session
        self._owns_session = session is None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        creates: bool = False,
        **kwargs: Any,
    ) -> ApiAnswer:
        """One request. `creates` marks a call that makes a post: once it may have been sent,
        a timeout, a dropped connection or a 5xx is OutcomeUnknown, never a safe retry.
        Raises NetworkError, OutcomeUnknown."""
        session = self._client()
        try:
            async with session.request(
                method, self.url(path), headers=dict(headers or {}), timeout=self._timeout, **kwargs
            ) as response:
                body = await response.read()
                answer = ApiAnswer(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, body
                )
        except aiohttp.ConnectionTimeoutError as exc:
            why = redact_urls(str(exc))  # aiohttp quotes the URL, which may hold a key
            raise NetworkError(f"{self.name} did not accept a connection: {why}") from None
        except aiohttp.ClientConnectorError as exc:
            raise NetworkError(f"cannot reach {self.name}: {exc.os_error}") from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            if creates:
                raise OutcomeUnknown(
                    f"{self.name} did not answer in time after the post was sent"
                ) from None
            raise NetworkError(f"{self.name} did not answer in time") from None
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            ConnectionError,
        ) as exc:
            why = redact_urls(str(exc))
            if creates:
                raise OutcomeUnknown(
                    f"connection to {self.name} dropped after the post was sent: {why}"
                ) from None
            raise NetworkError(f"connection to {self.name} dropped: {why}") from None
        except aiohttp.ClientError as exc:
            why = redact_urls(str(exc))
            if creates:
                raise OutcomeUnknown(f"{self.name} request failed after sending: {why}") from None
            raise NetworkError(f"{self.name} request failed: {why}") from None
        if creates and answer.status >= 500:
            raise OutcomeUnknown(
                f"{self.name} answered HTTP {answer.status} after the post was sent: "
                f"{short(answer.text)}"
            )
        return answer

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the HTTP session this client opened."""
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()


async def with_token(
    refresher: TokenRefresher,
    account_id: str,
    attempt: Callable[[Credentials], Awaitable[T]],
    *,
    platform: str,
) -> T:
    """Run `attempt` with the account's credentials; on Unauthorized (a 401, nothing was
    posted) force one refresh and run it again. Raises AuthExpired when the refreshed
    token is refused too, or whatever the refresher or `attempt` raise."""
    credentials = await refresher.credentials(account_id)
    try:
        return await attempt(credentials)
    except Unauthorized:
        pass
    credentials = await refresher.credentials(
        account_id, force_refresh=True, rejected_token=credentials.access_token
    )
    try:
        return await attempt(credentials)
    except Unauthorized as exc:
        raise AuthExpired(
            f"{platform} refused the credentials of {account_id} again after a refresh "
            f"({exc}): reconnect the account or replace its key"
        ) from None


class StaticKeyTokens:
    """TokenRefresher for an API-key service (Postiz, Mixpost): one configured key for every
    account. Refreshing cannot help, so a key refused twice is AuthExpired."""

    def __init__(self, publisher: str, key: str) -> None:
        self._publisher = publisher
        self._key = key

    def __repr__(self) -> str:
        return f"StaticKeyTokens({self._publisher!r})"

    async def credentials(
        self, account_id: str, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> Credentials:
        """Never raises."""
        return Credentials(account_id, self._publisher, "", self._key)


def reset_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long until a rate limit resets, from the documented headers: X's
    `x-rate-limit-reset` and 24-hour variants (Unix seconds; the latest wins), else
    `Retry-After` or `x-ratelimit-reset` (seconds, or an HTTP date). None when absent."""
    resets: list[datetime] = []
    for name in ("x-rate-limit-reset", "x-user-limit-24hour-reset", "x-app-limit-24hour-reset"):
        value = headers.get(name, "").strip()
        remaining = headers.get(name.replace("-reset", "-remaining"), "").strip()
        if value.isdigit() and (name == "x-rate-limit-reset" or remaining == "0"):
            resets.append(datetime.fromtimestamp(int(value), UTC))
    if resets:
        return max(timedelta(0), max(resets) - now)
    for name in ("retry-after", "x-ratelimit-reset", "ratelimit-reset"):
        value = headers.get(name, "").strip()
        if value.isdigit():
            return timedelta(seconds=int(value))
        if value:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return max(timedelta(0), when.replace(tzinfo=when.tzinfo or UTC) - now)
    return None


def next_utc_midnight(now: datetime) -> timedelta:
    """Time until 00:00 UTC (LinkedIn's daily limits reset then)."""
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return tomorrow - now


def platform_error(reason: str) -> PublishError:
    """A post Postiz could not publish: the platform's reason, mapped like its own answer."""
    lowered = reason.lower()
    if "duplicate" in lowered:
        return DuplicateContent(
            f"the platform refused a duplicate (via the posting service): {reason}"
        )
    if "suspended" in lowered or "restricted" in lowered:
        return AccountSuspended(f"account suspended (via the posting service): {reason}")
    if "rate limit" in lowered or "too many" in lowered:
        return RateLimited(f"platform rate limit (via the posting service): {reason}")
    return ContentRejected(f"the posting service could not publish the post: {reason}")


def post_text(request: PublishRequest) -> str:
    """The text Herald posts for a slot: the caption, then its hashtags not already in it.
    Reconciliation matches on exactly this text."""
    caption = request.caption.strip()
    present = {w.lower() for w in re.findall(r"#\w+", caption)}
    tags = [f"#{t.lstrip('#')}" for t in request.hashtags]
    extra = [t for t in tags if t.lower() not in present]
    return f"{caption} {' '.join(extra)}".strip() if extra else caption


_URL = re.compile(r"https?://\S+")


def same_text(posted: str, wanted: str) -> bool:
    """Exact text, except links (platforms rewrite them, e.g. X's t.co) and outer spaces."""
    return _URL.sub("<url>", posted.strip()) == _URL.sub("<url>", wanted.strip())


def has_link(text: str) -> bool:
    return bool(_URL.search(text))


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
