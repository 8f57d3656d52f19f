"""Shared conversions for every repository: UTC normalisation and JSON-safe copies.

Both the memory and the SQL repositories pass values through these, so a value the
database would refuse (a naive datetime, a set inside event data) fails the same way
everywhere, with a `StorageError` that says what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from engine.errors import StorageError
from engine.models import (
    Account,
    AccountState,
    Distribution,
    DistributionStatus,
    Event,
    RiskLevel,
    SafetyMode,
    Slot,
    SlotStatus,
)


def to_utc(value: datetime | None, what: str = "time") -> datetime | None:
    """`value` as UTC; naive datetimes are refused because Herald stores UTC only."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise StorageError(f"{what} {value.isoformat()} has no time zone; Herald stores UTC only")
    if value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def utc_required(value: datetime, what: str = "time") -> datetime:
    """`value` as UTC; a missing or naive value is refused."""
    result = to_utc(value, what)
    if result is None:
        raise StorageError(f"{what} is required")
    return result


def json_copy(value: Any, what: str = "value") -> Any:
    """A deep copy of `value` as it would come back from a JSON column."""
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise StorageError(f"{what} cannot be stored as JSON: {exc}") from None


def normalise_account(account: Account) -> Account:
    """The account with UTC times (Account is frozen, so this is a new object)."""
    return replace(
        account,
        state=AccountState(account.state),
        last_posted_at=to_utc(account.last_posted_at, "last_posted_at"),
        rate_limited_until=to_utc(account.rate_limited_until, "rate_limited_until"),
    )


def normalise_slot(slot: Slot) -> Slot:
    """A private copy of the slot with UTC times and a tuple of hashtags."""
    return replace(
        slot,
        status=SlotStatus(slot.status),
        risk_level=RiskLevel(slot.risk_level),
        hashtags=tuple(slot.hashtags),
        scheduled_at=utc_required(slot.scheduled_at, "scheduled_at"),
        due_at=utc_required(slot.due_at, "due_at"),
        lease_expires_at=to_utc(slot.lease_expires_at, "lease_expires_at"),
        executed_at=to_utc(slot.executed_at, "executed_at"),
    )


def copy_slot(slot: Slot) -> Slot:
    """A copy the caller may mutate without touching the stored one."""
    return replace(slot)


def normalise_distribution(distribution: Distribution) -> Distribution:
    """A private copy of the distribution with UTC times and JSON-safe dictionaries."""
    return replace(
        distribution,
        status=DistributionStatus(distribution.status),
        safety_mode=SafetyMode(distribution.safety_mode),
        created_at=utc_required(distribution.created_at, "created_at"),
        updated_at=utc_required(distribution.updated_at, "updated_at"),
        approved_at=to_utc(distribution.approved_at, "approved_at"),
        simulation=json_copy(distribution.simulation, "simulation"),
        advice=json_copy(distribution.advice, "advice"),
        warnings=[str(w) for w in distribution.warnings],
        origin={str(k): str(v) for k, v in distribution.origin.items()},
    )


def copy_distribution(distribution: Distribution) -> Distribution:
    """A copy the caller may mutate without touching the stored one."""
    return replace(
        distribution,
        simulation=json_copy(distribution.simulation),
        advice=json_copy(distribution.advice),
        warnings=list(distribution.warnings),
        origin=dict(distribution.origin),
    )


def normalise_event(event: Event) -> Event:
    """The event with a UTC time and JSON-safe before/after/data."""
    return replace(
        event,
        at=utc_required(event.at, "event time"),
        before=json_copy(event.before, "event before"),
        after=json_copy(event.after, "event after"),
        data=json_copy(event.data, "event data") or {},
    )


def event_matches_text(event: Event, text: str) -> bool:
    """The `list_events(text=...)` rule: a case-insensitive substring of kind or data."""
    needle = text.lower()
    return needle in event.kind.lower() or needle in json.dumps(event.data).lower()
