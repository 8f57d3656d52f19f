"""Helpers for the multi-process tests: seed a SQL database, start workers, read results."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from engine.adapters.jsonl_ledger import read_ledger
from engine.models import Distribution, Slot
from storage.migrate import upgrade
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.engine.execution_support import PLATFORMS, make_accounts, seed_run

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "integration" / "herald_worker.py"


async def seed_sql_run(
    url: str,
    *,
    per_platform: int,
    per_account: int,
    start: datetime,
    spacing: timedelta,
    platforms: Sequence[str] = PLATFORMS,
) -> tuple[Distribution, list[Slot]]:
    """Migrate `url` and store one EXECUTING distribution: per_account slots for each of
    per_platform accounts on each platform."""
    await upgrade(url)
    repository = SQLAlchemyRepository(url)
    try:
        return await seed_run(
            repository,
            make_accounts(per_platform, platforms),
            slots_per_account=per_account,
            start=start,
            spacing=spacing,
        )
    finally:
        await repository.close()


async def stored_slots(url: str, distribution_id: str) -> tuple[Distribution, list[Slot]]:
    repository = SQLAlchemyRepository(url)
    try:
        async with repository.unit_of_work() as uow:
            return (
                await uow.get_distribution(distribution_id),
                await uow.list_slots(distribution_id),
            )
    finally:
        await repository.close()


def start_worker(
    url: str, ledger: Path, worker_id: str, distribution_id: str, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(ledger), worker_id, distribution_id, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def posts_per_slot(ledger: Path) -> Counter[str]:
    """How many real posts (not de-duplicated calls) the ledger shows per slot."""
    return Counter(str(line["slot_id"]) for line in read_ledger(ledger) if line.get("posted"))
