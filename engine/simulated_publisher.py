"""`SimulatedPublisher`: the default publisher, deterministic from a seed, posting nowhere.

Each call's outcome depends only on (seed, idempotency key, how many times that key was
tried), so runs are reproducible. Configurable rates of rate-limit, suspension, network,
unknown and outcome-unknown errors let demos and tests exercise every fallback. A key that
was posted once returns the same receipt without posting again. With a `Ledger` (e.g.
`engine.adapters.jsonl_ledger.JsonlLedger`), every call is recorded there.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Protocol

from engine.clock import SystemClock
from engine.errors import (
    AccountSuspended,
    InvalidInput,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.ports import Clock, PublishReceipt, PublishRequest


@dataclass(frozen=True, slots=True)
class FailureRates:
    """Probabilities in [0, 1] of each failure per publish call; the rest succeed."""

    rate_limit: float = 0.0
    suspension: float = 0.0
    network: float = 0.0
    unknown: float = 0.0
    outcome_unknown: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"failure rate {f.name}={value} is not between 0 and 1")
        if self.total > 1.0:
            raise InvalidInput(f"failure rates add up to {self.total:g}, more than 1")

    @property
    def total(self) -> float:
        return sum(getattr(self, f.name) for f in fields(self))

    @classmethod
    def parse(cls, text: str) -> FailureRates:
        """Parse `rate_limit=0.02,network=0.01` (the HERALD_SIMULATED_FAILURE_RATES form)."""
        values: dict[str, float] = {}
        known = {f.name for f in fields(cls)}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, raw = part.partition("=")
            name = name.strip().lower()
            if not sep or name not in known:
                raise InvalidInput(
                    f"simulated failure rate {part!r}: write name=probability with name one of "
                    f"{', '.join(sorted(known))}"
                )
            try:
                values[name] = float(raw)
            except ValueError:
                raise InvalidInput(
                    f"simulated failure rate {part!r}: {raw!r} is not a number"
                ) from None
        return cls(**values)


DEMO_FAILURE_RATES = FailureRates(rate_limit=0.03, suspension=0.02, network=0.04, unknown=0.01)


class Ledger(Protocol):
    """Where the simulated publisher records every call (and finds what it posted before)."""

    def records(self) -> Iterable[Mapping[str, object]]:
        """Every record appended so far, oldest first. Raises OSError when unreadable."""
        ...

    def append(self, record: Mapping[str, object]) -> None:
        """Record one call durably before returning. Raises OSError."""
        ...

    def close(self) -> None:
        """Release the underlying file or connection."""
        ...


class SimulatedPublisher:
    """A deterministic fake of the operator's posting service (see module docstring)."""

    supports_idempotency = True

    def __init__(
        self,
        *,
        seed: int = 0,
        rates: FailureRates | None = None,
        ledger: Ledger | None = None,
        clock: Clock | None = None,
        latency_seconds: float = 0.0,
    ) -> None:
        self.seed = seed
        self.rates = rates or FailureRates()
        self._clock = clock or SystemClock()
        self._latency = latency_seconds
        self._posted: dict[str, PublishReceipt] = {}
        self._tries: dict[str, int] = {}
        self._suspended: set[str] = set()
        self.calls = 0
        self.posts = 0
        self._ledger = ledger
        if ledger is not None:
            self._load(ledger)

    def _load(self, ledger: Ledger) -> None:
        # A restarted process must remember what it already posted, or a re-queued slot
        # would be posted twice: rebuild the receipts from the ledger.
        for record in ledger.records():
            key, post_id, url = (
                record.get("idempotency_key"),
                record.get("post_id"),
                record.get("url"),
            )
            if record.get("posted") and key:
                self._posted[str(key)] = PublishReceipt(
                    str(post_id), str(url) if url is not None else None
                )

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Post (pretend), or raise the failure the seed and rates choose for this call."""
        if self._latency:
            await asyncio.sleep(self._latency)
        self.calls += 1
        key = request.idempotency_key
        previous = self._posted.get(key)
        if previous is not None:
            self._write(request, "duplicate", posted=False, receipt=previous)
            return previous
        tries = self._tries.get(key, 0)
        self._tries[key] = tries + 1
        if request.account.id in self._suspended:
            self._write(request, "suspended", posted=False)
            raise AccountSuspended(f"{request.account.handle} is suspended on {request.platform}")
        roll = random.Random(f"{self.seed}:{key}:{tries}").random()
        r = self.rates
        edges = (
            ("rate_limit", r.rate_limit),
            ("suspended", r.suspension),
            ("network", r.network),
            ("unknown", r.unknown),
            ("outcome_unknown", r.outcome_unknown),
        )
        acc = 0.0
        for outcome, rate in edges:
            acc += rate
            if roll < acc:
                return self._fail(request, outcome, roll)
        return self._post(request, "published")

    def _post(self, request: PublishRequest, outcome: str) -> PublishReceipt:
        digest = hashlib.sha1(request.idempotency_key.encode()).hexdigest()[:12]
        post_id = f"sim-{digest}"
        receipt = PublishReceipt(
            post_id, f"https://{request.platform}.example/{request.account.handle}/{post_id}"
        )
        self._posted[request.idempotency_key] = receipt
        self.posts += 1
        self._write(request, outcome, posted=True, receipt=receipt)
        return receipt

    def _fail(self, request: PublishRequest, outcome: str, roll: float) -> PublishReceipt:
        handle = request.account.handle
        if outcome == "rate_limit":
            self._write(request, outcome, posted=False)
            raise RateLimited(f"{request.platform} rate limit for {handle}", retry_after=None)
        if outcome == "suspended":
            self._suspended.add(request.account.id)
            self._write(request, outcome, posted=False)
            raise AccountSuspended(f"{handle} is suspended on {request.platform}")
        if outcome == "network":
            self._write(request, outcome, posted=False)
            raise NetworkError(f"connection to {request.platform} reset")
        if outcome == "unknown":
            self._write(request, outcome, posted=False)
            raise UnknownPublishError(f"{request.platform} rejected the post (simulated)")
        # outcome unknown: half the time the post did go out, like a real timeout
        if random.Random(f"{self.seed}:{request.idempotency_key}:went").random() < 0.5:
            self._post(request, "outcome_unknown")
        else:
            self._write(request, "outcome_unknown", posted=False)
        raise OutcomeUnknown(f"{request.platform} timed out after the request was sent")

    def _write(
        self,
        request: PublishRequest,
        outcome: str,
        *,
        posted: bool,
        receipt: PublishReceipt | None = None,
    ) -> None:
        if self._ledger is None:
            return
        record: dict[str, object] = {
            "slot_id": request.slot_id,
            "distribution_id": request.distribution_id,
            "account_id": request.account.id,
            "platform": request.platform,
            "caption": request.caption,
            "idempotency_key": request.idempotency_key,
            "time": self._clock.now().isoformat(),
            "outcome": outcome,
            "posted": posted,
            "post_id": receipt.post_id if receipt else None,
            "url": receipt.url if receipt else None,
        }
        self._ledger.append(record)

    def close(self) -> None:
        """Close the ledger."""
        if self._ledger is not None:
            self._ledger.close()
