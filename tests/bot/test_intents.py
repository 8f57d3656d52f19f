"""Plain language to an Intent, deterministically; and the PNG timeline."""

from __future__ import annotations

import struct
import zlib

from bot.intents import Intent, name_candidates, parse_intent
from bot.timeline import render_timeline
from tests.bot.test_blocks import slots


class TestIntents:
    def test_pause_with_reason(self) -> None:
        """'pause the spring launch because ...' is a pause of 'spring launch' with a reason."""
        intent = parse_intent(
            "<@UHERALD> please pause the spring launch because the video is wrong"
        )
        assert intent == Intent("pause", "spring launch", {"reason": "the video is wrong"})
        assert intent.changes_state

    def test_question(self) -> None:
        """'how is the black friday push doing?' asks for a status."""
        intent = parse_intent("how is the black friday push doing?")
        assert intent == Intent("status", "black friday push") and not intent.changes_state

    def test_quoted_name_wins(self) -> None:
        """A quoted name is taken as is."""
        assert parse_intent('halt "Spring Launch 2" now') == Intent("halt", "Spring Launch 2")

    def test_list_and_help_and_nothing(self) -> None:
        """'what's running' lists, 'help' helps, small talk is no intent."""
        assert parse_intent("what's running?") == Intent("list")
        assert parse_intent("help") == Intent("help")
        assert parse_intent("bananas") is None

    def test_name_candidates(self) -> None:
        """Names are tried as said, hyphenated, and without nouns like 'launch'."""
        assert name_candidates("spring launch") == [
            "spring launch",
            "spring-launch",
            "spring_launch",
            "spring",
        ]


class TestTimeline:
    def test_png_is_valid(self) -> None:
        """The timeline is a valid RGB PNG with one lane per platform, and a legend."""
        png, legend = render_timeline(slots(2_000))
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", png[16:24])
        assert width == 960 and height == 12 * 2 + 36 * 6
        idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
        assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
        assert "tiktok" in legend and "2,000 slots" in legend
