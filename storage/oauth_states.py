"""`SQLAlchemyOAuthStateStore`: OAuth `state`s in the database, so any replica can finish one.

A state is stored under its SHA-256 and consumed by one `UPDATE ... WHERE used_at IS NULL`
(single use across replicas); the PKCE verifier is Fernet ciphertext.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.credentials import PendingAuthorization
from engine.errors import InvalidInput
from storage import tables as t
from storage.codec import to_utc
from storage.database import create_engine, create_sessionmaker, safe_url
from storage.memory_credentials import state_hash
from storage.secret_box import NO_KEY, FernetSecretBox
from storage.sqlalchemy_repository import translate_errors


class SQLAlchemyOAuthStateStore:
    """The OAuthStateStore port on Herald's SQL database."""

    def __init__(self, url_or_engine: str | URL | AsyncEngine, box: FernetSecretBox) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = create_engine(url_or_engine)
            self._owns_engine = True
        self.box = box
        self._url = safe_url(self.engine.url)
        self._sessions = create_sessionmaker(self.engine)

    async def put(self, pending: PendingAuthorization) -> None:
        """Remember a state; forget those expired more than a day ago."""
        if not self.box.configured:
            raise InvalidInput(NO_KEY)  # the sign-in could not store its tokens anyway
        s = t.oauth_states
        verifier = pending.code_verifier
        row = {
            "state_hash": state_hash(pending.state),
            "platform": pending.platform,
            "slack_user": pending.slack_user,
            "slack_team": pending.slack_team,
            "channel": pending.channel,
            "account_id": pending.account_id,
            "redirect_uri": pending.redirect_uri,
            "authorize_url": pending.authorize_url,
            "code_verifier": None if verifier is None else self.box.encrypt(verifier),
            "created_at": to_utc(pending.created_at),
            "expires_at": to_utc(pending.expires_at),
        }
        cutoff = pending.created_at - timedelta(days=1)
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                await session.execute(delete(s).where(s.c.expires_at < cutoff))
                await session.execute(s.insert().values(row))

    async def authorize_url(self, state: str, *, now: datetime) -> str | None:
        """The consent URL of a pending state (unused, unexpired), or None."""
        s = t.oauth_states
        query = select(s.c.authorize_url).where(
            s.c.state_hash == state_hash(state), s.c.used_at.is_(None), s.c.expires_at > now
        )
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                return (await session.execute(query)).scalar()

    async def take(self, state: str, *, now: datetime) -> PendingAuthorization | None:
        """Consume the state: the first caller gets it, every later one None."""
        s = t.oauth_states
        key = state_hash(state)
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                used = await session.execute(
                    update(s)
                    .where(s.c.state_hash == key, s.c.used_at.is_(None))
                    .values(used_at=now)
                )
                if not used.rowcount:  # type: ignore[attr-defined]
                    return None
                row = (
                    (await session.execute(select(s).where(s.c.state_hash == key))).mappings().one()
                )
        verifier = row["code_verifier"]
        return PendingAuthorization(
            state=state,
            platform=row["platform"],
            slack_user=row["slack_user"],
            slack_team=row["slack_team"],
            redirect_uri=row["redirect_uri"],
            authorize_url=row["authorize_url"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            code_verifier=None if verifier is None else self.box.decrypt(verifier),
            account_id=row["account_id"],
            channel=row["channel"],
        )

    async def close(self) -> None:
        """Dispose of the engine's connections if this store created it."""
        if self._owns_engine:
            await self.engine.dispose()
