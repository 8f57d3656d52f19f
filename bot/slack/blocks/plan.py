"""The plan card: summary, slots per platform and day, risk, simulation, and the decision.

The card is the parent of the distribution's thread. Its buttons carry the distribution
id and version, so a click on an out-of-date card is recognised and refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import (
    MAX_SECTION_TEXT,
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    divider,
    escape,
    fit,
    header,
    section,
    slack_time,
    table,
)
from engine.item_report import report_items
from engine.models import Distribution, DistributionStatus, RiskLevel, Slot
from engine.plan_summary import PlanSummary, summarize_slots
from engine.wording import platform_name

_DECIDABLE = {DistributionStatus.AWAITING_APPROVAL, DistributionStatus.PLANNED}
_STATUS_EMOJI = {
    DistributionStatus.DRAFT: "📝",
    DistributionStatus.PLANNED: "🗓️",
    DistributionStatus.AWAITING_APPROVAL: "⏳",
    DistributionStatus.APPROVED: "✅",
    DistributionStatus.EXECUTING: "🚀",
    DistributionStatus.PAUSED: "⏸️",
    DistributionStatus.COMPLETED: "🏁",
    DistributionStatus.CANCELLED: "🚫",
    DistributionStatus.HALTED: "🛑",
    DistributionStatus.REJECTED: "❌",
}
_RISK_EMOJI = {
    RiskLevel.LOW: "🟢",
    RiskLevel.MEDIUM: "🟡",
    RiskLevel.HIGH: "🟠",
    RiskLevel.CRITICAL: "🔴",
}
MAX_DAY_COLUMNS = 8
MAX_ADVICE_LINES = 5
MAX_ADVICE_LINE = 300


def plan_button_value(distribution: Distribution) -> dict[str, Any]:
    """What every plan button carries: the distribution and the version it showed."""
    return {"d": distribution.id, "v": distribution.version}


def slots_per_platform_and_day(summary: PlanSummary) -> str:
    """A table of slot counts: one row per platform, one column per UTC day."""
    if not summary.slots:
        return "_no slots_"
    counts = summary.per_platform_day
    days = sorted({day for _, day in counts})  # "YYYY-MM-DD": a new year sorts last
    shown = days[:MAX_DAY_COLUMNS]
    platforms = sorted({platform for platform, _ in counts})
    rows = [
        [
            "platform",
            *(day[5:] for day in shown),
            *(["more"] if len(days) > len(shown) else []),
            "total",
        ]
    ]
    for platform in platforms:
        row = [platform, *(str(counts.get((platform, day), 0)) for day in shown)]
        if len(days) > len(shown):
            row.append(str(sum(counts.get((platform, d), 0) for d in days[len(shown) :])))
        row.append(str(sum(counts.get((platform, d), 0) for d in days)))
        rows.append(row)
    return table(rows)


def risk_breakdown(summary: PlanSummary) -> str:
    """Slots per risk level, and the riskiest score."""
    if not summary.slots:
        return "_no slots_"
    levels = summary.risk_levels
    parts = [
        f"{_RISK_EMOJI[level]} {level.value.title()} {levels.get(level, 0)}" for level in RiskLevel
    ]
    return "   ".join(parts) + f"   · max {summary.max_risk:.2f}"


def simulation_summary(simulation: dict[str, Any] | None) -> str:
    """The simulation report's headline numbers (scalars only; nested detail stays in the DB)."""
    if not simulation:
        return "_not simulated yet: press *Simulate*_"
    lines: list[str] = []
    for key, value in simulation.items():
        # 14: the simulation's numbers, publishers and costs, the media and what each gets.
        if isinstance(value, bool | int | float | str) and len(lines) < 14:
            shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
            lines.append(f"• {key.replace('_', ' ')}: *{escape(clip(shown, 80))}*")
    return "\n".join(lines) or "_simulated (no headline numbers)_"


def items_text(items: list[dict[str, Any]], *, limit: int = 12) -> str:
    """Per content item (engine/item_report.py): accounts and UTC days, or "no slot"."""
    lines = [
        f"`{escape(clip(i['content_id'] or '(inline)', 40))}` "
        + (
            f"{i['accounts']:,} accounts · "
            + ", ".join(datetime.strptime(d, "%Y-%m-%d").strftime("%a %d") for d in i["days"])
            if i["slots"]
            else "no slot"
        )
        for i in items[:limit]
    ]
    more = f"\n… and {len(items) - limit} more items" if len(items) > limit else ""
    return clip("*Items (accounts · days, UTC)*\n" + "\n".join(lines) + more, 3000)


def advice_text(advice: dict[str, Any] | None, *, limit: int = MAX_ADVICE_LINES) -> str | None:
    """The advisor's suggestions with their provenance, or None when the plan had none.

    The heading says where the advice came from: the models that answered (fusion) or
    the built-in advisor and why it was used; then up to `limit` of its short lines.
    """
    if not advice:
        return None
    source = str(advice.get("source") or "")
    answered = [str(m) for m in advice.get("models_answered") or () if m != "builtin"]
    if source == "fusion" and answered:
        heading = f"*Advice* (fused from {escape(clip(', '.join(answered), 200))})"
    else:
        reason = str(advice.get("fallback_reason") or "deterministic")
        heading = f"*Advice* (built-in: {escape(clip(reason, 200))})"
    # The built-in line repeats the heading's reason: leave it out.
    lines = [
        str(line)
        for line in advice.get("lines") or ()
        if not str(line).startswith("Built-in advisor:")
    ][:limit]
    body = "\n".join(f"• {escape(clip(line, MAX_ADVICE_LINE))}" for line in lines)
    text = heading + ("\n" + body if body else "\n_no suggestions_")
    return clip(text, MAX_SECTION_TEXT)


