"""Keeps a dispatcher's claims alive while it publishes them (a lease heartbeat).

A claim's lease tells other replicas when its worker is presumed dead. A 1 GB upload plus
processing can outlast any fixed lease, and a replica that then re-claimed the slot would
post it twice. So while a batch is in flight its leases are renewed every third of a lease:
a live worker's lease never runs out, a dead worker's does within one lease. A renewal
that fails (storage down) is logged and tried again at the next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from engine.errors import StorageError
from engine.ports import Clock, Repository

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews `worker_id`'s claims on a batch of slots while `held(...)` is open."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        worker_id: str,
        lease: timedelta,
        *,
        every: timedelta | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._worker_id = worker_id
        self._lease = lease
        self._every = every if every is not None else lease / 3
        self.renewals = 0

    @contextlib.asynccontextmanager
    async def held(self, slot_ids: Sequence[str]) -> AsyncIterator[None]:
        """Renew the leases of `slot_ids` until the block ends (they are recorded by then:
        renewals only touch slots still CLAIMED by this worker)."""
        beat = asyncio.create_task(self._beat(list(slot_ids)))
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _beat(self, slot_ids: list[str]) -> None:
        # Wall seconds between beats: the lease is clock time, and a scaled clock (the
        # demo) runs `speed` times faster than the wall.
        pause = max(0.005, self._every.total_seconds() / max(self._clock.speed, 1e-9))
        pending = set(slot_ids)
        while pending:
            await asyncio.sleep(pause)
            try:
                renewed = await self._repository.renew_claims(
                    sorted(pending),
                    worker_id=self._worker_id,
                    now=self._clock.now(),
                    lease=self._lease,
                )
            except StorageError as exc:
                log.warning("could not renew %d leases (%s); retrying", len(pending), exc)
                continue
            self.renewals += 1
            # The others were recorded meanwhile (or, after a storage outage longer than a
            # lease, taken over): nothing left to keep for them.
            pending &= renewed
