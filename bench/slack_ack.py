"""Ack latency of the Slack bot under load: p50/p99 for slash commands and button clicks.

Sends signed `/herald status`/`/herald help` commands and Home "Refresh" clicks at
`--rate` requests per second to the real bolt app (HTTP on loopback, fake Slack Web API)
while a `--slots`-slot distribution (SQLite, simulated publisher) is being published by
the dispatcher in the same process, its clock running `--speed` times faster once the
plan is approved. Target: p99 <= 100 ms.

    uv run python -m bench.slack_ack [--rate 20] [--seconds 20] [--slots 10000]
    uv run python -m bench.slack_ack --speed 720   # the run's 2 h peak burst during the load

The load generator shares the event loop with the app, so its own overhead is included
in the figures (they are an upper bound).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.bootstrap import build_herald
from bot.cli.serve import build_web_app
from bot.settings import load_settings
from bot.slack.app import build_client, create_app, deps_of_app
from engine.models import SYSTEM, Actor, Role
from engine.request import request_from_fields
from storage.outbox import MemoryOutbox
from tests.bot.driver import SlackDriver
from tests.bot.fake_slack import FakeSlack

SECRET = "bench-signing-secret"
PLATFORMS = ("tiktok", "instagram", "youtube", "twitter", "linkedin")
HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,last_posted_at,"
    "rate_limited_until\n"
)


def accounts_csv(count: int) -> str:
    rows = (
        f"a{i},{PLATFORMS[i % len(PLATFORMS)]},@h{i},UTC,en,{1000 + i},0.95,ACTIVE,,\n"
        for i in range(count)
    )
    return HEADER + "".join(rows)


class BenchClock:
    """Stands still while the plan is built, then runs `speed` times faster than the wall
    (so the run, not the set-up, is what overlaps the measured requests)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._origin: float | None = None
        self.speed = 1.0

    def go(self, speed: float) -> None:
        self._start = self.now()
        self._origin = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        if self._origin is None:
            return self._start
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(
    rate: float, seconds: float, slot_target: int, speed: float, database: str, batch: int
) -> int:
    workdir = tempfile.mkdtemp(prefix="herald-bench-")
    if database == "sqlite":
        from storage.migrate import upgrade
        from storage.outbox import SQLAlchemyOutbox

        url = f"sqlite+aiosqlite:///{workdir}/herald.db"
        await upgrade(url)
    else:
        url = "memory://"
    fake = FakeSlack()
    api_url = await fake.start()
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "HERALD_APPROVERS": "U_BOSS",
            "HERALD_DATABASE_URL": url,
            "HERALD_DISPATCH_INTERVAL_SECONDS": "0.5",
            # Smaller batches keep each dispatcher stretch on the event loop short.
            "HERALD_DISPATCH_BATCH_SIZE": str(batch),
            # A load test, not production: identical posts may share a minute.
            "HERALD_DUPLICATE_GAP_FLOOR_MINUTES": "0",
        }
    )
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = BenchClock(start)
    client = build_client(settings)
    outbox = SQLAlchemyOutbox(url, clock) if database == "sqlite" else MemoryOutbox(clock)
    herald = build_herald(settings, clock=clock, outbox=outbox)
    app = create_app(settings, herald=herald, client=client)
    deps = deps_of_app(app)
    notifier = deps.notifier
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, fake)

    t0 = time.perf_counter()
    await herald.service.import_accounts(SYSTEM, accounts_csv(slot_target))
    operator = Actor("U_OP", Role.OPERATOR)
    request = request_from_fields(
        {
            "name": "bench",
            "caption": "Load test",
            "platforms": ",".join(PLATFORMS),
            "window": "6h",
            "start": "+1m",
            "duplicate_gap": "0",
            "min_gap": "0",
        },
        now=clock.now(),
    )
    dist = await herald.service.create(operator, request, origin={"channel": "C_BENCH"})
    plan = await herald.service.plan(operator, dist.id)
    await herald.service.approve(Actor("U_BOSS", Role.APPROVER), dist.id)
    print(f"planned and approved {len(plan.slots):,} slots in {time.perf_counter() - t0:.1f}s")
    clock.go(speed)
    await herald.start()
    await notifier.idle(60)
    await driver.event(
        {"type": "app_home_opened", "user": "U_BOSS", "channel": "D1", "tab": "home"}
    )
    for _ in range(500):
        if "U_BOSS" in fake.home:
            break
        await asyncio.sleep(0.02)

    latencies: dict[str, list[float]] = {"command": [], "click": []}
    published_before = (await herald.service.status(dist.id)).published

    async def one(i: int) -> None:
        if i % 2 == 0:
            text = "status bench" if i % 4 == 0 else "help"
            reply = await driver.command(text, user="U_OP")
            kind = "command"
        else:
            payload = driver.home_click_payload("herald.home.refresh", user="U_BOSS")
            reply = await driver.interact(payload)
            kind = "click"
        if reply.status != 200:
            raise RuntimeError(f"{kind} answered {reply.status}: {reply.text[:200]}")
        latencies[kind].append(reply.elapsed)

    tasks = []
    total = int(rate * seconds)
    began = time.perf_counter()
    for i in range(total):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    status = await herald.service.status(dist.id)
    alerts = await herald.service.history(key=dist.id, limit=5)

    print(
        f"{total} requests in {elapsed:.1f}s ({total / elapsed:.1f}/s) while the run published "
        f"{status.published - published_before:,} slots ({status.published:,}/{status.total:,} "
        f"done, clock x{speed:g}, {status.distribution.status.value})"
    )
    worst = 0.0
    for kind, values in latencies.items():
        p50, p99 = quantile(values, 0.5) * 1000, quantile(values, 0.99) * 1000
        worst = max(worst, p99)
        print(
            f"{kind:8s} n={len(values):4d}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            f"max {max(values) * 1000:6.1f} ms  mean {statistics.fmean(values) * 1000:6.1f} ms"
        )
    print("last events:", ", ".join(e.kind for e in alerts))
    print(f"target p99 <= 100 ms: {'met' if worst <= 100 else 'NOT met'}")

    await herald.stop()
    await notifier.close()
    await driver.close()
    await runner.cleanup()
    await fake.stop()
    await outbox.close()
    shutil.rmtree(workdir, ignore_errors=True)
    del deps
    return 0 if worst <= 100 else 1


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to send")
    parser.add_argument("--slots", type=int, default=10_000, help="slots in the running plan")
    parser.add_argument(
        "--speed", type=float, default=120.0, help="clock speed-up (120: the 6 h run in 3 min)"
    )
    parser.add_argument(
        "--database", choices=("sqlite", "memory"), default="sqlite", help="repository backend"
    )
    parser.add_argument("--batch", type=int, default=50, help="HERALD_DISPATCH_BATCH_SIZE")
    args = parser.parse_args()
    return asyncio.run(
        main(args.rate, args.seconds, args.slots, args.speed, args.database, args.batch)
    )


if __name__ == "__main__":
    raise SystemExit(cli())
