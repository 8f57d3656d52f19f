"""`herald demo`: a whole distribution on a fresh machine, time compressed, end to end.

Fresh SQLite file (migrated), the bundled 150 accounts imported, create -> plan ->
simulate -> approve (as a demo approver) -> run through the real dispatcher, APScheduler
and the simulated publisher (with a small failure mix so retries and redistributions
show) on a scaled clock, with a live progress bar and a final report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.event_kinds import EventKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEFAULT_FAILURES = "rate_limit=0.03,suspension=0.02,network=0.04,unknown=0.01"
DEMO_SECONDS = 30.0
MAX_SPEED = 1_000_000.0
# Per platform: slots planned there, slots moved there from a suspended account, and
# what happened (a slot moved away counts as redistributed on its original platform).
REPORT_COLUMNS = (
    "planned",
    "moved_in",
    "published",
    "retried",
    "redistributed",
    "failed",
    "unknown",
)


def add_arguments(parser: argparse.ArgumentParser, name: str = "demo") -> None:
    """Options of `herald demo`."""
    parser.add_argument("--db", type=Path, help="SQLite file to use (default: a fresh temp file)")
    parser.add_argument("--seed", type=int, default=7, help="simulated publisher seed (7)")
    parser.add_argument(
        "--speed",
        type=_positive("--speed", MAX_SPEED),
        help="clock speed-up, > 0 (default: the request's window takes about 30 s)",
    )
    parser.add_argument("--json", action="store_true", help="print the final report as JSON")
    parser.add_argument(
        "--accounts",
        type=Path,
        default=EXAMPLES / "accounts.csv",
        help="accounts CSV to import (default: the bundled 150 accounts)",
    )
    parser.add_argument(
        "--request",
        type=Path,
        default=EXAMPLES / "request.json",
        help="request JSON (its start is moved to a minute from now)",
    )
    parser.add_argument(
        "--failures",
        default=DEFAULT_FAILURES,
        help=f"simulated failure rates (default {DEFAULT_FAILURES})",
    )
    parser.add_argument("--ledger", type=Path, help="append every publish call to this JSONL file")
    parser.add_argument(
        "--timeout",
        type=_positive("--timeout", 86_400.0),
        default=300.0,
        help="give up after this many wall seconds (300)",
    )


def _positive(option: str, largest: float) -> Any:
    """An argparse type: a finite number in (0, largest]; anything else exits 2, named."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} must be a number, not {text[:20]!r}"
            ) from None
        if not math.isfinite(value) or value <= 0 or value > largest:
            raise argparse.ArgumentTypeError(
                f"{option} must be more than 0 and at most {largest:g}, not {text[:20]}"
            )
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the distribution completed. Without `--db` its database lives
    in a temporary folder that is removed afterwards, even after Ctrl-C or an error."""
    if args.db is not None:
        return asyncio.run(_demo(args, args.db))
    with tempfile.TemporaryDirectory(prefix="herald-demo-", ignore_cleanup_errors=True) as tmp:
        return asyncio.run(_demo(args, Path(tmp) / "herald.db", temporary=True))


async def _demo(args: argparse.Namespace, db: Path, *, temporary: bool = False) -> int:
    from rich.console import Console

    from bot.bootstrap import build_herald
    from bot.settings import Settings
    from engine.clock import ScaledClock
    from engine.errors import InvalidInput
    from engine.models import Actor, DistributionStatus, Role
    from engine.request import parse_request

    console = Console(stderr=args.json)
    if not console.is_terminal:
        # Piped or logged output: rich would assume 80 columns and cut the report's headers.
        console = Console(stderr=args.json, width=120)
    url = f"sqlite+aiosqlite:///{db}"

    try:
        data = json.loads(args.request.read_text(encoding="utf-8"))
        csv_text = args.accounts.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"demo input: {exc}") from None
    spread_hours = float(data.get("spread_hours", 6))
    speed = args.speed or max(1.0, spread_hours * 3600 / DEMO_SECONDS)
    # Stopped while the plan is set up (import, plan, simulate, approve): at 720x one wall
    # second is 12 minutes, which would make the first posts overdue before the approval.
    clock = ScaledClock(datetime.now(UTC).replace(microsecond=0), speed, running=False)
    data["start"] = (clock.now() + timedelta(minutes=1)).isoformat()
    data["trend_weighted"] = False
    request = parse_request(data)

    settings = Settings(
        database_url=url,
        publisher="simulated",
        simulated_seed=args.seed,
        simulated_failure_rates=args.failures,
        simulated_ledger=args.ledger,
        # Wall seconds: at 720x one tick is ~2.4 clock minutes; wake-ups aim at due slots.
        dispatch_interval_seconds=0.2,
        claim_lease_seconds=max(120.0, 10 * speed),
    )
    herald = build_herald(settings, clock=clock)
    await herald.ensure_schema(upgrade=True)  # a fresh file: migrate it
    operator = Actor("demo-operator", Role.OPERATOR, "Demo operator")
    approver = Actor("demo-approver", Role.APPROVER, "Demo approver")
    service = herald.service
    where = "a temporary database, removed at the end" if temporary else str(db)
    try:
        imported = await service.import_accounts(operator, csv_text)
        distribution = await service.create(operator, request)
        view = await service.plan(operator, distribution.id)
        simulation = await service.simulate(operator, distribution.id)
        verdict = str(simulation.get("recommended_action"))
        if verdict == "ABORT" or not view.slots:
            # An approver would not approve this: neither does the demo.
            reasons = "; ".join(str(r) for r in simulation.get("reasons") or []) or "no slots"
            print(
                f"herald demo: the simulation says {verdict} "
                f"({imported.imported} accounts imported, {len(view.slots)} slots planned): "
                f"{reasons}. Nothing was approved or published.",
                file=sys.stderr,
            )
            return 1
        await service.approve(approver, distribution.id, note="approved by the demo")
        console.print(
            f"[bold]Herald demo[/]: {imported.imported} accounts, {len(view.slots)} slots planned "
            f"over {spread_hours:g} h on {', '.join(request.platforms)} "
            f"({len(view.unscheduled)} left out); simulation says "
            f"[bold]{verdict}[/]; approved by {approver.display}; "
            f"running at {speed:g}x ({where})"
        )
        console.print(_failures_line(args.failures))
        started = time.monotonic()
        clock.resume()
        await herald.start()
        resumed = await _watch(
            herald, distribution.id, approver, console, args.timeout, planned=len(view.slots)
        )
        wall = time.monotonic() - started
        await herald.stop()
        report = await _report(herald, distribution.id, speed, wall, resumed)
        report.update(
            database=where,
            ledger=str(args.ledger) if args.ledger else None,
            seed=args.seed,
            simulation=simulation,
        )
    finally:
        await herald.stop()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_report(console, report)
    if report["status"] == DistributionStatus.COMPLETED:
        return 0
    done = sum(report["totals"].get(k, 0) for k in ("published", "failed", "unknown"))
    print(
        f"herald demo: gave up after --timeout {args.timeout:g} s of wall time, "
        f"{done} of {report['totals'].get('planned', 0)} planned posts done; the run is "
        f"{report['status']}. Try a larger --timeout or --speed.",
        file=sys.stderr,
    )
    return 1


def _failures_line(failures: str) -> str:
    """Says that the failures the demo injects are simulated, and which."""
    from dataclasses import fields

    from engine.simulated_publisher import FailureRates

    rates = FailureRates.parse(failures)
    shown = [
        f"{f.name.replace('_', ' ')} {getattr(rates, f.name):.0%}"
        for f in fields(rates)
        if getattr(rates, f.name) > 0
    ]
    if not shown:
        return "No failures are injected (--failures is empty)."
    return (
        "[yellow]Simulated failures[/] are injected so retries and redistributions show "
        f"(nothing real is posted or fails): {', '.join(shown)}"
    )


async def _watch(
    herald: Any,
    distribution_id: str,
    approver: Any,
    console: Any,
    timeout: float,
    *,
    planned: int,
) -> int:
    """Show progress until the run finishes; resume it after a risk auto-pause. Returns
    how many times it was resumed. The bar counts the planned posts: a post moved to
    another account is done when its replacement is (so it ends at planned/planned)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.models import DistributionStatus

    finished = {
        DistributionStatus.COMPLETED,
        DistributionStatus.CANCELLED,
        DistributionStatus.HALTED,
    }
    resumed = 0
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("publishing", total=None, detail="")
        while time.monotonic() < deadline:
            status = await herald.service.status(distribution_id)
            c = status.counts
            detail = (
                f"published {status.published}  retrying {c.get('RETRY_SCHEDULED', 0)}  "
                f"failed {status.failed}  clock {herald.clock.now():%H:%M}"
            )
            slots = await herald.service.progress(distribution_id)
            moved_in = sum(1 for slot in slots if slot.redistributed_from is not None)
            done = min(planned, max(0, status.done - moved_in))
            progress.update(task, total=planned, completed=done, detail=detail)
            if status.distribution.status in finished:
                break
            if status.distribution.status == DistributionStatus.PAUSED:
                alerts = await herald.service.history(key=distribution_id, limit=20)
                reason = next(
                    (e.data.get("reason") for e in alerts if e.kind == EventKind.RISK_ALERT), ""
                )
                progress.console.print(
                    f"[yellow]risk monitor paused the run[/]: {reason}; "
                    "the demo approver resumes it"
                )
                await herald.service.resume(approver, distribution_id)
                resumed += 1
            await asyncio.sleep(0.2)
    return resumed


