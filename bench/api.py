"""The HTTP API under load: SSE delivery latency to 200 clients and `status` latency at
50 req/s (plus Slack acks) while a 10 000-slot distribution is published by the dispatcher
(SQLite, simulated publisher, its clock `--speed` times faster once approved).

Delivery latency is measured with probe events: every 100 ms one `bench.probe` event is
appended to the audit log and its commit time noted; each SSE client notes when it arrives.
Targets: delivery p99 <= 1 s, status p99 <= 50 ms, Slack ack p99 <= 50 ms; each is printed
with its p50/p99 and whether it is met (exit status 1 when one is not).

    uv run python -m bench.api [--clients 200] [--rate 50] [--seconds 20] [--slots 10000]

Loopback only. The SSE clients, the status load and Slack's side run in processes of their
own, as in a deployment: the fake Slack Web API (which the app calls over HTTP through
SLACK_API_URL, response URLs included) and the signed `/herald status` commands (10/s)
share one process, which times each ack from sending the request to bolt's answer.
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
from bot.cli.serve import build_web_app, settle_heap
from bot.settings import load_settings
from bot.slack.app import build_client, create_app, deps_of_app
from engine.models import SYSTEM, Actor, Event, Role, new_event_id
from engine.request import request_from_fields
from storage.api_store import ApiStore
from storage.migrate import upgrade
from storage.outbox import SQLAlchemyOutbox
from tests.bot.driver import SlackDriver
from tests.bot.fake_slack import FakeSlack

ACK_RATE = 10.0  # Slack commands per second


async def sse_client(
    url: str, token: str, stop: asyncio.Event, arrivals: list[tuple[str, float]], counts: list[int]
) -> None:
    """One SSE client: counts events and notes when each probe arrives, until `stop`.
    It reads whole chunks and looks only at probe frames: a line-by-line Python parser
    for 200 streams would measure this process, not the server."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        counts[2] += 1
        buffer = b""
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), 1.0)
            except TimeoutError:
                continue
            if not chunk:
                return
            now = time.time()
            buffer += chunk
            frames = buffer.split(b"\n\n")
            buffer = frames.pop()
            for frame in frames:
                if not frame.startswith(b"id: "):
                    continue  # a comment (heartbeat, resume note)
                counts[0] += 1
                if b"\nevent: bench.probe\n" in frame:
                    data = frame[frame.index(b"\ndata: ") + 7 :]
                    arrivals.append((json.loads(data)["id"], now))
                elif b"\nevent: dropped\n" in frame:
                    counts[1] += 1
                    return


async def status_load(url: str, token: str, rate: float, seconds: float) -> None:
    """GET `url` at `rate` requests/s for `seconds`, in its own process started by `main`:
    connects, prints "ready", reads `begin_at` (time.time()) from stdin and starts then;
    prints the latencies in ms and the failures as JSON."""
    latencies: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as resp:  # connect before measuring
            await resp.read()
        print("ready", flush=True)
        begin_at = float(await _read_line())
        await asyncio.sleep(max(0.0, begin_at - time.time()))

        async def once() -> None:
            began = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                body = await resp.read()
            if resp.status != 200:
                errors.append(f"{resp.status} {body[:200]!r}")
                return
            latencies.append((time.perf_counter() - began) * 1000)

        tasks = []
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(once()))
        await asyncio.gather(*tasks)
    print(json.dumps({"latencies": latencies, "errors": errors}))


