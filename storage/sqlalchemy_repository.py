"""`SQLAlchemyRepository`: the Repository port on SQLite (aiosqlite) or PostgreSQL (asyncpg).

Rows are mapped to engine dataclasses explicitly (no ORM classes, no lazy loads), every
database failure leaves as an engine `StorageError`, and a claim is one atomic
`UPDATE ... WHERE id IN (due subquery) RETURNING` (with `FOR UPDATE SKIP LOCKED` on
PostgreSQL, inside `BEGIN IMMEDIATE` on SQLite).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Text, case, cast, delete, func, insert, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from engine.errors import (
    AccountNotFound,
    ConcurrentModification,
    ContentNotFound,
    DistributionNotFound,
    SlotNotFound,
    StorageError,
)
from engine.models import (
    Account,
    AccountState,
    ContentItem,
    Distribution,
    DistributionStatus,
    Event,
    RiskLevel,
    SafetyMode,
    Slot,
    SlotStatus,
)
from engine.plan_summary import PlanSummary
from engine.request import STORED, Content, DistributionRequest
from storage import tables as t
from storage.database import create_engine, create_read_engine, create_sessionmaker, safe_url
from storage.plan_summary import plan_summary

CLAIMABLE = (SlotStatus.QUEUED.value, SlotStatus.RETRY_SCHEDULED.value)
# PostgreSQL advisory lock taken by every unit of work, so units of work are serialised
# across processes as they are on SQLite (BEGIN IMMEDIATE) and in memory (a lock).
UNIT_OF_WORK_LOCK = 0x4E52_414C_4401
BULK_ANALYZE_ROWS = 1000
MAP_CHUNK_ROWS = 500  # rows mapped between two yields to the event loop (~10 ms)
ID_BATCH = 500  # ids per `IN (...)`: PostgreSQL and SQLite bound a statement's parameters
INSERT_CHUNK_ROWS = 500  # rows built and sent per statement of a bulk insert
T = TypeVar("T")


# --- row mapping -------------------------------------------------------------------------
def account_to_row(account: Account) -> dict[str, Any]:
    """The `accounts` row for an account."""
    return {
        "id": account.id,
        "platform": account.platform,
        "handle": account.handle,
        "timezone": account.timezone,
        "language": account.language,
        "followers": account.followers,
        "health": account.health,
        "state": str(account.state),
        "last_posted_at": account.last_posted_at,
        "rate_limited_until": account.rate_limited_until,
        "suspensions": account.suspensions,
        "recent_failures": account.recent_failures,
        "recent_posts": account.recent_posts,
        "publisher": account.publisher,
    }


def row_to_account(row: Mapping[Any, Any]) -> Account:
    """The account stored in an `accounts` row."""
    return Account(
        id=row["id"],
        platform=row["platform"],
        handle=row["handle"],
        timezone=row["timezone"],
        language=row["language"],
        followers=row["followers"],
        health=row["health"],
        state=AccountState(row["state"]),
        last_posted_at=row["last_posted_at"],
        rate_limited_until=row["rate_limited_until"],
        suspensions=row["suspensions"],
        recent_failures=row["recent_failures"],
        recent_posts=row["recent_posts"],
        publisher=row["publisher"] or "",
    )


def distribution_to_row(distribution: Distribution) -> dict[str, Any]:
    """The `distributions` row for a distribution (the request as JSON)."""
    return {
        "id": distribution.id,
        "name": distribution.name,
        "status": str(distribution.status),
        "safety_mode": str(distribution.safety_mode),
        "request": distribution.request.model_dump(mode="json"),
        "created_by": distribution.created_by,
        "created_at": distribution.created_at,
        "updated_at": distribution.updated_at,
        "version": distribution.version,
        "approved_by": distribution.approved_by,
        "approved_at": distribution.approved_at,
        "decision_note": distribution.decision_note,
        "simulation": distribution.simulation,
        "advice": distribution.advice,
        "warnings": list(distribution.warnings),
        "origin": dict(distribution.origin),
    }


def row_to_distribution(row: Mapping[Any, Any]) -> Distribution:
    """The distribution stored in a `distributions` row."""
    return Distribution(
        id=row["id"],
        name=row["name"],
        request=DistributionRequest.model_validate(row["request"], context=STORED),
        status=DistributionStatus(row["status"]),
        safety_mode=SafetyMode(row["safety_mode"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        approved_by=row["approved_by"],
        approved_at=row["approved_at"],
        decision_note=row["decision_note"],
        simulation=row["simulation"],
        advice=row["advice"],
        warnings=list(row["warnings"] or []),
        origin=dict(row["origin"] or {}),
    )


_SLOT_FIELDS = [c.name for c in t.slots.columns]


def _item_to_row(item: ContentItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "content": item.content.model_dump(mode="json"),
        "tags": list(item.content.tags),
        "created_by": item.created_by,
        "created_at": item.created_at,
        "archived_at": item.archived_at,
    }


def _row_to_item(row: Mapping[Any, Any]) -> ContentItem:
    return ContentItem(
        Content.model_validate(row["content"], context=STORED),
        row["created_by"],
        row["created_at"],
        row["archived_at"],
    )


def slot_to_row(slot: Slot) -> dict[str, Any]:
    """The `slots` row for a slot."""
    row = {name: getattr(slot, name) for name in _SLOT_FIELDS}
    row["hashtags"] = list(slot.hashtags)
    row["status"] = str(slot.status)
    row["risk_level"] = str(slot.risk_level)
    return row


def row_to_slot(row: Mapping[Any, Any]) -> Slot:
    """The slot stored in a `slots` row."""
    values = {name: row[name] for name in _SLOT_FIELDS}
    values["hashtags"] = tuple(row["hashtags"] or ())
    values["status"] = SlotStatus(row["status"])
    values["risk_level"] = RiskLevel(row["risk_level"])
    return Slot(**values)


def event_to_row(event: Event) -> dict[str, Any]:
    """The `events` row for an event (`seq` is assigned by the database)."""
    return {
        "id": event.id,
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor,
        "distribution_id": event.distribution_id,
        "slot_id": event.slot_id,
        "account_id": event.account_id,
        "before": event.before,
        "after": event.after,
        "data": event.data or {},
    }


def row_to_event(row: Mapping[Any, Any]) -> Event:
    """The event stored in an `events` row."""
    return Event(
        id=row["id"],
        at=row["at"],
        kind=row["kind"],
        actor=row["actor"],
        distribution_id=row["distribution_id"],
        slot_id=row["slot_id"],
        account_id=row["account_id"],
        before=row["before"],
        after=row["after"],
        data=row["data"] or {},
    )


# --- errors ------------------------------------------------------------------------------
def storage_error(exc: BaseException, url: str = "the database") -> StorageError:
    """An engine StorageError for a driver or SQLAlchemy failure (`temporary` if retryable)."""
    if isinstance(exc, OSError) or isinstance(getattr(exc, "orig", None), OSError):
        return StorageError(f"cannot connect to {url}: {_reason(exc)}", temporary=True)
    if isinstance(exc, IntegrityError):
        return StorageError(f"{url} refused the write: {_reason(exc)}")
    if isinstance(exc, StatementError) and isinstance(exc.orig, ValueError | TypeError):
        # Raised while binding parameters: a naive datetime, data that is not JSON.
        return StorageError(f"cannot store value: {exc.orig}")
    return StorageError(f"{url} failed: {_reason(exc)}", temporary=True)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn SQLAlchemy and connection failures into StorageError; let engine errors pass."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise storage_error(exc, url) from exc


# --- unit of work ------------------------------------------------------------------------
class SQLAlchemyUnitOfWork:
    """One transaction on one AsyncSession; methods issue Core statements."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = session.bind.dialect.name  # type: ignore[union-attr]

    async def _rows(self, statement: Any) -> list[Mapping[Any, Any]]:
        result = await self._session.execute(statement)
        return list(result.mappings().all())

    async def _mapped(self, statement: Any, convert: Callable[[Mapping[Any, Any]], T]) -> list[T]:
        """The rows of `statement` through `convert`, letting the event loop run between
        chunks: mapping a 10 000-slot run is ~0.3 s of CPU that must not stall every
        request and Slack ack in the process meanwhile."""
        result = await self._session.execute(statement)
        converted: list[T] = []
        for chunk in result.mappings().partitions(MAP_CHUNK_ROWS):
            converted.extend(convert(row) for row in chunk)
            if len(chunk) == MAP_CHUNK_ROWS:
                await asyncio.sleep(0)
        return converted

    # --- accounts
    async def get_account(self, account_id: str) -> Account:
        """Raises AccountNotFound."""
        rows = await self._rows(select(t.accounts).where(t.accounts.c.id == account_id))
        if not rows:
            raise AccountNotFound(account_id)
        return row_to_account(rows[0])

    async def get_accounts(self, account_ids: Sequence[str]) -> list[Account]:
        """The accounts with these ids that exist (unknown ids are left out), by id."""
        wanted = sorted(set(account_ids))
        found: list[Account] = []
        # Chunked so the IN list stays well under SQLite's bound-parameter limit.
        for start in range(0, len(wanted), 500):
            query = (
                select(t.accounts)
                .where(t.accounts.c.id.in_(wanted[start : start + 500]))
                .order_by(t.accounts.c.id)
            )
            found.extend(row_to_account(r) for r in await self._rows(query))
        return found

    async def list_accounts(self, platform: str | None = None) -> list[Account]:
        """All accounts (of one platform), ordered by id."""
        query = select(t.accounts).order_by(t.accounts.c.id)
        if platform is not None:
            query = query.where(t.accounts.c.platform == platform)
        return [row_to_account(r) for r in await self._rows(query)]

    async def upsert_accounts(self, accounts: Sequence[Account]) -> int:
        """Insert or replace accounts by id; returns how many were written."""
        if not accounts:
            return 0
        rows = list({a.id: account_to_row(a) for a in accounts}.values())
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(t.accounts)
        columns: dict[str, Any] = {
            c.name: statement.excluded[c.name] for c in t.accounts.columns if c.name != "id"
        }
        # An import without a publisher keeps the one the account's connection set.
        columns["publisher"] = case(
            (statement.excluded.publisher == "", t.accounts.c.publisher),
            else_=statement.excluded.publisher,
        )
        statement = statement.on_conflict_do_update(index_elements=[t.accounts.c.id], set_=columns)
        await self._session.execute(statement, rows)
        return len(accounts)

    async def save_account(self, account: Account) -> None:
        """Replace one account. Raises AccountNotFound."""
        row = account_to_row(account)
        result = await self._session.execute(
            update(t.accounts).where(t.accounts.c.id == account.id).values(row)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise AccountNotFound(account.id)

    # --- distributions
    async def add_distribution(self, distribution: Distribution) -> None:
        """Insert a new distribution; an existing id is a StorageError."""
        await self._session.execute(insert(t.distributions), [distribution_to_row(distribution)])

    async def get_distribution(self, distribution_id: str) -> Distribution:
        """Raises DistributionNotFound."""
        rows = await self._rows(
            select(t.distributions).where(t.distributions.c.id == distribution_id)
        )
        if not rows:
            raise DistributionNotFound(distribution_id)
        return row_to_distribution(rows[0])

    async def find_distributions(self, key: str) -> list[Distribution]:
        """By id or exact name (case-insensitive); failing that, by name substring."""
        d = t.distributions
        newest = (d.c.created_at.desc(), d.c.id.desc())
        wanted = key.strip().lower()
        rows = await self._rows(
            select(d).where(or_(d.c.id == key, func.lower(d.c.name) == wanted)).order_by(*newest)
        )
        if not rows and wanted:
            rows = await self._rows(
                select(d)
                .where(func.lower(d.c.name).contains(wanted, autoescape=True))
                .order_by(*newest)
            )
        return [row_to_distribution(r) for r in rows]

    async def list_distributions(
        self, statuses: Sequence[DistributionStatus] | None = None, limit: int = 50
    ) -> list[Distribution]:
        """Newest first."""
        d = t.distributions
        query = select(d).order_by(d.c.created_at.desc(), d.c.id.desc()).limit(limit)
        if statuses is not None:
            query = query.where(d.c.status.in_([str(s) for s in statuses]))
        return [row_to_distribution(r) for r in await self._rows(query)]

    async def save_distribution(self, distribution: Distribution) -> Distribution:
        """Optimistic save: the stored version must equal `distribution.version`."""
        d = t.distributions
        row = distribution_to_row(distribution)
        row["version"] = distribution.version + 1
        result = await self._session.execute(
            update(d)
            .where(d.c.id == distribution.id, d.c.version == distribution.version)
            .values(row)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            stored = (
                await self._session.execute(select(d.c.version).where(d.c.id == distribution.id))
            ).scalar()
            if stored is None:
                raise DistributionNotFound(distribution.id)
            raise ConcurrentModification(
                f"distribution {distribution.id} changed (version {stored}, "
                f"you had {distribution.version}); reload and try again"
            )
        return row_to_distribution(row)

    # --- slots
    async def replace_slots(self, distribution_id: str, slots: Sequence[Slot]) -> None:
        """Delete the distribution's slots and insert `slots` (a re-plan)."""
        await self._require_distributions({distribution_id})
        await self._session.execute(
            delete(t.slots).where(t.slots.c.distribution_id == distribution_id)
        )
        await self.add_slots(slots)

    async def add_slots(self, slots: Sequence[Slot]) -> None:
        """Bulk-insert slots; a duplicate id is a StorageError, a missing distribution
        DistributionNotFound."""
        if not slots:
            return
        await self._require_distributions({s.distribution_id for s in slots})
        await self._session.execute(insert(t.slots), [slot_to_row(s) for s in slots])
        if self._dialect == "sqlite" and len(slots) >= BULK_ANALYZE_ROWS:
            # Fresh statistics keep the claim query on its (status, due_at) index.
            await self._session.execute(sql_text("ANALYZE slots"))

    async def get_slot(self, slot_id: str) -> Slot:
        """Raises SlotNotFound. On PostgreSQL the row stays locked until the unit of work
        ends, so a concurrent claim skips it (or this read waits for the claim's commit)."""
        query = select(t.slots).where(t.slots.c.id == slot_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        rows = await self._rows(query)
        if not rows:
            raise SlotNotFound(slot_id)
        return row_to_slot(rows[0])

    async def list_slots(
        self, distribution_id: str, statuses: Sequence[SlotStatus] | None = None
    ) -> list[Slot]:
        """Ordered by due_at, then seq."""
        s = t.slots
        query = select(s).where(s.c.distribution_id == distribution_id)
        if statuses is not None:
            query = query.where(s.c.status.in_([str(x) for x in statuses]))
        query = query.order_by(s.c.due_at, s.c.seq)
        return await self._mapped(query, row_to_slot)

    async def list_spaced_slots(self, distribution_id: str) -> list[Slot]:
        """PUBLISHED, CLAIMED and re-timed QUEUED slots (what catch-up spacing counts), by
        due_at, then seq."""
        s = t.slots
        retimed = (s.c.status == SlotStatus.QUEUED.value) & (s.c.due_at > s.c.scheduled_at)
        spaced = s.c.status.in_([SlotStatus.PUBLISHED.value, SlotStatus.CLAIMED.value])
        query = (
            select(s)
            .where(s.c.distribution_id == distribution_id, or_(spaced, retimed))
            .order_by(s.c.due_at, s.c.seq)
        )
        return await self._mapped(query, row_to_slot)

    async def save_slot(self, slot: Slot) -> None:
        """Replace one slot. Raises SlotNotFound."""
        s = t.slots
        result = await self._session.execute(
            update(s)
            .where(s.c.id == slot.id, s.c.distribution_id == slot.distribution_id)
            .values(slot_to_row(slot))
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            exists = (await self._session.execute(select(s.c.id).where(s.c.id == slot.id))).first()
            if exists is None:
                raise SlotNotFound(slot.id)
            raise StorageError(f"slot {slot.id} cannot move to another distribution")

    async def set_slot_status(
        self,
        distribution_id: str,
        from_statuses: Sequence[SlotStatus],
        to_status: SlotStatus,
    ) -> int:
        """Move every slot of the distribution in `from_statuses` to `to_status`."""
        s = t.slots
        result = await self._session.execute(
            update(s)
            .where(
                s.c.distribution_id == distribution_id,
                s.c.status.in_([str(x) for x in from_statuses]),
            )
            .values(status=str(to_status))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def slot_counts(self, distribution_id: str) -> dict[SlotStatus, int]:
        """How many slots are in each status (every status present, zeros included)."""
        s = t.slots
        result = await self._session.execute(
            select(s.c.status, func.count())
            .where(s.c.distribution_id == distribution_id)
            .group_by(s.c.status)
        )
        counts = dict.fromkeys(SlotStatus, 0)
        for status, count in result.all():
            counts[SlotStatus(str(status))] = int(count)  # type: ignore[call-overload]
        return counts

    async def plan_summary(self, distribution_id: str) -> PlanSummary:
        """What the plan card shows, counted by the database (storage/plan_summary.py)."""
        return await plan_summary(self._session, self._dialect, distribution_id)

    async def count_late_slots(self, distribution_id: str, before: datetime) -> int:
        """How many waiting slots of the distribution are due strictly before `before`
        (one COUNT on the (distribution_id, status) index)."""
        s = t.slots
        result = await self._session.execute(
            select(func.count()).where(
                s.c.distribution_id == distribution_id,
                s.c.status.in_(CLAIMABLE),
                s.c.due_at < before,
            )
        )
        return int(result.scalar_one())

    async def posts_in_window(
        self, account_ids: Sequence[str], since: datetime
    ) -> tuple[int, datetime | None]:
        """Published-since or claimed slots of these accounts (the account_id index), and
        the earliest publish time among them."""
        if not account_ids:
            return 0, None
        s = t.slots
        published = (s.c.status == SlotStatus.PUBLISHED.value) & (s.c.executed_at >= since)
        count, oldest = 0, None
        ids = list(account_ids)
        for start in range(0, len(ids), 500):  # stay under bound-parameter limits
            result = await self._session.execute(
                select(func.count(), func.min(s.c.executed_at)).where(
                    s.c.account_id.in_(ids[start : start + 500]),
                    or_(published, s.c.status == SlotStatus.CLAIMED.value),
                )
            )
            n, first = result.one()
            count += int(n)
            if first is not None:
                oldest = first if oldest is None else min(oldest, first)
        return count, oldest

    async def next_slot_due_at(self, distribution_id: str) -> datetime | None:
        """The earliest due_at of the distribution's waiting slots (one MIN)."""
        s = t.slots
        result = await self._session.execute(
            select(func.min(s.c.due_at)).where(
                s.c.distribution_id == distribution_id, s.c.status.in_(CLAIMABLE)
            )
        )
        return result.scalar()

    # --- content library
    async def add_content_items(self, items: Sequence[ContentItem]) -> None:
        """Insert new library items; an existing id is a StorageError."""
        # In chunks: the rows of a 200 000-item import are built a chunk at a time (not all
        # held at once), and the event loop runs while each chunk is sent.
        for start in range(0, len(items), INSERT_CHUNK_ROWS):
            chunk = items[start : start + INSERT_CHUNK_ROWS]
            await self._session.execute(insert(t.content_items), [_item_to_row(i) for i in chunk])

    async def get_content_item(self, item_id: str) -> ContentItem:
        """Raises ContentNotFound."""
        rows = await self._rows(select(t.content_items).where(t.content_items.c.id == item_id))
        if not rows:
            raise ContentNotFound(item_id)
        return _row_to_item(rows[0])

    async def list_content_items(self, *, include_archived: bool = False) -> list[ContentItem]:
        """Library items, oldest first (then by id); archived ones only when asked."""
        query = select(t.content_items).order_by(t.content_items.c.created_at, t.content_items.c.id)
        if not include_archived:
            query = query.where(t.content_items.c.archived_at.is_(None))
        return [_row_to_item(r) for r in await self._rows(query)]

    async def find_content_items(self, ids: Sequence[str]) -> list[ContentItem]:
        """The stored items (archived too) whose id is in `ids`, by the primary key; in
        batches, as a statement takes a bounded number of parameters."""
        c = t.content_items.c
        found: list[ContentItem] = []
        for start in range(0, len(ids), ID_BATCH):
            batch = list(ids[start : start + ID_BATCH])
            found += await self._mapped(
                select(t.content_items).where(c.id.in_(batch)), _row_to_item
            )
        return found

    async def save_content_item(self, item: ContentItem) -> None:
        """Replace one item. Raises ContentNotFound."""
        result = await self._session.execute(
            update(t.content_items)
            .where(t.content_items.c.id == item.id)
            .values(_item_to_row(item))
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise ContentNotFound(item.id)

    # --- audit log
    async def append_event(self, event: Event) -> None:
        """Append to the audit log."""
        await self._session.execute(insert(t.events), [event_to_row(event)])

    async def append_events(self, events: Sequence[Event]) -> None:
        """Append several to the audit log in order (seq follows it), a chunk of rows per
        statement."""
        for start in range(0, len(events), INSERT_CHUNK_ROWS):
            chunk = events[start : start + INSERT_CHUNK_ROWS]
            await self._session.execute(insert(t.events), [event_to_row(e) for e in chunk])

    async def list_events(
        self,
        *,
        distribution_id: str | None = None,
        account_id: str | None = None,
        kind_prefix: str | None = None,
        since: datetime | None = None,
        text: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Newest first (by time, then by insertion). `text` searches kinds and data."""
        e = t.events
        query = select(e).order_by(e.c.at.desc(), e.c.seq.desc()).limit(limit)
        if distribution_id is not None:
            query = query.where(e.c.distribution_id == distribution_id)
        if account_id is not None:
            query = query.where(e.c.account_id == account_id)
        if kind_prefix is not None:
            query = query.where(e.c.kind.startswith(kind_prefix, autoescape=True))
        if since is not None:
            query = query.where(e.c.at >= since)
        if text:
            needle = text.lower()
            query = query.where(
                or_(
                    func.lower(e.c.kind).contains(needle, autoescape=True),
                    func.lower(cast(e.c.data, Text)).contains(needle, autoescape=True),
                )
            )
        return [row_to_event(r) for r in await self._rows(query)]

    async def _require_distributions(self, ids: set[str]) -> None:
        d = t.distributions
        found: set[str] = set(
            (await self._session.execute(select(d.c.id).where(d.c.id.in_(ids)))).scalars()
        )
        missing = sorted(ids - found)
        if missing:
            raise DistributionNotFound(missing[0])


# --- repository --------------------------------------------------------------------------
class SQLAlchemyRepository:
    """The Repository port on a SQL database given by URL (or an AsyncEngine to share)."""

    def __init__(self, url_or_engine: str | URL | AsyncEngine) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = create_engine(url_or_engine)
            self._owns_engine = True
        self._url = safe_url(self.engine.url)
        self._sessions = create_sessionmaker(self.engine)
        self._postgres = self.engine.dialect.name == "postgresql"
        # Reads (status, progress, history, Slack cards) must not queue behind the
        # dispatcher's writes for the write lock: they get their own engine (SQLite) or
        # skip the advisory lock (PostgreSQL).
        self.read_engine = create_read_engine(self.engine)
        self._read_sessions = create_sessionmaker(self.read_engine)
        # Tasks inside a unit of work: a nested one would wait for itself (SQLite's lock,
        # PostgreSQL's advisory lock) until the busy timeout, so it is refused at once.
        self._holders: set[asyncio.Task[Any]] = set()

    def _refuse_nesting(self) -> asyncio.Task[Any] | None:
        task = asyncio.current_task()
        if task is not None and task in self._holders:
            raise StorageError("a unit of work is already open in this task (nested call)")
        return task

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SQLAlchemyUnitOfWork]:
        """One transaction: committed when the block exits cleanly, rolled back on error."""
        task = self._refuse_nesting()
        if task is not None:
            self._holders.add(task)
        try:
            with translate_errors(self._url):
                async with self._sessions() as session, session.begin():
                    if self._postgres:
                        await session.execute(
                            sql_text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": UNIT_OF_WORK_LOCK},
                        )
                    yield SQLAlchemyUnitOfWork(session)
        finally:
            self._holders.discard(task)  # type: ignore[arg-type]

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SQLAlchemyUnitOfWork]:
        """One read-only transaction over a consistent snapshot, taking no write lock: it
        never waits for a unit of work (SQLite WAL; PostgreSQL's REPEATABLE READ), and a
        write inside it raises StorageError."""
        with translate_errors(self._url):
            async with self._read_sessions() as session, session.begin():
                if self._postgres:
                    await session.execute(
                        sql_text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    )
                yield SQLAlchemyUnitOfWork(session)

    async def claim_due_slots(
        self, *, now: datetime, limit: int, worker_id: str, lease: timedelta
    ) -> list[Slot]:
        """Claim up to `limit` due slots of EXECUTING distributions in one statement."""
        self._refuse_nesting()
        if limit <= 0:
            return []
        s, d = t.slots, t.distributions
        due = t.slots.alias("due")
        pick = (
            select(due.c.id)
            .join(d, d.c.id == due.c.distribution_id)
            .where(
                due.c.status.in_(CLAIMABLE),
                due.c.due_at <= now,
                d.c.status == DistributionStatus.EXECUTING.value,
            )
            .order_by(due.c.due_at, due.c.seq)
            .limit(limit)
        )
        if self._postgres:
            # Concurrent claimers skip each other's rows instead of waiting and coming back empty.
            pick = pick.with_for_update(of=due, skip_locked=True)
        statement = (
            update(s)
            .where(s.c.id.in_(pick.scalar_subquery()), s.c.status.in_(CLAIMABLE))
            .values(
                status=SlotStatus.CLAIMED.value,
                claimed_by=worker_id,
                lease_expires_at=now + lease,
                attempts=s.c.attempts + 1,
            )
            .returning(*s.columns)
        )
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                rows = (await session.execute(statement)).mappings().all()
        claimed = [row_to_slot(r) for r in rows]
        claimed.sort(key=lambda slot: (slot.due_at, slot.seq))
        return claimed

    async def expired_claims(self, *, now: datetime, limit: int = 500) -> list[Slot]:
        """CLAIMED slots whose lease ended before `now`, oldest lease first."""
        s = t.slots
        query = (
            select(s)
            .where(s.c.status == SlotStatus.CLAIMED.value, s.c.lease_expires_at < now)
            .order_by(s.c.lease_expires_at, s.c.seq)
            .limit(limit)
        )
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                rows = (await session.execute(query)).mappings().all()
        return [row_to_slot(r) for r in rows]

    async def renew_claims(
        self, slot_ids: Sequence[str], *, worker_id: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """One UPDATE per 500 ids, only rows still CLAIMED by `worker_id`."""
        self._refuse_nesting()
        s, renewed = t.slots, set[str]()
        ids = list(slot_ids)
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                if self._postgres:
                    # Serialised with units of work, so a replica's lease-expiry check never
                    # interleaves with this renewal.
                    await session.execute(
                        sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": UNIT_OF_WORK_LOCK}
                    )
                for start in range(0, len(ids), 500):
                    statement = (
                        update(s)
                        .where(
                            s.c.id.in_(ids[start : start + 500]),
                            s.c.status == SlotStatus.CLAIMED.value,
                            s.c.claimed_by == worker_id,
                        )
                        .values(lease_expires_at=now + lease)
                        .returning(s.c.id)
                    )
                    renewed.update(str(i) for i in (await session.execute(statement)).scalars())
        return renewed

    async def next_due_at(self) -> datetime | None:
        """The earliest due_at of a claimable slot of an EXECUTING distribution."""
        s, d = t.slots, t.distributions
        query = (
            select(s.c.due_at)
            .join(d, d.c.id == s.c.distribution_id)
            .where(s.c.status.in_(CLAIMABLE), d.c.status == DistributionStatus.EXECUTING.value)
            .order_by(s.c.due_at)
            .limit(1)
        )
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                return (await session.execute(query)).scalar()

    async def close(self) -> None:
        """Dispose of the engine's connections if this repository created it."""
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        if self._owns_engine:
            await self.engine.dispose()
