"""Readable terminal output for `herald plan` and `herald simulate` (rich tables)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.durations import format_duration
from engine.item_report import item_report
from engine.models import Account, PlanResult, SafetyMode
from engine.peaks import is_peak
from engine.platforms import PlatformTable
from engine.request import DistributionRequest
from engine.simulation import SimulationReport

_LEVEL_STYLE = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "red", "CRITICAL": "bold red"}


def render_plan(
    result: PlanResult,
    request: DistributionRequest,
    accounts: Sequence[Account],
    platforms: PlatformTable,
    *,
    limit: int = 40,
    mode: SafetyMode = SafetyMode.SEMI_AUTONOMOUS,
    console: Console | None = None,
) -> None:
    """Print the slots table (first `limit` rows; 0 = all) and a summary."""
    console = console or _console()
    by_id = {a.id: a for a in accounts}
    table = Table(
        title=f"Plan: {request.name} ({request.mode} mode)", box=None, padding=(0, 1, 0, 0)
    )
    days = {s.scheduled_at.date() for s in result.slots}
    utc_fmt, local_fmt = ("%H:%M:%S", "%H:%M%z") if len(days) <= 1 else ("%a %H:%M", "%a %H:%M%z")
    widths = {"#": 3, "UTC": len(utc_fmt) + 2, "local": len(local_fmt) + 5, "account": 14}
    widths |= {"platform": 9, "lang": 4}
    widths |= {"peak": 4, "risk": 8}
    for column, width in widths.items():
        table.add_column(column, no_wrap=True, min_width=width)
    extra = console.width - sum(widths.values()) - len(widths)
    wide = extra >= 60
    if extra >= 12:
        table.add_column(
            "caption + hashtags" if wide else "hashtags",
            overflow="ellipsis",
            no_wrap=True,
            max_width=extra,
        )
    peaks = 0
    shown = result.slots if limit <= 0 else result.slots[:limit]
    flags = []
    for slot in result.slots:
        account = by_id.get(slot.account_id)
        flag = account is not None and is_peak(
            slot.scheduled_at, account.timezone, platforms[slot.platform]
        )
        flags.append(flag)
        peaks += flag
    for n, slot in enumerate(shown, start=1):
        account = by_id.get(slot.account_id)
        level = slot.risk_level.value
        cells = [
            str(n),
            slot.scheduled_at.strftime(utc_fmt),
            slot.local_time.strftime(local_fmt),
            (account.handle if account else slot.account_id)[:14],
            slot.platform,
            slot.language,
            "●" if flags[n - 1] else "·",
            f"[{_LEVEL_STYLE[level]}]{slot.risk_score:.2f} {level[:3]}[/]",
            (slot.caption.replace("\n", " ")[:40] + "…  " if wide else "")
            + " ".join("#" + t for t in slot.hashtags),
        ]
        table.add_row(*cells[: len(table.columns)])
    console.print(table)
    if limit > 0 and len(result.slots) > limit:
        console.print(f"… {len(result.slots) - limit} more slots (use --limit 0 or --json)")
    total = len(result.slots)
    console.print()
    console.print(f"[bold]Summary[/] ({mode.value})")
    if total:
        first, last = result.slots[0].scheduled_at, result.slots[-1].scheduled_at
        gaps = [
            (b.scheduled_at - a.scheduled_at)
            for a, b in zip(result.slots, result.slots[1:], strict=False)
        ]
        console.print(
            f"  {total} slots from {first:%Y-%m-%d %H:%M}Z to {last:%Y-%m-%d %H:%M}Z; "
            f"{peaks} on local peak hours ({peaks / total:.0%})"
        )
        if gaps and request.mode == "window":
            console.print(
                f"  gaps between posts: {format_duration(min(gaps))} to "
                f"{format_duration(max(gaps))}"
                f" (rules: {format_duration(request.min_gap)}-{format_duration(request.max_gap)})"
            )
        per_platform = Counter(s.platform for s in result.slots)
        levels = Counter(s.risk_level.value for s in result.slots)
        console.print("  per platform: " + ", ".join(f"{p} {c}" for p, c in per_platform.items()))
        console.print("  risk: " + ", ".join(f"{lv} {c}" for lv, c in levels.items()))
        for line in item_lines(item_report(request, result.slots)):
            console.print(f"  {line}")
    else:
        console.print("  no slot could be scheduled")
    if result.unscheduled:
        console.print(f"  [yellow]{len(result.unscheduled)} accounts not scheduled:[/]")
        for unscheduled in result.unscheduled[:15]:
            console.print(f"    {unscheduled.account_id}: {unscheduled.reason}")
        if len(result.unscheduled) > 15:
            console.print(f"    … and {len(result.unscheduled) - 15} more (see --json)")
    for warning in result.warnings:
        console.print(f"  [bold yellow]warning:[/] {warning}")
    _render_captions(result, console)


def _render_captions(result: PlanResult, console: Console) -> None:
    """Every distinct post, whole, by platform and language: read them before approving."""
    from engine.captions import distinct_captions

    captions = distinct_captions(result.slots)
    if not captions:
        return
    console.print(f"  captions ({len(captions)} distinct, by platform/language):")
    for item in captions:
        tags = " ".join("#" + t for t in item["hashtags"])
        console.print(
            f"    {item['platform']}/{item['language']} ×{item['slots']}: "
            f"{item['caption']}" + (f"  {tags}" if tags else ""),
            markup=False,
            highlight=False,
        )


def render_simulation(
    report: SimulationReport, request: DistributionRequest, console: Console | None = None
) -> None:
    """Print the simulation report."""
    console = console or _console()
    console.print(f"[bold]Simulation: {request.name}[/] ({report.mode.value})")
    console.print(
        f"  slots {report.total_slots}: safe {report.safe_slots}, risky {report.risky_slots}; "
        f"{report.unscheduled} accounts left out"
    )
    console.print(
        f"  average risk {report.avg_risk_score:.2f}; "
        + ", ".join(f"{k} {v}" for k, v in report.risk_breakdown.items())
    )
    console.print(
        f"  peak share {report.peak_share:.0%}; estimated reach {report.estimated_reach:,}"
    )
    console.print(
        "  visibility: " + ", ".join(f"{p} {v:.2f}" for p, v in report.visibility.items())
    )
    style = {"PROCEED": "green", "PROCEED_WITH_CAUTION": "yellow"}.get(
        report.recommended_action, "red"
    )
    console.print(f"  recommended action: [{style}]{report.recommended_action}[/]")
    for reason in report.reasons:
        console.print(f"    - {reason}")
    for line in item_lines(report.items):
        console.print(f"  {line}", markup=False, highlight=False)


def item_lines(items: Sequence[dict[str, Any]]) -> list[str]:
    """Per content item (`engine.item_report`): accounts and days (plan table, simulate)."""
    out = []
    for item in items:
        name = item["content_id"] or "(inline)"
        if not item["slots"]:
            out.append(f"item {name}: no slot")
            continue
        days = ", ".join(datetime.strptime(d, "%Y-%m-%d").strftime("%a %d") for d in item["days"])
        out.append(
            f"item {name}: {item['accounts']} account(s), {item['slots']} slot(s); days {days}"
        )
    return out


def _console() -> Console:
    """A console; piped output gets 120 columns instead of rich's 80 so columns stay whole."""
    console = Console()
    return console if console.is_terminal else Console(width=120)