async def main(
    clients: int, rate: float, seconds: float, slot_target: int, speed: float, warmup: float
) -> int:
    workdir = tempfile.mkdtemp(prefix="herald-bench-api-")
    url = f"sqlite+aiosqlite:///{workdir}/herald.db"
    await upgrade(url)
    # Slack's side first: the app is configured with its Web API URL, as in production.
    slack = await _spawn("--slack", stdin=asyncio.subprocess.PIPE)
    fake_slack = json.loads(await _line(slack))
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": fake_slack["bot_token"],
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack["api_url"],
            "HERALD_APPROVERS": "U_BOSS",
            "HERALD_DATABASE_URL": url,
            "HERALD_DISPATCH_INTERVAL_SECONDS": "0.5",
            "HERALD_DISPATCH_BATCH_SIZE": "50",
            "HERALD_API_RATE_LIMIT_PER_SECOND": "1000",
            "HERALD_API_RATE_LIMIT_BURST": "1000",
            # A load test, not production: identical posts may share a minute.
            "HERALD_DUPLICATE_GAP_FLOOR_MINUTES": "0",
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
    settle_heap()  # as `herald serve` does once started
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
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
    # Only the count is kept: the app's process would not hold a plan's slots (the
    # collector walks whatever this process holds, the bench's own objects included).
    planned = len((await herald.service.plan(operator, dist.id)).slots)
    await herald.service.approve(Actor("U_BOSS", Role.APPROVER), dist.id)
    print(f"planned and approved {planned:,} slots in {time.perf_counter() - t0:.1f}s")

    # The clients run in processes of their own, as real clients would (not on the app's
    # loop, and the 200 streams' parsing not in the status timings).
    streams = await _spawn(
        "--sse", f"{base}/api/v1/events", token, clients, stdin=asyncio.subprocess.PIPE
    )
    loads = await _spawn(
        "--status",
        f"{base}/api/v1/distributions/{dist.id}/status",
        token,
        rate,
        seconds,
        stdin=asyncio.subprocess.PIPE,
    )
    await _tell(slack, f"{base}/slack/events")
    # Every load process imported and connected before the run starts (importing takes
    # 5-15 s on a loaded host: a load that started late would miss part of the window).
    for process in (slack, loads, streams):
        await _line(process)
    clock.go(speed)
    await herald.start()
    # Measured from `warmup` s into the run: its start redraws the plan card and reads the
    # dispatcher's spacing state once (see docs/api.md).
    begin_at = time.time() + warmup
    await _tell(loads, str(begin_at))
    await _tell(slack, f"{begin_at} {seconds}")
    await asyncio.sleep(max(0.0, begin_at - time.time()))
    published_before = (await herald.service.status(dist.id)).published
    stop = asyncio.Event()
    committed: dict[str, float] = {}  # probe event id -> when its transaction committed

    async def probes() -> None:
        while not stop.is_set():
            event = Event(new_event_id(), clock.now(), "bench.probe", "bench")
            async with herald.repository.unit_of_work() as uow:
                await uow.append_event(event)
            committed[event.id] = time.time()
            await asyncio.sleep(0.1)

    lag_ms: list[float] = []

    async def loop_lag() -> None:
        # How late a 10 ms sleep wakes: the app's event loop stalls (or CPU starvation).
        while not stop.is_set():
            began = time.perf_counter()
            await asyncio.sleep(0.01)
            lag_ms.append((time.perf_counter() - began - 0.01) * 1000)

    lag_task = asyncio.create_task(loop_lag())
    probe_task = asyncio.create_task(probes())
    began = time.perf_counter()
    acked = json.loads(await _line(slack))
    status_out, _ = await loads.communicate()
    elapsed = time.perf_counter() - began
    await asyncio.sleep(1.5)  # the last probes arrive
    stop.set()
    await probe_task
    await lag_task
    assert streams.stdin is not None
    streams.stdin.close()  # its cue to stop (communicate() closes stdin only with input)
    sse_out, _ = await streams.communicate()
    measured = json.loads(sse_out.decode().strip().splitlines()[-1])
    loaded = json.loads(status_out.decode().strip().splitlines()[-1])
    delays = [t - committed[i] for i, t in measured["arrivals"] if i in committed]
    counts = measured["counts"]
    status = await herald.service.status(dist.id)
    ack_ms: list[float] = acked["latencies"]

    print(
        f"{clients} SSE clients; {len(loaded['latencies'])} status requests at {rate:g}/s and "
        f"{len(ack_ms)} Slack commands at {ACK_RATE:g}/s in {elapsed:.1f}s, while the run "
        f"published {status.published - published_before:,} slots (clock x{speed:g}; the first "
        f"{warmup:g} s of the run not measured)"
    )
    print(
        f"events delivered: {counts[0]:,} ({counts[0] / elapsed:,.0f}/s); clients dropped: "
        f"{counts[1]}; status errors: {len(loaded['errors'])} {loaded['errors'][:3]}; "
        f"Slack errors: {len(acked['errors'])} {acked['errors'][:3]}"
    )
    results = {
        "SSE delivery": ([d * 1000 for d in delays], 1000.0),
        "API status": (loaded["latencies"], 50.0),
        "Slack ack": (ack_ms, 50.0),
    }
    print(
        f"app event loop lag (a 10 ms sleep's overshoot): p50 {quantile(lag_ms, 0.5):.1f} ms, "
        f"p99 {quantile(lag_ms, 0.99):.1f} ms, max {max(lag_ms):.1f} ms"
    )
    met = not loaded["errors"] and not acked["errors"]
    for name, (values, target) in results.items():
        if not values:
            print(f"{name:13s} no samples")
            met = False
            continue
        p50, p99 = quantile(values, 0.5), quantile(values, 0.99)
        ok = p99 <= target
        met = met and ok
        print(
            f"{name:13s} n={len(values):6d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {max(values):7.1f} ms  target p99 <= {target:g} ms: "
            f"{'met' if ok else 'NOT met'}"
        )
    await herald.stop()
    await notifier.close()
    await runner.cleanup()
    assert slack.stdin is not None
    slack.stdin.close()  # the app is stopped: Slack's side may stop serving
    await slack.wait()
    await outbox.close()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if met else 1


