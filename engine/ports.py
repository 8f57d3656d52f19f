"""The ports the engine needs, as `typing.Protocol`s. Adapters implement them.

Implementations are named `<Tech><Role>`: `SQLAlchemyRepository`, `MemoryRepository`,
`SimulatedPublisher`, `WebhookPublisher`, `LiteLLMClient`, `SlackNotifier`, ...
Each method's docstring says what it raises; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from engine.models import (
    Account,
    Distribution,
    DistributionStatus,
    Event,
    Slot,
    SlotStatus,
)
from engine.request import Content


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. `speed` > 1 means time runs faster than the wall."""

    speed: float

    def now(self) -> datetime:
        """The current UTC-aware time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Commits when the `async with` block exits cleanly, rolls back on error.

    Every method may raise `StorageError` (with `temporary=True` when a retry may help).
    """

    # --- accounts
    async def get_account(self, account_id: str) -> Account:
        """Raises AccountNotFound."""
        ...

    async def get_accounts(self, account_ids: Sequence[str]) -> list[Account]:
        """The accounts with these ids that exist (unknown ids are left out), by id."""
        ...

    async def list_accounts(self, platform: str | None = None) -> list[Account]:
        """All accounts (of one platform), ordered by id."""
        ...

    async def upsert_accounts(self, accounts: Sequence[Account]) -> int:
        """Insert or replace accounts by id; returns how many were written."""
        ...

    async def save_account(self, account: Account) -> None:
        """Replace one account. Raises AccountNotFound."""
        ...

    # --- distributions
    async def add_distribution(self, distribution: Distribution) -> None:
        """Insert a new distribution."""
        ...

    async def get_distribution(self, distribution_id: str) -> Distribution:
        """Raises DistributionNotFound."""
        ...

    async def find_distributions(self, key: str) -> list[Distribution]:
        """Distributions whose id equals `key`, or whose name equals it (case-insensitive);
        if none, those whose name contains it. Newest first."""
        ...

    async def list_distributions(
        self, statuses: Sequence[DistributionStatus] | None = None, limit: int = 50
    ) -> list[Distribution]:
        """Newest first."""
        ...

    async def save_distribution(self, distribution: Distribution) -> Distribution:
        """Write `distribution` if the stored version equals `distribution.version`; returns
        it with `version` + 1. Raises ConcurrentModification, DistributionNotFound."""
        ...

    # --- slots
    async def replace_slots(self, distribution_id: str, slots: Sequence[Slot]) -> None:
        """Delete the distribution's slots and insert `slots` (a re-plan). Bulk-inserts."""
        ...

    async def add_slots(self, slots: Sequence[Slot]) -> None:
        """Insert more slots (retries, redistributions)."""
        ...

    async def get_slot(self, slot_id: str) -> Slot:
        """Raises SlotNotFound."""
        ...

    async def list_slots(
        self, distribution_id: str, statuses: Sequence[SlotStatus] | None = None
    ) -> list[Slot]:
        """Ordered by due_at, then seq."""
        ...

    async def save_slot(self, slot: Slot) -> None:
        """Replace one slot. Raises SlotNotFound."""
        ...

    async def set_slot_status(
        self,
        distribution_id: str,
        from_statuses: Sequence[SlotStatus],
        to_status: SlotStatus,
    ) -> int:
        """Move every slot of the distribution in `from_statuses` to `to_status` in one
        statement (pause, resume, cancel act on unclaimed slots at once). Returns the count."""
        ...

    async def slot_counts(self, distribution_id: str) -> dict[SlotStatus, int]:
        """How many slots are in each status (every SlotStatus is a key, zeros included)."""
        ...

    async def count_late_slots(self, distribution_id: str, before: datetime) -> int:
        """How many of the distribution's waiting (QUEUED, RETRY_SCHEDULED) slots are due
        strictly before `before`: one COUNT, for status cards on large plans."""
        ...

    async def next_slot_due_at(self, distribution_id: str) -> datetime | None:
        """The earliest `due_at` of the distribution's waiting (QUEUED, RETRY_SCHEDULED)
        slots, whatever the distribution's status; None when none waits."""
        ...

    # --- audit log (append-only)
    async def append_event(self, event: Event) -> None:
        """Append to the audit log."""
        ...

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
        """Newest first. `text` searches kinds and data."""
        ...


class Repository(Protocol):
    """The source of truth for accounts, distributions, slots and the audit log."""

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Open one transaction (SQLite: BEGIN IMMEDIATE)."""
        ...

    async def claim_due_slots(
        self, *, now: datetime, limit: int, worker_id: str, lease: timedelta
    ) -> list[Slot]:
        """Atomically move up to `limit` QUEUED or RETRY_SCHEDULED slots whose `due_at <= now`
        (and whose distribution is EXECUTING) to CLAIMED for `worker_id`, with a lease until
        `now + lease`, increment `attempts`, and return them. Two callers never get the same
        slot. Raises StorageError."""
        ...

    async def expired_claims(self, *, now: datetime, limit: int = 500) -> list[Slot]:
        """CLAIMED slots whose lease has expired (their dispatcher died)."""
        ...

    async def next_due_at(self) -> datetime | None:
        """The earliest `due_at` of a claimable slot, for the dispatcher's wake-up."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """What a publisher needs to post one slot."""

    slot_id: str
    distribution_id: str
    account: Account
    platform: str
    language: str
    caption: str
    hashtags: tuple[str, ...]
    content: Content
    content_type: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    post_id: str
    url: str | None = None


class Publisher(Protocol):
    """Posts one slot to its platform, through the operator's posting service."""

    supports_idempotency: bool

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Raises RateLimited, AccountSuspended, NetworkError, OutcomeUnknown,
        UnknownPublishError."""
        ...


class Notifier(Protocol):
    """Receives every domain event after its transaction committed (Slack, logs, tests)."""

    async def notify(self, event: Event) -> None:
        """Never raises: a notifier that fails keeps its own outbox and retries."""
        ...


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One request to one model: a system prompt, the user data kept apart, a JSON schema."""

    system: str
    user: str
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class LLMReply:
    """One model's answer: the raw JSON text and what it cost."""

    model: str
    text: str
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class LLMClient(Protocol):
    """One configured model behind a gateway (litellm)."""

    name: str
    weight: float

    async def complete(self, call: LLMCall, *, timeout: float) -> LLMReply:
        """Raises LLMTemporaryError (timeout, 429, 5xx, connection) or LLMError."""
        ...


@dataclass(frozen=True, slots=True)
class Trend:
    """A topic's strength on a platform in a UTC hour range [start_hour, end_hour)."""

    platform: str
    topic: str
    score: float
    start_hour: int = 0
    end_hour: int = 24


class LLMCallLog(Protocol):
    """Where model calls are kept across restarts (cost and latency reports, budgets)."""

    async def record(self, records: Sequence[Any]) -> int:
        """Store call records (`model`, `plan_id`, `at`, `outcome`, `latency_s`, token counts,
        `cost_usd`, `error`). Raises StorageError."""
        ...

    async def spent(self, plan_id: str) -> float:
        """US dollars recorded for `plan_id`. Raises StorageError."""
        ...


class TrendSource(Protocol):
    """Where trend data comes from (a file, an HTTP service)."""

    async def trends(self, platforms: Sequence[str]) -> list[Trend]:
        """Raises InvalidInput for a broken source file, NetworkError for HTTP trouble."""
        ...
