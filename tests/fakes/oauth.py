"""A stateful OAuth 2.0 authorization server for the platform fakes (X, LinkedIn).

`OAuthProvider` implements the authorization-code grant (RFC 6749 §4.1) with optional PKCE
(RFC 7636, S256 and plain) and the refresh-token grant, with single-use rotating refresh
tokens when `rotate=True` (X) or a fixed one (LinkedIn). Mount it with
`provider.routes(app, authorize_path, token_path)`. Wire format:

- `GET <authorize_path>?response_type=code&client_id&redirect_uri&state&scope
  [&code_challenge&code_challenge_method]` -> 302 to `redirect_uri?code=…&state=…` as the user
  `provider.consent_user` (set it before a test; `provider.deny = True` answers
  `?error=access_denied&state=…`). Unknown client or redirect_uri -> 400 (no redirect).
- `POST <token_path>` form `grant_type=authorization_code&code&redirect_uri[&code_verifier]`
  or `grant_type=refresh_token&refresh_token`; the client authenticates with HTTP Basic
  `client_id:client_secret` or form `client_id` (+ `client_secret`). 200
  `{"token_type":"bearer","access_token","expires_in","scope","refresh_token"
  [,"refresh_token_expires_in"]}`; 400 `{"error":"invalid_grant"|"invalid_request"|
  "unsupported_grant_type","error_description"}`; 401 `{"error":"invalid_client"}`.
Codes live 10 minutes and are single-use. Tests drive it with `issue()`, `expire()`, `revoke()`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    consent_user: str = ""
    deny: bool = False
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, dict[str, str | float]] = field(default_factory=dict)
    refreshes: int = 0

    # --- test controls

    def issue(self, user_id: str, scope: str = "") -> dict[str, object]:
        """A fresh token set for `user_id`, as the token endpoint would answer."""
        access = "at-" + secrets.token_urlsafe(12)
        self.access[access] = Grant(user_id, scope, time.time() + self.access_ttl)
        answer: dict[str, object] = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": self.access_ttl,
            "scope": scope,
        }
        if self.issue_refresh:
            refresh = "rt-" + secrets.token_urlsafe(12)
            self.refresh[refresh] = Grant(user_id, scope, time.time() + self.refresh_ttl)
            answer["refresh_token"] = refresh
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
        state = q.get("state", "")
        if q.get("response_type") != "code":
            params = {"error": "unsupported_response_type", "state": state}
        elif self.deny or not self.consent_user:
            params = {"error": "access_denied", "state": state}
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

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id or (secret and secret != self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            token = str(form.get("refresh_token", ""))
            grant = self.refresh.get(token)
            if grant is None or grant.expires_at <= time.time():
                return _invalid_grant("refresh token is invalid, expired or revoked")
            self.refreshes += 1
            if not self.rotate:
                access = self.issue(grant.user_id, grant.scope)
                self.refresh.pop(str(access.get("refresh_token")), None)
                access["refresh_token"] = token
                access["refresh_token_expires_in"] = int(grant.expires_at - time.time())
                return web.json_response(access)
            del self.refresh[token]  # single use: the old one stops working
            return web.json_response(self.issue(grant.user_id, grant.scope))
        return web.json_response(
            {"error": "unsupported_grant_type", "error_description": str(grant_type)}, status=400
        )

    def _exchange(self, form: object) -> web.Response:
        data = dict(form)  # type: ignore[call-overload]
        code = self.codes.pop(str(data.get("code", "")), None)
        if code is None or float(code["expires"]) <= time.time():
            return _invalid_grant("authorization code is invalid or expired")
        if str(data.get("redirect_uri", "")) != code["redirect_uri"]:
            return _invalid_grant("redirect_uri does not match")
        challenge = str(code["challenge"])
        if challenge:
            verifier = str(data.get("code_verifier", ""))
            if code["method"] == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                computed = verifier
            if computed != challenge:
                return _invalid_grant("code_verifier does not match the code_challenge")
        return web.json_response(self.issue(str(code["user"]), str(code["scope"])))


def _invalid_grant(description: str) -> web.Response:
    return web.json_response(
        {"error": "invalid_grant", "error_description": description}, status=400
    )


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
        self._runner = web.AppRunner(self._app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
