"""The HTTP API under load: SSE delivery latency to 200 clients and `status` latency at
50 req/s (plus Slack acks) while a 10 000-slot distribution is published by the dispatcher
(SQLite, simulated publisher, its clock `--speed` times faster once approved).

Delivery latency is measured with probe events: every 100 ms one `bench.probe` event carrying
its commit time is appended to the audit log; each SSE client notes when it arrives.
Targets: delivery p99 <= 1 s, status p99 <= 50 ms, Slack ack p99 <= 50 ms.

    uv run python -m bench.api [--clients 200] [--rate 50] [--seconds 20] [--slots 10000]

Loopback only; the clients share the app's event loop, so figures are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bench.slack_ack import PLATFORMS, SECRET, BenchClock, accounts_csv, quantile
from bot.bootstrap import build_herald
from bot.cli.serve import build_web_app
from bot.settings import load_settings
from bot.slack.app import build_client, create_app, deps_of_app
from engine.models import SYSTEM, Actor, Event, Role, new_id
from engine.request import request_from_fields
from storage.api_store import ApiStore
from storage.migrate import upgrade
from storage.outbox import SQLAlchemyOutbox
from tests.bot.driver import SlackDriver
from tests.bot.fake_slack import FakeSlack


async def sse_client(
    url: str, token: str, stop: asyncio.Event, delays: list[float], counts: list[int]
) -> None:
    """One SSE client: counts events, records probe delays, until `stop`."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        event = ""
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(resp.content.readline(), 1.0)
            except TimeoutError:
                continue
            if not raw:
                return
            line = raw.decode()
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                counts[0] += 1
                if event == "bench.probe":
                    delays.append(time.time() - json.loads(line[6:])["data"]["t"])
                elif event == "dropped":
                    counts[1] += 1
                    return


async def main(clients: int, rate: float, seconds: float, slot_target: int, speed: float) -> int:
    workdir = tempfile.mkdtemp(prefix="herald-bench-api-")
    url = f"sqlite+aiosqlite:///{workdir}/herald.db"
    await upgrade(url)
    fake = FakeSlack()
    slack_url = await fake.start()
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_url,
            "HERALD_APPROVERS": "U_BOSS",
            "HERALD_DATABASE_URL": url,
            "HERALD_DISPATCH_INTERVAL_SECONDS": "0.5",
            "HERALD_DISPATCH_BATCH_SIZE": "50",
            "HERALD_API_RATE_LIMIT_PER_SECOND": "1000",
            "HERALD_API_RATE_LIMIT_BURST": "1000",
        }
    )
    clock = BenchClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    client = build_client(settings)
    outbox = SQLAlchemyOutbox(url, clock)
    herald = build_herald(settings, clock=clock, outbox=outbox)
    app = create_app(settings, herald=herald, client=client)
    notifier = deps_of_app(app).notifier
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    driver = SlackDriver(f"{base}/slack/events", SECRET, fake)
    engine: Any = getattr(herald.repository, "engine")  # noqa: B009
    store = ApiStore(engine)
    _, token = await store.create_token("U_OP", ("read",), clock.now(), None)
    await store.close()

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
    dist = await herald.service.create(operator, request)
    plan = await herald.service.plan(operator, dist.id)
    await herald.service.approve(Actor("U_BOSS", Role.APPROVER), dist.id)
    print(f"planned and approved {len(plan.slots):,} slots in {time.perf_counter() - t0:.1f}s")

    stop = asyncio.Event()
    # The SSE clients run in another process, as real clients would (not on the app's loop).
    streams = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.api",
        "--clients-only",
        f"{base}/api/v1/events",
        token,
        str(clients),
        str(seconds + 8),
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(3)
    clock.go(speed)
    await herald.start()
    published_before = (await herald.service.status(dist.id)).published

    async def probes() -> None:
        while not stop.is_set():
            event = Event(new_id("e"), clock.now(), "bench.probe", "bench", data={"t": time.time()})
            async with herald.repository.unit_of_work() as uow:
                await uow.append_event(event)
            await asyncio.sleep(0.1)

    status_ms: list[float] = []
    errors: list[str] = []
    ack_ms: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async with aiohttp.ClientSession() as session:

        async def status_once() -> None:
            began = time.perf_counter()
            async with session.get(
                f"{base}/api/v1/distributions/{dist.id}/status", headers=headers
            ) as resp:
                body = await resp.read()
            if resp.status != 200:
                errors.append(f"{resp.status} {body[:200]!r}")
                return
            status_ms.append((time.perf_counter() - began) * 1000)

        async def ack_once() -> None:
            reply = await driver.command("status bench", user="U_OP")
            ack_ms.append(reply.elapsed * 1000)

        probe_task = asyncio.create_task(probes())
        tasks = []
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(status_once()))
            if i % 5 == 0:
                tasks.append(asyncio.create_task(ack_once()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        await asyncio.sleep(1.5)  # the last probes arrive
        stop.set()
        await probe_task
    out, _ = await streams.communicate()
    measured = json.loads(out.decode().strip().splitlines()[-1])
    delays, counts = measured["delays"], measured["counts"]
    status = await herald.service.status(dist.id)

    print(
        f"{clients} SSE clients; {len(status_ms)} status requests in {elapsed:.1f}s "
        f"({len(status_ms) / elapsed:.1f}/s) while the run published "
        f"{status.published - published_before:,} slots (clock x{speed:g})"
    )
    print(
        f"events delivered: {counts[0]:,} ({counts[0] / elapsed:,.0f}/s); clients dropped: "
        f"{counts[1]}"
    )
    results = {
        "SSE delivery": (delays, 1000.0, 1000.0),
        "API status": (status_ms, 1.0, 50.0),
        "Slack ack": (ack_ms, 1.0, 50.0),
    }
    met = True
    for name, (values, scale, target) in results.items():
        if not values:
            print(f"{name:13s} no samples")
            met = False
            continue
        p50, p99 = quantile(values, 0.5) * scale, quantile(values, 0.99) * scale
        ok = p99 <= target
        met = met and ok
        print(
            f"{name:13s} n={len(values):6d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {max(values) * scale:7.1f} ms  target p99 <= {target:g} ms: "
            f"{'met' if ok else 'NOT met'}"
        )
    await herald.stop()
    await notifier.close()
    await driver.close()
    await runner.cleanup()
    await fake.stop()
    await outbox.close()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if met else 1


async def clients_only(url: str, token: str, clients: int, seconds: float) -> None:
    """The SSE side alone (run in its own process by `main`): prints delays and counts."""
    stop = asyncio.Event()
    delays: list[float] = []
    counts = [0, 0]  # events received, clients dropped
    tasks = [
        asyncio.create_task(sse_client(url, token, stop, delays, counts)) for _ in range(clients)
    ]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"delays": delays, "counts": counts}))


def cli() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--clients-only":
        url, token, clients, seconds = sys.argv[2:]
        asyncio.run(clients_only(url, token, int(clients), float(seconds)))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="SSE clients")
    parser.add_argument("--rate", type=float, default=50.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to measure")
    parser.add_argument("--slots", type=int, default=10_000, help="slots in the running plan")
    parser.add_argument("--speed", type=float, default=120.0, help="clock speed-up")
    args = parser.parse_args()
    return asyncio.run(main(args.clients, args.rate, args.seconds, args.slots, args.speed))


if __name__ == "__main__":
    raise SystemExit(cli())
