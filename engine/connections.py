"""Connecting accounts: start an OAuth sign-in, finish it from the callback, set or drop tokens.

The OAuth `state` is single use, bound to the Slack user and workspace that asked, valid
for ten minutes and kept in the database (any replica may receive the callback). Every
change is one transaction with one audit event (`account.connected`, `account.token_set`,
`account.disconnected`), and no event or message carries a token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from engine.credentials import ConnectionInfo, Credentials, PendingAuthorization, Profile
from engine.errors import ConnectRefused, InvalidInput, NotAllowed, PublishError
from engine.models import Account, AccountState, Actor, Event, Role, new_event_id
from engine.ports import Clock, CredentialStore, Notifier, OAuthClient, OAuthStateStore, Repository

STATE_TTL = timedelta(minutes=10)
# What users may type for a platform, beyond each client's publisher and platform names.
ALIASES = {"twitter": "x", "google": "youtube", "meta": "instagram"}


@dataclass(frozen=True, slots=True)
class Connected:
    """A finished connect: the stored account, who it is on the platform, who asked."""

    account: Account
    profile: Profile
    label: str
    slack_user: str
    channel: str | None
    reconnected: bool


@dataclass(frozen=True, slots=True)
class AccountConnection:
    """One account with its connection (None: it posts through the configured default)."""

    account: Account
    connection: ConnectionInfo | None


class ConnectionService:
    """The connect flow and token administration, over the credential and state stores."""

    def __init__(
        self,
        store: CredentialStore,
        states: OAuthStateStore,
        clients: Mapping[str, OAuthClient],
        repository: Repository,
        clock: Clock,
        notifier: Notifier,
    ) -> None:
        self.store = store
        self.states = states
        self.clients = dict(clients)
        self._repository = repository
        self._clock = clock
        self._notifier = notifier

    @property
    def clock(self) -> Clock:
        """The clock states expire by."""
        return self._clock

    def client(self, name: str) -> OAuthClient:
        """The OAuth client for a platform or publisher name (`x`, `twitter`, `linkedin`...)."""
        key = ALIASES.get(name.strip().lower(), name.strip().lower())
        for client in self.clients.values():
            if key in (client.publisher, client.platform):
                return client
        known = ", ".join(sorted(self.clients)) or "none"
        raise InvalidInput(f"platform: cannot connect {name!r} (known: {known})")

    async def start(
        self,
        platform: str,
        actor: Actor,
        *,
        team: str,
        redirect_uri: str,
        channel: str | None = None,
        account_id: str | None = None,
    ) -> str:
        """A new single-use state bound to `actor` and `team` (its consent URL is kept with
        it: `states.authorize_url(state)`).
        Raises NotAllowed (not an operator), InvalidInput (unknown or unconfigured platform,
        no encryption key), StorageError."""
        _require_operator(actor, "connect accounts")
        client = self.client(platform)
        state = secrets.token_urlsafe(32)
        start = client.authorization_url(state=state, redirect_uri=redirect_uri)
        now = self._clock.now()
        await self.states.put(
            PendingAuthorization(
                state=state,
                platform=client.publisher,
                slack_user=actor.id,
                slack_team=team,
                redirect_uri=redirect_uri,
                created_at=now,
                expires_at=now + STATE_TTL,
                code_verifier=start.code_verifier,
                account_id=account_id,
                channel=channel,
                authorize_url=start.url,
            )
        )
        return state

    async def complete(
        self,
        state: str,
        *,
        code: str | None,
        error: str | None = None,
        role_of: Callable[[str], Role] | None = None,
        team: str | None = None,
    ) -> Connected:
        """Finish a sign-in from the callback's query. Raises ConnectRefused saying exactly
        why (unknown or reused state, expired, wrong user or workspace, denied, the token
        endpoint refused), StorageError."""
        now = self._clock.now()
        pending = await self.states.take(state, now=now) if state else None
        if pending is None:
            raise ConnectRefused(
                "this Connect link is unknown or was already used; run "
                "`/herald accounts connect <platform>` again"
            )
        whom = {"slack_user": pending.slack_user, "channel": pending.channel}
        client = self.client(pending.platform)
        label = getattr(client, "label", client.publisher)
        if now > pending.expires_at:
            raise ConnectRefused(
                f"the {label} Connect link expired (it is valid for 10 minutes); "
                f"run `/herald accounts connect {client.publisher}` again",
                **whom,
            )
        if team is not None and pending.slack_team and team != pending.slack_team:
            raise ConnectRefused("this Connect link belongs to another Slack workspace", **whom)
        if role_of is not None and role_of(pending.slack_user) == Role.VIEWER:
            raise ConnectRefused(
                f"<@{pending.slack_user}> is no longer an operator, so the {label} "
                "account was not connected",
                **whom,
            )
        if error:
            raise ConnectRefused(f"{label} sign-in was denied ({_clip(error)})", **whom)
        if not code:
            raise ConnectRefused(f"{label} sent no authorization code", **whom)
        try:
            tokens = await client.exchange_code(
                code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
            )
            profile = await client.profile(tokens.access_token)
        except PublishError as exc:
            raise ConnectRefused(f"{label} token endpoint refused: {exc}", **whom) from None
        account, reconnected = await self._account_for(client, profile, pending.account_id, whom)
        credentials = Credentials(
            account_id=account.id,
            publisher=client.publisher,
            platform_user_id=profile.platform_user_id,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
            scopes=tokens.scopes,
            handle=profile.handle,
            extra={"display_name": profile.display_name} if profile.display_name else {},
        )
        await self._save(
            credentials,
            account,
            "account.connected",
            pending.slack_user,
            {"reconnected": reconnected, "scopes": list(tokens.scopes)},
            now,
        )
        return Connected(account, profile, label, pending.slack_user, pending.channel, reconnected)

    async def _account_for(
        self,
        client: OAuthClient,
        profile: Profile,
        account_id: str | None,
        whom: Mapping[str, str | None],
    ) -> tuple[Account, bool]:
        """The account to connect: the one being reconnected (same platform user only), an
        account of that platform with the same handle, or a new one."""
        platform = client.platform
        async with self._repository.unit_of_work() as uow:
            if account_id is not None:
                accounts = await uow.get_accounts([account_id])
            else:
                accounts = [
                    a
                    for a in await uow.list_accounts(platform)
                    if _bare(a.handle) == _bare(profile.handle)
                ]
        known = {c.account_id: c for c in await self.store.list_connections()}
        if account_id is not None and accounts:
            account = accounts[0]
            previous = known[account.id].platform_user_id if account.id in known else None
            if previous and previous != profile.platform_user_id:
                raise ConnectRefused(
                    f"you signed in as @{_bare(profile.handle)}, but this Reconnect is for "
                    f"{account.handle}; sign in to {client.publisher} as that account",
                    **whom,
                )
        elif accounts:
            account = accounts[0]
        else:
            account = Account(
                id=f"{platform}-{_slug(profile.handle or profile.platform_user_id)}",
                platform=platform,
                handle=f"@{_bare(profile.handle)}" if profile.handle else profile.display_name,
                timezone="UTC",
            )
        reconnected = account.id in known
        state = AccountState.ACTIVE if account.state == AccountState.NEEDS_AUTH else account.state
        return replace(account, publisher=client.publisher, state=state), reconnected

    async def set_token(self, credentials: Credentials, actor: Actor) -> Account:
        """Store tokens obtained elsewhere for an existing account (OAuth 1.0a user tokens
        for X included). Raises NotAllowed, AccountNotFound, InvalidInput (no key)."""
        _require_operator(actor, "set tokens")
        async with self._repository.unit_of_work() as uow:
            account = await uow.get_account(credentials.account_id)
        state = AccountState.ACTIVE if account.state == AccountState.NEEDS_AUTH else account.state
        account = replace(account, publisher=credentials.publisher, state=state)
        data = {"oauth1": bool(credentials.extra.get("oauth1")), "scopes": list(credentials.scopes)}
        await self._save(
            credentials, account, "account.token_set", actor.id, data, self._clock.now()
        )
        return account

    async def disconnect(self, account_id: str, actor: Actor) -> bool:
        """Forget an account's tokens; False when it had none. Raises NotAllowed."""
        _require_operator(actor, "disconnect accounts")
        event = Event(
            new_event_id(),
            self._clock.now(),
            "account.disconnected",
            actor.id,
            account_id=account_id,
        )
        done = await self.store.disconnect(account_id, event)
        if done:
            await self._notifier.notify(event)
        return done

    async def overview(self, platform: str | None = None) -> list[AccountConnection]:
        """Every account with its connection (without secrets), by id."""
        async with self._repository.unit_of_work() as uow:
            accounts = await uow.list_accounts(platform)
        known = {c.account_id: c for c in await self.store.list_connections()}
        return [AccountConnection(a, known.get(a.id)) for a in accounts]

    async def _save(
        self,
        credentials: Credentials,
        account: Account,
        kind: str,
        actor: str,
        data: dict[str, object],
        now: datetime,
    ) -> None:
        event = Event(
            new_event_id(),
            now,
            kind,
            actor,
            account_id=account.id,
            data={
                "publisher": credentials.publisher,
                "handle": credentials.handle or account.handle,
                "platform_user_id": credentials.platform_user_id,
                "expires_at": credentials.expires_at.isoformat()
                if credentials.expires_at
                else None,
                **data,
            },
        )
        await self.store.connect(credentials, account, event)
        await self._notifier.notify(event)


def connection_cells(
    account: Account, connection: ConnectionInfo | None, default: str = "default"
) -> list[str]:
    """The connection columns of one account: connected, token expiry, publisher
    (`default`: the configured one, for accounts without their own)."""
    if connection is None:
        return ["no", "—", account.publisher or default]
    state = "needs reauth" if connection.needs_reauth else "yes"
    expiry = connection.expires_at.strftime("%m-%d %H:%M") if connection.expires_at else "never"
    return [state, expiry, connection.publisher or account.publisher or default]


def _require_operator(actor: Actor, doing: str) -> None:
    if actor.role == Role.VIEWER:
        raise NotAllowed(f"only operators can {doing}; you are a viewer")


def _bare(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def _slug(text: str) -> str:
    return (
        re.sub(r"[^a-z0-9_-]+", "-", text.strip().lstrip("@").lower()).strip("-")[:40] or "account"
    )


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