def decision_text(distribution: Distribution, decided_by: str | None = None) -> str | None:
    """'Approved by @x at 14:02' once decided (plus who stopped it, if someone did)."""
    d = distribution
    note = f": _{escape(clip(d.decision_note, 500))}_" if d.decision_note else ""
    approved = None
    if d.approved_by and d.status not in _DECIDABLE and d.status != DistributionStatus.REJECTED:
        when = f" at {slack_time(d.approved_at, '{time}')}" if d.approved_at else ""
        approved = f"✅ *Approved* by <@{d.approved_by}>{when}"
    by = f" by <@{decided_by}>" if decided_by else ""
    if d.status == DistributionStatus.REJECTED:
        return f"❌ *Rejected*{by}{note}"
    if d.status in {DistributionStatus.CANCELLED, DistributionStatus.HALTED}:
        stopped = f"{_STATUS_EMOJI[d.status]} *{d.status.value.title()}*{by}{note}"
        return f"{approved}\n{stopped}" if approved else stopped
    return approved


def build_plan_card(
    distribution: Distribution,
    slots: Sequence[Slot] | PlanSummary,
    *,
    unscheduled: int = 0,
    warnings: Sequence[str] = (),
    decided_by: str | None = None,
) -> list[Block]:
    """The plan card's blocks for `distribution` and its `slots` (any number of them), or
    their summary (what the serving process reads: no slot list per redraw)."""
    plan = slots if isinstance(slots, PlanSummary) else summarize_slots(slots)
    req = distribution.request
    status = distribution.status
    accounts = plan.accounts
    window = (
        f"{req.days} days (calendar)"
        if req.mode == "calendar"
        else f"{req.spread_hours:g} h window"
    )
    summary = (
        f"*{plan.slots:,} slots* on *{accounts:,} accounts* · "
        f"{', '.join(platform_name(p) for p in req.platforms)} · "
        f"languages {', '.join(req.languages)}\n"
        f"Starts {slack_time(req.start)} · {window} · velocity {req.velocity:g}"
        + (" · trend-weighted" if req.trend_weighted else "")
    )
    if plan.first_at is not None and plan.last_at is not None:
        summary += f"\nFirst post {slack_time(plan.first_at)}, last {slack_time(plan.last_at)}"
    caption = escape(clip(req.content.caption, 280))
    if len(req.items) > 1:
        caption = f"{caption}\n_… and {len(req.items) - 1} more queue items (below)_"
    blocks: list[Block] = [
        header(f"📣 {distribution.name}"),
        section(summary),
        section(f"> {caption}"),
        section("*Slots per platform and day (UTC)*\n" + slots_per_platform_and_day(plan)),
        section("*Risk*\n" + risk_breakdown(plan)),
        section("*Simulation*\n" + simulation_summary(distribution.simulation)),
    ]
    items = report_items(req, plan.items)
    if len(items) > 1 or req.queue:
        blocks.append(section(items_text(items)))
    advice = advice_text(distribution.advice)
    if advice:
        blocks.append(section(advice))
    notes = [escape(clip(w, 300)) for w in [*distribution.warnings, *warnings][:5]]
    if unscheduled:
        notes.append(f"{unscheduled} accounts left out (see `/herald status {distribution.id}`)")
    if notes:
        blocks.append(context(*(f"⚠️ {n}" for n in notes)))
    blocks.append(divider())
    decided = decision_text(distribution, decided_by)
    if decided:
        blocks.append(section(decided, block_id=ids.PLAN_DECISION_BLOCK))
    elif status in _DECIDABLE:
        value = plan_button_value(distribution)
        blocks.append(
            actions(
                ids.PLAN_ACTIONS_BLOCK,
                button(
                    "Approve",
                    ids.APPROVE,
                    value,
                    style="primary",
                    confirm=confirm_dialog(
                        "Approve this plan?",
                        f"{plan.slots:,} posts on {accounts:,} accounts will be published "
                        f"from {slack_time(req.start)}.",
                        "Approve",
                    ),
                ),
                button("Reject", ids.REJECT, value, style="danger"),
                button("Simulate", ids.SIMULATE, value),
            )
        )
    elif status == DistributionStatus.DRAFT:
        blocks.append(section(f"Draft. Plan it with `/herald plan {distribution.id}`"))
    blocks.append(
        context(
            f"{_STATUS_EMOJI.get(status, '')} {status.value} · `{distribution.id}` · "
            f"v{distribution.version} · by <@{distribution.created_by}> · "
            f"{distribution.safety_mode.value}"
        )
    )
    if status in (DistributionStatus.PLANNED, DistributionStatus.AWAITING_APPROVAL):
        # Model-written captions and translations are read before anyone approves them.
        blocks.append(context(f"Every caption: `/herald captions {distribution.id}`"))
    return fit(blocks)


def plan_card_text(distribution: Distribution, slot_count: int) -> str:
    """The notification fallback text of the card."""
    d = distribution
    return f"Plan {d.name} ({d.id}): {slot_count} slots, {d.status.value}"


def build_draft_placeholder(name: str) -> list[Block]:
    """What the card shows for the instant between posting it and creating the draft."""
    return [section(f"📝 Creating *{escape(clip(name, 80))}*…")]
