"""The PyAV/Pillow probe reports media as displayed: rotation metadata applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.adapters.pyav_media_probe import probe_file
from engine.errors import InvalidInput
from engine.media import MediaAsset, MediaKind
from engine.media_check import check_media
from engine.platforms import DEFAULT_PLATFORMS
from tests.media_samples import make_image, make_video


def asset_of(path: Path) -> MediaAsset:
    facts = probe_file(path)
    return MediaAsset(
        "m-1",
        facts.kind,
        facts.mime_type,
        path.stat().st_size,
        "0" * 64,
        path.name,
        facts.width,
        facts.height,
        facts.duration_s,
        facts.codec,
    )


class TestVideoRotation:
    @pytest.mark.parametrize(("rotation", "shown"), [(90, (108, 192)), (-90, (108, 192))])
    def test_display_matrix_turns_a_phone_video_portrait(
        self, tmp_path: Path, rotation: int, shown: tuple[int, int]
    ) -> None:
        """Stored 192x108 with a quarter-turn display matrix (what phones write): portrait."""
        path = make_video(tmp_path / "phone.mp4", width=192, height=108, rotation=rotation)
        facts = probe_file(path)
        assert (facts.width, facts.height) == shown

    def test_half_turn_keeps_the_shape(self, tmp_path: Path) -> None:
        """A 180° matrix (upside down) is still landscape."""
        path = make_video(tmp_path / "flip.mov", width=192, height=108, rotation=180)
        assert (probe_file(path).width, probe_file(path).height) == (192, 108)

    def test_rotate_tag_of_older_files(self, tmp_path: Path) -> None:
        """The older `rotate` metadata tag (kept by Matroska) turns it too."""
        path = make_video(tmp_path / "old.mkv", width=192, height=108, rotate_tag="90")
        assert (probe_file(path).width, probe_file(path).height) == (108, 192)

    def test_unrotated_video_is_as_stored(self, tmp_path: Path) -> None:
        """No matrix, no tag: the stored dimensions."""
        path = make_video(tmp_path / "plain.mp4", width=192, height=108)
        facts = probe_file(path)
        assert (facts.kind, facts.width, facts.height) == (MediaKind.VIDEO, 192, 108)
        assert facts.duration_s == pytest.approx(2.0, abs=0.2)


class TestImageOrientation:
    def test_exif_orientation_decides_the_aspect_check(self, tmp_path: Path) -> None:
        """A camera JPEG stored 1000x760 with EXIF orientation 6 is shown 760x1000 (0.76):
        Instagram's feed (0.8-1.91) would reject it, and the plan says so; unrotated, it fits."""
        rules = DEFAULT_PLATFORMS["instagram"]
        turned = asset_of(make_image(tmp_path / "cam.jpg", width=1000, height=760, orientation=6))
        flat = asset_of(make_image(tmp_path / "flat.jpg", width=1000, height=760))
        assert (turned.width, turned.height) == (760, 1000)
        assert any("aspect ratio 760x1000" in p for p in check_media(rules, "post", [turned]))
        assert check_media(rules, "post", [flat]) == []


class TestNotMedia:
    @pytest.mark.parametrize("suffix", [".jpg", ".png", ".gif", ".webp", ".mp4", ".mov", ".mkv"])
    def test_text_named_like_media_is_refused(self, tmp_path: Path, suffix: str) -> None:
        """FFmpeg guesses a demuxer from the extension when the bytes say nothing (a text file
        named .jpg opens as a 0x0 image sequence); the probe judges the bytes, not the name."""
        path = tmp_path / f"notes{suffix}"
        path.write_bytes(b"plain text, not a picture\n" * 10)
        with pytest.raises(InvalidInput, match="not an image or video"):
            probe_file(path)

    def test_truncated_video_is_refused(self, tmp_path: Path) -> None:
        clip = make_video(tmp_path / "clip.mp4", width=160, height=90, seconds=1.0)
        cut = tmp_path / "cut.mp4"
        cut.write_bytes(clip.read_bytes()[:200])
        with pytest.raises(InvalidInput):
            probe_file(cut)
