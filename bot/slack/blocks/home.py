"""The App Home tab: active distributions, plans waiting for approval, account health."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import (
    MAX_VIEW_BLOCKS,
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    fit,
    header,
    section,
)
from bot.slack.blocks.progress import progress_bar
from engine.models import Account, AccountState, Distribution, DistributionStatus, SlotStatus

_DONE = {
    s.value
    for s in (
        SlotStatus.PUBLISHED,
        SlotStatus.FAILED,
        SlotStatus.SKIPPED,
        SlotStatus.CANCELLED,
        SlotStatus.OUTCOME_UNKNOWN,
    )
}


def build_home(
    *,
    active: Sequence[tuple[Distribution, Mapping[Any, int]]],
    waiting: Sequence[Distribution],
    accounts: Sequence[Account],
    can_approve: bool,
) -> dict[str, Any]:
    """The Home tab view for one user: running, paused (its own heading: nothing of it is
    going out), waiting for approval, accounts."""
    paused = [(d, c) for d, c in active if d.status == DistributionStatus.PAUSED]
    active = [(d, c) for d, c in active if d.status != DistributionStatus.PAUSED]
    blocks: list[Block] = [
        header("Herald"),
        actions(
            ids.HOME_ACTIONS_BLOCK,
            button("New distribution", ids.HOME_OPEN_CREATE, {}, style="primary"),
            button("Refresh", ids.HOME_REFRESH, {}),
        ),
        divider(),
        header("Running"),
    ]
    if not active:
        blocks.append(context("Nothing running."))
    for dist, counts in active[:20]:
        by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
        total = sum(by_name.values())
        done = sum(v for k, v in by_name.items() if k in _DONE)
        blocks.append(
            section(
                f"*{escape(dist.name)}* `{dist.id}` {dist.status.value}\n"
                f"{progress_bar(done, total)} ({done:,}/{total:,})"
            )
        )
    if paused:
        blocks += [divider(), header("Paused")]
    for dist, counts in paused[:20]:
        by_name = {str(getattr(k, "value", k)): v for k, v in counts.items()}
        total = sum(by_name.values())
        done = sum(v for k, v in by_name.items() if k in _DONE)
        blocks.append(
            section(
                f"⏸️ *{escape(dist.name)}* `{dist.id}` paused at {done:,}/{total:,}: "
                f"`/herald resume {dist.id}` to go on"
            )
        )
    blocks += [divider(), header("Waiting for approval")]
    if not waiting:
        blocks.append(context("No plans waiting."))
    for dist in waiting[:20]:
        hint = "you can approve it" if can_approve else "an approver must decide"
        blocks.append(
            section(f"*{escape(dist.name)}* `{dist.id}` by <@{dist.created_by}> · {hint}")
        )
    blocks += [divider(), header("Accounts")]
    states = Counter(a.state for a in accounts)
    platforms = Counter(a.platform for a in accounts)
    if accounts:
        health = sum(a.health for a in accounts) / len(accounts)
        state_text = " · ".join(
            f"{s.value.lower().replace('_', ' ')} {states[s]}"
            for s in AccountState
            if states.get(s)
        )
        blocks.append(
            section(
                f"*{len(accounts)}* accounts, average health *{health:.2f}*\n{state_text}\n"
                + " · ".join(f"{p} {n}" for p, n in sorted(platforms.items()))
            )
        )
    else:
        blocks.append(context("No accounts imported yet: `/herald import` with a CSV."))
    return {"type": "home", "blocks": fit(blocks, MAX_VIEW_BLOCKS)}
