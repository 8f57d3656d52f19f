"""Each platform's OAuth 2.0 app: X (PKCE), LinkedIn, Google/YouTube, Instagram, TikTok.

Endpoints, scopes and answer shapes follow /work/shared/PLATFORM-APIS.md (section 1 of each
platform); `base_url` sends every call to a local fake instead (paths kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from engine.adapters.oauth2_client import OAuth2Client, retry_after
from engine.credentials import Credentials, Profile, TokenSet
from engine.errors import AuthExpired, RateLimited

LINKEDIN_VERSION = "202601"


class XOAuthClient(OAuth2Client):
    """X API v2: OAuth 2.0 authorization code with PKCE; refresh tokens rotate (single use)."""

    publisher = "x"
    platform = "twitter"  # the platform table's name; `x` is accepted too
    label = "X"
    env_prefix = "HERALD_X"
    authorize_endpoint = "https://x.com/i/oauth2/authorize"
    token_endpoint = "https://api.x.com/2/oauth2/token"
    default_scopes = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")
    uses_pkce = True
    basic_auth = True  # a confidential client: Basic client_id:secret

    async def profile(self, access_token: str) -> Profile:
        """`GET /2/users/me`: id, username, name."""
        body = await self.get_json(
            "https://api.x.com/2/users/me", access_token, what="GET /2/users/me"
        )
        data = body.get("data") or {}
        return Profile(str(data["id"]), str(data.get("username", "")), str(data.get("name", "")))


class LinkedInOAuthClient(OAuth2Client):
    """LinkedIn 3-legged OAuth; refresh tokens only for approved partners (else reconnect)."""

    publisher = "linkedin"
    platform = "linkedin"
    label = "LinkedIn"
    env_prefix = "HERALD_LINKEDIN"
    authorize_endpoint = "https://www.linkedin.com/oauth/v2/authorization"
    token_endpoint = "https://www.linkedin.com/oauth/v2/accessToken"
    default_scopes = ("openid", "profile", "w_member_social")

    async def profile(self, access_token: str) -> Profile:
        """`GET /v2/userinfo`: `sub` is the person id (author `urn:li:person:{sub}`)."""
        body = await self.get_json(
            "https://api.linkedin.com/v2/userinfo", access_token, what="GET /v2/userinfo"
        )
        name = str(
            body.get("name")
            or " ".join(str(body.get(k, "")) for k in ("given_name", "family_name")).strip()
        )
        return Profile(f"urn:li:person:{body['sub']}", name or str(body["sub"]), name)

    async def organizations(self, access_token: str) -> list[str]:
        """The Pages (organization URNs) the member administers (`w_organization_social`)."""
        body = await self.get_json(
            "https://api.linkedin.com/rest/organizationAcls",
            access_token,
            what="GET /rest/organizationAcls",
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
            headers={"LinkedIn-Version": LINKEDIN_VERSION, "X-Restli-Protocol-Version": "2.0.0"},
        )
        return [str(e["organization"]) for e in body.get("elements", []) if e.get("organization")]


class GoogleOAuthClient(OAuth2Client):
    """Google OAuth for YouTube: offline access with consent, so a refresh token is granted."""

    publisher = "youtube"
    platform = "youtube"
    label = "YouTube"
    env_prefix = "HERALD_GOOGLE"
    authorize_endpoint = "https://accounts.google.com/o/oauth2/v2/auth"
    token_endpoint = "https://oauth2.googleapis.com/token"
    default_scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
    )
    uses_pkce = True
    extra_authorize_params: ClassVar[Mapping[str, str]] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }

    async def profile(self, access_token: str) -> Profile:
        """`GET /youtube/v3/channels?part=snippet&mine=true`: the channel id and handle."""
        body = await self.get_json(
            "https://www.googleapis.com/youtube/v3/channels",
            access_token,
            what="GET channels mine=true",
            params={"part": "snippet", "mine": "true"},
        )
        items = body.get("items") or []
        if not items:
            raise AuthExpired("YouTube: this Google account has no YouTube channel")
        snippet = items[0].get("snippet") or {}
        title = str(snippet.get("title", ""))
        return Profile(str(items[0]["id"]), str(snippet.get("customUrl") or title), title)


class InstagramOAuthClient(OAuth2Client):
    """Instagram API with Instagram Login: a 1-hour token traded for a 60-day one, which is
    refreshed with itself (`ig_refresh_token`, at least 24 h old); no refresh token."""

    publisher = "instagram"
    platform = "instagram"
    label = "Instagram"
    env_prefix = "HERALD_INSTAGRAM"
    authorize_endpoint = "https://www.instagram.com/oauth/authorize"
    token_endpoint = "https://api.instagram.com/oauth/access_token"
    graph = "https://graph.instagram.com"
    default_scopes = ("instagram_business_basic", "instagram_business_content_publish")
    scope_separator = ","

    def token_set(self, body: Mapping[str, Any]) -> TokenSet:
        # Business Login answers the code exchange as {"data": [{...}]}.
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            body = data[0]
        return super().token_set(body)

    def token_answer(
        self, status: int, body: Any, headers: Mapping[str, str], grant: str
    ) -> TokenSet:
        if isinstance(body, dict) and isinstance(body.get("data"), list) and status == 200:
            return self.token_set(body)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = int(body["error"].get("code") or 0)
            if code in (4, 17, 32, 613):
                raise RateLimited(
                    "Instagram token endpoint: rate limited",
                    retry_after=retry_after(headers, self._clock),
                )
            if code == 190:
                raise AuthExpired(f"Instagram refused the {grant} (OAuthException 190)")
        return super().token_answer(status, body, headers, grant)

    async def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str | None
    ) -> TokenSet:
        """Code -> short-lived token -> 60-day token (`ig_exchange_token`)."""
        short = await super().exchange_code(code, redirect_uri=redirect_uri, code_verifier=None)
        return await self._graph_token(
            "/access_token",
            {
                "grant_type": "ig_exchange_token",
                "client_secret": self._client_secret,
                "access_token": short.access_token,
            },
            "short-lived token",
        )

    async def refresh(self, credentials: Credentials) -> TokenSet:
        """A new 60-day token for the current one (`ig_refresh_token`)."""
        self._require_app()
        return await self._graph_token(
            "/refresh_access_token",
            {"grant_type": "ig_refresh_token", "access_token": credentials.access_token},
            "long-lived token",
        )

    async def _graph_token(self, path: str, params: dict[str, str], grant: str) -> TokenSet:
        status, body, headers = await self.send(
            "GET", self.url(self.graph + path), what=f"GET {path}", params=params
        )
        return self.token_answer(status, body, headers, grant)

    async def profile(self, access_token: str) -> Profile:
        """`GET /me?fields=user_id,username,name`."""
        status, body, headers = await self.send(
            "GET",
            self.url(self.graph + "/me"),
            what="GET /me",
            params={"fields": "user_id,username,name", "access_token": access_token},
        )
        if status != 200:
            if (
                isinstance(body, dict)
                and isinstance(body.get("error"), dict)
                and int(body["error"].get("code") or 0) == 190
            ):
                raise AuthExpired("Instagram refused the access token (OAuthException 190)")
            raise self.api_error(status, body, headers, "GET /me")
        user_id = str(body.get("user_id") or body.get("id"))
        return Profile(user_id, str(body.get("username", "")), str(body.get("name", "")))


class TikTokOAuthClient(OAuth2Client):
    """TikTok Login Kit v2: `client_key`, comma-separated scopes; refresh tokens rotate."""

    publisher = "tiktok"
    platform = "tiktok"
    label = "TikTok"
    env_prefix = "HERALD_TIKTOK"
    authorize_endpoint = "https://www.tiktok.com/v2/auth/authorize/"
    token_endpoint = "https://open.tiktokapis.com/v2/oauth/token/"
    default_scopes = ("user.info.basic", "video.publish", "video.upload")
    scope_separator = ","
    client_id_param = "client_key"

    async def profile(self, access_token: str) -> Profile:
        """`GET /v2/user/info/?fields=open_id,display_name,username`."""
        body = await self.get_json(
            "https://open.tiktokapis.com/v2/user/info/",
            access_token,
            what="GET /v2/user/info/",
            params={"fields": "open_id,union_id,display_name,username"},
        )
        user = (body.get("data") or {}).get("user") or {}
        name = str(user.get("display_name", ""))
        return Profile(str(user["open_id"]), str(user.get("username") or name), name)


CLIENT_CLASSES: dict[str, type[OAuth2Client]] = {
    cls.publisher: cls
    for cls in (
        XOAuthClient,
        LinkedInOAuthClient,
        GoogleOAuthClient,
        InstagramOAuthClient,
        TikTokOAuthClient,
    )
}

# Instagram tokens can only be refreshed once they are a day old: refresh with a week left.
REFRESH_MARGINS: dict[str, timedelta] = {"instagram": timedelta(days=7)}
