"""Repurposing: content type mapping, formats, variant ids and caption limits per platform."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.platforms import DEFAULT_PLATFORMS
from engine.repurpose import fit_caption, repurpose, target_type
from engine.request import Content

VIDEO = Content(id="video-123", caption="A long look at our launch " * 20, hashtags=["a", "b"])


class TestTargetType:
    def test_native_and_converted(self) -> None:
        """A video stays a video on TikTok and becomes a reel on Instagram."""
        assert target_type("video", DEFAULT_PLATFORMS["tiktok"]) == ("video", 1.0)
        assert target_type("video", DEFAULT_PLATFORMS["instagram"]) == ("reel", 1.0)
        assert target_type("image", DEFAULT_PLATFORMS["youtube"]) is None


class TestRepurpose:
    def test_seed_example(self) -> None:
        """Seed 001 #8: video-123 to tiktok and instagram gives per-platform variant ids."""
        out = repurpose(VIDEO, ["tiktok", "instagram"])
        assert {p: r.variant_id for p, r in out.items()} == {
            "tiktok": "video-123-tiktok",
            "instagram": "video-123-instagram",
        }
        assert out["instagram"].content_type == "reel"
        assert (out["instagram"].aspect_ratio, out["instagram"].max_duration_s) == ("9:16", 90)

    def test_length_rules(self) -> None:
        """Twitter gets a post within 280 characters and at most 3 hashtags."""
        tw = repurpose(VIDEO, ["twitter"])["twitter"]
        assert tw.content_type == "post" and len(tw.caption) <= 280
        assert tw.caption.endswith("…") and tw.hashtags == ("a", "b")

    def test_language_suffix(self) -> None:
        """A non-English language is part of the variant id."""
        assert repurpose(VIDEO, ["youtube"], language="es")["youtube"].variant_id == (
            "video-123-youtube-es"
        )

    def test_impossible_target_changes_nothing(self) -> None:
        """An image cannot go to YouTube or TikTok: a specific error, no partial result."""
        image = Content(id="img-1", caption="Photo", type="image")
        with pytest.raises(InvalidInput, match="youtube"):
            repurpose(image, ["instagram", "youtube"])

    def test_unknown_platform(self) -> None:
        """An unknown platform is named in the error."""
        with pytest.raises(InvalidInput, match="myspace"):
            repurpose(VIDEO, ["myspace"])


class TestFitCaption:
    def test_word_boundary(self) -> None:
        """Cutting happens at a word boundary with an ellipsis."""
        assert fit_caption("hello wonderful world", 12) == "hello…"
        assert fit_caption("short", 10) == "short"
