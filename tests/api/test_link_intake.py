"""Content links over real HTTP: every write refuses a link that is not an absolute http(s)
URL (422 naming the field, nothing stored), and an item stored before that rule is still read."""

from __future__ import annotations

from typing import Any

import pytest

from engine.models import ContentItem
from engine.request import STORED, Content
from tests.api.conftest import REQUEST, Api

BAD = "javascript:alert(1)"
ITEM = {"id": "w1", "caption": "Winter is here"}
CALENDAR = {
    "name": "winter",
    "mode": "calendar",
    "platforms": ["tiktok"],
    "start": "2026-12-01T11:00:00Z",
    "queue": [ITEM, {"id": "w2", "caption": "Cosy", "link": BAD}],
}
WRITES: list[tuple[str, dict[str, Any], str]] = [
    ("/distributions", {**REQUEST, "content": {**REQUEST["content"], "link": BAD}}, "content.link"),
    ("/distributions", CALENDAR, "queue.1.link"),
    ("/content", {**ITEM, "link": "www.example.com"}, "link"),
]


class TestLinksOverHttp:
    @pytest.mark.parametrize(("path", "body", "field"), WRITES)
    async def test_a_link_that_is_not_a_web_address_is_a_422(
        self, api: Api, path: str, body: dict[str, Any], field: str
    ) -> None:
        """The problem names the field and the link; nothing is stored."""
        status, problem, _ = await api.call("POST", path, json=body)
        assert status == 422, problem
        assert problem["field"] == field and "is not a web address" in problem["detail"]
        assert await api.service.list() == []
        assert await api.deps.herald.content.list_items(archived=True) == []

    async def test_an_import_names_the_line(self, api: Api) -> None:
        """A CSV import with one bad link refuses the file by its line; nothing is imported."""
        csv = "id,caption,link\nw1,Fine,https://example.com/w1\nw2,Bad,ftp://example.com/f\n"
        status, problem, _ = await api.call(
            "POST", "/content/import", data=csv, headers={"Content-Type": "text/csv"}
        )
        [row] = problem["errors"]
        assert status == 422 and row["field"] == "link"
        assert row["line"] == 3, row
        assert "link: 'ftp://example.com/f' is not a web address" in row["detail"]
        assert await api.deps.herald.content.list_items(archived=True) == []

    async def test_an_item_stored_before_the_rule_is_still_shown(self, api: Api) -> None:
        """An old row with a scheme-less link is read and listed, not a 500."""
        old = Content.model_validate({**ITEM, "link": "www.example.com"}, context=STORED)
        async with api.deps.herald.repository.unit_of_work() as uow:
            await uow.add_content_items([ContentItem(old, "U_OP", api.clock.now())])
        status, shown, _ = await api.call("GET", "/content/w1")
        assert status == 200 and shown["link"] == "www.example.com"
        status, page, _ = await api.call("GET", "/content")
        assert status == 200 and [i["id"] for i in page["items"]] == ["w1"]