async def _report(
    herald: Any, distribution_id: str, speed: float, wall: float, resumed: int
) -> dict[str, Any]:
    """Published / retried / redistributed / failed per platform, and lateness."""
    service = herald.service
    status = await service.status(distribution_id)
    slots = await service.progress(distribution_id)
    events = await service.history(key=distribution_id, limit=1_000_000)
    retried = {e.slot_id for e in events if e.kind == EventKind.SLOT_RETRY_SCHEDULED}
    platforms: dict[str, dict[str, int]] = {}
    lateness: list[float] = []
    for slot in slots:
        row = platforms.setdefault(
            slot.platform,
            dict.fromkeys(REPORT_COLUMNS, 0),
        )
        row["planned"] += slot.redistributed_from is None
        row["moved_in"] += slot.redistributed_from is not None
        row["published"] += slot.status == "PUBLISHED"
        row["retried"] += slot.id in retried
        row["failed"] += slot.status == "FAILED"
        row["unknown"] += slot.status == "OUTCOME_UNKNOWN"
        if slot.status == "SKIPPED" and slot.failure_kind == "suspended":
            row["redistributed"] += 1
        if slot.status == "PUBLISHED" and slot.executed_at is not None:
            lateness.append((slot.executed_at - slot.due_at).total_seconds())
    totals = {
        k: sum(row[k] for row in platforms.values()) for k in next(iter(platforms.values()), {})
    }
    return {
        "distribution": status.distribution.name,
        "id": distribution_id,
        "status": str(status.distribution.status),
        "speed": speed,
        "wall_seconds": round(wall, 2),
        "auto_pauses_resumed": resumed,
        "platforms": platforms,
        "totals": totals,
        "lateness": {
            "p50_clock_s": _pct(lateness, 50),
            "p99_clock_s": _pct(lateness, 99),
            "p50_wall_s": round(_pct(lateness, 50) / speed, 4),
            "p99_wall_s": round(_pct(lateness, 99) / speed, 4),
        },
        "alerts": [e.data.get("reason") for e in events if e.kind == EventKind.RISK_ALERT],
    }


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return round(ordered[index], 3)


def _print_report(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{report['distribution']} — {report['status']}")
    columns = list(REPORT_COLUMNS)
    table.add_column("platform")
    for column in columns:
        table.add_column(column, justify="right")
    for name, row in sorted(report["platforms"].items()):
        table.add_row(name, *(str(row[c]) for c in columns))
    table.add_row("[bold]total", *(f"[bold]{report['totals'].get(c, 0)}" for c in columns))
    console.print(table)
    late = report["lateness"]
    console.print(
        f"lateness p50 {late['p50_wall_s']:.3f} s / p99 {late['p99_wall_s']:.3f} s wall "
        f"({late['p50_clock_s']:.0f} s / {late['p99_clock_s']:.0f} s of demo time at "
        f"{report['speed']:g}x); {report['wall_seconds']:.1f} s wall; database {report['database']}"
    )
    for reason in report["alerts"]:
        console.print(f"[yellow]risk alert[/]: {reason}")
