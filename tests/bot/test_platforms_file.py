"""The platform table with the user's overrides from HERALD_PLATFORMS_FILE."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.platforms_file import load_platforms
from engine.errors import InvalidInput
from engine.platforms import DEFAULT_PLATFORMS


class TestLoadPlatforms:
    def test_default_without_file(self) -> None:
        """No file means the seed's table."""
        assert load_platforms(None) is DEFAULT_PLATFORMS

    def test_yaml_and_json_overrides(self, tmp_path: Path) -> None:
        """A YAML or JSON file overrides fields and adds platforms."""
        yml = tmp_path / "p.yml"
        yml.write_text("tiktok:\n  max_posts_per_day: 3\n  min_gap_hours: 6\n")
        table = load_platforms(yml)
        assert table["tiktok"].max_posts_per_day == 3
        assert table["tiktok"].min_gap == timedelta(hours=6)
        js = tmp_path / "p.json"
        js.write_text(
            '{"mastodon": {"max_posts_per_day": 4, "min_gap_hours": 1, "peak_hours": [9],'
            ' "content_types": ["post"], "caption_limit": 500, "hashtag_limit": 5}}'
        )
        assert "mastodon" in load_platforms(js)

    def test_bad_files(self, tmp_path: Path) -> None:
        """Missing, malformed or wrongly shaped files are InvalidInput naming the file."""
        with pytest.raises(InvalidInput, match="no-such"):
            load_platforms(tmp_path / "no-such.yml")
        bad = tmp_path / "bad.json"
        bad.write_text("{")
        with pytest.raises(InvalidInput, match="not valid JSON/YAML"):
            load_platforms(bad)
        shape = tmp_path / "shape.yml"
        shape.write_text("- tiktok\n")
        with pytest.raises(InvalidInput, match="expected a mapping"):
            load_platforms(shape)
        unknown = tmp_path / "unknown.yml"
        unknown.write_text("tiktok:\n  colour: blue\n")
        with pytest.raises(InvalidInput, match="unknown fields"):
            load_platforms(unknown)
