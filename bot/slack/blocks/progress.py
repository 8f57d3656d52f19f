"""The progress thread: the status line edited in place, failure replies, the final report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    escape,
    header,
    section,
    slack_time,
    table,
)
from engine.event_kinds import EventKind
from engine.models import Distribution, Event, Slot, SlotStatus
from engine.wording import platform_name, with_article

BAR_WIDTH = 20
_DONE = {
    SlotStatus.PUBLISHED,
    SlotStatus.FAILED,
    SlotStatus.SKIPPED,
    SlotStatus.CANCELLED,
    SlotStatus.OUTCOME_UNKNOWN,
}


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """`▓▓▓░░░ 50%`: done over total as a bar."""
    if total <= 0:
        return "░" * width + " 0%"
    filled = round(width * done / total)
    return "▓" * filled + "░" * (width - filled) + f" {100 * done // total}%"


def counts_line(counts: Mapping[Any, int]) -> str:
    """Non-zero counts per slot status, in lifecycle order."""
    by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
    parts = [
        f"{s.value.lower().replace('_', ' ')} {by_name[s.value]:,}"
        for s in SlotStatus
        if by_name.get(s.value)
    ]
    return " · ".join(parts) or "no slots"


def build_status_line(
    distribution: Distribution,
    counts: Mapping[Any, int],
    *,
    next_due_at: datetime | None = None,
    late: int = 0,
) -> list[Block]:
    """The one status message of a distribution's thread, edited as slots fire."""
    by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
    total = sum(by_name.values())
    done = sum(by_name.get(s.value, 0) for s in _DONE)
    text = (
        f"*{distribution.status.value}* {progress_bar(done, total)} "
        f"({done:,}/{total:,})\n{counts_line(counts)}"
    )
    extra = []
    if next_due_at is not None:
        extra.append(f"next post {slack_time(next_due_at, '{time_secs}')}")
    if late:
        extra.append(f"⚠️ {late:,} late")
    blocks = [section(text, block_id=ids.STATUS_BLOCK)]
    if extra:
        blocks.append(context(" · ".join(extra)))
    return blocks


def status_text(distribution: Distribution, counts: Mapping[Any, int]) -> str:
    by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
    total = sum(by_name.values())
    done = sum(by_name.get(s.value, 0) for s in _DONE)
    return f"{distribution.name}: {distribution.status.value} {done}/{total}"


def build_failure_reply(
    *,
    slot_id: str,
    distribution_id: str,
    platform: str,
    account_id: str,
    error: str,
    kind: str,
    attempts: int = 0,
    outcome_unknown: bool = False,
) -> list[Block]:
    """A thread reply for a failed slot, with Retry / Skip buttons."""
    value = {"s": slot_id, "d": distribution_id}
    text = (
        f"⚠️ {with_article(f'*{platform_name(platform)}*', capital=True)} post on "
        f"`{account_id}` failed"
        + (f" (attempt {attempts}, {kind})" if attempts else f" ({kind})")
        + f":\n> {escape(clip(error or kind, 1500))}"
    )
    retry_confirm = None
    if outcome_unknown:
        text += (
            "\nIt may have been published: check the account, then *Mark posted*, *Retry* "
            "(Herald looks for it on the platform first where it can) or *Skip*."
        )
        retry_confirm = confirm_dialog(
            "Retry this post?",
            "It will be queued again and may publish a second copy if the first one did "
            "reach the platform.",
            "Retry",
        )
    buttons = [
        button("Retry", ids.RETRY_SLOT, value, style="primary", confirm=retry_confirm),
        button("Skip", ids.SKIP_SLOT, value),
    ]
    if outcome_unknown:
        buttons.insert(0, button("Mark posted", ids.MARK_POSTED, value))
    return [section(text), actions(ids.SLOT_ACTIONS_BLOCK, *buttons)]


def build_slot_decided(slot: Slot, verb: str, user: str, at: datetime) -> list[Block]:
    """A failure reply once someone chose Retry or Skip."""
    return [
        section(
            f"~{platform_name(slot.platform)} post on `{slot.account_id}` failed~ → "
            f"{slot.status.value}"
        ),
        context(f"{verb} by <@{user}> at {slack_time(at, '{time}')}"),
    ]


def build_event_reply(event: Event) -> str:
    """A one-line thread reply for redistributions, pauses, resumes and other events."""
    data = event.data or {}
    reason = data.get("reason")
    tail = f": {escape(clip(str(reason), 500))}" if reason else ""
    who = f" by <@{event.actor}>" if event.actor and event.actor != "system" else ""
    if event.kind == EventKind.SLOT_REDISTRIBUTED:
        to = data.get("to_account") or data.get("account_id") or "another account"
        return f"↪️ A post of `{event.account_id}` moved to `{to}`{tail}"
    if event.kind == EventKind.SLOT_OUTCOME_UNKNOWN:
        return f"❓ A post on `{event.account_id}` may or may not have gone out{tail}"
    verb = event.kind.split(".", 1)[-1].replace("_", " ")
    return f"• {verb.capitalize()}{who}{tail}"


def build_completion_report(
    distribution: Distribution, counts: Mapping[Any, int], *, at: datetime | None = None
) -> list[Block]:
    """The final report posted in the thread when a distribution completes."""
    by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
    total = sum(by_name.values())
    published = by_name.get(SlotStatus.PUBLISHED.value, 0)
    rows = [["status", "slots"]] + [
        [s.value.lower(), f"{by_name[s.value]:,}"] for s in SlotStatus if by_name.get(s.value)
    ]
    rate = f"{100 * published / total:.1f}%" if total else "n/a"
    when = f" at {slack_time(at)}" if at else ""
    return [
        header(f"🏁 {distribution.name} finished"),
        section(f"*{published:,}* of *{total:,}* posts published ({rate}){when}\n{table(rows)}"),
        context(f"`{distribution.id}` · `/herald history {distribution.id}` for the audit log"),
    ]
