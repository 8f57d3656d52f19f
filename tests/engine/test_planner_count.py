"""Window-mode count maximality: the chain waits, spares replace accounts that cannot be
placed, and the planned count equals an exact (HiGHS) optimum on small instances."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import highspy
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.models import Account
from engine.planner import plan_distribution
from engine.request import DistributionRequest, parse_request
from tests.engine.window_rules import window_violations

START = datetime(2026, 11, 23, 14, tzinfo=UTC)


def tiktok(n: int, **fields: Any) -> Account:
    values: dict[str, Any] = {
        "id": f"t{n}",
        "platform": "tiktok",
        "handle": f"@t{n}",
        "timezone": "UTC",
    }
    values.update(fields)
    return Account(**values)


def request(**overrides: Any) -> DistributionRequest:
    data: dict[str, Any] = {
        "content": {"id": "c", "caption": "Hi", "hashtags": ["a", "b", "c", "d", "e"]},
        "platforms": ["tiktok"],
        "start": START.isoformat().replace("+00:00", "Z"),
        "spread_hours": 1,
        "min_gap_minutes": 2,
        "max_gap_minutes": 15,
    }
    data.update(overrides)
    return parse_request(data)


def test_chain_waits_for_a_rate_limited_account() -> None:
    """Two accounts, one rate-limited until 14:50: the free one waits so both post."""
    accounts = [tiktok(0), tiktok(1, rate_limited_until=START + timedelta(minutes=50))]
    result = plan_distribution(request(), accounts)
    assert len(result.slots) == 2
    assert window_violations(request(), accounts, result) == []
    assert result.warnings == []


def test_spare_account_replaces_one_that_cannot_post() -> None:
    """With account_count 2, a spare takes the turn of an account that cannot be placed."""
    accounts = [
        tiktok(0),
        tiktok(1, rate_limited_until=START + timedelta(minutes=50)),
        tiktok(2),
    ]
    req = request(account_count=2)
    result = plan_distribution(req, accounts)
    assert len(result.slots) == 2
    assert window_violations(req, accounts, result) == []
    assert [u.reason.split(":")[0] for u in result.unscheduled] == ["not selected"]


def test_shortfall_names_the_earliest_time() -> None:
    """Of two accounts free only at 14:07, one fits an 8-minute chain; the other is told why."""
    late = START + timedelta(minutes=7)
    accounts = [tiktok(i) for i in range(3)] + [
        tiktok(8, rate_limited_until=late),
        tiktok(9, rate_limited_until=late),
    ]
    req = request(spread_hours="8m", min_gap_minutes=2, max_gap_minutes=3)
    result = plan_distribution(req, accounts)
    assert len(result.slots) == 4
    assert window_violations(req, accounts, result) == []
    (left,) = result.unscheduled
    assert left.account_id == "t9"
    assert left.reason.startswith("no room: may post only from 2026-11-23T14:07Z")
    assert "earliest times" in result.warnings[0]


def exact_count(req: DistributionRequest, accounts: list[Account]) -> int:
    """The most posts any valid plan has, by a mixed-integer model on a 1-minute grid."""
    start = req.start
    horizon = int(req.spread_hours * 60)
    min_gap = math.ceil(req.min_gap_minutes)
    max_gap = math.floor(req.max_gap_minutes)
    earliest = []
    for a in accounts:
        e = start if a.rate_limited_until is None else a.rate_limited_until + timedelta(seconds=1)
        minute = max(0, math.ceil((e - start).total_seconds() / 60))
        if minute <= horizon:
            earliest.append(minute)
    if not earliest:
        return 0
    n_t = horizon + 1
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    # Columns: y_t, last_t, then x_(a,t) for t >= e_a.
    for _ in range(2 * n_t):
        h.addVar(0, 1)
    x: dict[tuple[int, int], int] = {}
    for a, e in enumerate(earliest):
        for t in range(e, n_t):
            x[(a, t)] = h.getNumCol()
            h.addVar(0, 1)
    cols = np.arange(h.getNumCol(), dtype=np.int32)
    h.changeColsIntegrality(len(cols), cols, np.full(len(cols), highspy.HighsVarType.kInteger))
    h.changeColsCost(n_t, np.arange(n_t, dtype=np.int32), np.ones(n_t))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def row(lo: float, hi: float, idx: list[int], vals: list[float]) -> None:
        h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.array(vals))

    row(-inf, 1, list(range(n_t, 2 * n_t)), [1.0] * n_t)
    if req.account_count is not None:
        row(-inf, req.account_count, list(range(n_t)), [1.0] * n_t)
    for t in range(n_t):
        users = [c for (a, tt), c in x.items() if tt == t]
        row(0, 0, [t, *users], [1.0] + [-1.0] * len(users))  # y_t = posts at t
        window = list(range(t, min(n_t, t + max(1, min_gap))))
        row(-inf, 1, window, [1.0] * len(window))
        row(-inf, 0, [n_t + t, t], [1.0, -1.0])
        nxt = list(range(t + 1, min(n_t, t + max_gap + 1)))
        row(-inf, 0, [t, *nxt, n_t + t], [1.0] + [-1.0] * len(nxt) + [-1.0])
    for a in range(len(earliest)):
        mine = [c for (b, _), c in x.items() if b == a]
        row(-inf, 1, mine, [1.0] * len(mine))
    h.run()
    return round(h.getInfo().objective_function_value)


@st.composite
def instances(draw: st.DrawFn) -> tuple[DistributionRequest, list[Account]]:
    n = draw(st.integers(1, 6))
    accounts = []
    for i in range(n):
        limited = draw(st.one_of(st.none(), st.integers(1, 70)))
        accounts.append(
            tiktok(
                i,
                rate_limited_until=None
                if limited is None
                else START + timedelta(minutes=limited, seconds=-1),
            )
        )
    # min_gap >= the 5-minute duplicate gap, so caption spacing never binds here.
    min_gap = draw(st.integers(5, 12))
    req = request(
        spread_hours=draw(st.sampled_from([0.25, 0.5, 1.0])),
        min_gap_minutes=min_gap,
        max_gap_minutes=min_gap + draw(st.integers(0, 10)),
        account_count=draw(st.one_of(st.none(), st.integers(1, 5))),
    )
    return req, accounts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_count_is_the_exact_maximum(instance: tuple[DistributionRequest, list[Account]]) -> None:
    """On small instances the planner plans exactly as many posts as the best valid plan."""
    req, accounts = instance
    result = plan_distribution(req, accounts)
    assert window_violations(req, accounts, result) == []
    assert len(result.slots) == exact_count(req, accounts)


def test_calendar_accounts_without_posts_do_not_count() -> None:
    """Velocity 0.3 over 2 days: accounts given no post are replaced until 5 accounts post."""
    accounts = [tiktok(i) for i in range(40)]
    req = request(mode="calendar", days=2, velocity=0.3, account_count=5)
    result = plan_distribution(req, accounts)
    assert len({s.account_id for s in result.slots}) == 5
    reasons = [u.reason for u in result.unscheduled]
    assert not any("every peak hour was taken" in r for r in reasons)
    assert any(r.startswith("velocity 0.3 (posts per account per day)") for r in reasons)
    assert sum(r.startswith("not selected") for r in reasons) >= 20


def test_duplicate_gap_floor_holds() -> None:
    """A duplicate gap under 5 min is refused, naming the rule; the operator floor lowers it."""
    import pytest

    from engine.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        plan_distribution(request(duplicate_gap_minutes=0), [tiktok(0)])
    assert caught.value.field == "duplicate_gap_minutes"
    assert "5-minute floor" in str(caught.value)
    result = plan_distribution(
        request(duplicate_gap_minutes=0), [tiktok(0)], duplicate_floor_minutes=0
    )
    assert len(result.slots) == 1


def test_language_and_trend_warnings() -> None:
    """A language nobody speaks, one without a translation and trends without data are warned."""
    accounts = [tiktok(0, language="es"), tiktok(1, language="en")]
    req = request(languages=["en", "es", "fr"], trend_weighted=True)
    warnings = plan_distribution(req, accounts).warnings
    assert "language 'fr' was requested but no scheduled account speaks it" in warnings
    assert any(w.startswith("language 'es' has no translation: its 1 slot(s)") for w in warnings)
    assert any(w.startswith("trend_weighted is set but there is no trend data") for w in warnings)
