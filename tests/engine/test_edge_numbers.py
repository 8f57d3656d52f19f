"""Numbers at the edges: every field of the request and the accounts CSV is bounded."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.accounts_csv import accounts_to_csv, read_accounts_csv
from engine.errors import InvalidInput, InvalidRequest
from engine.models import Account
from engine.planner import plan_distribution
from engine.request import parse_request, request_from_fields
from tests.engine.execution_support import make_accounts

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "name": "launch",
    "content": {"id": "c1", "caption": "Our new video", "hashtags": ["new"]},
    "platforms": ["tiktok", "twitter"],
    "start": "2026-12-01T09:00Z",
}
NUMERIC = (
    "spread_hours",
    "min_gap_minutes",
    "max_gap_minutes",
    "duplicate_gap_minutes",
    "account_count",
    "days",
    "velocity",
    "seed",
)
EXTREMES: list[Any] = [
    math.inf,
    -math.inf,
    math.nan,
    1e300,
    -1e300,
    2**63,
    2**64 + 1,
    10**400,
    -1,
    0,
    True,
    False,
    "inf",
    "nan",
    "Infinity",
    "1e400",
    "99999999999h",
    "99999999999",
    "-5m",
    "",
    "1h30",
    None,
    [],
    {},
]


def _request(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


class TestRequestBounds:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_gap_minutes", math.inf),
            ("min_gap_minutes", 1e300),
            ("duplicate_gap_minutes", math.nan),
            ("max_gap", "99999999999h"),
            ("window", "inf"),
            ("start", "9999-12-31T23:59:59Z"),
            ("start", "0001-01-01T00:00:00Z"),
            ("days", True),
            ("account_count", True),
            ("velocity", True),
            ("seed", 2**70),
        ],
    )
    def test_each_reported_value_is_a_clear_error_naming_the_field(
        self, field: str, value: Any
    ) -> None:
        """Each value from the report is refused with one line that names its field."""
        with pytest.raises(InvalidRequest) as caught:
            parse_request(_request(**{field: value}))
        assert caught.value.field in (
            field,
            {"window": "spread_hours", "max_gap": "max_gap_minutes"}.get(field),
        )
        assert "\n" not in str(caught.value)

    @pytest.mark.parametrize("value", ["inf", "nan", "99999999999h", "1e400", "-inf"])
    def test_inline_window_values_are_refused(self, value: str) -> None:
        """`/herald create ... window=inf` is a clear error, not a traceback."""
        fields = {"caption": "hi", "platforms": "tiktok", "start": "+5m", "window": value}
        with pytest.raises(InvalidRequest, match=r"^window: "):
            request_from_fields(fields, now=NOW)

    def test_a_relative_start_too_far_away_names_start(self) -> None:
        """`start=+99999999999h` is refused naming `start`."""
        fields = {"caption": "hi", "platforms": "tiktok", "start": "+99999999999h"}
        with pytest.raises(InvalidRequest, match="start"):
            request_from_fields(fields, now=NOW)

    def test_json_true_is_not_a_number(self) -> None:
        """`"days": true` and `"trend_weighted": 1` are both refused (strict types), for
        every number field under every name it has (`max_per_account`, `accounts`, ...)."""
        with pytest.raises(InvalidRequest, match="days"):
            parse_request(_request(mode="calendar", days=True))
        for key in (*NUMERIC, "max_per_account", "window", "accounts", "duplicate_gap"):
            with pytest.raises(InvalidRequest, match=f"^{key}: must be a number, not true/false"):
                parse_request(_request(mode="calendar", **{key: True}))
        with pytest.raises(InvalidRequest, match="trend_weighted"):
            parse_request(_request(trend_weighted=1))

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        field=st.sampled_from(
            (*NUMERIC, "window", "min_gap", "max_gap", "duplicate_gap", "accounts")
        ),
        value=st.one_of(
            st.sampled_from(EXTREMES),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(2**80), max_value=2**80),
            st.text(max_size=20),
        ),
        mode=st.sampled_from(["window", "calendar"]),
    )
    def test_any_extreme_value_is_refused_or_plans(self, field: str, value: Any, mode: str) -> None:
        """Over extreme and non-finite values: a clear InvalidRequest or a plan, never a crash."""
        try:
            request = parse_request(_request(**{field: value, "mode": mode}))
        except InvalidRequest as exc:
            assert exc.field and "\n" not in str(exc)
            return
        try:
            plan_distribution(request, make_accounts(2))
        except (InvalidRequest, InvalidInput) as exc:
            assert "\n" not in str(exc)

    @settings(max_examples=100, deadline=None)
    @given(
        start=st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
        ),
        spread=st.floats(min_value=0.01, max_value=744),
    )
    def test_any_start_is_refused_or_plans(self, start: datetime, spread: float) -> None:
        """Any start from year 1 to 9999: refused naming `start`, or planned without a crash."""
        try:
            request = parse_request(_request(start=start.isoformat(), spread_hours=spread))
        except InvalidRequest as exc:
            assert exc.field == "start"
            return
        plan_distribution(request, make_accounts(2))


class TestDeepJson:
    def test_a_deeply_nested_request_file_is_a_clear_error(self, tmp_path: Path) -> None:
        """`herald plan` reading a 100 000-deep JSON array says so in one line."""
        from bot.cli.plan import load_request_file

        path = tmp_path / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
        with pytest.raises(InvalidInput, match="nested too deeply"):
            load_request_file(path)

    def test_a_deep_value_inside_a_field_is_a_clear_error(self) -> None:
        """A nested list where a list of names belongs is refused naming the field."""
        deep: Any = "tiktok"
        for _ in range(500):
            deep = [deep]
        with pytest.raises(InvalidRequest, match="platforms"):
            parse_request(json.loads(json.dumps(_request(platforms=deep))))


def _csv(**changes: str) -> str:
    row = {
        "id": "a1",
        "platform": "tiktok",
        "handle": "@a1",
        "timezone": "UTC",
        "language": "en",
        "followers": "10",
        "health": "1",
        "state": "ACTIVE",
        "last_posted_at": "",
        "rate_limited_until": "",
        **changes,
    }
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


class TestCsvBounds:
    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("followers", str(2**63)),
            ("followers", "9" * 400),
            ("health", "nan"),
            ("health", "inf"),
            ("health", "1e400"),
            ("last_posted_at", "9999-12-31T23:59:59Z"),
            ("rate_limited_until", "9999-12-31T23:59:59Z"),
            ("last_posted_at", "0001-01-01T00:00:00Z"),
        ],
    )
    def test_out_of_range_cells_are_row_errors_naming_the_column(
        self, column: str, value: str
    ) -> None:
        """Each out-of-range cell is one row error that names its column; nothing is imported."""
        accounts, errors = read_accounts_csv(_csv(**{column: value}))
        assert accounts == []
        assert len(errors) == 1 and column in str(errors[0])

    def test_an_account_stored_with_a_far_future_last_post_does_not_crash_plans(self) -> None:
        """Accounts stored before the bound existed are left out with a reason, no crash."""
        far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
        accounts = [
            Account("a1", "tiktok", "@a1", "UTC", last_posted_at=far),
            Account("a2", "tiktok", "@a2", "UTC", rate_limited_until=far),
            *make_accounts(1, ["tiktok"]),
        ]
        result = plan_distribution(parse_request(_request(platforms=["tiktok"])), accounts)
        left = {u.account_id for u in result.unscheduled}
        assert {"a1", "a2"} <= left and len(result.slots) == 1

    @settings(max_examples=200, deadline=None)
    @given(
        column=st.sampled_from(
            [
                "followers",
                "health",
                "last_posted_at",
                "rate_limited_until",
                "suspensions",
                "recent_failures",
                "recent_posts",
                "id",
                "handle",
            ]
        ),
        value=st.one_of(
            st.sampled_from(
                ["inf", "-inf", "nan", "1e400", str(2**63), str(-(2**63)), "9999-12-31T23:59:59Z"]
            ),
            st.integers(min_value=-(2**80), max_value=2**80).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        ),
    )
    def test_any_extreme_cell_is_an_error_or_plans(self, column: str, value: str) -> None:
        """Extreme cells: a row error, or an account every plan can use without a crash."""
        accounts, errors = read_accounts_csv(_csv(**{column: value}))
        if errors:
            assert column in str(errors[0]) and not accounts
            return
        again, errors = read_accounts_csv(accounts_to_csv(accounts))
        assert not errors and len(again) == 1
        plan_distribution(parse_request(_request(platforms=["tiktok"])), accounts)


class TestSettingsBounds:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("HERALD_DISPATCH_INTERVAL_SECONDS", "inf"),
            ("HERALD_LLM_PLAN_BUDGET_USD", "nan"),
            ("HERALD_CLAIM_LEASE_SECONDS", "-inf"),
        ],
    )
    def test_non_finite_settings_are_refused_naming_the_variable(
        self, name: str, value: str
    ) -> None:
        """`HERALD_...=inf` or `nan` is a one-line error naming the variable."""
        from bot.settings import load_settings

        with pytest.raises(InvalidInput, match=name):
            load_settings({name: value})

    def test_a_platforms_file_with_infinite_gaps_is_refused(self, tmp_path: Path) -> None:
        """A platforms file with `min_gap_hours: .inf` names the platform and the field."""
        from bot.platforms_file import load_platforms

        path = tmp_path / "platforms.yaml"
        path.write_text("tiktok:\n  min_gap_hours: .inf\n")
        with pytest.raises(InvalidInput, match="tiktok: min_gap_hours"):
            load_platforms(path)
