"""Seed 001's fallback rules as pure decisions, and the choice of a replacement account."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from engine.errors import (
    AccountSuspended,
    ContentRejected,
    DuplicateContent,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.fallback import (
    FallbackAction,
    RedistributionPolicy,
    account_available,
    choose_replacement,
    decide,
    redistributed_slot,
)
from engine.models import AccountState, RiskLevel, Slot, SlotStatus
from engine.platforms import DEFAULT_PLATFORMS
from tests.engine.execution_support import T0, make_accounts


def _slot(attempts: int = 1, **changes: object) -> Slot:
    slot = Slot(
        id="d-x.0",
        distribution_id="d-x",
        seq=0,
        account_id="tiktok-00",
        platform="tiktok",
        language="en",
        timezone="UTC",
        scheduled_at=T0,
        due_at=T0,
        caption="caption " * 60,
        hashtags=tuple(f"t{i}" for i in range(10)),
        risk_score=0.1,
        risk_level=RiskLevel.LOW,
        content_type="video",
        status=SlotStatus.CLAIMED,
        attempts=attempts,
    )
    return replace(slot, **changes)  # type: ignore[arg-type]


class TestRetryPolicy:
    def test_is_frozen_and_validated(self) -> None:
        """A policy cannot be changed in place, and nonsense values are refused."""
        policy = RedistributionPolicy()
        with pytest.raises(AttributeError):
            policy.max_attempts = 9  # type: ignore[misc]
        with pytest.raises(ValueError, match="max_attempts"):
            RedistributionPolicy(max_attempts=0)


class TestDecide:
    def test_rate_limit_defaults_to_two_hours_and_limits_the_account(self) -> None:
        """Rate limit: retry in 2 h, account RATE_LIMITED until then."""
        d = decide(_slot(), RateLimited("429"), T0, RedistributionPolicy())
        assert d.action == FallbackAction.RETRY and d.retry_at == T0 + timedelta(hours=2)
        assert d.account_change and d.account_change.state == AccountState.RATE_LIMITED
        assert d.account_change.until == d.retry_at

    def test_retry_after_is_capped(self) -> None:
        """A huge Retry-After is capped by max_retry_after."""
        policy = RedistributionPolicy(max_retry_after=timedelta(hours=3))
        d = decide(_slot(), RateLimited("429", retry_after=timedelta(days=9)), T0, policy)
        assert d.retry_at == T0 + timedelta(hours=3)

    def test_network_retries_after_thirty_minutes_until_the_bound(self) -> None:
        """Network: retry in 30 min; at max_attempts it FAILS."""
        assert decide(
            _slot(1), NetworkError("x"), T0, RedistributionPolicy()
        ).retry_at == T0 + timedelta(minutes=30)
        final = decide(_slot(3), NetworkError("x"), T0, RedistributionPolicy(max_attempts=3))
        assert final.action == FallbackAction.FAIL and "3 attempts" in final.reason

    def test_suspension_redistributes_a_bounded_number_of_times(self) -> None:
        """Suspended: redistribute, but not beyond max_redistributions hops."""
        assert (
            decide(_slot(), AccountSuspended("x"), T0, RedistributionPolicy()).action
            == "redistribute"
        )
        hopped = _slot(id="d-x.0.r2", redistributed_from="d-x.0.r1")
        d = decide(hopped, AccountSuspended("x"), T0, RedistributionPolicy(max_redistributions=2))
        assert d.action == FallbackAction.FAIL
        assert d.account_change and d.account_change.state == AccountState.SUSPENDED

    def test_unknown_fails_and_outcome_unknown_is_not_retried(self) -> None:
        """Unknown -> FAIL; OutcomeUnknown -> OUTCOME_UNKNOWN whatever the attempts."""
        assert (
            decide(_slot(), UnknownPublishError("x"), T0, RedistributionPolicy()).action == "fail"
        )
        assert (
            decide(_slot(), OutcomeUnknown("x"), T0, RedistributionPolicy()).action
            == "outcome_unknown"
        )

    def test_duplicate_and_rejected_content_are_never_retried(self) -> None:
        """Duplicate and rejected content fail at the first attempt, saying why."""
        duplicate = DuplicateContent("dup", existing_post_id="urn:li:share:1")
        d = decide(_slot(attempts=1), duplicate, T0, RedistributionPolicy(max_attempts=5))
        assert (d.action, d.kind, d.account_change) == (FallbackAction.FAIL, "duplicate", None)
        assert "not retried" in d.reason and "urn:li:share:1" in d.reason
        r = decide(
            _slot(attempts=1), ContentRejected("too long"), T0, RedistributionPolicy(max_attempts=5)
        )
        assert (r.action, r.kind) == (FallbackAction.FAIL, "content_rejected")
        assert "content rejected" in r.reason and "too long" in r.reason


class TestChooseReplacement:
    def test_prefers_same_platform_then_health(self) -> None:
        """The healthiest available account on the same platform wins."""
        accounts = make_accounts(3, ["tiktok", "instagram"])
        chosen = choose_replacement(
            _slot(),
            accounts,
            [_slot()],
            platforms=["tiktok", "instagram"],
            table=DEFAULT_PLATFORMS,
            now=T0,
        )
        assert chosen is not None and chosen.id == "tiktok-01"

    def test_skips_unavailable_and_other_languages_and_falls_back_to_other_platform(self) -> None:
        """Suspended, rate-limited and other-language accounts are skipped; instagram takes it."""
        accounts = make_accounts(3, ["tiktok", "instagram"])
        accounts[1] = replace(accounts[1], state=AccountState.SUSPENDED)
        accounts[2] = replace(
            accounts[2], state=AccountState.RATE_LIMITED, rate_limited_until=T0 + timedelta(hours=1)
        )
        accounts[3] = replace(accounts[3], language="es")
        chosen = choose_replacement(
            _slot(),
            accounts,
            [_slot()],
            platforms=["tiktok", "instagram"],
            table=DEFAULT_PLATFORMS,
            now=T0,
            source_type="video",
        )
        assert chosen is not None and chosen.id == "instagram-01"

    def test_honours_requested_platforms_and_content_types(self) -> None:
        """Twitter does not take videos and youtube was not requested: nobody is chosen."""
        accounts = make_accounts(2, ["twitter", "youtube"])
        chosen = choose_replacement(
            _slot(),
            accounts,
            [_slot()],
            platforms=["tiktok", "twitter"],
            table=DEFAULT_PLATFORMS,
            now=T0,
        )
        assert chosen is None

    def test_replacement_slot_fits_the_new_platforms_limits(self) -> None:
        """The moved slot is due now, keyed afresh, with caption and hashtags cut to limits."""
        account = make_accounts(1, ["instagram"])[0]
        moved = redistributed_slot(
            _slot(), account, table=DEFAULT_PLATFORMS, now=T0, source_type="video"
        )
        rules = DEFAULT_PLATFORMS["instagram"]
        assert moved.id == "d-x.0.r1" and moved.redistributed_from == "d-x.0"
        assert moved.status == SlotStatus.QUEUED and moved.attempts == 0
        assert len(moved.caption) <= rules.caption_limit
        assert moved.idempotency_key == "herald:d-x.0.r1"
        assert moved.content_type == "reel"


class TestAccountAvailable:
    def test_rate_limit_expires(self) -> None:
        """A RATE_LIMITED account is available again once its limit has passed."""
        account = replace(
            make_accounts(1, ["twitter"])[0],
            state=AccountState.RATE_LIMITED,
            rate_limited_until=T0,
        )
        assert not account_available(account, T0 - timedelta(seconds=1))
        assert account_available(account, T0)
