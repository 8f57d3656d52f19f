"""Risk alerts for the alerts channel: one thread per distribution, Halt / Continue buttons."""

from __future__ import annotations

from bot.slack import ids
from bot.slack.blocks.common import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    escape,
    section,
    slack_time,
)
from engine.models import Distribution, Event

_LEVEL_EMOJI = {"LOW": "🟢", "MEDIUM": "🟡", "HIGH": "🟠", "CRITICAL": "🔴"}


def build_alert_parent(distribution: Distribution) -> list[Block]:
    """The alerts-channel thread parent of one distribution."""
    return [
        section(
            f"🚨 *Risk alerts for {escape(distribution.name)}* (`{distribution.id}`)\n"
            f"Status {distribution.status.value} · created by <@{distribution.created_by}>"
        )
    ]


def build_risk_alert(event: Event, distribution: Distribution) -> list[Block]:
    """One alert (risk, auto-pause, anomaly, halt) with Halt / Continue for approvers."""
    data = event.data or {}
    level = str(data.get("level", "HIGH")).upper()
    reason = escape(clip(str(data.get("reason", event.kind)), 1000))
    anomalies = [escape(clip(str(a), 200)) for a in list(data.get("anomalies") or [])[:10]]
    paused = bool(data.get("auto_paused") or data.get("paused"))
    lines = [f"{_LEVEL_EMOJI.get(level, '⚠️')} *{level}* {reason}"]
    lines += [f"• {a}" for a in anomalies]
    if paused:
        lines.append("⏸️ The distribution was paused automatically.")
    blocks: list[Block] = [section("\n".join(lines))]
    if event.kind.endswith("halted"):
        blocks.append(context(f"🛑 Halted by <@{event.actor}> at {slack_time(event.at, '{time}')}"))
        return blocks
    value = {"d": distribution.id}
    blocks.append(
        actions(
            ids.ALERT_ACTIONS_BLOCK,
            button(
                "Halt",
                ids.HALT,
                value,
                style="danger",
                confirm=confirm_dialog(
                    "Halt this distribution?",
                    "Every queued post stops now. This is the emergency stop.",
                    "Halt",
                    danger=True,
                ),
            ),
            button("Continue", ids.CONTINUE, value),
        )
    )
    blocks.append(context(f"Approvers only · {slack_time(event.at, '{time}')}"))
    return blocks


def build_alert_decided(text: str, verb: str, user: str) -> list[Block]:
    """The alert once someone pressed Halt or Continue: the buttons are gone."""
    return [section(text), context(f"{verb} by <@{user}>")]
