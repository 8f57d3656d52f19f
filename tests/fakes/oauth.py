"""A stateful OAuth 2.0 authorization server for the platform fakes (X, LinkedIn).

`OAuthProvider` implements the authorization-code grant (RFC 6749 §4.1) with optional PKCE
(RFC 7636, S256 and plain) and the refresh-token grant. `OAuthProvider.x()` and
`OAuthProvider.linkedin()` set each platform's documented dialect (PLATFORM-APIS.md sections 1
and 2); the platform fakes mount it with `provider.routes(app, authorize_path, token_path)`.

- `GET <authorize_path>?response_type=code&client_id&redirect_uri&state&scope
  [&code_challenge&code_challenge_method]` -> 302 to `redirect_uri?code=…&state=…` as the user
  `provider.consent_user` (`provider.deny = True` answers `?error=access_denied&state=…`, with
  LinkedIn's `error_description`). Unknown client or redirect_uri, or (X) no S256 challenge ->
  400 with no redirect.
- `POST <token_path>` form `grant_type=authorization_code&code&redirect_uri[&code_verifier]`
  or `grant_type=refresh_token&refresh_token`. X authenticates a confidential client with HTTP
  Basic only (401 `unauthorized_client`), LinkedIn with form `client_id` + `client_secret`
  (401 `invalid_client`). 200 `{"access_token","expires_in","scope"[,"token_type"]
  [,"refresh_token"[,"refresh_token_expires_in"]]}`: X answers 2 h tokens, a refresh token only
  for `offline.access`, single use and rotating; LinkedIn 60-day tokens and a fixed one-year
  refresh token. A bad code, verifier or refresh token -> 400: X `invalid_request` "Value
  passed for the token was invalid.", LinkedIn `invalid_grant`.
Codes live 10 minutes and are single-use. Tests drive it with `issue()`, `expire()`,
`revoke()`, `revoke_all()`, and script the next token answers with `token_failures`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web

from engine.adapters.oauth2_client import OAuth2Client

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The redirect URI the OAuth client tests register and consent with.
REDIRECT = "https://herald.example/oauth/callback"


@dataclass
class Grant:
    user_id: str
    scope: str
    expires_at: float


@dataclass
class OAuthProvider:
    """Clients, codes and tokens of one fake platform (see module docstring)."""

    client_id: str = "herald-client"
    client_secret: str = "herald-secret"
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI is registered
    access_ttl: int = 7200
    refresh_ttl: int = 365 * 86400
    rotate: bool = True
    issue_refresh: bool = True
    # The platform's dialect (see the presets `x()` and `linkedin()`).
    client_auth: Literal["basic", "form", "either"] = "either"
    pkce_required: bool = False
    refresh_scope: str = ""  # non-empty: a refresh token only when this scope was granted
    bad_grant: tuple[str, str] = ("invalid_grant", "")  # error, description ("" = the reason)
    bad_client: tuple[str, str] = ("invalid_client", "Client authentication failed")
    describe_denial: bool = False
    token_type: bool = True
    consent_user: str = ""
    deny: bool = False
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, dict[str, str | float]] = field(default_factory=dict)
    refreshes: int = 0
    # Scripted answers for the next token requests: (status, JSON body, headers).
    token_failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    token_calls: dict[str, int] = field(default_factory=dict)
    issued_access: list[str] = field(default_factory=list)
    issued_refresh: list[str] = field(default_factory=list)

    @classmethod
    def x(cls) -> OAuthProvider:
        """X's OAuth 2.0 with PKCE: Basic client auth, 2 h tokens, rotating refresh tokens."""
        return cls(
            access_ttl=7200,
            rotate=True,
            client_auth="basic",
            pkce_required=True,
            refresh_scope="offline.access",
            bad_grant=("invalid_request", "Value passed for the token was invalid."),
            bad_client=("unauthorized_client", "Missing valid authorization header"),
        )

    @classmethod
    def linkedin(cls) -> OAuthProvider:
        """LinkedIn's 3-legged OAuth: form client auth, 60-day tokens, a fixed refresh token."""
        return cls(
            access_ttl=60 * 86400,
            refresh_ttl=365 * 86400,
            rotate=False,
            client_auth="form",
            describe_denial=True,
            token_type=False,
        )

    # --- test controls

    def issue(self, user_id: str, scope: str = "") -> dict[str, object]:
        """A fresh token set for `user_id`, as the token endpoint would answer."""
        access = "at-" + secrets.token_urlsafe(12)
        self.access[access] = Grant(user_id, scope, time.time() + self.access_ttl)
        self.issued_access.append(access)
        answer: dict[str, object] = {
            "access_token": access,
            "expires_in": self.access_ttl,
            "scope": scope,
        }
        if self.token_type:
            answer["token_type"] = "bearer"
        if self.issue_refresh and (not self.refresh_scope or self.refresh_scope in scope.split()):
            refresh = "rt-" + secrets.token_urlsafe(12)
            self.refresh[refresh] = Grant(user_id, scope, time.time() + self.refresh_ttl)
            self.issued_refresh.append(refresh)
            answer["refresh_token"] = refresh
            if not self.rotate:  # X's answer has no refresh lifetime; LinkedIn's has
                answer["refresh_token_expires_in"] = self.refresh_ttl
        return answer

    def expire(self, access_token: str) -> None:
        """Make an access token expired (the refresh token still works)."""
        self.access[access_token].expires_at = time.time() - 1

    def revoke(self, user_id: str) -> None:
        """The user revoked the app: every access and refresh token of theirs dies."""
        for table in (self.access, self.refresh):
            for token in [t for t, g in table.items() if g.user_id == user_id]:
                del table[token]

    def revoke_all(self) -> None:
        """Every user revoked the app."""
        self.access.clear()
        self.refresh.clear()

    def user_of(self, authorization: str | None) -> tuple[str | None, str]:
        """(user id, "") for a valid `Bearer` header, else (None, "missing|invalid|expired")."""
        if not authorization or not authorization.startswith("Bearer "):
            return None, "missing"
        grant = self.access.get(authorization.removeprefix("Bearer ").strip())
        if grant is None:
            return None, "invalid"
        if grant.expires_at <= time.time():
            return None, "expired"
        return grant.user_id, ""

    # --- HTTP

    def routes(self, app: web.Application, authorize_path: str, token_path: str) -> None:
        app.router.add_get(authorize_path, self._authorize)
        app.router.add_post(token_path, self._token)

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or not redirect:
            return web.json_response({"error": "invalid_request"}, status=400)
        if self.redirect_uris and redirect not in self.redirect_uris:
            return web.json_response({"error": "invalid_request"}, status=400)
        if self.pkce_required and q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="PKCE is required")
        state = q.get("state", "")
        params: dict[str, str]
        if q.get("response_type") != "code":
            params = {"error": "unsupported_response_type", "state": state}
        elif self.deny or not self.consent_user:
            params = {"error": "access_denied", "state": state}
            if self.describe_denial:
                params["error_description"] = "The user cancelled the authorization"
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "user": self.consent_user,
                "redirect_uri": redirect,
                "scope": q.get("scope", ""),
                "challenge": q.get("code_challenge", ""),
                "method": q.get("code_challenge_method", "plain"),
                "expires": time.time() + 600,
            }
            params = {"code": code, "state": state}
        sep = "&" if "?" in redirect else "?"
        raise web.HTTPFound(f"{redirect}{sep}{urlencode(params)}")

    def _client_ok(self, request: web.Request, form: Any) -> bool:
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic ") and self.client_auth != "form":
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            return client_id == self.client_id and secret == self.client_secret
        if self.client_auth == "basic":
            return False
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if self.client_auth == "form":
            return client_id == self.client_id and secret == self.client_secret
        # "either": a public client may send its id alone (PKCE stands in for the secret)
        return client_id == self.client_id and secret in ("", self.client_secret)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        grant_type = str(form.get("grant_type", ""))
        self.token_calls[grant_type] = self.token_calls.get(grant_type, 0) + 1
        if self.token_failures:
            status, body, headers = self.token_failures.pop(0)
            return web.json_response(body, status=status, headers=headers)
        if not self._client_ok(request, form):
            error, description = self.bad_client
            return _error(401, error, description)
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            token = str(form.get("refresh_token", ""))
            grant = self.refresh.get(token)
            if grant is None or grant.expires_at <= time.time():
                return self._bad_grant("refresh token is invalid, expired or revoked")
            self.refreshes += 1
            if not self.rotate:
                access = self.issue(grant.user_id, grant.scope)
                self.refresh.pop(str(access.get("refresh_token")), None)
                self.issued_refresh.pop()
                access["refresh_token"] = token
                access["refresh_token_expires_in"] = int(grant.expires_at - time.time())
                return web.json_response(access)
            del self.refresh[token]  # single use: the old one stops working
            return web.json_response(self.issue(grant.user_id, grant.scope))
        return _error(400, "unsupported_grant_type", grant_type)

    def _exchange(self, form: object) -> web.Response:
        data = dict(form)  # type: ignore[call-overload]
        code = self.codes.pop(str(data.get("code", "")), None)
        if code is None or float(code["expires"]) <= time.time():
            return self._bad_grant("authorization code is invalid or expired")
        if str(data.get("redirect_uri", "")) != code["redirect_uri"]:
            return self._bad_grant("redirect_uri does not match")
        challenge = str(code["challenge"])
        if challenge:
            verifier = str(data.get("code_verifier", ""))
            if code["method"] == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                computed = verifier
            if computed != challenge:
                return self._bad_grant("code_verifier does not match the code_challenge")
        return web.json_response(self.issue(str(code["user"]), str(code["scope"])))

    def _bad_grant(self, reason: str) -> web.Response:
        error, description = self.bad_grant
        return _error(400, error, description or reason)


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def consent(client: OAuth2Client, state: str = "st-1") -> tuple[str, str | None]:
    """Open the authorize URL on a fake (consent is automatic); the code it redirects with."""
    start = client.authorization_url(state=state, redirect_uri=REDIRECT)
    async with (
        aiohttp.ClientSession() as session,
        session.get(start.url, allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0], start.code_verifier


class Refusal(Exception):
    """Raised by a fake's handler to answer with an error response (see `refusals`)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refusal as refusal:
        return refusal.response


def fake_app() -> web.Application:
    """An aiohttp app for a fake: large bodies allowed (media), refusals answered."""
    return web.Application(client_max_size=64 * 1024 * 1024, middlewares=[refusals])


class Served:
    """An aiohttp app listening on 127.0.0.1 on a free port (`url`), until `close()`."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Served:
        # No access log: tests read Herald's own log, which a fake's lines would muddy.
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
