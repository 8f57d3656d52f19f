"""The API's machinery: the route table, bearer-token auth acting as a Slack user, scopes,
per-token rate limits, body/query validation, and Idempotency-Key replays.

Handlers are declared with `@route(...)` and receive a `Call`; they call the engine the way
Slack's listeners do and return a pydantic model (or a list of them, or a web response).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.api.problems import Problem, from_herald, from_validation
from engine.errors import HeraldError
from engine.models import Actor

CTX: web.AppKey[Any] = web.AppKey("herald_api")
IN_PROGRESS = 0  # an Idempotency-Key reserved by a request that has not answered yet


@dataclass
class Call:
    """One authenticated API request, its parsed body and query."""

    request: web.Request
    ctx: Any  # bot.api.ApiContext
    actor: Actor
    token: Any  # storage.api_store.ApiToken
    body: Any = None
    query: Any = None
    raw: bytes = b""  # the body as sent, for routes that parse it themselves (`raw_body`)

    def param(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path under /api/v1, the scope it needs, and its models."""

    method: str
    path: str
    handler: Handler
    scope: str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    idempotent: bool = False
    stream: bool = False
    tags: tuple[str, ...] = ()
    # A body the handler parses itself (not JSON into `body`): media type -> OpenAPI media.
    raw_body: dict[str, Any] | None = None
    # The handler reads `request.content` itself, a chunk at a time (uploads of any size).
    streamed_body: bool = False


ROUTES: list[Route] = []


