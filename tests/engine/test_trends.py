"""Trend scores per slot and the file-backed trend source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.adapters.file_trends import FileTrendSource
from engine.errors import InvalidInput
from engine.ports import Trend
from engine.trends import parse_trends, trend_score

TRENDS = [
    Trend("tiktok", "winter", 0.8, 18, 22),
    Trend("tiktok", "night", 0.5, 22, 2),
    Trend("twitter", "news", 1.0),
]


class TestTrendScore:
    def test_strongest_matching(self) -> None:
        """The score is the strongest trend on the platform covering the UTC hour."""
        assert trend_score(TRENDS, "tiktok", datetime(2026, 11, 23, 19, tzinfo=UTC)) == 0.8
        assert trend_score(TRENDS, "tiktok", datetime(2026, 11, 23, 1, tzinfo=UTC)) == 0.5
        assert trend_score(TRENDS, "tiktok", datetime(2026, 11, 23, 12, tzinfo=UTC)) == 0.0
        assert trend_score(TRENDS, "youtube", datetime(2026, 11, 23, 19, tzinfo=UTC)) == 0.0
        assert trend_score([], "tiktok", datetime(2026, 11, 23, 19, tzinfo=UTC)) == 0.0


class TestFileTrendSource:
    async def test_json_and_csv(self, tmp_path: Path) -> None:
        """JSON and CSV files both load; only the asked platforms come back."""
        js = tmp_path / "t.json"
        js.write_text('{"trends": [{"platform": "TikTok", "topic": "w", "score": 0.7}]}')
        assert await FileTrendSource(js).trends(["tiktok"]) == [Trend("tiktok", "w", 0.7, 0, 24)]
        cs = tmp_path / "t.csv"
        cs.write_text("platform,topic,score,start_hour,end_hour\ntwitter,x,0.4,8,12\n")
        assert await FileTrendSource(cs).trends(["twitter"]) == [Trend("twitter", "x", 0.4, 8, 12)]
        assert await FileTrendSource(cs).trends(["tiktok"]) == []

    async def test_broken_files(self, tmp_path: Path) -> None:
        """A missing file or a bad entry is InvalidInput naming it."""
        with pytest.raises(InvalidInput, match=r"no\.json"):
            await FileTrendSource(tmp_path / "no.json").trends(["tiktok"])
        with pytest.raises(InvalidInput, match="entry 1: score 3 is outside"):
            parse_trends('[{"platform": "tiktok", "score": 3}]')
        with pytest.raises(InvalidInput, match="line 2: missing score"):
            parse_trends("platform,topic\ntiktok,x\n")
