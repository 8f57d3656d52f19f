"""Dispatch benchmark: fire lateness p50/p99 and slots/s, SQLite (1 process) and PostgreSQL
(3 processes), through the real composition root, dispatcher, APScheduler and publisher.

    uv run python bench/dispatch.py                 # SQLite, then a throwaway PostgreSQL
    uv run python bench/dispatch.py --sqlite-only
    uv run python bench/dispatch.py --pg-url postgresql+asyncpg://user@127.0.0.1:5432/db

Throughput: N slots due at once (a backlog); slots/s = N / (last publish - first publish).
Lateness: slots due at a steady pace; lateness = publish time - due time, SystemClock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.models import SlotStatus  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.integration.crash_support import (  # noqa: E402
    seed_sql_run,
    start_worker,
    stored_slots,
)

PLATFORMS = ("tiktok", "instagram", "twitter", "youtube")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def run_case(
    url: str, *, processes: int, per_account: int, spacing: timedelta, lead: float, label: str
) -> dict[str, object]:
    """Seed one run, start `processes` workers, wait, and measure from the stored slots."""
    workdir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
    ledger = workdir / "ledger.jsonl"
    await upgrade(url)  # before `start` is computed: migrating takes a moment
    distribution, _ = await seed_sql_run(
        url,
        per_platform=25,
        per_account=per_account,
        start=datetime.now(UTC) + timedelta(seconds=lead),
        spacing=spacing,
        platforms=PLATFORMS,
    )
    workers = [
        start_worker(
            url, str(ledger), f"b{i}", distribution.id, "--lease", "60", "--timeout", "600"
        )  # type: ignore[arg-type]
        for i in range(processes)
    ]
    # Read every worker's pipes at once: a full, unread stderr pipe would block its writer.
    outputs = await asyncio.gather(
        *(asyncio.to_thread(w.communicate, timeout=900) for w in workers)
    )
    for worker, (_, err) in zip(workers, outputs, strict=True):
        if worker.returncode != 0:
            raise SystemExit(f"worker failed: {err[-2000:]}")
    _, stored = await stored_slots(url, distribution.id)
    done = [s for s in stored if s.status == SlotStatus.PUBLISHED and s.executed_at]
    lateness = [(s.executed_at - s.due_at).total_seconds() for s in done]  # type: ignore[operator]
    times = sorted(s.executed_at for s in done)  # type: ignore[type-var]
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else float("nan")
    return {
        "case": label,
        "slots": len(stored),
        "published": len(done),
        "processes": processes,
        "slots_per_s": round(len(done) / span, 1) if span and span > 0 else None,
        "lateness_p50_s": round(pct(lateness, 50), 4),
        "lateness_p99_s": round(pct(lateness, 99), 4),
    }


async def bench_backend(url_factory, processes: int, name: str, n: int, paced_rate: float):  # type: ignore[no-untyped-def]
    per_account = n // (25 * len(PLATFORMS))
    backlog = await run_case(
        await url_factory(),
        processes=processes,
        per_account=per_account,
        spacing=timedelta(0),
        lead=-1.0,
        label=f"{name}: {n} due at once",
    )
    paced_n = int(paced_rate * 10)
    paced = await run_case(
        await url_factory(),
        processes=processes,
        per_account=max(1, paced_n // (25 * len(PLATFORMS))),
        spacing=timedelta(seconds=1 / paced_rate),
        lead=8.0,  # seeding and worker start-up happen before the first slot is due
        label=f"{name}: {paced_rate:g} slots/s for ~10 s",
    )
    return [backlog, paced]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-url", help="a PostgreSQL URL (default: a throwaway local cluster)")
    parser.add_argument("--n", type=int, default=10_000, help="backlog size (10000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: list[dict[str, object]] = []

    async def sqlite_url() -> str:
        return f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='herald-bench-')) / 'h.db'}"

    results += asyncio.run(bench_backend(sqlite_url, 1, "SQLite, 1 process", args.n, 200))
    if not args.sqlite_only:
        cluster = None
        counter = iter(range(1000))
        if args.pg_url:
            fixed = args.pg_url

            async def pg_url() -> str:
                return fixed
        else:
            from tests.conftest import _pg_bin, _PostgresCluster

            bindir = _pg_bin()
            if bindir is None:
                raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql; use --pg-url")
            cluster = _PostgresCluster(bindir)
            cluster.start()

            async def pg_url() -> str:
                return cluster.createdb(f"bench_{next(counter)}")

        try:
            results += asyncio.run(bench_backend(pg_url, 3, "PostgreSQL, 3 processes", args.n, 500))
        finally:
            if cluster is not None:
                cluster.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'case':42} {'slots':>6} {'slots/s':>8} {'p50 s':>7} {'p99 s':>7}")
        for r in results:
            print(
                f"{r['case']:42} {r['published']:>6} {r['slots_per_s']!s:>8} "
                f"{r['lateness_p50_s']:>7} {r['lateness_p99_s']:>7}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
