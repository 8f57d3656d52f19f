"""Reading the accounts CSV: good rows become accounts, every bad row is named by line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.accounts_csv import accounts_to_csv, parse_accounts_csv, read_accounts_csv
from engine.errors import InvalidCsvRow
from engine.models import AccountState

HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,last_posted_at,rate_limited_until"
)
GOOD = "a1,tiktok,@a1,Europe/Madrid,es,1200,0.9,ACTIVE,2026-11-20T10:00:00Z,"


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


class TestReadAccountsCsv:
    def test_good_row(self) -> None:
        """A well-formed row becomes an Account with UTC times and defaults for extras."""
        [account] = parse_accounts_csv(csv(GOOD))
        assert account.id == "a1" and account.platform == "tiktok"
        assert account.language == "es" and account.followers == 1200
        assert account.last_posted_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
        assert account.rate_limited_until is None and account.suspensions == 0

    def test_optional_columns(self) -> None:
        """suspensions, recent_failures and recent_posts are read when present."""
        text = csv(GOOD + ",2,3,9", header=HEADER + ",suspensions,recent_failures,recent_posts")
        [account] = parse_accounts_csv(text)
        assert (account.suspensions, account.recent_failures, account.recent_posts) == (2, 3, 9)

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("a2,myspace,@x,UTC,en,1,1,ACTIVE,,", "platform 'myspace' is not known"),
            ("a2,tiktok,@x,Mars/Base,en,1,1,ACTIVE,,", "timezone 'Mars/Base'"),
            ("a2,tiktok,@x,UTC,en,1,1.5,ACTIVE,,", "health 1.5 is outside 0..1"),
            ("a2,tiktok,@x,UTC,en,-3,1,ACTIVE,,", "followers -3 is negative"),
            ("a2,tiktok,@x,UTC,en,1,1,BANNED,,", "state 'BANNED' is not one of"),
            ("a2,tiktok,@x,UTC,en,1,1,ACTIVE,2026-11-20T10:00:00+01:00,", "is not UTC"),
            ("a2,tiktok,@x,UTC,en,1,1,ACTIVE,2026-11-20T10:00:00,", "is not UTC"),
            ("a2,tiktok,@x,UTC,en,1,1,ACTIVE,,yesterday", "is not an ISO-8601 time"),
            ("a2,tiktok,@x,UTC,en,1,1,ACTIVE", "has 8 fields; the header has 10"),
        ],
    )
    def test_bad_rows_are_named_by_line(self, row: str, message: str) -> None:
        """Each broken row is reported with its line number; good rows still come through."""
        accounts, errors = read_accounts_csv(csv(GOOD, row))
        assert [a.id for a in accounts] == ["a1"]
        assert len(errors) == 1
        assert errors[0].line == 3
        assert message in str(errors[0])
        assert str(errors[0]).startswith("accounts CSV line 3: ")

    def test_duplicate_id_names_both_lines(self) -> None:
        """A repeated id is an error on the later line that names the first."""
        accounts, errors = read_accounts_csv(csv(GOOD, GOOD.replace("@a1", "@b")))
        assert len(accounts) == 1
        assert "duplicate account id 'a1' (first on line 2)" in str(errors[0])
        assert errors[0].line == 3

    def test_missing_header_columns(self) -> None:
        """A header without required columns is reported as line 1."""
        with pytest.raises(InvalidCsvRow, match=r"line 1: header lacks column.*rate_limited_until"):
            parse_accounts_csv("id,platform,handle,timezone,language,followers,health,state\n")

    def test_parse_raises_first_error(self) -> None:
        """parse_accounts_csv raises the first bad row."""
        with pytest.raises(InvalidCsvRow, match="line 3"):
            parse_accounts_csv(csv(GOOD, "x,tiktok,@x,Nowhere,en,1,1,ACTIVE,,"))

    def test_empty_file(self) -> None:
        """An empty file is one clear error, not a crash."""
        with pytest.raises(InvalidCsvRow, match="empty"):
            parse_accounts_csv("")

    def test_spreadsheet_dialects(self) -> None:
        """The same reader as the content library: a BOM, `;` and Windows line endings are
        read; a quote left open, or a first line that is no header, is named, not swallowed."""
        semi = "\ufeff" + csv(GOOD).replace(",", ";").replace("\n", "\r\n")
        assert [a.id for a in parse_accounts_csv(semi)] == ["a1"]
        accounts, errors = read_accounts_csv(csv(GOOD, 'a2,tiktok,"@open,UTC,en,1,1,ACTIVE,,'))
        assert [a.id for a in accounts] == ["a1"]
        assert (
            str(errors[0]) == "accounts CSV line 3: not a CSV row (a quoted field is never closed)"
        )
        with pytest.raises(
            InvalidCsvRow, match="accounts CSV line 1: not a header row: expected column"
        ):
            parse_accounts_csv(GOOD + "\n")

    def test_round_trip(self) -> None:
        """accounts_to_csv writes what read_accounts_csv reads back identically."""
        text = csv(GOOD, "b2,twitter,@b,America/New_York,en,5,1,PAUSED,,2026-11-21T00:00:00Z")
        accounts = parse_accounts_csv(text)
        assert parse_accounts_csv(accounts_to_csv(accounts)) == accounts
        assert accounts[1].state is AccountState.PAUSED


class TestBundledExamples:
    def test_accounts_csv_is_what_the_script_makes(self) -> None:
        """examples/accounts.csv is exactly make_accounts.py's output, and varied enough."""
        from pathlib import Path

        from examples.make_accounts import make_accounts

        root = Path(__file__).resolve().parents[2]
        text = (root / "examples" / "accounts.csv").read_text()
        assert text == accounts_to_csv(make_accounts())
        accounts = parse_accounts_csv(text)
        assert len(accounts) == 150
        assert {a.platform for a in accounts} == {
            "tiktok",
            "youtube",
            "instagram",
            "twitter",
            "linkedin",
        }
        assert len({a.timezone for a in accounts}) >= 20
        assert {a.language for a in accounts} == {"en", "es", "ar"}
        assert sum(a.state is not AccountState.ACTIVE for a in accounts) >= 5
        assert any(a.rate_limited_until for a in accounts if a.state is AccountState.ACTIVE)
