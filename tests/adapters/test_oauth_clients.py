"""OAuth clients against local fakes of X and LinkedIn: authorize, exchange, refresh, profile,
and the mapping of token-endpoint answers onto Herald's errors (no token in any message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.adapters.oauth2_client import OAuth2Client
from engine.adapters.oauth_platforms import (
    GoogleOAuthClient,
    InstagramOAuthClient,
    LinkedInOAuthClient,
    TikTokOAuthClient,
    XOAuthClient,
)
from engine.clock import SystemClock
from engine.credentials import Credentials
from engine.errors import AuthExpired, InvalidInput, NetworkError, RateLimited, UnknownPublishError
from tests.fakes.linkedin_api import FakeLinkedIn
from tests.fakes.oauth import REDIRECT, OAuthProvider, Served, consent
from tests.fakes.x_api import FakeX


@dataclass
class Platform:
    """A platform fake served on loopback: its OAuth provider and base URL."""

    oauth: OAuthProvider
    served: Served

    @property
    def base(self) -> str:
        return self.served.url


@pytest.fixture
async def fake_x() -> AsyncIterator[Platform]:
    fake = FakeX()
    fake.users["2244994945"] = "herald_dev"
    fake.oauth.consent_user = "2244994945"
    served = await fake.serve()
    yield Platform(fake.oauth, served)
    await served.close()


@pytest.fixture
async def fake_linkedin() -> AsyncIterator[Platform]:
    fake = FakeLinkedIn()
    fake.members["2244994945"] = "Herald Dev"
    fake.oauth.consent_user = "2244994945"
    served = await fake.serve()
    yield Platform(fake.oauth, served)
    await served.close()


def x_client(fake: Platform, secret: str | None = None) -> XOAuthClient:
    return XOAuthClient(
        fake.oauth.client_id, secret or fake.oauth.client_secret, SystemClock(), base_url=fake.base
    )


def creds_from(client: OAuth2Client, tokens: object, account_id: str = "x-1") -> Credentials:
    return Credentials(
        account_id=account_id,
        publisher=client.publisher,
        platform_user_id="u",
        access_token=tokens.access_token,  # type: ignore[attr-defined]
        refresh_token=tokens.refresh_token,  # type: ignore[attr-defined]
    )


class TestX:
    async def test_authorize_url_has_pkce_and_scopes(self, fake_x: Platform) -> None:
        """The consent URL carries an S256 challenge and the posting scopes incl. offline."""
        start = x_client(fake_x).authorization_url(state="s", redirect_uri=REDIRECT)
        query = parse_qs(urlsplit(start.url).query)
        assert query["code_challenge_method"] == ["S256"] and start.code_verifier
        assert "offline.access" in query["scope"][0].split()
        assert start.code_verifier not in start.url

    async def test_exchange_profile_and_rotating_refresh(self, fake_x: Platform) -> None:
        """Code -> tokens (2 h) -> /2/users/me; a refresh rotates and spends the old token."""
        client = x_client(fake_x)
        code, verifier = await consent(client)
        tokens = await client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=verifier)
        assert tokens.refresh_token and tokens.expires_at is not None
        assert tokens.expires_at - datetime.now(UTC) > timedelta(hours=1, minutes=59)
        profile = await client.profile(tokens.access_token)
        assert (profile.platform_user_id, profile.handle) == ("2244994945", "herald_dev")
        creds = creds_from(client, tokens)
        renewed = await client.refresh(creds)
        assert renewed.refresh_token not in (None, tokens.refresh_token)
        with pytest.raises(AuthExpired, match="invalid_request") as spent:
            await client.refresh(creds)  # the old refresh token was single use
        assert tokens.refresh_token not in str(spent.value)

    async def test_wrong_verifier_is_refused(self, fake_x: Platform) -> None:
        """A code exchanged without the matching PKCE verifier is refused as AuthExpired."""
        client = x_client(fake_x)
        code, _ = await consent(client)
        with pytest.raises(AuthExpired):
            await client.exchange_code(code, redirect_uri=REDIRECT, code_verifier="wrong")

    async def test_transient_failures_are_temporary(self, fake_x: Platform) -> None:
        """503 -> NetworkError, 429 -> RateLimited with the reset time, down -> NetworkError."""
        client = x_client(fake_x)
        creds = Credentials("x-1", "x", "u", access_token="a", refresh_token="r")
        fake_x.oauth.token_failures.append((503, {"title": "Service Unavailable"}, {}))
        with pytest.raises(NetworkError):
            await client.refresh(creds)
        reset = int(datetime.now(UTC).timestamp()) + 120
        fake_x.oauth.token_failures.append(
            (429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})
        )
        with pytest.raises(RateLimited) as limited:
            await client.refresh(creds)
        assert limited.value.retry_after is not None
        assert timedelta(seconds=60) < limited.value.retry_after <= timedelta(seconds=121)
        await fake_x.served.close()
        with pytest.raises(NetworkError, match="unreachable") as down:
            await client.refresh(creds)
        assert fake_x.base not in str(down.value)

    async def test_bad_app_credentials_blame_the_settings(self, fake_x: Platform) -> None:
        """A refused client secret names the settings and never marks the grant dead."""
        client = x_client(fake_x, secret="wrong")
        creds = Credentials("x-1", "x", "u", access_token="a", refresh_token="r")
        with pytest.raises(UnknownPublishError, match="HERALD_X_CLIENT_ID"):
            await client.refresh(creds)

    async def test_unconfigured_app(self) -> None:
        """Without a client id the authorize URL is refused, naming the settings."""
        client = XOAuthClient(None, None, SystemClock())
        with pytest.raises(InvalidInput, match="HERALD_X_CLIENT_ID"):
            client.authorization_url(state="s", redirect_uri=REDIRECT)

    async def test_revoked_profile_is_auth_expired(self, fake_x: Platform) -> None:
        """After the user revokes the app, /2/users/me answers 401 -> AuthExpired."""
        client = x_client(fake_x)
        code, verifier = await consent(client)
        tokens = await client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=verifier)
        fake_x.oauth.revoke_all()
        with pytest.raises(AuthExpired):
            await client.profile(tokens.access_token)


class TestLinkedIn:
    async def test_exchange_userinfo_refresh(self, fake_linkedin: Platform) -> None:
        """Code -> 60-day token -> userinfo person URN; refresh keeps the refresh token."""
        fake = fake_linkedin
        client = LinkedInOAuthClient(
            fake.oauth.client_id, fake.oauth.client_secret, SystemClock(), base_url=fake.base
        )
        code, verifier = await consent(client)
        assert verifier is None  # LinkedIn takes no PKCE for web apps
        tokens = await client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=None)
        assert tokens.refresh_expires_at is not None
        profile = await client.profile(tokens.access_token)
        assert profile.platform_user_id == "urn:li:person:2244994945"
        renewed = await client.refresh(creds_from(client, tokens))
        assert renewed.refresh_token == tokens.refresh_token
        fake.oauth.revoke_all()
        with pytest.raises(AuthExpired, match="invalid_grant"):
            await client.refresh(creds_from(client, tokens))


class TestOtherPlatforms:
    @pytest.mark.parametrize(
        ("cls", "host", "marker"),
        [
            (GoogleOAuthClient, "accounts.google.com", "access_type=offline"),
            (InstagramOAuthClient, "www.instagram.com", "instagram_business_content_publish"),
            (TikTokOAuthClient, "www.tiktok.com", "client_key=cid"),
        ],
    )
    def test_authorize_urls(self, cls: type[OAuth2Client], host: str, marker: str) -> None:
        """Google, Instagram and TikTok consent URLs follow each platform's parameters."""
        start = cls("cid", "secret", SystemClock()).authorization_url(
            state="s", redirect_uri=REDIRECT
        )
        assert urlsplit(start.url).netloc == host and marker in start.url

    def test_token_answers_map_to_errors(self) -> None:
        """Instagram's OAuthException 190 and data-list answers, TikTok's error codes, Google's
        invalid_grant map onto AuthExpired / RateLimited / TokenSet."""
        clock = SystemClock()
        instagram = InstagramOAuthClient("cid", "secret", clock)
        tokens = instagram.token_answer(
            200, {"data": [{"access_token": "ig-short", "user_id": "17841"}]}, {}, "code"
        )
        assert tokens.access_token == "ig-short"
        with pytest.raises(AuthExpired, match="190"):
            instagram.token_answer(
                400, {"error": {"message": "bad", "type": "OAuthException", "code": 190}}, {}, "t"
            )
        with pytest.raises(RateLimited):
            instagram.token_answer(400, {"error": {"code": 4, "type": "OAuthException"}}, {}, "t")
        tiktok = TikTokOAuthClient("ck", "secret", clock)
        answer = {
            "access_token": "tt",
            "expires_in": 86400,
            "refresh_token": "r2",
            "refresh_expires_in": 31536000,
            "open_id": "o",
            "scope": "user.info.basic,video.publish",
        }
        rotated = tiktok.token_answer(200, answer, {}, "refresh token")
        assert rotated.refresh_token == "r2" and rotated.refresh_expires_at is not None
        assert rotated.scopes == ("user.info.basic", "video.publish")
        with pytest.raises(AuthExpired, match="invalid_grant"):
            tiktok.token_answer(
                200, {"error": "invalid_grant", "error_description": "x", "log_id": "1"}, {}, "t"
            )
        google = GoogleOAuthClient("gid", "secret", clock)
        with pytest.raises(AuthExpired, match="invalid_grant"):
            google.token_answer(400, {"error": "invalid_grant"}, {}, "refresh token")
        with pytest.raises(NetworkError):
            google.token_answer(502, {}, {}, "refresh token")
