"""A stateful fake of X's or LinkedIn's OAuth 2.0 endpoints (PLATFORM-APIS.md sections 1, 2):
consent (auto-approved, or `deny`), code exchange with PKCE / client auth, refresh (X: single
use and rotating), profile; 400/401 error bodies as the platforms send them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web

from engine.adapters.oauth2_client import OAuth2Client

REDIRECT = "https://herald.example/oauth/callback"


@dataclass
class User:
    id: str
    username: str
    name: str


@dataclass
class _Grant:
    user: User
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str


@dataclass
class FakeOAuthPlatform:
    """X (`dialect="x"`) or LinkedIn (`"linkedin"`) OAuth endpoints on 127.0.0.1."""

    dialect: str = "x"
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    user: User = field(default_factory=lambda: User("2244994945", "herald_dev", "Herald Dev"))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    deny: bool = False
    # Scripted answers for the next token requests: (status, JSON body, headers).
    token_failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    token_calls: dict[str, int] = field(default_factory=dict)
    profile_calls: int = 0

    def __post_init__(self) -> None:
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, tuple[User, datetime]] = {}
        self._refresh: dict[str, tuple[User, str]] = {}
        self.issued_access: list[str] = []
        self.issued_refresh: list[str] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- paths per dialect
    @property
    def paths(self) -> dict[str, str]:
        if self.dialect == "x":
            return {
                "authorize": "/i/oauth2/authorize",
                "token": "/2/oauth2/token",
                "profile": "/2/users/me",
            }
        return {
            "authorize": "/oauth/v2/authorization",
            "token": "/oauth/v2/accessToken",
            "profile": "/v2/userinfo",
        }

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(self.paths["authorize"], self._authorize)
        app.router.add_post(self.paths["token"], self._token)
        app.router.add_get(self.paths["profile"], self._profile)
        self._runner = web.AppRunner(app, access_log=None)  # Herald's own log is under test
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def revoke(self) -> None:
        """The user revoked the app: every token of theirs stops working."""
        self._access.clear()
        self._refresh.clear()

    def expire_access_tokens(self) -> None:
        for token, (user, _) in list(self._access.items()):
            self._access[token] = (user, self.now() - timedelta(seconds=1))

    # --- endpoints
    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return web.Response(status=400, text="Something went wrong: invalid client")
        if self.dialect == "x" and q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="PKCE is required")
        if self.deny:
            answer = {"error": "access_denied", "state": q.get("state", "")}
            if self.dialect == "linkedin":
                answer["error_description"] = "The user cancelled the authorization"
            raise web.HTTPFound(f"{redirect}?{urlencode(answer)}")
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Grant(
            self.user, self.client_id, redirect, q.get("code_challenge"), q.get("scope", "")
        )
        raise web.HTTPFound(f"{redirect}?{urlencode({'state': q.get('state', ''), 'code': code})}")

    def _client_ok(self, request: web.Request, form: Any) -> bool:
        if self.dialect == "x":
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            return request.headers.get("Authorization") == f"Basic {expected}"
        return (
            form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )

    def _error(self, status: int, error: str, description: str) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        self.token_calls[grant] = self.token_calls.get(grant, 0) + 1
        if self.token_failures:
            status, body, headers = self.token_failures.pop(0)
            return web.json_response(body, status=status, headers=headers)
        if not self._client_ok(request, form):
            if self.dialect == "x":
                return self._error(401, "unauthorized_client", "Missing valid authorization header")
            return self._error(401, "invalid_client", "Client authentication failed")
        if grant == "authorization_code":
            return self._code_grant(form)
        if grant == "refresh_token":
            return self._refresh_grant(str(form.get("refresh_token", "")))
        return self._error(400, "unsupported_grant_type", "grant_type is not supported")

    def _code_grant(self, form: Any) -> web.Response:
        pending = self._codes.pop(str(form.get("code", "")), None)
        if pending is None or pending.redirect_uri != form.get("redirect_uri"):
            return self._invalid()
        if pending.challenge is not None:
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.challenge:
                return self._invalid()
        return self._issue(pending.user, pending.scope)

    def _refresh_grant(self, token: str) -> web.Response:
        found = self._refresh.get(token)
        if found is None:
            return self._invalid()
        user, scope = found
        if self.dialect == "x":
            del self._refresh[token]  # single use: the answer carries the next one
            return self._issue(user, scope)
        return self._issue(user, scope, keep_refresh=token)

    def _invalid(self) -> web.Response:
        if self.dialect == "x":
            return self._error(400, "invalid_request", "Value passed for the token was invalid.")
        return self._error(400, "invalid_grant", "The provided authorization grant is invalid")

    def _issue(self, user: User, scope: str, keep_refresh: str | None = None) -> web.Response:
        access = f"fake-at-{secrets.token_hex(12)}"
        lifetime = 7200 if self.dialect == "x" else 5_184_000
        self._access[access] = (user, self.now() + timedelta(seconds=lifetime))
        self.issued_access.append(access)
        body: dict[str, Any] = {"access_token": access, "expires_in": lifetime, "scope": scope}
        if self.dialect == "x":
            body["token_type"] = "bearer"
        refresh = keep_refresh
        if refresh is None and (self.dialect != "x" or "offline.access" in scope.split()):
            refresh = f"fake-rt-{secrets.token_hex(12)}"
            self._refresh[refresh] = (user, scope)
            self.issued_refresh.append(refresh)
        if refresh is not None:
            body["refresh_token"] = refresh
            if self.dialect == "linkedin":
                body["refresh_token_expires_in"] = 31_536_000
        return web.json_response(body)

    async def _profile(self, request: web.Request) -> web.Response:
        self.profile_calls += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        found = self._access.get(token)
        if found is None or found[1] <= self.now():
            if self.dialect == "x":
                problem = {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                }
                return web.json_response(problem, status=401)
            return web.json_response(
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
                status=401,
            )
        user = found[0]
        if self.dialect == "x":
            return web.json_response(
                {"data": {"id": user.id, "name": user.name, "username": user.username}}
            )
        return web.json_response(
            {
                "sub": user.id,
                "name": user.name,
                "given_name": user.name,
                "family_name": "",
                "email_verified": True,
            }
        )


async def consent(client: OAuth2Client, state: str = "st-1") -> tuple[str, str | None]:
    """Open the authorize URL on the fake (consent is automatic); the code it redirects with."""
    start = client.authorization_url(state=state, redirect_uri=REDIRECT)
    async with (
        aiohttp.ClientSession() as session,
        session.get(start.url, allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0], start.code_verifier
