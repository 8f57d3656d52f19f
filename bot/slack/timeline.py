"""The plan picture: one lane per platform (slots per time bin, stacked by risk), a UTC axis
and the plan's main local zone on top, day bands, and for multi-day plans a day × hour view.

Drawn with matplotlib's Agg backend (no display needed), sized for Slack's preview.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.models import PlannedSlot, RiskLevel, Slot

# Risk colours (colour-blind safe: blue, amber, vermilion, dark red).
RISK_COLOURS = {
    RiskLevel.LOW: "#4477AA",
    RiskLevel.MEDIUM: "#EEAA33",
    RiskLevel.HIGH: "#DD5522",
    RiskLevel.CRITICAL: "#881111",
}
RISKS = list(RISK_COLOURS)
# 1200 px wide, drawn at 150 dpi so that text is ~20 px tall: Slack shows the picture at
# about half that width in a thread, where 10-12 px text still reads.
DPI = 150
WIDTH = 1200
FONT = {"title": 14, "subtitle": 11, "lane": 12, "tick": 10, "label": 10}


def render_timeline(
    slots: Sequence[Slot] | Sequence[PlannedSlot], *, title: str = "Plan", width: int = WIDTH
) -> tuple[bytes, str]:
    """The PNG bytes and a one-paragraph legend for `slots`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    width_in = width / DPI
    if not slots:
        fig, ax = plt.subplots(figsize=(width_in, 1.2), dpi=DPI)
        ax.text(0.5, 0.5, f"{title}: no slots", ha="center", va="center", fontsize=FONT["title"])
        ax.axis("off")
        return _save(fig, plt), "no slots"
    start = min(s.scheduled_at for s in slots)
    end = max(s.scheduled_at for s in slots)
    span = max(end - start, timedelta(minutes=30))
    zone_name, offset, in_zone = main_zone(slots)
    zone = ZoneInfo(zone_name)
    calendar = span > timedelta(days=2)
    bin_size = _bin(span)
    by_platform = Counter(s.platform for s in slots)
    platforms = [p for p, _ in by_platform.most_common()]

    lanes = len(platforms)
    heat_rows = (span.days + 2) if calendar else 0
    lanes_in = 0.45 * lanes + 0.4
    heat_in = min(0.16 * heat_rows, 2.4) + 0.6  # a month's rows share the height of 15
    fig = plt.figure(
        figsize=(width_in, 1.4 + lanes_in + (heat_in if calendar else 0)),
        dpi=DPI,
        layout="constrained",  # makes room for the titles, both time axes and the legend
    )
    ratios = [lanes_in] + ([heat_in] if calendar else [])
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    ax = fig.add_subplot(grid[0])

    first = _floor(start, bin_size)
    bins = int((end - first) / bin_size) + 1
    for lane, platform in enumerate(reversed(platforms)):
        counts = {risk: [0] * bins for risk in RISKS}
        for s in slots:
            if s.platform == platform:
                counts[RiskLevel(s.risk_level)][int((s.scheduled_at - first) / bin_size)] += 1
        peak = max(sum(c[i] for c in counts.values()) for i in range(bins)) or 1
        xs = [mdates.date2num(first + i * bin_size) for i in range(bins)]
        bottom = [float(lane)] * bins
        for risk in RISKS:
            heights = [0.8 * c / peak for c in counts[risk]]
            if any(heights):
                ax.bar(
                    xs,
                    heights,
                    width=bin_size / timedelta(days=1) * 0.9,
                    bottom=bottom,
                    align="edge",
                    color=RISK_COLOURS[risk],
                    linewidth=0,
                )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_yticks([i + 0.4 for i in range(lanes)])
    ax.set_yticklabels(
        [f"{p} ({by_platform[p]:,})" for p in reversed(platforms)], fontsize=FONT["lane"]
    )
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(-0.1, lanes)
    ax.set_xlim(mdates.date2num(first), mdates.date2num(first + bins * bin_size))
    _day_bands(ax, first, first + bins * bin_size, offset, mdates)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(_tick_format(calendar), tz=UTC))
    ax.set_xlabel(
        f"UTC  ·  bars: slots per {_words(bin_size)}, each lane scaled to its busiest bin",
        fontsize=FONT["label"],
    )
    ax.tick_params(axis="x", labelsize=FONT["tick"])
    days = offset / timedelta(days=1)

    def shift(x: Any) -> Any:
        return x + days

    def unshift(x: Any) -> Any:
        return x - days

    top = ax.secondary_xaxis("top", functions=(shift, unshift))
    top.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    top.xaxis.set_major_formatter(mdates.DateFormatter(_tick_format(calendar), tz=UTC))
    top.set_xlabel(_zone_label(zone_name, offset, in_zone, len(slots)), fontsize=FONT["label"])
    top.tick_params(labelsize=FONT["tick"])
    for side in ("right", "left"):
        ax.spines[side].set_visible(False)
    high = sum(1 for s in slots if s.risk_level in (RiskLevel.HIGH, RiskLevel.CRITICAL))
    fig.suptitle(
        f"{title}: {len(slots):,} slots on {lanes} platform{'s' * (lanes != 1)}, "
        f"{high:,} high or critical risk",
        fontsize=FONT["title"],
        fontweight="bold",
        x=0.0,
        ha="left",
    )
    present = [r for r in RISKS if any(s.risk_level == r for s in slots)]
    ax.legend(
        handles=[Patch(color=RISK_COLOURS[r], label=f"{r.value.lower()}\nrisk") for r in present],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=FONT["label"],
        frameon=False,
    )
    ax.set_title(
        f"{start:%a %d %b %H:%M} → {_until(start, end)} UTC",
        fontsize=FONT["subtitle"],
        loc="left",
    )
    if calendar:
        _heatmap(fig.add_subplot(grid[1]), slots, zone, zone_name)
    legend = (
        f"{len(slots):,} slots, {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC; "
        + ", ".join(f"{p} {by_platform[p]}" for p in platforms)
        + f"; {high} high risk; local times in {zone_name}"
    )
    return _save(fig, plt), legend


