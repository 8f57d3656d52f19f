"""Risk alerts for the alerts channel: one thread per distribution, Halt / Continue buttons."""

from __future__ import annotations

from collections.abc import Sequence

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
    level = _level(data.get("level"))
    anomalies = [_anomaly_words(a) for a in list(data.get("anomalies") or [])[:10]]
    reason = data.get("reason") or ("Halted" if event.kind.endswith("halted") else "")
    paused = bool(data.get("auto_paused") or data.get("paused"))
    headline = f"{_LEVEL_EMOJI.get(level, '⚠️')} *{level.capitalize()} risk*"
    if distribution.name:
        headline += f" on *{escape(clip(distribution.name, 200))}*"
    lines = [headline]
    if len(anomalies) == 1 or (not anomalies and reason):
        lines[0] += ": " + (anomalies[0] if anomalies else escape(clip(str(reason), 1000)))
    else:
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


def _level(value: object) -> str:
    level = str(value or "HIGH").upper()
    return level if level in _LEVEL_EMOJI else "HIGH"


def _anomaly_words(anomaly: object) -> str:
    """One anomaly as a sentence: the engine's reason (its kind is an internal name)."""
    if isinstance(anomaly, dict):
        text = str(anomaly.get("reason") or "something looks wrong")
        level = str(anomaly.get("level") or "").lower()
        text += f" ({level} risk)" if level in {"low", "medium", "high", "critical"} else ""
    else:
        text = str(anomaly)
    return escape(clip(text, 300))


# What each account cause is called, and what Herald does about it.
ACCOUNT_CAUSES = {
    "account.rate_limited": (
        "⏳",
        "rate-limited",
        "Their posts wait for the limit to lift and are tried again.",
    ),
    "account.suspended": (
        "⛔",
        "suspended",
        "Their remaining posts move to other accounts or are skipped.",
    ),
}


def build_account_alert(
    kind: str, distribution: Distribution | None, accounts: Sequence[str]
) -> list[Block]:
    """One message for every account of a run that hit the same cause (edited as more do):
    `accounts` are already-worded lines, e.g. "@tiktok1 (tiktok, until 14:05)"."""
    emoji, words, then = ACCOUNT_CAUSES.get(kind, ("⚠️", "in trouble", ""))
    n = len(accounts)
    where = (
        f" while publishing *{escape(clip(distribution.name, 200))}* (`{distribution.id}`)"
        if distribution is not None
        else ""
    )
    shown = ", ".join(escape(clip(a, 120)) for a in accounts[:20])
    more = f" and {n - 20} more" if n > 20 else ""
    return [
        section(f"{emoji} *{n} account{'s' if n != 1 else ''} {words}*{where}"),
        section(f"{shown}{more}.\n{then}".strip()),
    ]


def build_alert_decided(text: str, verb: str, user: str) -> list[Block]:
    """The alert once someone pressed Halt or Continue: the buttons are gone."""
    return [section(text), context(f"{verb} by <@{user}>")]
