"""A content link is an absolute http(s) URL with a host wherever content comes in, and a row
stored before that rule still loads (the rule holds at intake, not on load)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.content_files import content_from_fields, parse_content_file
from engine.errors import InvalidRequest
from engine.request import STORED, Content, DistributionRequest, parse_request, request_from_fields

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BASE = {"platforms": ["tiktok"], "start": "2026-12-01T11:00Z"}
BAD_LINKS = [
    "javascript:alert(1)",
    "data:text/html,<b>hi</b>",
    "www.example.com",
    "ftp://example.com/file",
    "https:///no-host",
    "mailto:a@example.com",
    "http://[::1",
    "https://example.com/<http://evil|Click>",
    "https://example.com/a b",
]


def _plan_json(link: str) -> None:
    parse_request({**BASE, "content": {"caption": "Hi", "link": link}})


def _plan_queue(link: str) -> None:
    queue = [{"id": "a", "caption": "A"}, {"id": "b", "caption": "B", "link": link}]
    parse_request({**BASE, "mode": "calendar", "queue": queue})


def _create_inline(link: str) -> None:
    fields = {"caption": "Hi", "platforms": "tiktok", "start": "now", "link": link}
    request_from_fields(fields, now=NOW)


def _content_add(link: str) -> None:
    content_from_fields({"id": "a", "caption": "Hi", "link": link})


def _content_import(link: str) -> None:
    good, bad = parse_content_file(f'id,caption,link\na,Hi,"{link}"\n', name="items.csv")
    assert not good
    raise InvalidRequest("csv", str(bad[0]))


ENTRIES: list[tuple[Callable[[str], None], str]] = [
    (_plan_json, "content.link: "),
    (_plan_queue, "queue.1.link: "),
    (_create_inline, "content.link: "),
    (_content_add, "link: "),
    (_content_import, "items.csv line 2: link: "),
]


class TestLinkIntake:
    @pytest.mark.parametrize("link", BAD_LINKS)
    @pytest.mark.parametrize(("entry", "field"), ENTRIES, ids=lambda e: getattr(e, "__name__", ""))
    def test_every_entry_refuses_a_link_that_is_not_a_web_address(
        self, entry: Callable[[str], None], field: str, link: str
    ) -> None:
        """Each intake path refuses the link in one line naming the field and the value."""
        with pytest.raises(InvalidRequest) as caught:
            entry(link)
        message = str(caught.value)
        assert field in message and "\n" not in message
        assert repr(link[:20])[:-1] in message or "position" in message

    @pytest.mark.parametrize(
        "link", ["https://example.com/w?a=1#top", "HTTP://Example.com", "http://127.0.0.1:8080/"]
    )
    def test_web_addresses_pass_unchanged(self, link: str) -> None:
        """An absolute http(s) URL with a host is kept exactly as typed."""
        assert content_from_fields({"id": "a", "caption": "Hi", "link": link}).link == link
        request = request_from_fields(
            {"caption": "Hi", "platforms": "tiktok", "start": "now", "link": link}, now=NOW
        )
        assert request.content.link == link

    def test_an_empty_link_is_no_link(self) -> None:
        """An empty optional form field or CSV cell leaves the item without a link."""
        assert content_from_fields({"id": "a", "caption": "Hi", "link": " "}).link is None


class TestStoredRowsStillLoad:
    def test_a_stored_bad_link_loads_with_the_stored_context(self) -> None:
        """Rows saved before the rule load unchanged: the check is for intake only."""
        data: dict[str, Any] = {"id": "old", "caption": "Hi", "link": "www.example.com"}
        assert Content.model_validate(data, context=STORED).link == "www.example.com"
        request = {**BASE, "content": data}
        loaded = DistributionRequest.model_validate(request, context=STORED)
        assert loaded.content.link == "www.example.com"
        with pytest.raises(InvalidRequest):
            parse_request(request)
