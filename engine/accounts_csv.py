"""Read an accounts CSV into `Account`s, reporting every broken row by its line number.

Header (order free): `id,platform,handle,timezone,language,followers,health,state,
last_posted_at,rate_limited_until`; optional `suspensions,recent_failures,recent_posts`.
Unknown extra columns are ignored. Timestamps are ISO-8601 UTC (`Z` or `+00:00`) or empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.csv_text import NoHeader, read_csv
from engine.errors import InvalidCsvRow
from engine.models import Account, AccountState
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable

REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "platform",
    "handle",
    "timezone",
    "language",
    "followers",
    "health",
    "state",
    "last_posted_at",
    "rate_limited_until",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("suspensions", "recent_failures", "recent_posts")
# Bounds: a SQL BIGINT holds any count below these; timestamps stay in date-safe years.
MAX_FOLLOWERS = 10**12
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=1024)
def valid_timezone(name: str) -> bool:
    """True when `name` is an IANA time zone this machine knows."""
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_utc(text: str, what: str) -> datetime:
    """Parse an ISO-8601 UTC timestamp; raise ValueError saying what is wrong with it."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{what} {text!r} is not an ISO-8601 time (write e.g. 2026-11-20T14:00:00Z)"
        ) from None
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{what} {text!r} is not UTC (end it with Z or +00:00)")
    if not EARLIEST <= value <= LATEST:
        # A year-9999 last post would overflow every plan's date arithmetic later.
        raise ValueError(f"{what} {text!r} is out of range (between 2000 and 2100)")
    return value.astimezone(UTC)


def _int(value: str, column: str, default: int = 0, *, most: int = 10**6) -> int:
    if not value:
        return default
    if len(value) > 20:
        raise ValueError(f"{column} {value[:20]!r}... is too long for a number")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{column} {number} is negative")
    if number > most:
        raise ValueError(f"{column} {number} is out of range (at most {most})")
    return number


def _row_to_account(row: Mapping[str, str], platforms: PlatformTable) -> Account:
    account_id = row["id"]
    if not account_id:
        raise ValueError("id is empty")
    if len(account_id) > 200:
        raise ValueError(f"id {account_id[:20]!r}... is longer than 200 characters")
    platform = row["platform"].lower()
    if platform not in platforms:
        known = ", ".join(sorted(platforms.names()))
        raise ValueError(f"platform {row['platform']!r} is not known (known: {known})")
    handle = row["handle"]
    if not handle:
        raise ValueError("handle is empty")
    if len(handle) > 200:
        raise ValueError(f"handle {handle[:20]!r}... is longer than 200 characters")
    timezone = row["timezone"]
    if not valid_timezone(timezone):
        raise ValueError(f"timezone {timezone!r} is not an IANA time zone (e.g. Europe/Madrid)")
    language = (row["language"] or "en").lower()
    if not language.replace("-", "").isalnum():
        raise ValueError(f"language {row['language']!r} is not a language code (e.g. en)")
    health_text = row["health"]
    try:
        health = float(health_text) if health_text else 1.0
    except (ValueError, OverflowError):
        raise ValueError(f"health {health_text!r} is not a number between 0 and 1") from None
    if not 0.0 <= health <= 1.0:
        raise ValueError(f"health {health_text} is outside 0..1")
    state_text = (row["state"] or "ACTIVE").upper()
    try:
        state = AccountState(state_text)
    except ValueError:
        allowed = "|".join(s.value for s in AccountState)
        raise ValueError(f"state {row['state']!r} is not one of {allowed}") from None
    last = row["last_posted_at"]
    limited = row["rate_limited_until"]
    return Account(
        id=account_id,
        platform=platform,
        handle=handle,
        timezone=timezone,
        language=language,
        followers=_int(row["followers"], "followers", most=MAX_FOLLOWERS),
        health=health,
        state=state,
        last_posted_at=parse_utc(last, "last_posted_at") if last else None,
        rate_limited_until=parse_utc(limited, "rate_limited_until") if limited else None,
        suspensions=_int(row.get("suspensions", ""), "suspensions"),
        recent_failures=_int(row.get("recent_failures", ""), "recent_failures"),
        recent_posts=_int(row.get("recent_posts", ""), "recent_posts"),
    )


def read_accounts_csv(
    text: str, *, platforms: PlatformTable = DEFAULT_PLATFORMS
) -> tuple[list[Account], list[InvalidCsvRow]]:
    """Parse every row; return the good accounts and one `InvalidCsvRow` per bad row.

    A bad row contributes nothing. A header without the required columns is reported
    as line 1 and yields no accounts. A duplicated id is an error on the later line,
    naming the first.
    """
    known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS}
    try:
        table = read_csv(text, known=known.__contains__, expected=", ".join(REQUIRED_COLUMNS))
    except NoHeader as exc:
        return [], [InvalidCsvRow(1, str(exc))]
    columns = table.header
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        return [], [InvalidCsvRow(1, f"header lacks column(s): {', '.join(missing)}")]
    accounts: list[Account] = []
    errors: list[InvalidCsvRow] = []
    first_line: dict[str, int] = {}
    for line, values in table.rows:
        if isinstance(values, str):
            errors.append(InvalidCsvRow(line, values))
            continue
        if len(values) != len(columns):
            errors.append(
                InvalidCsvRow(line, f"has {len(values)} fields; the header has {len(columns)}")
            )
            continue
        row = {name: value.strip() for name, value in zip(columns, values, strict=True)}
        try:
            account = _row_to_account(row, platforms)
        except ValueError as exc:
            errors.append(InvalidCsvRow(line, str(exc)))
            continue
        if account.id in first_line:
            errors.append(
                InvalidCsvRow(
                    line,
                    f"duplicate account id {account.id!r} (first on line {first_line[account.id]})",
                )
            )
            continue
        first_line[account.id] = line
        accounts.append(account)
    return accounts, errors


def parse_accounts_csv(text: str, *, platforms: PlatformTable = DEFAULT_PLATFORMS) -> list[Account]:
    """Parse the whole CSV or raise the first `InvalidCsvRow` (what `herald plan` uses)."""
    accounts, errors = read_accounts_csv(text, platforms=platforms)
    if errors:
        raise errors[0]
    return accounts


def accounts_to_csv(accounts: list[Account]) -> str:
    """Write accounts back in the same format (examples, exports, tests)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for a in accounts:
        writer.writerow(
            [
                a.id,
                a.platform,
                a.handle,
                a.timezone,
                a.language,
                a.followers,
                f"{a.health:g}",
                a.state.value,
                _iso(a.last_posted_at),
                _iso(a.rate_limited_until),
                a.suspensions,
                a.recent_failures,
                a.recent_posts,
            ]
        )
    return out.getvalue()


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
