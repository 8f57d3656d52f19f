"""The ports the engine needs, as `typing.Protocol`s. Adapters implement them.

Implementations are named `<Tech><Role>`: `SQLAlchemyRepository`, `MemoryRepository`,
`SimulatedPublisher`, `WebhookPublisher`, `LiteLLMClient`, `SlackNotifier`, ...
Each method's docstring says what it raises; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from engine.credentials import (
    AuthorizationStart,
    ConnectionInfo,
    Credentials,
    PendingAuthorization,
    Profile,
    TokenSet,
)
from engine.media import AccountLimits, MediaAsset
from engine.models import (
    Account,
    ContentItem,
    Distribution,
    DistributionStatus,
    Event,
    Slot,
    SlotStatus,
)
from engine.plan_summary import PlanSummary
from engine.request import Content


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. `speed` > 1 means time runs faster than the wall."""

    speed: float

    def now(self) -> datetime:
        """The current UTC-aware time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a steady counter that never runs backwards (for throttles, caches and
        time budgets; only differences mean anything). Raises nothing."""
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

    async def list_spaced_slots(self, distribution_id: str) -> list[Slot]:
        """The slots catch-up spacing counts (engine/catch_up.py): PUBLISHED, CLAIMED, and
        QUEUED ones re-timed past their plan (due_at > scheduled_at); by due_at, then seq.
        Not the rest: a late run re-read them all on the serving loop."""
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

    async def plan_summary(self, distribution_id: str) -> PlanSummary:
        """What the plan card shows about the distribution's slots (counts per platform
        and UTC day, risk level and item; accounts; first and last post), as aggregates:
        equal to `engine.plan_summary.summarize_slots` of `list_slots`."""
        ...

    async def count_late_slots(self, distribution_id: str, before: datetime) -> int:
        """How many of the distribution's waiting (QUEUED, RETRY_SCHEDULED) slots are due
        strictly before `before`: one COUNT, for status cards on large plans."""
        ...

    async def next_slot_due_at(self, distribution_id: str) -> datetime | None:
        """The earliest `due_at` of the distribution's waiting (QUEUED, RETRY_SCHEDULED)
        slots, whatever the distribution's status; None when none waits."""
        ...

    async def posts_in_window(
        self, account_ids: Sequence[str], since: datetime
    ) -> tuple[int, datetime | None]:
        """For posting limits shared by every replica: how many slots of these accounts
        (any distribution) were PUBLISHED at or after `since` or are CLAIMED now, and the
        earliest such publish time (None when none was published)."""
        ...

    # --- audit log (append-only)
    async def add_content_items(self, items: Sequence[ContentItem]) -> None:
        """Insert new library items; an existing id is a StorageError."""
        ...

    async def get_content_item(self, item_id: str) -> ContentItem:
        """Raises ContentNotFound."""
        ...

    async def list_content_items(self, *, include_archived: bool = False) -> list[ContentItem]:
        """Library items, oldest first (then by id); archived ones only when asked."""
        ...

    async def find_content_items(self, ids: Sequence[str]) -> list[ContentItem]:
        """The stored items (archived too) whose id is in `ids`, in no order: an import's
        existing-id check by the primary key, never the whole library in memory."""
        ...

    async def save_content_item(self, item: ContentItem) -> None:
        """Replace one item. Raises ContentNotFound."""
        ...

    async def append_event(self, event: Event) -> None:
        """Append to the audit log."""
        ...

    async def append_events(self, events: Sequence[Event]) -> None:
        """Append several to the audit log, in order (one statement where the store can:
        an import of thousands of items)."""
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

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Open one read-only transaction over a consistent snapshot that never waits for
        a unit of work (no write lock: status reads must not queue behind a run's writes).
        Its write methods raise StorageError."""
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

    async def renew_claims(
        self, slot_ids: Sequence[str], *, worker_id: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """Extend to `now + lease` the leases of those of `slot_ids` still CLAIMED by
        `worker_id` (a long upload keeps its slots); returns their ids. Raises StorageError."""
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
    media: tuple[MediaAsset, ...] = ()
    # When an earlier attempt of this slot may have reached the platform (a timeout after
    # sending, a worker killed mid-publish): the time it was sent, for reconciliation.
    sent_before_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    post_id: str
    url: str | None = None
    # True when the post was found on the platform by reconciliation, not posted now.
    reconciled: bool = False


class Publisher(Protocol):
    """Posts one slot to its platform, through the operator's posting service."""

    supports_idempotency: bool

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Raises RateLimited, AccountSuspended, AuthExpired, DuplicateContent,
        ContentRejected, NetworkError, OutcomeUnknown, UnknownPublishError."""
        ...


@runtime_checkable
class MediaHandoff(Protocol):
    """A publisher that can say at plan time whether it could hand the media to its platform
    (Instagram pulls every file from a public URL)."""

    def media_problem(self, media: Sequence[MediaAsset], content: Content) -> str | None:
        """Why `media` could not reach the platform, or None. Raises nothing."""
        ...


@runtime_checkable
class AccountLimitsReader(Protocol):
    """A publisher that can read an account's own limits from its platform's API (Instagram's
    content_publishing_limit, TikTok's creator_info), for plan-time checks."""

    async def account_limits(self, account_id: str) -> AccountLimits:
        """Raises AuthExpired, RateLimited, NetworkError or another PublishError."""
        ...


class Reconciler(Protocol):
    """A publisher that can look for a post it may already have made (no platform API takes
    an idempotency key, so an in-doubt slot is looked up before it is ever sent again)."""

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        """The post made for `request` at or after `sent_at`, or None when the platform
        shows none after its visibility delay. Raises OutcomeUnknown when it cannot tell,
        NetworkError, RateLimited, AuthExpired."""
        ...


class CredentialStore(Protocol):
    """Where connected accounts' tokens live, encrypted at rest."""

    async def get(self, account_id: str) -> Credentials:
        """The account's current credentials. Raises AuthExpired when the account is not
        connected or needs reconnecting, StorageError."""
        ...

    async def save(self, credentials: Credentials) -> None:
        """Store (encrypting) new or rotated credentials in one transaction. Raises
        InvalidInput when no encryption key is configured, StorageError."""
        ...

    async def delete(self, account_id: str) -> None:
        """Forget the account's tokens (disconnect). Raises StorageError."""
        ...

    async def list_connections(self) -> list[ConnectionInfo]:
        """Every stored connection, without secrets. Raises StorageError."""
        ...

    # --- added for the OAuth work: refresh leases and connect/disconnect as one transaction
    async def connect(self, credentials: Credentials, account: Account, event: Event) -> None:
        """Store the credentials (clearing any needs-reauth mark), insert or replace the
        account and append `event`, in one transaction. Raises InvalidInput when no
        encryption key is configured, StorageError."""
        ...

    async def disconnect(self, account_id: str, event: Event) -> bool:
        """Forget the account's tokens and append `event` in one transaction; False (and
        nothing written) when it had none. Raises StorageError."""
        ...

    async def acquire_refresh(
        self, account_id: str, holder: str, *, now: datetime, lease: timedelta
    ) -> bool:
        """Take the account's refresh lease (one atomic statement, so one holder across all
        replicas) unless another holder's lease runs past `now`. Raises AuthExpired when the
        account is not connected, StorageError."""
        ...

    async def finish_refresh(self, credentials: Credentials, holder: str) -> None:
        """Save refreshed (maybe rotated) credentials and release `holder`'s lease in one
        transaction. Raises InvalidInput without a key, StorageError."""
        ...

    async def release_refresh(self, account_id: str, holder: str) -> None:
        """Give the lease back without new tokens (the refresh failed). Raises StorageError."""
        ...

    async def mark_needs_reauth(self, account_id: str, event: Event) -> bool:
        """Mark the connection dead, move the account to NEEDS_AUTH and append `event` in one
        transaction; False (nothing written) when it was already marked. Raises StorageError."""
        ...


class OAuthClient(Protocol):
    """One platform's OAuth 2.0 endpoints: authorize, code exchange, refresh, profile.

    Nothing it raises contains a token: messages name the platform and the error code.
    """

    publisher: str
    platform: str

    def authorization_url(self, *, state: str, redirect_uri: str) -> AuthorizationStart:
        """The platform's consent page for `state` (with a PKCE challenge where supported).
        Raises InvalidInput when the app's client id is not configured."""
        ...

    async def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str | None
    ) -> TokenSet:
        """Trade an authorization code for tokens. Raises AuthExpired (code refused),
        InvalidInput (app misconfigured), NetworkError, RateLimited."""
        ...

    async def refresh(self, credentials: Credentials) -> TokenSet:
        """A new access token (and rotated refresh token). Raises AuthExpired (invalid_grant,
        revoked, no refresh token), NetworkError / RateLimited (temporary: 5xx, 429, network),
        InvalidInput (app misconfigured)."""
        ...

    async def profile(self, access_token: str) -> Profile:
        """Who the token belongs to. Raises AuthExpired, NetworkError, RateLimited."""
        ...


class OAuthStateStore(Protocol):
    """OAuth `state`s in flight, shared by every replica (any one may get the callback)."""

    async def put(self, pending: PendingAuthorization) -> None:
        """Remember a new state (and forget long-expired ones). Raises InvalidInput without
        an encryption key (the PKCE verifier is kept encrypted), StorageError."""
        ...

    async def authorize_url(self, state: str, *, now: datetime) -> str | None:
        """The consent URL of a pending, unexpired, unused state, or None. Raises
        StorageError."""
        ...

    async def take(self, state: str, *, now: datetime) -> PendingAuthorization | None:
        """Consume `state` atomically: the first caller gets it, later callers None (single
        use); unknown states are None too. Raises StorageError."""
        ...


class TokenRefresher(Protocol):
    """Gives a publisher a usable access token, refreshing ahead of expiry."""

    async def credentials(
        self, account_id: str, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> Credentials:
        """Credentials whose access token is valid now; refreshes when it expires soon or
        when `force_refresh` (the platform answered 401; pass the refused access token as
        `rejected_token` so a token another worker already renewed is not refreshed again).
        One refresh per account at a time across replicas; a rotated refresh token is saved
        before the new access token is used. Raises AuthExpired (refresh refused for good:
        the account needs reconnecting), NetworkError / RateLimited (temporary: the token is
        not treated as dead)."""
        ...


class MediaStore(Protocol):
    """Where media files are kept (a directory by default)."""

    async def get(self, media_id: str) -> MediaAsset:
        """Raises NotFound (MediaNotFound)."""
        ...

    async def resolve(self, ref: str) -> MediaAsset:
        """The stored asset a request's media reference names: a media id, or an http(s) URL
        downloaded (streamed, size-capped) and stored. Local paths are refused here (only the
        CLI reads local files). Raises MediaNotFound, InvalidInput (a path, not an image or
        video Herald can read, too big), NetworkError (the download failed)."""
        ...

    def chunks(self, media_id: str, *, chunk_size: int, start: int = 0) -> AsyncIterator[bytes]:
        """The file's bytes from `start`, `chunk_size` at a time (never the whole file)."""
        ...

    def signed_url(self, media_id: str, *, ttl_seconds: int) -> str | None:
        """A short-lived public URL for platforms that pull media (Instagram, TikTok), or
        None when Herald has no public URL."""
        ...


class PublishHandles(Protocol):
    """Where a publisher keeps the platform's handle of a post under way (YouTube upload
    session, Instagram container, TikTok publish id) before it sends anything, so an in-doubt
    slot can be reconciled even after a restart."""

    async def remember(self, slot_id: str, publisher: str, handle: str) -> None:
        """Keep (or replace) the slot's handle. Raises StorageError."""
        ...

    async def recall(self, slot_id: str, publisher: str) -> str | None:
        """The slot's handle, or None. Raises StorageError."""
        ...


class MediaIndex(Protocol):
    """The facts of stored media files (the `media` table), by id."""

    async def get_media(self, media_id: str) -> MediaAsset:
        """Raises MediaNotFound, StorageError."""
        ...

    async def put_media(self, asset: MediaAsset, *, event: Event | None = None) -> None:
        """Insert the asset's facts, or keep the existing row for the same id (same bytes),
        and `event` (its audit record) in the same transaction. Raises StorageError."""
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
