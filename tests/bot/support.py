"""Helpers the Slack tests share: the spring distribution's story and synthetic slots."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from engine.models import (
    SYSTEM,
    Distribution,
    DistributionStatus,
    Event,
    RiskLevel,
    SafetyMode,
    Slot,
)
from engine.request import request_from_fields
from tests.bot.conftest import APPROVER, OPERATOR, Harness

BLOCKS_T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PLATFORMS = ("tiktok", "instagram", "youtube", "twitter", "facebook", "linkedin")

CREATE = (
    'create name=spring caption="Spring is here" hashtags=spring,launch '
    "platforms=tiktok,instagram window=2h start=2026-12-01T11:00Z"
)


async def create_and_plan(h: Harness) -> str:
    await h.import_accounts()
    await h.driver.command(CREATE, user=OPERATOR)
    await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
    await h.driver.command("plan spring", user=OPERATOR)
    await h.settle(until=lambda: "Planned" in h.fake.responses_text())
    dist = await h.service.resolve("spring")
    return str(dist.id)


async def run_spring(h: Harness) -> str:
    dist_id = await create_and_plan(h)
    await h.service.approve(h.deps.actor(APPROVER), dist_id)
    await h.settle()
    return dist_id


def slots(n: int) -> list[Slot]:
    rnd = random.Random(1)
    out = []
    for i in range(n):
        at = BLOCKS_T0 + timedelta(minutes=rnd.randrange(14 * 24 * 60))
        score = rnd.random()
        out.append(
            Slot(
                f"d-1.{i}",
                "d-1",
                i,
                f"acc-{i % 900}",
                PLATFORMS[i % 6],
                "en",
                "UTC",
                at,
                at,
                "c",
                (),
                score,
                RiskLevel.from_score(score),
            )
        )
    return out


def sample_distribution(
    status: DistributionStatus = DistributionStatus.AWAITING_APPROVAL, **kw: object
) -> Distribution:
    """A 14-day calendar distribution on six platforms with a long caption (for builders)."""
    request = request_from_fields(
        {
            "name": "spring",
            "caption": "Spring " * 1400,
            "platforms": ",".join(PLATFORMS),
            "mode": "calendar",
            "days": "14",
            "start": "2026-12-01T10:00Z",
        }
    )
    return Distribution(
        "d-1",
        "spring",
        request,
        status,
        SafetyMode.SEMI_AUTONOMOUS,
        "U_OP",
        BLOCKS_T0,
        BLOCKS_T0,
        version=3,
        **kw,  # type: ignore[arg-type]
    )


def risk_alert(dist_id: str, *, paused: bool = True) -> Event:
    """A critical risk alert for `dist_id`, as the engine emits it."""
    return Event(
        "e-test",
        BLOCKS_T0,
        "risk.alert",
        SYSTEM.id,
        dist_id,
        data={
            "level": "CRITICAL",
            "reason": "3 suspensions in 10 minutes",
            "anomalies": [{"kind": "suspensions", "count": 3}],
            "paused": paused,
        },
    )


async def ask(h: Harness, text: str, expect: str) -> str:
    """Run `/herald <text>` as the operator; the answers it got once `expect` shows."""
    before = len(h.fake.responses_text())
    await h.driver.command(text, user=OPERATOR)
    await h.settle(until=lambda: expect in h.fake.responses_text()[before:])
    return h.fake.responses_text()[before:]


async def open_content_form(h: Harness) -> str:
    """Open `/herald content add`'s form as the operator; its view id."""
    h.fake.views.clear()
    await h.driver.command("content add", user=OPERATOR)
    await h.settle(until=lambda: h.fake.views)
    return next(iter(h.fake.views))


async def stored_items(h: Harness) -> list[str]:
    """Ids of every library item, archived ones included."""
    return [i.id for i in await h.deps.herald.content.list_items(archived=True)]


def operator_dms(h: Harness) -> str:
    """Everything Herald wrote to the operator's DM."""
    return " ".join(m.text for m in h.fake.messages if m.channel.endswith(OPERATOR))
