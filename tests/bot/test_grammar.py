"""The `/herald` grammar: sub-commands, quotes, key=value, and helpful refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.slack.grammar import parse_command, request_from_command
from engine.errors import InvalidInput

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class TestParseCommand:
    def test_quoted_values_and_fields(self) -> None:
        """Quotes (straight or Slack's curly ones) keep a value with spaces together."""
        cmd = parse_command('create name=spring caption=“Spring is here” hashtags="a b"')
        assert cmd.name == "create"
        assert cmd.fields == {"name": "spring", "caption": "Spring is here", "hashtags": "a b"}

    def test_distribution_and_reason(self) -> None:
        """The first word names the distribution; the rest is the reason."""
        cmd = parse_command("reject spring caption needs legal review")
        assert cmd.key == "spring" and cmd.rest == "caption needs legal review"

    def test_help_anywhere(self) -> None:
        """`/herald approve help` asks for approve's help."""
        cmd = parse_command("approve help")
        assert cmd.name == "approve" and cmd.help

    def test_unknown_command_suggests_closest(self) -> None:
        """A typo names the closest command."""
        with pytest.raises(InvalidInput, match="Did you mean `/herald status`"):
            parse_command("stauts spring")

    def test_reason_required(self) -> None:
        """halt without a reason is refused with the usage."""
        with pytest.raises(InvalidInput, match="needs a reason"):
            parse_command("halt spring")

    def test_missing_distribution(self) -> None:
        """`pause` with no distribution says which argument is missing."""
        with pytest.raises(InvalidInput, match="needs a distribution"):
            _ = parse_command("pause").key

    def test_unbalanced_quote(self) -> None:
        """An unclosed quote is explained, not a stack trace."""
        with pytest.raises(InvalidInput, match="close your quotes"):
            parse_command('create caption="oops')

    def test_duplicate_field(self) -> None:
        """The same field twice is refused rather than silently overwritten."""
        with pytest.raises(InvalidInput, match="given twice"):
            parse_command("create window=1h window=2h")


class TestRequestFromCommand:
    def test_inline_request_with_durations(self) -> None:
        """Inline fields become the engine's request; durations carry units."""
        cmd = parse_command(
            "create name=spring caption=hi platforms=tiktok,instagram window=90m "
            "start=2026-12-01T14:00Z min_gap=90s accounts=3"
        )
        req = request_from_command(cmd, now=NOW)
        assert req.spread_hours == 1.5 and req.min_gap_minutes == 1.5
        assert req.platforms == ["tiktok", "instagram"] and req.account_count == 3
        assert req.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    def test_start_defaults_to_now_and_accepts_offsets(self) -> None:
        """Without start the request starts now; `+30m` is relative to now."""
        assert (
            request_from_command(parse_command("create caption=x platforms=tiktok"), now=NOW).start
            == NOW
        )
        later = request_from_command(
            parse_command("create caption=x platforms=tiktok start=+30m"), now=NOW
        )
        assert later.start == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)

    def test_positional_word_is_refused(self) -> None:
        """`create spring` (no `=`) explains the key=value form."""
        with pytest.raises(InvalidInput, match="not a `key=value` field"):
            request_from_command(parse_command("create spring caption=x platforms=tiktok"), now=NOW)

    def test_missing_caption(self) -> None:
        """A create without a caption names the field and shows an example."""
        with pytest.raises(InvalidInput, match="caption: is required"):
            request_from_command(parse_command("create platforms=tiktok"), now=NOW)

    def test_unknown_field(self) -> None:
        """A field Herald does not know is named."""
        with pytest.raises(InvalidInput, match="colour"):
            request_from_command(
                parse_command("create caption=x platforms=tiktok colour=red"), now=NOW
            )
