"""The simulation report (seed 001 #15): what a plan would do, before anything runs.

Per slot, visibility v = 0.5 * on_peak + 0.3 * (1 - risk) + 0.2 * trend, in [0, 1]
(on_peak is 1 when the slot is on its platform's local peak hour). Per platform, the mean v.
Estimated reach = sum over slots of followers * platform reach_factor * 2v: a post at
average visibility (0.5) reaches `reach_factor` of the account's followers.
A slot is safe when its risk is below min(policy max risk, 0.6) (no HIGH slot is safe).

Per content item (in the request's queue order): slots, accounts and UTC days, the same
figures as the plan's `items` (engine/item_report.py).

Recommended action, first match wins:
- ABORT: no slot, a CRITICAL slot, average risk >= 0.6, or media a platform would reject;
- REVIEW: MANUAL mode, more than 20% of slots risky, or more than half the accounts left out;
- PROCEED_WITH_CAUTION: any risky slot, average risk >= 0.3, or more than 25% left out;
- PROCEED otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from engine.item_report import item_report
from engine.models import Account, RiskLevel, SafetyMode
from engine.peaks import is_peak
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.request import DistributionRequest
from engine.safety import SafetyPolicy

PROCEED = "PROCEED"
PROCEED_WITH_CAUTION = "PROCEED_WITH_CAUTION"
REVIEW = "REVIEW"
ABORT = "ABORT"


class SlotLike(Protocol):
    """What the report reads from a slot: `PlannedSlot` and the persisted `Slot` both fit."""

    @property
    def account_id(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def risk_score(self) -> float: ...
    @property
    def trend_score(self) -> float: ...
    @property
    def content_id(self) -> str: ...


class SimulationFigures(BaseModel):
    """The report's figures, defined once: the engine's `SimulationReport` and the HTTP
    API's answer (bot/api/schemas.py `SimulationOut`) both extend it."""

    model_config = ConfigDict(frozen=True)

    total_slots: int
    safe_slots: int
    risky_slots: int
    unscheduled: int
    avg_risk_score: float
    risk_breakdown: dict[str, int]
    visibility: dict[str, float]
    peak_share: float
    estimated_reach: int
    recommended_action: str
    reasons: list[str] = Field(default_factory=list)


class SimulationReport(SimulationFigures):
    """The numbers behind the recommendation; `to_dict()` is what is stored and shown."""

    mode: SafetyMode
    # Per content item in queue order (engine.item_report): the same figures as the plan.
    items: list[dict[str, Any]] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, **self.model_dump(exclude={"mode"})}


def visibility(on_peak: bool, risk: float, trend: float) -> float:
    """One slot's visibility in [0, 1] (see the module docstring)."""
    return round(0.5 * on_peak + 0.3 * (1.0 - risk) + 0.2 * trend, 4)


def simulate(
    slots: Sequence[SlotLike],
    accounts: Sequence[Account],
    *,
    request: DistributionRequest,
    mode: SafetyMode,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    unscheduled: int = 0,
    media_problems: Sequence[str] = (),
) -> SimulationReport:
    """Report on `slots` (planned or persisted) for `mode`. Pure. `media_problems` are the
    plan's media issues (engine/media_check.py): each one is a reason to abort."""
    policy = SafetyPolicy.for_mode(mode)
    safe_limit = min(policy.max_risk, 0.6)
    by_id = {a.id: a for a in accounts}
    breakdown = {level.value: 0 for level in RiskLevel}
    per_platform: dict[str, list[float]] = {name: [] for name in request.platforms}
    reach = 0.0
    risk_sum = 0.0
    safe = 0
    peaks = 0
    for slot in slots:
        level = RiskLevel.from_score(slot.risk_score)
        breakdown[level.value] += 1
        risk_sum += slot.risk_score
        safe += slot.risk_score < safe_limit
        account = by_id.get(slot.account_id)
        rules = platforms.rules.get(slot.platform)
        on_peak = bool(account and rules and is_peak(slot.scheduled_at, account.timezone, rules))
        peaks += on_peak
        v = visibility(on_peak, slot.risk_score, slot.trend_score)
        per_platform.setdefault(slot.platform, []).append(v)
        if account and rules:
            reach += account.followers * rules.reach_factor * 2 * v
    total = len(slots)
    avg = round(risk_sum / total, 3) if total else 0.0
    risky = total - safe
    action, reasons = _recommend(policy, total, risky, avg, breakdown, unscheduled)
    if media_problems:
        # A slot whose media its platform rejects fails for sure: fix the media first.
        reasons = [*media_problems, *reasons] if action == ABORT else list(media_problems)
        action = ABORT
    return SimulationReport(
        mode=policy.mode,
        total_slots=total,
        safe_slots=safe,
        risky_slots=risky,
        unscheduled=unscheduled,
        avg_risk_score=avg,
        risk_breakdown=breakdown,
        visibility={
            name: round(sum(vs) / len(vs), 3) if vs else 0.0 for name, vs in per_platform.items()
        },
        peak_share=round(peaks / total, 3) if total else 0.0,
        estimated_reach=round(reach),
        recommended_action=action,
        reasons=reasons,
        items=item_report(request, slots),
    )


def _recommend(
    policy: SafetyPolicy,
    total: int,
    risky: int,
    avg: float,
    breakdown: dict[str, int],
    unscheduled: int,
) -> tuple[str, list[str]]:
    left_share = unscheduled / (total + unscheduled) if total + unscheduled else 0.0
    abort = []
    if total == 0:
        abort.append("the plan has no slot")
    if breakdown[RiskLevel.CRITICAL.value]:
        abort.append(f"{breakdown[RiskLevel.CRITICAL.value]} CRITICAL slot(s) are scheduled")
    if avg >= 0.6:
        abort.append(f"average risk {avg:.2f} is HIGH")
    if abort:
        return ABORT, abort
    review = []
    if policy.mode is SafetyMode.MANUAL:
        review.append("MANUAL mode: every post is reviewed")
    if risky > 0.2 * total:
        review.append(f"{risky} of {total} slots are risky (over 20%)")
    if left_share > 0.5:
        review.append(f"{unscheduled} accounts left out, more than the {total} scheduled")
    if review:
        return REVIEW, review
    caution = []
    if risky:
        caution.append(f"{risky} risky slot(s)")
    if avg >= 0.3:
        caution.append(f"average risk {avg:.2f} is MEDIUM")
    if left_share > 0.25:
        caution.append(f"{unscheduled} accounts left out ({left_share:.0%})")
    if caution:
        return PROCEED_WITH_CAUTION, caution
    return PROCEED, [f"{total} slots, average risk {avg:.2f}, none risky"]
