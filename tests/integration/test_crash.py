"""Crash test: Herald workers SIGKILLed at random moments during a run on SQLite."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.adapters.jsonl_ledger import read_ledger
from engine.models import TERMINAL_SLOT_STATUSES, DistributionStatus, SlotStatus
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.integration.crash_support import (
    posts_per_slot,
    seed_sql_run,
    start_worker,
    stored_slots,
)

RATES = "rate_limit=0.05,network=0.05,unknown=0.02,suspension=0.01"
TERMINAL_EVENTS = {"slot.published", "slot.failed", "slot.outcome_unknown", "slot.redistributed"}


def _has_published(ledger: Path, pid: int) -> bool:
    return ledger.exists() and any(line.get("pid") == pid for line in read_ledger(ledger))


async def _first_publish(ledger: Path, worker: subprocess.Popen[str], limit: float = 60) -> None:
    """Wait until `worker` has written a ledger line (or exited, or `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and worker.poll() is None:
        if await asyncio.to_thread(_has_published, ledger, worker.pid):
            return
        await asyncio.sleep(0.05)


class TestCrashRecovery:
    @pytest.mark.slow
    async def test_sigkill_at_random_moments_publishes_each_slot_at_most_once(
        self, tmp_path: Path
    ) -> None:
        """Four workers killed mid-run, then one more: every slot terminal, none posted twice."""
        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        ledger = tmp_path / "ledger.jsonl"
        distribution, _ = await seed_sql_run(
            url,
            per_platform=8,
            per_account=10,
            start=datetime.now(UTC) + timedelta(seconds=1),
            spacing=timedelta(milliseconds=40),
        )
        rng = random.Random(20261122)
        options = ("--rates", RATES, "--lease", "1", "--retry-delay", "1s")
        killed = 0
        for i in range(4):
            worker = start_worker(url, ledger, f"w{i}", distribution.id, *options, "--seed", str(i))
            # Kill at a random moment after the worker has started publishing (its start-up
            # time varies with the machine's load; a kill before it is no crash mid-run).
            await _first_publish(ledger, worker)
            await asyncio.sleep(rng.uniform(0.1, 0.8))
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                killed += 1
            await asyncio.to_thread(worker.wait)
        final = start_worker(url, ledger, "w-final", distribution.id, *options, "--seed", "9")
        out, err = await asyncio.to_thread(final.communicate, timeout=120)
        assert final.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["finished"]
        # A worker that finished the run before its kill was not killed; on a loaded machine
        # one may, but the run must still have been interrupted more than once.
        assert killed >= 2

        stored_distribution, slots = await stored_slots(url, distribution.id)
        assert stored_distribution.status == DistributionStatus.COMPLETED
        assert all(s.status in TERMINAL_SLOT_STATUSES for s in slots)
        posts = posts_per_slot(ledger)
        assert posts and max(posts.values()) == 1
        assert set(posts) == {s.id for s in slots if s.status == SlotStatus.PUBLISHED}
        # the killed workers did publish: the run really was interrupted mid-way
        assert len({line["pid"] for line in read_ledger(ledger)}) >= killed

        repository = SQLAlchemyRepository(url)
        try:
            async with repository.unit_of_work() as uow:
                events = await uow.list_events(
                    distribution_id=distribution.id, kind_prefix="slot.", limit=100_000
                )
        finally:
            await repository.close()
        finals = Counter(e.slot_id for e in events if e.kind in TERMINAL_EVENTS)
        assert max(finals.values()) == 1
