"""The domain's nouns: accounts, slots, distributions, actors and events.

Plain dataclasses (fast to build by the ten thousand, trivially copied with
`dataclasses.replace`); every datetime in them is UTC-aware. The distribution request, which
users type, is a pydantic model in `engine.request`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from engine.media import MediaIssue
from engine.request import Content, DistributionRequest


def new_id(prefix: str) -> str:
    """A short, unguessable, readable id such as `d-7f3a2c9e`."""
    return f"{prefix}-{secrets.token_hex(4)}"


def new_event_id() -> str:
    """An audit event's id, such as `e-7f3a2c9e01b4d5a6`. Events pile up for the life of a
    database, so 32 random bits (`new_id`) would collide: past ~77 000 events half of all
    databases hold a clash, and the unit of work writing it fails on the unique index."""
    return f"e-{secrets.token_hex(8)}"


class AccountState(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    RATE_LIMITED = "RATE_LIMITED"
    SUSPENDED = "SUSPENDED"
    NEEDS_AUTH = "NEEDS_AUTH"


@dataclass(frozen=True, slots=True)
class Account:
    """One social account the operator owns or is authorized to run, on one platform."""

    id: str
    platform: str
    handle: str
    timezone: str
    language: str = "en"
    followers: int = 0
    health: float = 1.0
    state: AccountState = AccountState.ACTIVE
    last_posted_at: datetime | None = None
    rate_limited_until: datetime | None = None
    suspensions: int = 0
    recent_failures: int = 0
    recent_posts: int = 0
    # Which publisher posts for this account: "" means the configured default (simulated or
    # webhook); otherwise the adapter its OAuth connection set (`x`, `linkedin`, `postiz`, ...).
    publisher: str = ""


class RiskLevel(StrEnum):
    """Seed 001's levels: LOW < 0.3 <= MEDIUM < 0.6 <= HIGH < 0.8 <= CRITICAL."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @classmethod
    def from_score(cls, score: float) -> RiskLevel:
        if score < 0.3:
            return cls.LOW
        if score < 0.6:
            return cls.MEDIUM
        if score < 0.8:
            return cls.HIGH
        return cls.CRITICAL


class SafetyMode(StrEnum):
    SEMI_AUTONOMOUS = "SEMI_AUTONOMOUS"
    MANUAL = "MANUAL"
    FULL_AUTONOMOUS = "FULL_AUTONOMOUS"


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One post the planner proposes: which account, where, when, with what caption.

    `local_time` is `scheduled_at` in the account's time zone (for display and peak hours).
    """

    account_id: str
    platform: str
    language: str
    scheduled_at: datetime
    local_time: datetime
    caption: str
    hashtags: tuple[str, ...]
    risk_score: float
    risk_level: RiskLevel
    trend_score: float = 0.0
    content_type: str = "post"
    variant_id: str = ""
    content_id: str = ""


@dataclass(frozen=True)
class ContentItem:
    """One library item: the content, who added it and when, and whether it is archived."""

    content: Content
    created_by: str
    created_at: datetime
    archived_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.content.id

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (`herald content show --json`, the Slack card's source)."""
        return {
            **self.content.model_dump(),
            "created_by": self.created_by,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "archived_at": None
            if self.archived_at is None
            else self.archived_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass(frozen=True, slots=True)
class Unscheduled:
    """An eligible-looking account the planner left out, and the specific reason."""

    account_id: str
    reason: str


@dataclass(frozen=True)
class PlanResult:
    """The planner's answer: slots in time order, what was left out, and why."""

    slots: list[PlannedSlot]
    unscheduled: list[Unscheduled] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Slots whose media their platform would reject (engine/media_check.py).
    media_issues: list[MediaIssue] = field(default_factory=list)


class DistributionStatus(StrEnum):
    DRAFT = "DRAFT"
    PLANNED = "PLANNED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    APPROVED = "APPROVED"
    EXECUTING = "EXECUTING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    HALTED = "HALTED"
    REJECTED = "REJECTED"


class SlotStatus(StrEnum):
    PLANNED = "PLANNED"
    QUEUED = "QUEUED"
    CLAIMED = "CLAIMED"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


TERMINAL_SLOT_STATUSES = frozenset(
    {
        SlotStatus.PUBLISHED,
        SlotStatus.FAILED,
        SlotStatus.SKIPPED,
        SlotStatus.CANCELLED,
        SlotStatus.OUTCOME_UNKNOWN,
    }
)


@dataclass(slots=True)
class Distribution:
    """One piece of content pushed to many accounts: the request, its state and who decided.

    `advice` is the fused LLM (or built-in) suggestion the plan was made with, with provenance.
    `version` increases on every save; a save with a stale version is refused.
    `origin` is opaque to the engine: adapters keep where it came from (a Slack
    channel and message) there.
    """

    id: str
    name: str
    request: DistributionRequest
    status: DistributionStatus
    safety_mode: SafetyMode
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    approved_by: str | None = None
    approved_at: datetime | None = None
    decision_note: str | None = None
    simulation: dict[str, Any] | None = None
    advice: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Slot:
    """A planned post, persisted: the unit the dispatcher claims and publishes once.

    `due_at` starts as `scheduled_at` and moves when a retry is scheduled.
    `claimed_by` and `lease_expires_at` are set while one dispatcher owns it.
    `idempotency_key` is sent to the publisher so a repeated call cannot post twice.
    """

    id: str
    distribution_id: str
    seq: int
    account_id: str
    platform: str
    language: str
    timezone: str
    scheduled_at: datetime
    due_at: datetime
    caption: str
    hashtags: tuple[str, ...]
    risk_score: float
    risk_level: RiskLevel
    trend_score: float = 0.0
    content_type: str = "post"
    variant_id: str = ""
    content_id: str = ""
    status: SlotStatus = SlotStatus.PLANNED
    attempts: int = 0
    claimed_by: str | None = None
    lease_expires_at: datetime | None = None
    executed_at: datetime | None = None
    post_id: str | None = None
    post_url: str | None = None
    error: str | None = None
    failure_kind: str | None = None
    idempotency_key: str = ""
    redistributed_from: str | None = None


class Role(StrEnum):
    """What a user may do: viewers look, operators run, approvers also approve."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a Slack user id, `system` (the dispatcher) or a CLI user."""

    id: str
    role: Role
    display: str = ""
    # The credential the user acted through (an API token id); recorded in the audit log.
    via: str = ""


SYSTEM = Actor("system", Role.APPROVER, "Herald")


@dataclass(frozen=True, slots=True)
class Event:
    """An audit record and a domain event at once: what changed, who, when, before/after.

    `kind` is dotted: `distribution.approved`, `slot.published`, `risk.alert`, ...
    """

    id: str
    at: datetime
    kind: str
    actor: str
    distribution_id: str | None = None
    slot_id: str | None = None
    account_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