def route(
    method: str, path: str, *, scope: str, summary: str, **options: Any
) -> Callable[[Handler], Handler]:
    """Declare `handler` as the endpoint `method path` (see `Route` for the options)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, path, handler, scope, summary, **options))
        return handler

    return register


class RateLimiter:
    """A token bucket per API token: `rate` requests a second, bursts of `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 when a request may go now, else the seconds until one may."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1, now)
        return 0.0


class TokenCache:
    """Verified tokens by the hash of their secret, reused for `ttl` seconds while `feed`
    says revocations reach `forget` (the audit-log poller hears every process's
    `token.revoked`): a request then reads no database to authenticate. Expiry is checked
    on every use."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self.feed: Callable[[], bool] = lambda: False
        self._tokens: dict[str, tuple[float, Any]] = {}

    def get(self, secret: str, now: Any) -> Any:
        """The cached token for `secret`, or None (not cached, stale, expired, no feed)."""
        if not self.feed():
            return None
        hit = self._tokens.get(_digest(secret))
        if hit is None or time.monotonic() - hit[0] > self.ttl or not hit[1].usable(now):
            return None
        return hit[1]

    def put(self, secret: str, token: Any) -> None:
        if len(self._tokens) >= self.size:
            self._tokens.clear()  # a flood of distinct tokens: start over, not grow
        self._tokens[_digest(secret)] = (time.monotonic(), token)

    def forget(self, token_id: str) -> None:
        """Drop `token_id` (revoked)."""
        for key, (_, token) in list(self._tokens.items()):
            if token.id == token_id:
                del self._tokens[key]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def dump(value: Any) -> Any:
    """JSON-ready data from a handler's answer."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


async def authenticate(request: web.Request, ctx: Any) -> tuple[Any, Actor]:
    """The token in `Authorization: Bearer ...` and the Slack user it acts as (401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="herald"'}
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(401, "send an API token: Authorization: Bearer <token>", headers=challenge)
    secret, now = secret.strip(), ctx.clock.now()
    token = ctx.tokens.get(secret, now)
    if token is None:
        token = await ctx.store.verify(secret, now)
        if token is None:
            raise Problem(401, "the API token is unknown, revoked or expired", headers=challenge)
        ctx.tokens.put(secret, token)
    role = ctx.deps.roles.role_of(token.user_id)
    return token, Actor(token.user_id, role, token.user_id, via=token.id)


def wrap(spec: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for `spec`: auth, scope, rate limit, parsing, idempotency."""

    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CTX]
        token, actor = await authenticate(request, ctx)
        if spec.scope not in token.scopes:
            raise Problem(
                403,
                f"token {token.id} lacks the {spec.scope!r} scope (has {', '.join(token.scopes)})",
            )
        wait = ctx.limiter.take(token.id)
        if wait > 0:
            raise Problem(
                429,
                f"token {token.id} is over {ctx.limiter.rate:g} requests/s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        call = Call(request, ctx, actor, token)
        for where in (request.match_info, request.query):
            for name, value in where.items():
                if "\x00" in value:
                    raise Problem(422, f"{name}: contains a NUL character", field=name)
        wanted = spec.body is not None or spec.raw_body is not None
        raw = await request.read() if wanted and not spec.streamed_body else b""
        if not (wanted or spec.streamed_body) and request.method != "GET" and request.can_read_body:
            _refuse_body(await request.read())
        if spec.raw_body is not None and not spec.streamed_body:
            _refuse_nul(raw)
        if spec.query is not None:
            try:
                call.query = spec.query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise from_validation(exc) from None
        if spec.body is not None:
            call.body = parse_body(raw, spec.body)
        call.raw = raw
        if spec.idempotent and request.headers.get("Idempotency-Key"):
            return await _idempotent(spec, call, raw)
        answer = await spec.handler(call)
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.json_response(dump(answer), status=spec.status)

    return handle


def parse_body(raw: bytes, model: type[BaseModel]) -> Any:
    """The body as `model`: 422 naming `body` for bad JSON, or the first bad field."""
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        hint = "" if raw.lstrip()[:1] in (b"{", b"[") else "; send Content-Type: application/json"
        raise Problem(422, f"body: not valid JSON ({exc}){hint}", field="body") from None
    except RecursionError:
        raise Problem(422, "body: nested too deeply to be a request", field="body") from None
    if not isinstance(data, dict):
        raise Problem(422, "body: must be a JSON object", field="body")
    nul = _nul_path(data)
    if nul is not None:
        raise Problem(422, f"{nul}: contains a NUL character", field=nul)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    except HeraldError as exc:
        raise from_herald(exc) from None


def _refuse_body(raw: bytes) -> None:
    """A body sent to an operation that takes none: 422, since ignoring it would let a client
    believe its options (`{"seed": 7}` on plan) were used. Empty, `{}` and `null` are what
    clients send by default, and say nothing."""
    if raw.strip() in (b"", b"{}", b"null"):
        return
    raise Problem(422, "body: this operation takes no body (send none, or {})", field="body")


def _refuse_nul(raw: bytes) -> None:
    """A body a route parses itself (CSV, a JSON list) with a NUL character: 422."""
    found = "body" if b"\x00" in raw else None
    if found is None and b"\\u0000" in raw:
        try:
            found = _nul_path(json.loads(raw))
        except (ValueError, RecursionError):
            found = None  # not JSON: the route says what is wrong with it
    if found is not None:
        raise Problem(422, f"{found}: contains a NUL character", field=found)


def _nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) with a NUL character: no text field
    means one, and PostgreSQL refuses it in text (a 503 instead of a named 422)."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return here
        found = _nul_path(item, here)
        if found is not None:
            return found
    return None


async def _idempotent(spec: Route, call: Call, raw: bytes) -> web.StreamResponse:
    """Same key + same request -> the same answer for 24 h, from any replica; same key +
    another request -> 422; a request still running under the key -> 409."""
    key = call.request.headers["Idempotency-Key"].strip()
    if not key or len(key) > 200:
        raise Problem(422, "Idempotency-Key: 1 to 200 characters", field="Idempotency-Key")
    # The request as data, not bytes: the same JSON re-sent with other spacing or key
    # order (another client library, a retry through a proxy) is the same request.
    try:
        body = json.dumps(json.loads(raw or b"{}"), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        body = hashlib.sha256(raw).hexdigest()  # not JSON (a CSV import): its bytes
    query = sorted(call.request.query.items())
    fingerprint = hashlib.sha256(
        f"{spec.method} {call.request.path}?{query}\n{body}".encode()
    ).hexdigest()
    store = call.ctx.store
    user = call.actor.id
    held = await store.reserve(user, key, fingerprint, call.ctx.clock.now())
    if held is not None:
        if held.request_hash != fingerprint:
            raise Problem(
                422,
                "Idempotency-Key: already used with a different request",
                field="Idempotency-Key",
            )
        if held.status == IN_PROGRESS:
            raise Problem(409, "a request with this Idempotency-Key is still running")
        return web.json_response(
            held.response, status=held.status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        answer = await spec.handler(call)
    except BaseException:
        # A refused or failed create changed nothing: the key may be used again.
        await store.release(user, key)
        raise
    body = dump(answer)
    await store.answer(user, key, spec.status, body)
    return web.json_response(body, status=spec.status)


@dataclass
class Registered:
    """What `register_routes` added (for the OpenAPI coverage test)."""

    paths: list[tuple[str, str]] = field(default_factory=list)


def register_routes(app: web.Application) -> Registered:
    done = Registered()
    for spec in ROUTES:
        app.router.add_route(spec.method, spec.path, wrap(spec))
        done.paths.append((spec.method, spec.path))
    return done
