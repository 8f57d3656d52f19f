"""Crash test through the X publisher: workers SIGKILLed mid-run against a fake X that does
not de-duplicate; reconcile-before-retry must leave 0 posts doubled and 0 lost."""

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

from engine.models import TERMINAL_SLOT_STATUSES, DistributionStatus, SlotStatus
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.fakes.x_api import FakeX
from tests.integration.crash_support import seed_sql_run, start_worker, stored_slots


async def _unique_captions(url: str, distribution_id: str, spacing: timedelta) -> None:
    """One text per slot (reconciliation matches a post on its exact text), due from a few
    seconds from now (seeding and migrating take long on a loaded machine)."""
    repository = SQLAlchemyRepository(url)
    start = datetime.now(UTC) + timedelta(seconds=3)
    try:
        async with repository.unit_of_work() as uow:
            for slot in await uow.list_slots(distribution_id):
                slot.caption = f"Our new video, part {slot.seq}"
                slot.scheduled_at = slot.due_at = start + spacing * slot.seq
                await uow.save_slot(slot)
    finally:
        await repository.close()


async def _first_post(fake: FakeX, before: int, worker: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        if fake.create_calls > before:
            return
        await asyncio.sleep(0.02)


class TestCrashThroughX:
    @pytest.mark.slow
    async def test_sigkill_mid_run_doubles_nothing_and_loses_nothing(self, tmp_path: Path) -> None:
        """Four workers killed mid-run, one finishes: each slot's post exists exactly once
        on the fake X and every post is recorded PUBLISHED with its id."""
        fake = FakeX(dedupe=False)
        served = await fake.serve()
        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        distribution, _ = await seed_sql_run(
            url,
            per_platform=6,
            per_account=8,
            platforms=("twitter",),
            start=datetime.now(UTC),
            spacing=timedelta(0),
        )
        # spread over ~24 s so that each of the four workers is killed mid-run
        await _unique_captions(url, distribution.id, timedelta(milliseconds=500))
        tokens = {}
        for i in range(6):
            account_id, user_id = f"twitter-{i:02d}", str(9000 + i)
            issued = fake.add_user(user_id, f"twitter_{i:02d}")
            tokens[account_id] = {
                "user_id": user_id,
                "access_token": issued["access_token"],
                "handle": f"twitter_{i:02d}",
            }
        token_file = tmp_path / "tokens.json"
        token_file.write_text(json.dumps(tokens))
        options = ("--lease", "1", "--x-api", served.url, "--x-tokens", str(token_file))
        ledger = tmp_path / "unused-ledger.jsonl"
        rng = random.Random(20261202)
        killed = 0
        try:
            for i in range(4):
                before = fake.create_calls
                worker = start_worker(url, ledger, f"w{i}", distribution.id, *options)
                await _first_post(fake, before, worker)
                await asyncio.sleep(rng.uniform(0.05, 0.5))
                if worker.poll() is None:
                    worker.send_signal(signal.SIGKILL)
                    killed += 1
                await asyncio.to_thread(worker.wait)
            final = start_worker(url, ledger, "w-final", distribution.id, *options)
            out, err = await asyncio.to_thread(final.communicate, timeout=120)
        finally:
            await served.close()
        assert final.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["finished"]
        assert killed >= 2

        stored, slots = await stored_slots(url, distribution.id)
        assert stored.status == DistributionStatus.COMPLETED
        assert all(s.status in TERMINAL_SLOT_STATUSES for s in slots)
        texts = Counter(t.text for t in fake.live())
        assert max(texts.values()) == 1  # 0 doubled
        published = {s.post_id: s for s in slots if s.status == SlotStatus.PUBLISHED}
        assert set(published) == {t.id for t in fake.live()}  # 0 lost, 0 unrecorded
        assert len(published) == len(slots)  # every slot posted once
