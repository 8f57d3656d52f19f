"""A Herald worker process for the crash, scale-out and bench runs.

Usage: python tests/integration/herald_worker.py URL LEDGER WORKER_ID DISTRIBUTION_ID [options]
It builds Herald through the real composition root (SQL repository, simulated publisher
writing LEDGER, dispatcher, APScheduler runner), runs until the distribution is finished,
then prints one JSON line with what this process did. Killing it at any moment is allowed.
With `--x-api URL --x-tokens FILE` it publishes through XPublisher to that (fake) X API,
FILE mapping account id -> {"user_id", "access_token", "handle"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.bootstrap import build_herald
from bot.settings import Settings
from engine.adapters.x_publisher import XPublisher
from engine.credentials import Credentials
from engine.models import DistributionStatus

FINISHED = {DistributionStatus.COMPLETED, DistributionStatus.CANCELLED, DistributionStatus.HALTED}


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=args.url,
        publisher="simulated",
        simulated_ledger=Path(args.ledger),
        simulated_seed=args.seed,
        simulated_failure_rates=args.rates,
        worker_id=args.worker_id,
        claim_lease_seconds=args.lease,
        dispatch_interval_seconds=args.interval,
        dispatch_batch_size=args.batch,
        dispatch_concurrency=args.concurrency,
        retry_rate_limit_delay=args.retry_delay,
        retry_network_delay=args.retry_delay,
        monitor_auto_pause=False,
    )
    x_publisher = _x_publisher(args) if args.x_api else None
    herald = build_herald(settings, publisher=x_publisher)
    started = time.monotonic()
    await herald.start()
    try:
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            async with herald.repository.unit_of_work() as uow:
                status = (await uow.get_distribution(args.distribution_id)).status
            if status in FINISHED:
                break
            await asyncio.sleep(0.1)
    finally:
        await herald.stop()
        if x_publisher is not None:
            await x_publisher.close()
    print(
        json.dumps(
            {
                "worker": args.worker_id,
                "ticks": herald.runner.ticks,
                "seconds": round(time.monotonic() - started, 3),
                "finished": status in FINISHED,
            }
        ),
        flush=True,
    )


class _FileTokens:
    """TokenRefresher over a JSON file of ready tokens (the fake X's long-lived ones)."""

    def __init__(self, path: str) -> None:
        self._tokens = json.loads(Path(path).read_text())

    async def credentials(
        self, account_id: str, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> Credentials:
        entry = self._tokens[account_id]
        return Credentials(
            account_id, "x", entry["user_id"], entry["access_token"], handle=entry["handle"]
        )


def _x_publisher(args: argparse.Namespace) -> XPublisher:
    return XPublisher(
        _FileTokens(args.x_tokens),
        base_url=args.x_api,
        timeout_seconds=5.0,
        visibility_delay=timedelta(0),
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("ledger")
    parser.add_argument("worker_id")
    parser.add_argument("distribution_id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rates", default="")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--retry-delay", default="1s")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--x-api", default="")
    parser.add_argument("--x-tokens", default="")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