async def _spawn(role: str, *args: object, stdin: int | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.api",
        role,
        *map(str, args),
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
    )


async def _line(process: asyncio.subprocess.Process) -> str:
    """The next line `process` printed (a load process dying ends the bench with its cause)."""
    assert process.stdout is not None
    line = await process.stdout.readline()
    if not line:
        raise RuntimeError(f"a load process ended (exit status {await process.wait()})")
    return line.decode()


async def _read_line() -> str:
    """A line of this process's stdin, without holding its event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def _tell(process: asyncio.subprocess.Process, line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(f"{line}\n".encode())
    await process.stdin.drain()


async def slack_side() -> None:
    """Slack's side alone (run in its own process by `main`, talking over stdin/stdout):
    serves the fake Web API, then sends `/herald status` at ACK_RATE and prints each ack's
    latency (request sent -> bolt's HTTP answer) in ms, and the failures, as JSON. It
    serves until its stdin closes: the app may still be posting to response URLs."""

    fake = FakeSlack()
    api_url = await fake.start()
    print(json.dumps({"api_url": api_url, "bot_token": fake.bot_token}), flush=True)
    driver = SlackDriver((await _read_line()).strip(), SECRET, fake)
    await driver.command("help", user="U_OP")  # connect before measuring
    print("ready", flush=True)
    begin_at, seconds = map(float, (await _read_line()).split())
    await asyncio.sleep(max(0.0, begin_at - time.time()))
    latencies: list[float] = []
    errors: list[str] = []

    async def once() -> None:
        reply = await driver.command("status bench", user="U_OP")
        if reply.status != 200:
            errors.append(f"{reply.status} {reply.text[:200]!r}")
            return
        latencies.append(reply.elapsed * 1000)

    tasks = []
    began = time.perf_counter()
    for i in range(int(seconds * ACK_RATE)):
        delay = began + i / ACK_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(once()))
    await asyncio.gather(*tasks)
    print(json.dumps({"latencies": latencies, "errors": errors}), flush=True)
    await _read_line()  # EOF: the app has stopped
    await driver.close()
    await fake.stop()


async def sse_clients(url: str, token: str, clients: int) -> None:
    """The SSE side alone (run in its own process by `main`): prints "ready" once the
    clients are connected, then the arrivals and counts once its stdin closes (when the
    last probes are due, not at a fixed time: a lagging process still counts them)."""
    stop = asyncio.Event()
    arrivals: list[tuple[str, float]] = []
    counts = [0, 0, 0]  # events received, clients dropped, clients connected
    tasks = [
        asyncio.create_task(sse_client(url, token, stop, arrivals, counts)) for _ in range(clients)
    ]
    for _ in range(300):  # at most 30 s
        if counts[2] >= clients or all(task.done() for task in tasks):
            break
        await asyncio.sleep(0.1)
    print("ready", flush=True)
    await _read_line()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"arrivals": arrivals, "counts": counts}))


def cli() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--sse":
        url, token, clients = sys.argv[2:]
        asyncio.run(sse_clients(url, token, int(clients)))
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "--status":
        url, token, rate, seconds = sys.argv[2:]
        asyncio.run(status_load(url, token, float(rate), float(seconds)))
        return 0
    if sys.argv[1:] == ["--slack"]:
        asyncio.run(slack_side())
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="SSE clients")
    parser.add_argument("--rate", type=float, default=50.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to measure")
    parser.add_argument("--slots", type=int, default=10_000, help="slots in the running plan")
    parser.add_argument("--speed", type=float, default=120.0, help="clock speed-up")
    parser.add_argument("--warmup", type=float, default=5.0, help="run seconds not measured")
    args = parser.parse_args()
    return asyncio.run(
        main(args.clients, args.rate, args.seconds, args.slots, args.speed, args.warmup)
    )


if __name__ == "__main__":
    raise SystemExit(cli())
