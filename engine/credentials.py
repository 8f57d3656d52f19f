"""An account's connection to its platform: the OAuth tokens Herald posts with.

Tokens are secrets: `Credentials` never prints them (`repr` hides them), and nothing that
reaches logs, Slack, the API or the audit log is built from them. Storage keeps them
encrypted at rest; the engine sees them only inside a publisher call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a publisher needs to act as one connected account.

    `publisher` names the adapter that posts for the account (`x`, `linkedin`, `postiz`,
    `mixpost`, `youtube`, `instagram`, `tiktok`); `platform_user_id` is the account's id on
    the platform (X user id, LinkedIn person/organization URN, Postiz integration id, ...);
    `extra` holds non-secret details an adapter needs (API base, OAuth 1.0a flag, scopes).
    """

    account_id: str
    publisher: str
    platform_user_id: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    handle: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # OAuth 1.0a user tokens (X, `herald accounts set-token --oauth1`): the token secret that
    # signs requests with the app's consumer key; `extra["oauth1"]` is True for them.
    token_secret: str | None = field(default=None, repr=False)

    def expires_within(self, now: datetime, margin: timedelta) -> bool:
        """True when the access token is gone or will be within `margin` (refresh ahead)."""
        return self.expires_at is not None and self.expires_at - margin <= now


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What may be shown about a connection (no secrets): for `/herald accounts`, the API."""

    account_id: str
    publisher: str
    handle: str
    connected: bool
    expires_at: datetime | None = None
    needs_reauth: bool = False
    platform_user_id: str = ""


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a platform's token endpoint answered: a new access token and, when the platform
    rotates them, a new refresh token (`None`: keep the one already stored)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """Who the token belongs to on the platform (read once, right after connecting)."""

    platform_user_id: str
    handle: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    """Where to send the user's browser, and the PKCE verifier to keep until the callback."""

    url: str
    code_verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """An OAuth `state` in flight: who asked, for which platform, until when (single use).

    `code_verifier` (PKCE) is a secret: stores keep it encrypted and never print it.
    `account_id` is set when reconnecting a known account.
    """

    state: str
    platform: str
    slack_user: str
    slack_team: str
    redirect_uri: str
    created_at: datetime
    expires_at: datetime
    code_verifier: str | None = field(default=None, repr=False)
    account_id: str | None = None
    channel: str | None = None
    # The platform's consent URL, which Herald's /oauth/start redirects the browser to.
    authorize_url: str = ""
