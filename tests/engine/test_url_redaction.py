"""URLs shown without the secrets they may carry (engine/url_redaction.py)."""

from __future__ import annotations

import pytest

from engine.url_redaction import redact_url, redact_urls

SLACK_HOOK = "https://hooks.slack.com/services/T000/B000/XXXXs3cr3tXXXXabcd"


class TestRedactUrl:
    def test_slack_hook_path_keeps_host_and_last_four(self) -> None:
        """A Slack incoming webhook shows its host and the path's last four characters."""
        assert redact_url(SLACK_HOOK) == "https://hooks.slack.com/…abcd"

    def test_query_values_are_masked_keys_kept(self) -> None:
        """Query values go, their keys stay (the operator sees which parameters are set)."""
        shown = redact_url("https://h.example/zap/catch/123?token=t0k3n&x=1#frag")
        assert shown == "https://h.example/…/123?token=…&x=…"

    def test_user_info_is_dropped_port_kept(self) -> None:
        """user:password@ is never shown; the port is."""
        assert redact_url("http://u:pw@127.0.0.1:8080/h") == "http://127.0.0.1:8080/…"

    @pytest.mark.parametrize("url", ["https://x.example/abc", "https://x.example/abcdefgh"])
    def test_short_path_is_masked_whole(self, url: str) -> None:
        """A path of eight characters or fewer is masked whole (its tail would be most of it)."""
        assert redact_url(url) == "https://x.example/…"

    def test_bare_host_and_schemeless_value(self) -> None:
        """A bare host shows as is; a value without a scheme keeps its host, no scheme added."""
        assert redact_url("https://x.example") == "https://x.example/"
        assert redact_url("hooks.example.com/services/secret") == "hooks.example.com/…cret"

    @pytest.mark.parametrize("url", ["", "https://", "http://[::1"])
    def test_invalid_is_named_not_echoed(self, url: str) -> None:
        """What cannot be parsed into a host is shown as <invalid URL>, never echoed."""
        assert redact_url(url) == "<invalid URL>"

    def test_urls_inside_text(self) -> None:
        """Every URL inside a message is redacted, the rest of the message kept."""
        text = f"Cannot post to {SLACK_HOOK}: 404, see http://h.example/a?k=v."
        assert redact_urls(text) == (
            "Cannot post to https://hooks.slack.com/…abcd: 404, see http://h.example/…?k=…."
        )
