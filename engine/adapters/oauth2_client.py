"""`OAuth2Client`: the OAuthClient port over aiohttp, shared by every platform's OAuth 2.0 app.

Authorization-code grant (PKCE S256 where the platform takes it), refresh, and a profile
read. Platform answers map onto Herald's errors: invalid_grant / revoked = AuthExpired,
5xx / 429 / network = NetworkError / RateLimited (temporary), invalid_client =
UnknownPublishError naming the settings. No message is ever built from a token, a request
URL or a raw exception (Instagram puts tokens in query strings).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from engine.credentials import AuthorizationStart, Credentials, Profile, TokenSet
from engine.errors import (
    AuthExpired,
    InvalidInput,
    NetworkError,
    PublishError,
    RateLimited,
    UnknownPublishError,
)
from engine.ports import Clock

# Codes that blame Herald's app, not the account's grant: never a reason for NEEDS_AUTH.
# Any other 400/401/403 from a token endpoint (invalid_grant, X's invalid_request for a
# spent refresh token) means the grant is gone for good.
APP_CODES = frozenset({"invalid_client", "unauthorized_client", "invalid_scope"})


def rebase(url: str, base: str | None) -> str:
    """`url` with its scheme and host replaced by `base`'s (a local fake), path kept."""
    if not base:
        return url
    target, parts = urlsplit(base), urlsplit(url)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuth2Client:
    """One platform's OAuth 2.0 app. Subclasses set the endpoints and read the profile."""

    # Plain attributes (not ClassVar) so the class satisfies the OAuthClient protocol.
    publisher: str = ""
    platform: str = ""
    label: str = ""
    env_prefix: ClassVar[str] = ""  # e.g. HERALD_X, for messages naming the settings
    authorize_endpoint: ClassVar[str] = ""
    token_endpoint: ClassVar[str] = ""
    default_scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    uses_pkce: ClassVar[bool] = False
    basic_auth: ClassVar[bool] = False  # client credentials in an Authorization: Basic header
    client_id_param: ClassVar[str] = "client_id"
    extra_authorize_params: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        client_id: str | None,
        client_secret: str | None,
        clock: Clock,
        *,
        base_url: str | None = None,
        scopes: tuple[str, ...] | None = None,
        timeout_seconds: float = 20.0,
    ) -> None:
        self.client_id = client_id or ""
        self._client_secret = client_secret or ""
        self._clock = clock
        self.base_url = base_url
        self.scopes = tuple(scopes) if scopes else self.default_scopes
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r})"

    @property
    def configured(self) -> bool:
        """Whether the app's client id (and secret) are set."""
        return bool(self.client_id and self._client_secret)

    def url(self, endpoint: str) -> str:
        """An endpoint, on the fake when a base URL was given."""
        return rebase(endpoint, self.base_url)

    # --- the port
    def authorization_url(self, *, state: str, redirect_uri: str) -> AuthorizationStart:
        """The consent page URL for `state`; raises InvalidInput when the app is not set up."""
        self._require_app()
        params = {
            self.client_id_param: self.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": self.scope_separator.join(self.scopes),
            "state": state,
            **self.extra_authorize_params,
        }
        verifier = None
        if self.uses_pkce:
            verifier, challenge = pkce_pair()
            params.update(code_challenge=challenge, code_challenge_method="S256")
        return AuthorizationStart(
            f"{self.url(self.authorize_endpoint)}?{urlencode(params)}", verifier
        )

    async def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str | None
    ) -> TokenSet:
        """Trade the callback's code for tokens."""
        self._require_app()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return await self._token(form, "authorization code")

    async def refresh(self, credentials: Credentials) -> TokenSet:
        """A new access token from the refresh token (which some platforms rotate)."""
        self._require_app()
        if not credentials.refresh_token:
            raise AuthExpired(f"{self.label} granted no refresh token; reconnect the account")
        form = {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        return await self._token(form, "refresh token")

    async def profile(self, access_token: str) -> Profile:
        """Who the token belongs to (each platform reads it its own way)."""
        raise NotImplementedError

    # --- HTTP
    def _require_app(self) -> None:
        if not self.configured:
            raise InvalidInput(
                f"{self.env_prefix}_CLIENT_ID and {self.env_prefix}_CLIENT_SECRET are not set: "
                f"create a {self.label} app (docs/connecting-accounts.md) and set them"
            )

    async def _token(self, form: dict[str, str], grant: str) -> TokenSet:
        headers = {"Accept": "application/json"}
        if self.basic_auth:
            pair = f"{self.client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            form = {**form, self.client_id_param: self.client_id}
        else:
            form = {
                **form,
                self.client_id_param: self.client_id,
                "client_secret": self._client_secret,
            }
        status, body, answer_headers = await self.send(
            "POST", self.url(self.token_endpoint), what="token endpoint", data=form, headers=headers
        )
        return self.token_answer(status, body, answer_headers, grant)

    async def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """One request; the JSON answer (or {}) with its status and headers.
        Raises NetworkError (never quoting the URL or the exception's text)."""
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(
                    method,
                    url,
                    data=data,
                    params=params,
                    headers=headers,
                    allow_redirects=False,
                ) as response,
            ):
                text = await response.text()
                status, answer_headers = response.status, dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NetworkError(f"{self.label} {what} unreachable ({type(exc).__name__})") from None
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            body = {}
        return status, body, answer_headers

    def token_answer(
        self, status: int, body: Any, headers: Mapping[str, str], grant: str
    ) -> TokenSet:
        """The TokenSet in a token endpoint's answer, or the error it means."""
        if isinstance(body, dict) and status == 200 and body.get("access_token"):
            return self.token_set(body)
        code = self.error_code(body)
        if status == 429 or code in {"rate_limit_exceeded", "slow_down"}:
            raise RateLimited(
                f"{self.label} token endpoint: rate limited",
                retry_after=retry_after(headers, self._clock),
            )
        if status >= 500:
            raise NetworkError(f"{self.label} token endpoint answered {status}; will try again")
        if code in APP_CODES:
            raise UnknownPublishError(
                f"{self.label} refused Herald's app ({code}): check {self.env_prefix}_CLIENT_ID, "
                f"{self.env_prefix}_CLIENT_SECRET and the app's settings"
            )
        if status in (400, 401, 403) or code:
            raise AuthExpired(f"{self.label} refused the {grant} ({code or status})")
        raise NetworkError(f"{self.label} token endpoint answered {status} without a token")

    def token_set(self, body: Mapping[str, Any]) -> TokenSet:
        """A TokenSet from a standard (RFC 6749) token answer."""
        now = self._clock.now()
        expires_in = _seconds(body.get("expires_in"))
        refresh_in = _seconds(
            body.get("refresh_token_expires_in") or body.get("refresh_expires_in")
        )
        scope = body.get("scope") or ""
        scopes = tuple(s for s in str(scope).replace(",", " ").split() if s)
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
            refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in else None,
            scopes=scopes,
        )

    @staticmethod
    def error_code(body: Any) -> str:
        """The OAuth error code of an answer (`error`, or a nested `error.code`)."""
        if not isinstance(body, dict):
            return ""
        error = body.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            return str(error.get("code") or error.get("type") or "")
        return ""

    def api_error(
        self, status: int, body: Any, headers: Mapping[str, str], what: str
    ) -> PublishError:
        """The error an API read (the profile) means."""
        if status == 401:
            return AuthExpired(f"{self.label} refused the access token ({what}: 401)")
        if status == 429:
            return RateLimited(
                f"{self.label} {what}: rate limited", retry_after=retry_after(headers, self._clock)
            )
        if status >= 500:
            return NetworkError(f"{self.label} {what} answered {status}; will try again")
        return UnknownPublishError(
            f"{self.label} {what} answered {status} ({self.error_code(body) or 'no code'})"
        )

    async def get_json(
        self,
        endpoint: str,
        access_token: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET an API endpoint with the bearer token; its JSON or the mapped error."""
        all_headers = {"Authorization": f"Bearer {access_token}", **(headers or {})}
        status, body, answer_headers = await self.send(
            "GET", self.url(endpoint), what=what, params=params, headers=all_headers
        )
        if status != 200:
            raise self.api_error(status, body, answer_headers, what)
        return body


def retry_after(headers: Mapping[str, str], clock: Clock) -> timedelta | None:
    """How long to wait: `Retry-After` seconds, or X's `x-rate-limit-reset` epoch."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value and value.strip().isdigit():
        return timedelta(seconds=int(value))
    reset = lowered.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        wait = int(reset) - clock.now().timestamp()
        return timedelta(seconds=max(1.0, wait))
    return None


def _seconds(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
