"""Generate examples/accounts.csv: 150 accounts over five platforms, deterministically.

Run `python examples/make_accounts.py > examples/accounts.csv`. The seed is fixed, so the
file only changes when this script does.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.accounts_csv import accounts_to_csv
from engine.models import Account, AccountState

# (zone, language) pairs: the Americas, Europe, the Middle East, Asia-Pacific.
ZONES: tuple[tuple[str, str], ...] = (
    ("America/New_York", "en"),
    ("America/Chicago", "en"),
    ("America/Denver", "en"),
    ("America/Los_Angeles", "en"),
    ("America/Toronto", "en"),
    ("America/Mexico_City", "es"),
    ("America/Bogota", "es"),
    ("America/Argentina/Buenos_Aires", "es"),
    ("America/Santiago", "es"),
    ("America/Lima", "es"),
    ("Europe/Madrid", "es"),
    ("Europe/London", "en"),
    ("Europe/Berlin", "en"),
    ("Europe/Dublin", "en"),
    ("Africa/Cairo", "ar"),
    ("Asia/Riyadh", "ar"),
    ("Asia/Dubai", "ar"),
    ("Africa/Casablanca", "ar"),
    ("Asia/Amman", "ar"),
    ("Asia/Kolkata", "en"),
    ("Asia/Kathmandu", "en"),
    ("Asia/Singapore", "en"),
    ("Australia/Sydney", "en"),
    ("Australia/Adelaide", "en"),
    ("Pacific/Auckland", "en"),
)
PLATFORMS = ("tiktok", "youtube", "instagram", "twitter", "linkedin")
START = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # the example request's start


def make_accounts(count: int = 150, seed: int = 2026) -> list[Account]:
    """`count` accounts, the same every time for the same seed."""
    rng = random.Random(seed)
    accounts = []
    for n in range(count):
        platform = PLATFORMS[n % len(PLATFORMS)]
        tz, language = ZONES[(n * 7 + n // 5) % len(ZONES)]
        followers = int(10 ** rng.uniform(2.5, 6.3))
        state = AccountState.ACTIVE
        last = START - timedelta(hours=rng.uniform(1, 120)) if rng.random() < 0.8 else None
        limited = None
        suspensions = failures = 0
        posts = rng.randint(0, 40)
        if n in (7, 41, 88):
            state = AccountState.PAUSED
        elif n in (19, 120):
            state = AccountState.SUSPENDED
        elif n in (63, 131):
            state = AccountState.NEEDS_AUTH
        elif n in (25, 99):
            state = AccountState.RATE_LIMITED
            limited = START + timedelta(hours=12)
        elif n in (12, 77):  # rate limit lifts during the window
            limited = START + timedelta(minutes=50 + n)
        elif n == 140:  # rate-limited past the 6 h window
            limited = START + timedelta(hours=8)
        if n in (33, 104):  # a troubled history: HIGH risk
            suspensions, failures, posts = 3, 6, 10
        elif n == 66:  # CRITICAL: never scheduled
            suspensions, failures, posts = 5, 10, 10
        elif n % 9 == 4:
            suspensions, failures = 1, rng.randint(0, 3)
        health = round(rng.uniform(0.55, 1.0), 2)
        if n in (33, 104):
            health = 0.35
        elif n == 66:
            health = 0.05
        accounts.append(
            Account(
                id=f"acc-{n + 1:03d}",
                platform=platform,
                handle=f"@herald_{platform[:2]}_{n + 1:03d}",
                timezone=tz,
                language=language,
                followers=followers,
                health=health,
                state=state,
                last_posted_at=last.replace(microsecond=0, second=0) if last else None,
                rate_limited_until=limited,
                suspensions=suspensions,
                recent_failures=failures,
                recent_posts=posts,
            )
        )
    return accounts


if __name__ == "__main__":
    sys.stdout.write(accounts_to_csv(make_accounts()))
