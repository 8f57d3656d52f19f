"""Answers to read-only commands: help, status, list, history, accounts, velocity, analytics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import (
    Block,
    actions,
    button,
    clip,
    context,
    escape,
    fit,
    header,
    section,
    slack_time,
    table,
)
from bot.slack.blocks.progress import build_status_line
from bot.slack.grammar import COMMANDS
from engine.models import Account, Distribution, Event
from engine.wording import platform_name


def build_help(topic: str | None = None) -> list[Block]:
    """`/herald help` (all commands) or `/herald <command> help` (one, with an example)."""
    if topic and topic in COMMANDS:
        usage, text = COMMANDS[topic]
        example = _EXAMPLES.get(topic)
        blocks = [section(f"*`/herald {usage}`*\n{text}")]
        if example:
            blocks.append(context(f"Example: `{example}`"))
        return blocks
    lines = [f"`/herald {usage}`  {text}" for usage, text in COMMANDS.values()]
    return [
        header("Herald commands"),
        section("\n".join(lines[:12])),
        section("\n".join(lines[12:])),
        context(
            "A distribution is named by id or name. Durations: `90s`, `15m`, `6h`, `7d`. "
            "Or just ask me in a DM: _how is the spring launch doing?_"
        ),
    ]


_EXAMPLES = {
    "create": '/herald create name=spring caption="Spring is here" platforms=tiktok,instagram '
    "window=6h start=2026-12-01T14:00Z",
    "plan": "/herald plan spring",
    "approve": "/herald approve spring looks good",
    "reject": "/herald reject spring caption needs legal review",
    "pause": "/herald pause spring waiting for the press release",
    "halt": "/herald halt spring account flagged",
    "accounts": "/herald accounts tiktok",
    "velocity": "/herald velocity tiktok",
    "list": "/herald list executing",
}


def build_status(view: Any) -> list[Block]:
    """`/herald status`: the status line plus the decision, for a StatusView."""
    dist: Distribution = view.distribution
    blocks = [
        section(f"*{escape(dist.name)}* (`{dist.id}`)"),
        *build_status_line(
            dist,
            view.counts,
            next_due_at=getattr(view, "next_due_at", None),
            late=int(getattr(view, "late", 0) or 0),
        ),
    ]
    return blocks


def build_list(distributions: Sequence[Distribution]) -> list[Block]:
    if not distributions:
        return [section("No distributions yet. Start with `/herald create`.")]
    rows = [["id", "name", "status", "start"]]
    rows += [
        [d.id, clip(d.name, 24), d.status.value, d.request.start.strftime("%m-%d %H:%MZ")]
        for d in distributions
    ]
    return [section(table(rows))]


def build_history(events: Sequence[Event]) -> list[Block]:
    if not events:
        return [section("Nothing in the audit log yet.")]
    lines = []
    for event in events:
        target = event.distribution_id or event.account_id or ""
        who = f"<@{event.actor}>" if event.actor and event.actor != "system" else "system"
        lines.append(f"{slack_time(event.at)} `{event.kind}` {target} by {who}")
    return fit([section("\n".join(lines[i : i + 15])) for i in range(0, len(lines), 15)])


def build_accounts(
    accounts: Sequence[Account], platform: str | None = None, *, default_publisher: str = "default"
) -> list[Block]:
    if not accounts:
        where = f" on {platform}" if platform else ""
        return [section(f"No accounts{where}. Import a CSV with `/herald import`.")]
    rows = [["account", "platform", "state", "health", "lang", "publisher"]]
    rows += [
        [
            clip(a.handle or a.id, 24),
            a.platform,
            a.state.value,
            f"{a.health:.2f}",
            a.language,
            a.publisher or default_publisher,
        ]
        for a in accounts
    ]
    states: dict[str, int] = {}
    for a in accounts:
        states[a.state.value] = states.get(a.state.value, 0) + 1
    summary = ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))
    return [section(f"*{len(accounts)} accounts*: {summary}\n" + table(rows))]


def build_velocity(rules: Any, profile: Any = None) -> list[Block]:
    """A platform's posting rules (an engine.platforms.PlatformRules) and, when given, its
    velocity profile (an engine.velocity.VelocityProfile) from recent history."""
    peaks = ", ".join(f"{h}:00" for h in rules.peak_hours)
    weekend = ", ".join(f"{h}:00" for h in rules.weekend_peak_hours)
    text = (
        f"*{platform_name(rules.name)}*\n"
        f"• at most *{rules.max_posts_per_day}* posts a day per account\n"
        f"• at least *{rules.min_gap}* between posts\n• peaks {peaks} (weekend {weekend})\n"
        f"• content {', '.join(rules.content_types)} · caption ≤ {rules.caption_limit} · "
        f"hashtags ≤ {rules.hashtag_limit} · platform risk {rules.risk:.2f}"
    )
    if profile is not None:
        text += (
            f"\n• optimal velocity now *{profile.optimal_velocity:g}* posts a day "
            f"(last 7 days: {profile.observed_per_day:g} a day, "
            f"{profile.failure_rate:.0%} failed; {profile.reason})"
        )
    return [section(text)]


def build_captions(name: str, captions: Sequence[Mapping[str, Any]]) -> list[Block]:
    """Every distinct post of a plan (engine.captions.distinct_captions) by platform and
    language: what an approver reads before approving model-written captions."""
    if not captions:
        return [section(f"*{escape(name)}* has no planned posts yet.")]
    blocks: list[Block] = [section(f"*Captions of {escape(name)}* ({len(captions)} distinct)")]
    for item in captions[:40]:
        tags = " ".join(f"#{t}" for t in item.get("hashtags", []))
        head = (
            f"*{platform_name(str(item['platform']))} · {item['language']}* · {item['slots']} posts"
        )
        body = escape(clip(f"{item['caption']} {tags}".strip(), 2_500))
        blocks.append(section(f"{head}\n{body}"))
    if len(captions) > 40:
        blocks.append(context(f"…and {len(captions) - 40} more (`herald plan --json` lists all)"))
    return fit(blocks)


def build_analytics(data: Mapping[str, Any]) -> list[Block]:
    rows = [[str(k), _short(v)] for k, v in data.items()]
    return (
        [section("*Analytics*\n" + table([["metric", "value"], *rows]))]
        if rows
        else [section("No analytics yet.")]
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return clip(", ".join(f"{k}={_short(v)}" for k, v in value.items()), 120)
    return clip(str(value), 120)


def build_choice(
    command: str, candidates: Sequence[tuple[str, str]], rest: str | None
) -> list[Block]:
    """Ambiguous name: one button per candidate, each re-running the command on it.
    Each button needs its own action_id (Slack refuses a message with two alike); the
    rest of the command rides along, clipped so the value stays under Slack's 2 000."""
    rest = clip(rest or "", 1000)
    buttons = [
        button(
            clip(f"{name} ({id_})", 75),
            f"{ids.CHOOSE_DISTRIBUTION}.{n}",
            {"d": id_, "c": command, "r": rest or ""},
        )
        for n, (id_, name) in enumerate(candidates[:5])
    ]
    return [
        section(f"Several distributions match. Which one should I *{command}*?"),
        actions(ids.CHOOSE_BLOCK, *buttons),
    ]
