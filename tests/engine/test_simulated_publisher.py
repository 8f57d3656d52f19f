"""SimulatedPublisher: determinism, failure rates, idempotency and the shared ledger."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engine.adapters.jsonl_ledger import JsonlLedger, read_ledger
from engine.errors import (
    AccountSuspended,
    InvalidInput,
    NetworkError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
)
from engine.ports import PublishRequest
from engine.request import Content
from engine.simulated_publisher import FailureRates, SimulatedPublisher
from tests.engine.execution_support import make_accounts

CONTENT = Content(id="c1", caption="hello")


def _request(i: int, account_index: int = 0) -> PublishRequest:
    account = make_accounts(4, ["twitter"])[account_index]
    return PublishRequest(
        slot_id=f"d-x.{i}",
        distribution_id="d-x",
        account=account,
        platform="twitter",
        language="en",
        caption="hello",
        hashtags=(),
        content=CONTENT,
        content_type="post",
        idempotency_key=f"herald:d-x.{i}",
    )


async def _outcomes(publisher: SimulatedPublisher, n: int) -> list[str]:
    out = []
    for i in range(n):
        try:
            await publisher.publish(_request(i, i % 4))
            out.append("ok")
        except PublishError as exc:
            out.append(exc.kind)
    return out


class TestFailureRates:
    def test_parse_and_validate(self) -> None:
        """The env form parses; unknown names, bad numbers and sums above 1 are refused."""
        assert FailureRates.parse("rate_limit=0.1, network=0.2").network == 0.2
        with pytest.raises(InvalidInput, match="name=probability"):
            FailureRates.parse("explode=0.1")
        with pytest.raises(InvalidInput, match="not a number"):
            FailureRates.parse("network=lots")
        with pytest.raises(InvalidInput, match="more than 1"):
            FailureRates(network=0.7, unknown=0.7)


class TestSimulatedPublisher:
    async def test_same_seed_same_outcomes(self) -> None:
        """Two publishers with the same seed and rates give the same sequence."""
        rates = FailureRates(rate_limit=0.2, network=0.2, unknown=0.1)
        first = await _outcomes(SimulatedPublisher(seed=3, rates=rates), 60)
        second = await _outcomes(SimulatedPublisher(seed=3, rates=rates), 60)
        other = await _outcomes(SimulatedPublisher(seed=4, rates=rates), 60)
        assert first == second and first != other
        assert {"ok", "rate_limit", "network", "unknown"} <= set(first)

    async def test_each_failure_kind_raises_its_error(self) -> None:
        """A rate of 1 for a kind always raises that kind's engine error."""
        cases = [
            (FailureRates(rate_limit=1), RateLimited),
            (FailureRates(suspension=1), AccountSuspended),
            (FailureRates(network=1), NetworkError),
            (FailureRates(outcome_unknown=1), OutcomeUnknown),
        ]
        for rates, error in cases:
            with pytest.raises(error):
                await SimulatedPublisher(rates=rates).publish(_request(0))

    async def test_suspended_account_stays_suspended(self) -> None:
        """After a suspension every later publish to that account is refused."""
        publisher = SimulatedPublisher(rates=FailureRates(suspension=1))
        with pytest.raises(AccountSuspended):
            await publisher.publish(_request(0))
        publisher.rates = FailureRates()
        with pytest.raises(AccountSuspended):
            await publisher.publish(_request(1))

    async def test_same_key_posts_once(self) -> None:
        """Publishing one idempotency key twice returns the same receipt and posts once."""
        publisher = SimulatedPublisher()
        first = await publisher.publish(_request(0))
        second = await publisher.publish(_request(0))
        assert first == second and publisher.posts == 1 and publisher.calls == 2

    async def test_ledger_lines_and_restart_memory(self, tmp_path: Path) -> None:
        """Every call is one JSON line; a new publisher on the same ledger knows past posts."""
        ledger = tmp_path / "ledger.jsonl"
        publisher = SimulatedPublisher(ledger=JsonlLedger(ledger))
        receipt = await publisher.publish(_request(0))
        publisher.close()
        restarted = SimulatedPublisher(ledger=JsonlLedger(ledger))
        assert await restarted.publish(_request(0)) == receipt
        restarted.close()
        lines = read_ledger(ledger)
        assert [line["outcome"] for line in lines] == ["published", "duplicate"]
        assert sum(bool(line["posted"]) for line in lines) == 1
        assert {"slot_id", "account_id", "platform", "caption", "idempotency_key", "time"} <= set(
            lines[0]
        )

    async def test_concurrent_writers_keep_lines_whole(self, tmp_path: Path) -> None:
        """Three publishers appending to one ledger concurrently produce only whole lines."""
        ledger = tmp_path / "ledger.jsonl"
        publishers = [SimulatedPublisher(seed=i, ledger=JsonlLedger(ledger)) for i in range(3)]
        await asyncio.gather(
            *(
                p.publish(_request(i * 1000 + j))
                for i, p in enumerate(publishers)
                for j in range(200)
            )
        )
        raw = ledger.read_text().splitlines()
        assert len(raw) == 600 and all(json.loads(line)["posted"] for line in raw)