def main_zone(slots: Sequence[Slot] | Sequence[PlannedSlot]) -> tuple[str, timedelta, int]:
    """(zone name, UTC offset at the first slot, slots at that offset): the offset most
    slots share, named by its most frequent zone. Counting zone names alone would pick
    Sydney's 8 slots over New York, Toronto and Bogotá's 22 at UTC-5."""
    first = min(s.scheduled_at for s in slots)
    by_offset: Counter[timedelta] = Counter()
    names: dict[timedelta, Counter[str]] = {}
    for s in slots:
        name = _zone_of(s)
        offset = first.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
        by_offset[offset] += 1
        names.setdefault(offset, Counter())[name] += 1
    # Ties go to the offset nearest UTC, then to the name sorting first: stable pictures.
    offset = max(by_offset, key=lambda o: (by_offset[o], -abs(o), -o.total_seconds()))
    name = min(names[offset], key=lambda n: (-names[offset][n], n))
    return name, offset, by_offset[offset]


def _heatmap(
    ax, slots: Sequence[Slot] | Sequence[PlannedSlot], zone: ZoneInfo, zone_name: str
) -> None:  # type: ignore[no-untyped-def]
    """Rows are local days, columns local hours; darker is more slots."""
    days = sorted({s.scheduled_at.astimezone(zone).date() for s in slots})
    index = {d: i for i, d in enumerate(days)}
    grid = [[0] * 24 for _ in days]
    for s in slots:
        local = s.scheduled_at.astimezone(zone)
        grid[index[local.date()]][local.hour] += 1
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    step = max(1, -(-len(days) // 15))  # at most 15 day labels: they stay legible
    ax.set_yticks(range(0, len(days), step))
    ax.set_yticklabels([f"{d:%a %d %b}" for d in days[::step]], fontsize=FONT["tick"])
    ax.set_xticks(range(0, 24, 3))
    ax.set_xticklabels([f"{h:02d}:00" for h in range(0, 24, 3)], fontsize=FONT["tick"])
    ax.set_xlabel(f"hour of day, {zone_name}", fontsize=FONT["label"])
    ax.set_title("slots per local day × hour", fontsize=FONT["label"], loc="left")
    bar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
    bar.set_label("slots", fontsize=FONT["tick"])
    bar.ax.tick_params(labelsize=FONT["tick"])


def _day_bands(ax, first: datetime, last: datetime, offset: timedelta, mdates) -> None:  # type: ignore[no-untyped-def]
    """Shade every other local day and name it, so a multi-day plan reads by day."""
    local_midnight = (first + offset).replace(hour=0, minute=0, second=0, microsecond=0) - offset
    day = local_midnight
    shade = False
    while day < last:
        nxt = day + timedelta(days=1)
        if shade:
            ax.axvspan(mdates.date2num(day), mdates.date2num(nxt), color="#F0F0F0", zorder=0)
        shade = not shade
        day = nxt


def _zone_of(slot: Slot | PlannedSlot) -> str:
    """The slot's IANA zone: stored slots have it, planned ones carry it in local_time."""
    local = getattr(slot, "local_time", None)
    zone = getattr(slot, "timezone", None) or getattr(local, "tzinfo", None)
    return str(zone or "UTC")


def _zone_label(name: str, offset: timedelta, in_zone: int, total: int) -> str:
    zone = name if name in ("UTC", "Etc/UTC") else f"{name} (UTC{_hours(offset)})"
    share = f"all {total:,}" if in_zone == total else f"{in_zone:,} of {total:,}"
    return f"{zone}: the local time of {share} slots"


def _tick_format(calendar: bool) -> str:
    return "%a %d" if calendar else "%a %H:%M"


def _until(start: datetime, end: datetime) -> str:
    return f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %H:%M}"


def _bin(span: timedelta) -> timedelta:
    for size in (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)):
        if span / size <= 120:
            return size
    return timedelta(hours=3) if span <= timedelta(days=15) else timedelta(days=1)


def _floor(at: datetime, size: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((at - epoch) // size) * size


def _words(size: timedelta) -> str:
    minutes = int(size.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def _hours(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h}" + (f":{m:02d}" if m else "")


def _save(fig, plt) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
