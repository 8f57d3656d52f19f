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
