"""The API's bodies and answers as pydantic models: they validate requests (unknown fields
are refused by name) and generate the OpenAPI document. A create's body is
`engine.request.DistributionRequest`, the same model as `herald plan`'s JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from engine.models import Account, Distribution, Slot
from engine.request import Content, DistributionRequest, NumbersAreNumbers
from engine.service_support import StatusView
from engine.simulation import SimulationFigures


class Strict(NumbersAreNumbers):
    model_config = ConfigDict(extra="forbid")


# --- bodies
class Note(Strict):
    note: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = Field(
        default=None, ge=1, description="refuse if the plan changed since this version"
    )


class Reject(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    expected_version: int | None = Field(default=None, ge=1)


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class MaybeReason(Strict):
    reason: str | None = Field(default=None, max_length=2000)


# StrictBool: pydantic would read "no", "off" or 0 as false, and `run` with false starts
# the real run; only JSON true/false says which was meant.
class Run(Strict):
    simulate: StrictBool = Field(
        description="true: every open slot through the simulated publisher, nothing changed; "
        "false: start the approved run (same as /start)"
    )


class Publish(Strict):
    simulate: StrictBool = Field(
        default=True, description="only true: real publishes happen through approved runs"
    )


class Trends(Strict):
    platforms: list[str] = Field(min_length=1)


class Platforms(Strict):
    content_type: str = "video"
    available_platforms: list[str] = Field(min_length=1)


class Repurpose(Strict):
    content: Content
    target_platforms: list[str] = Field(min_length=1)
    language: str | None = None


class Languages(Strict):
    content: Content
    target_languages: list[str] = Field(min_length=1)


class WebhookIn(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(
        min_length=1, description="event kinds, e.g. slot.published, distribution.completed, *"
    )


# --- query strings
class CreateQuery(Strict):
    safety_mode: str | None = Field(
        default=None, description="SEMI_AUTONOMOUS (default), MANUAL or FULL_AUTONOMOUS"
    )


class ListQuery(Strict):
    status: str | None = None
    limit: int = Field(default=20, ge=1, le=200)


class SlotsQuery(Strict):
    platform: str | None = None
    status: str | None = None
    account: str | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)
    offset: int = Field(default=0, ge=0)


class HistoryQuery(Strict):
    limit: int = Field(default=20, ge=1, le=500)


class AccountsQuery(Strict):
    platform: str | None = None


class VelocityQuery(Strict):
    platform: str


class SearchQuery(Strict):
    query: str = Field(default="", max_length=500)
    kind: str | None = None
    distribution: str | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)


class StreamQuery(Strict):
    after: int | None = Field(
        default=None, ge=0, description="resume after this event id (as Last-Event-ID)"
    )


# --- answers
class DistributionOut(BaseModel):
    id: str
    name: str
    status: str
    safety_mode: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    approved_by: str | None = None
    approved_at: datetime | None = None
    decision_note: str | None = None
    warnings: list[str] = []
    request: DistributionRequest
    simulation: dict[str, Any] | None = None
    advice: dict[str, Any] | None = None

    @classmethod
    def of(cls, d: Distribution) -> DistributionOut:
        return cls(
            id=d.id,
            name=d.name,
            status=str(d.status),
            safety_mode=str(d.safety_mode),
            created_by=d.created_by,
            created_at=d.created_at,
            updated_at=d.updated_at,
            version=d.version,
            approved_by=d.approved_by,
            approved_at=d.approved_at,
            decision_note=d.decision_note,
            warnings=list(d.warnings),
            request=d.request,
            simulation=d.simulation,
            advice=d.advice,
        )


class SlotOut(BaseModel):
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
    hashtags: list[str]
    risk_score: float
    risk_level: str
    trend_score: float
    content_type: str
    variant_id: str
    content_id: str = Field(default="", description="the content item posted (queue plans)")
    status: str
    attempts: int
    executed_at: datetime | None = None
    post_id: str | None = None
    post_url: str | None = None
    error: str | None = None
    failure_kind: str | None = None

    @classmethod
    def of(cls, s: Slot) -> SlotOut:
        return cls(
            id=s.id,
            distribution_id=s.distribution_id,
            seq=s.seq,
            account_id=s.account_id,
            platform=s.platform,
            language=s.language,
            timezone=s.timezone,
            scheduled_at=s.scheduled_at,
            due_at=s.due_at,
            caption=s.caption,
            hashtags=list(s.hashtags),
            risk_score=s.risk_score,
            risk_level=str(s.risk_level),
            trend_score=s.trend_score,
            content_type=s.content_type,
            variant_id=s.variant_id,
            content_id=s.content_id,
            status=str(s.status),
            attempts=s.attempts,
            executed_at=s.executed_at,
            post_id=s.post_id,
            post_url=s.post_url,
            error=s.error,
            failure_kind=s.failure_kind,
        )


class ItemOut(BaseModel):
    """One content item of a plan, in the request's queue order (engine/item_report.py);
    an item that got no slot has zeros and no days."""

    content_id: str
    slots: int
    accounts: int = Field(description="distinct accounts posting it")
    days: list[str] = Field(description="UTC dates it posts on (YYYY-MM-DD)")


class PlanOut(BaseModel):
    distribution: DistributionOut
    slots: list[SlotOut]
    unscheduled: list[dict[str, str]]
    warnings: list[str]
    items: list[ItemOut] = Field(
        default_factory=list,
        description="per content item, in queue order: content_id, slots, accounts, days",
    )


class SimulationOut(SimulationFigures):
    """The simulation report (engine/simulation.py, whose figures it shares); `items` are
    the plan answer's `items`. Per-publisher cost fields (`<publisher>_api_cost_usd`) come
    as extra fields."""

    model_config = ConfigDict(extra="allow")

    mode: str
    items: list[ItemOut] = Field(
        default_factory=list,
        description="per content item, in queue order: content_id, slots, accounts, days "
        "(the same figures as the plan answer)",
    )
    publishers: str | None = Field(default=None, description="posts per publisher")


class StatusOut(BaseModel):
    distribution: DistributionOut
    counts: dict[str, int]
    total: int
    done: int
    published: int
    failed: int
    late: int
    next_due_at: datetime | None = None

    @classmethod
    def of(cls, v: StatusView) -> StatusOut:
        return cls(
            distribution=DistributionOut.of(v.distribution),
            counts={str(k): n for k, n in v.counts.items()},
            total=v.total,
            done=v.done,
            published=v.published,
            failed=v.failed,
            late=v.late,
            next_due_at=v.next_due_at,
        )


class SlotPage(BaseModel):
    total: int
    slots: list[SlotOut]


class EventOut(BaseModel):
    seq: int | None = Field(default=None, description="the audit log's id (SSE event id)")
    id: str
    at: datetime
    kind: str
    actor: str
    distribution_id: str | None = None
    slot_id: str | None = None
    account_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    data: dict[str, Any] = {}


class AccountOut(BaseModel):
    id: str
    platform: str
    handle: str
    timezone: str
    language: str
    followers: int
    health: float
    state: str
    last_posted_at: datetime | None = None
    rate_limited_until: datetime | None = None

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id,
            platform=a.platform,
            handle=a.handle,
            timezone=a.timezone,
            language=a.language,
            followers=a.followers,
            health=a.health,
            state=str(a.state),
            last_posted_at=a.last_posted_at,
            rate_limited_until=a.rate_limited_until,
        )


class RunResult(BaseModel):
    distribution_id: str
    simulated: bool
    results: list[dict[str, Any]] = []
    distribution: DistributionOut | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_by: str
    created_at: datetime
    enabled: bool
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    delivered: int = 0
    last_error: str | None = None
    secret: str | None = Field(default=None, description="only in the answer to the create")


class Retried(BaseModel):
    retried: int
    distribution: DistributionOut


class AnyJson(BaseModel):
    """A JSON object whose fields the description documents."""

    model_config = ConfigDict(extra="allow")
