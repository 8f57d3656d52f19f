"""Small builders of valid accounts, distributions, slots and events for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.models import (
    Account,
    Distribution,
    DistributionStatus,
    Event,
    RiskLevel,
    SafetyMode,
    Slot,
    SlotStatus,
    new_event_id,
    new_id,
)
from engine.request import parse_request

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def account(account_id: str = "tt-1", platform: str = "tiktok", **changes: Any) -> Account:
    """A valid account."""
    values: dict[str, Any] = {
        "id": account_id,
        "platform": platform,
        "handle": f"@{account_id}",
        "timezone": "Europe/Paris",
    }
    values.update(changes)
    return Account(**values)


def distribution(
    name: str = "launch",
    status: DistributionStatus = DistributionStatus.DRAFT,
    *,
    created_at: datetime = T0,
    **changes: Any,
) -> Distribution:
    """A valid distribution with a real request."""
    request = parse_request(
        {
            "name": name,
            "content": {"id": "c1", "caption": "Hello", "hashtags": ["a", "b"]},
            "platforms": ["tiktok", "instagram"],
            "start": "2026-12-01T14:00Z",
        }
    )
    values: dict[str, Any] = {
        "id": new_id("d"),
        "name": name,
        "request": request,
        "status": status,
        "safety_mode": SafetyMode.SEMI_AUTONOMOUS,
        "created_by": "U1",
        "created_at": created_at,
        "updated_at": created_at,
    }
    values.update(changes)
    return Distribution(**values)


def slot(
    distribution_id: str,
    seq: int,
    *,
    due_at: datetime | None = None,
    status: SlotStatus = SlotStatus.QUEUED,
    **changes: Any,
) -> Slot:
    """A valid slot due `seq` minutes after T0 unless `due_at` is given."""
    when = due_at if due_at is not None else T0 + timedelta(minutes=seq)
    values: dict[str, Any] = {
        "id": f"{distribution_id}-s{seq}",
        "distribution_id": distribution_id,
        "seq": seq,
        "account_id": f"tt-{seq}",
        "platform": "tiktok",
        "language": "en",
        "timezone": "UTC",
        "scheduled_at": when,
        "due_at": when,
        "caption": f"caption {seq}",
        "hashtags": ("a", "b"),
        "risk_score": 0.1,
        "risk_level": RiskLevel.LOW,
        "status": status,
        "idempotency_key": f"key-{distribution_id}-{seq}",
    }
    values.update(changes)
    return Slot(**values)


def event(kind: str = "distribution.created", at: datetime = T0, **changes: Any) -> Event:
    """A valid audit event."""
    values: dict[str, Any] = {"id": new_event_id(), "at": at, "kind": kind, "actor": "U1"}
    values.update(changes)
    return Event(**values)
