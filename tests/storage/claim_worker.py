"""A claiming process for the multi-process claim tests: prints every slot id it claimed.

Usage: python tests/storage/claim_worker.py URL WORKER_ID BATCH NOW_ISO
It prints `ready` once connected and waits for a line on stdin, so the test can start
every worker claiming at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.errors import StorageError
from storage.sqlalchemy_repository import SQLAlchemyRepository


async def main(url: str, worker_id: str, batch: int, now: datetime) -> None:
    repo = SQLAlchemyRepository(url)
    claimed: list[str] = []
    errors = 0
    try:
        await repo.next_due_at()  # connect before the start line
        print("ready", flush=True)
        sys.stdin.readline()
        while True:
            try:
                got = await repo.claim_due_slots(
                    now=now, limit=batch, worker_id=worker_id, lease=timedelta(minutes=5)
                )
            except StorageError as exc:
                if not exc.temporary:
                    raise
                errors += 1
                continue
            if not got:
                break
            claimed.extend(s.id for s in got)
    finally:
        await repo.close()
    print(json.dumps({"worker": worker_id, "claimed": claimed, "errors": errors}))


if __name__ == "__main__":
    url, worker, batch, now = sys.argv[1:5]
    asyncio.run(main(url, worker, int(batch), datetime.fromisoformat(now)))
