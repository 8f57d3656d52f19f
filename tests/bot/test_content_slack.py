"""`/herald content ...` through the real bolt app: the add form (media included), list,
show, archive, and what a newcomer's hostile input gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack import content as slack_content
from bot.slack import ids
from engine.models import Actor, Role
from engine.request import Content
from tests.bot.conftest import OPERATOR, Harness, start_harness, stop_harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import ask, open_content_form, operator_dms, stored_items
from tests.media_samples import make_image, make_video

OP = Actor(OPERATOR, Role.OPERATOR)


async def _open_form(h: Harness) -> str:
    view_id = await open_content_form(h)
    assert h.fake.views[view_id]["callback_id"] == ids.CONTENT_MODAL
    return view_id


@pytest.fixture
async def media_harness(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness whose media store is a temporary directory capped at 1 MB per file."""
    h, runner = await start_harness(
        fake, HERALD_MEDIA_DIR=str(tmp_path / "media"), HERALD_MEDIA_MAX_MB="1"
    )
    yield h
    await stop_harness(h, runner)


class TestContentForm:
    async def test_add_list_show_archive(self, harness: Harness) -> None:
        """The form adds an item with the request's content fields; list/show/archive answer."""
        h = harness
        view_id = await _open_form(h)
        form = {
            "id": "winter-1",
            "caption": "Winter is here",
            "hashtags": "snow ski",
            "link": "https://example.com/w",
            "translations": "es: Llega el invierno",
            "tags": "winter",
        }
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Added `winter-1`" in operator_dms(h))
        listed = await ask(h, "content list winter", "winter-1")
        assert "Winter is here" in listed
        shown = await ask(h, "content show winter-1", "Llega el invierno")
        assert "#snow" in shown and "https://example.com/w" in shown
        await ask(h, "content archive winter-1", "Archived")
        assert "No items yet" in await ask(h, "content list", "Content library")

    async def test_bad_field_is_shown_next_to_it(self, harness: Harness) -> None:
        """A malformed translation line comes back on its field; nothing is stored."""
        h = harness
        view_id = await _open_form(h)
        reply = await h.driver.submit(
            view_id, {"id": "x", "caption": "Hi", "translations": "no colon here"}, user=OPERATOR
        )
        assert reply.json()["errors"].keys() == {"translations"}
        assert "No items yet" in await ask(h, "content list", "Content library")
        assert "needs one item id" in await ask(h, "content show", "needs one item id")


class TestContentMedia:
    async def test_shared_file_is_stored_and_show_says_what_each_platform_does(
        self, media_harness: Harness, tmp_path: Path
    ) -> None:
        """A clip shared through the form is stored (the item names it by id); `content show`
        lists its facts and which platform takes it or rejects it, and why."""
        h = media_harness
        clip = make_video(tmp_path / "clip.mp4", width=160, height=90, seconds=2.0)
        shared = h.fake.add_file(clip.read_bytes(), name="clip.mp4")
        view_id = await _open_form(h)
        form = {"id": "clip-1", "caption": "Two seconds", ids.F_MEDIA_FILES: [shared]}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Added `clip-1` with 1 media file" in operator_dms(h))
        item = await h.deps.herald.content.show("clip-1")
        [media_id] = item.content.media
        assert media_id.startswith("m-")
        shown = await ask(h, "content show clip-1", "Per platform")
        assert "video/mp4" in shown and "160x90" in shown and "2 s" in shown
        assert "tiktok video: takes it" in shown
        assert "instagram reel: rejects" in shown and "under instagram" in shown

    async def test_bad_media_is_refused_next_to_its_field(
        self, media_harness: Harness, tmp_path: Path
    ) -> None:
        """Not media, too big, an unreadable Slack file, an unreachable URL: each comes back
        on its own field, naming the file; nothing is added."""
        h = media_harness
        notes = h.fake.add_file(b"just some words\n" * 20, name="notes.mp4")
        big = h.fake.add_file(b"\0" * (1024 * 1024 + 10), name="huge.mp4")
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({ids.F_MEDIA_FILES: [notes]}, ids.F_MEDIA_FILES, "notes.mp4: not an image or video"),
            (
                {ids.F_MEDIA_FILES: [big]},
                ids.F_MEDIA_FILES,
                "huge.mp4: 1048586 bytes is over the 1 MB",
            ),
            (
                {ids.F_MEDIA_FILES: [{"id": "F404", "name": "gone.mp4"}]},
                ids.F_MEDIA_FILES,
                "Slack file gone.mp4: file_not_found",
            ),
            (
                {ids.F_MEDIA: "http://127.0.0.1:9/clip.mp4"},
                ids.F_MEDIA,
                "clip.mp4: URL resolves to a loopback",
            ),
            ({ids.F_MEDIA: "m-0000"}, ids.F_MEDIA, "m-0000"),
        ]
        for extra, block, expected in cases:
            view_id = await _open_form(h)
            form = {"id": "bad-1", "caption": "Nope", **extra}
            errors = (await h.driver.submit(view_id, form, user=OPERATOR)).json()["errors"]
            assert list(errors) == [block] and expected in errors[block], (extra, errors)
        assert await stored_items(h) == []

    async def test_slow_media_answers_at_once_then_updates_the_form(
        self, media_harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Media that outlive Slack's 3 s answer: the form turns into "checking" at once,
        then into "added", or back into the form with the problem under its field."""
        h = media_harness
        monkeypatch.setattr(slack_content, "ACK_BUDGET_S", 0.0)
        photo = h.fake.add_file(make_image(tmp_path / "p.jpg").read_bytes(), name="p.jpg")
        view_id = await _open_form(h)
        form = {"id": "photo-1", "caption": "A photo", "type": "image", ids.F_MEDIA_FILES: [photo]}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.json()["response_action"] == "update"
        assert "Storing and checking the media" in str(reply.json()["view"])
        await h.settle(until=lambda: "Content added" in str(h.fake.views[view_id]))
        assert (await h.deps.herald.content.show("photo-1")).content.type == "image"

        notes = h.fake.add_file(b"plain text, not a picture\n" * 10, name="notes.jpg")
        view_id = await _open_form(h)
        form = {"id": "photo-2", "caption": "Kept", ids.F_MEDIA_FILES: [notes]}
        assert (await h.driver.submit(view_id, form, user=OPERATOR)).json()["response_action"]
        await h.settle(until=lambda: "⚠️" in str(h.fake.views[view_id]))
        form_again = h.fake.views[view_id]
        files_block = next(b for b in form_again["blocks"] if b["block_id"] == ids.F_MEDIA_FILES)
        assert "notes.jpg: not an image or video" in files_block["hint"]["text"]
        caption = next(b for b in form_again["blocks"] if b["block_id"] == "caption")
        assert caption["element"]["initial_value"] == "Kept"  # what was typed is kept
        assert await stored_items(h) == ["photo-1"]


class TestHostileInput:
    async def test_long_rtl_emoji_items_show_whole_within_slack_limits(
        self, harness: Harness
    ) -> None:
        """A 5 000-character caption and RTL/emoji text: list and show stay within Slack's
        limits (the fake refuses oversized blocks) and show still has the tags and media."""
        h = harness
        rtl = "مرحبا بالعالم 🎉👩‍👩‍👧 שלום & <b>"
        library = h.deps.herald.content
        await library.add(OP, Content(id="long", caption="x" * 5000, tags=["big"]))
        await library.add(OP, Content(id="rtl", caption=rtl, hashtags=["🎉"], tags=["ÉTÉ"]))
        shown = await ask(h, "content show long", "Per platform")
        assert "caption of 5,000 characters, cut here" in shown and "tags: big" in shown
        assert "twitter post: takes it (caption cut to 280 characters)" in shown
        shown = await ask(h, "content show rtl", "Per platform")
        assert "مرحبا بالعالم 🎉👩‍👩‍👧 שלום &amp; &lt;b&gt;" in shown and "tags: été" in shown
        listed = await ask(h, "content list été", "rtl")
        assert "long" not in listed
        assert not h.fake.rejected and not h.fake.problems

    async def test_tags_archive_twice_and_archived_items(self, harness: Harness) -> None:
        """A two-word tag is refused, not cut; archiving twice says nothing changed; an
        archived item still shows; a queue naming it is refused naming the item."""
        h = harness
        await h.import_accounts()
        await h.deps.herald.content.add(OP, Content(id="w1", caption="Hi", tags="Winter, SALE"))
        refused = await ask(h, "content list Winter Sale", "is not a tag")
        assert "tag: 'Winter Sale' is not a tag: one word each" in refused
        assert "w1" in await ask(h, "content list SALE", "w1")
        assert "Archived `w1`" in await ask(h, "content archive w1", "Archived")
        again = await ask(h, "content archive w1", "nothing changed")
        assert "`w1` was already archived on 2026-12-01 10:00Z; nothing changed" in again
        assert "(archived 2026-12-01)" in await ask(h, "content show w1", "w1")
        assert "needs one item id" in await ask(h, "content show w1 w2", "needs one")
        refused = await ask(
            h,
            "create name=q mode=calendar days=2 platforms=tiktok queue=w1 start=2026-12-02T00:00Z",
            "archived",
        )
        assert "library item 'w1' is archived (never posted again)" in refused
        assert await h.service.list() == []

    async def test_hostile_form_fields_name_their_field(self, harness: Harness) -> None:
        """An id with a space, a control character, a taken id: each is refused on its
        field and nothing is added."""
        h = harness
        await h.deps.herald.content.add(OP, Content(id="taken", caption="First"))
        cases = [
            ({"id": "my item", "caption": "x"}, "id", "no spaces or commas"),
            ({"id": "a", "caption": "bell\x07"}, "caption", "control character U+0007"),
            ({"id": "taken", "caption": "Again"}, "id", "'taken' is already in the library"),
            ({"id": "b", "caption": "x", "hashtags": "#ok #"}, "hashtags", "not a hashtag"),
        ]
        for form, block, expected in cases:
            view_id = await _open_form(h)
            errors = (await h.driver.submit(view_id, form, user=OPERATOR)).json()["errors"]
            assert list(errors) == [block] and expected in errors[block], (form, errors)
        assert await stored_items(h) == ["taken"]


class TestPerItemFigures:
    async def test_simulate_shows_each_item_as_the_plan_card_does(self, harness: Harness) -> None:
        """`/herald simulate` answers with the items' accounts and days, the same lines as
        the plan card's items section."""
        h = harness
        await h.import_accounts()
        library = h.deps.herald.content
        await library.add(OP, Content(id="w1", caption="One", tags=["winter"]))
        await library.add(OP, Content(id="w2", caption="Two", tags=["winter"]))
        await ask(
            h,
            "create name=wk mode=calendar days=2 platforms=tiktok,instagram queue_tag=winter "
            "start=2026-12-02T00:00Z",
            "Created draft",
        )
        await ask(h, "plan wk", "Planned")
        on_card = [b["text"]["text"] for b in h.card().blocks if "*Items" in str(b)]
        await ask(h, "simulate wk", "Items (accounts")
        answer = [body for bodies in h.fake.responses.values() for body in bodies][-1]
        in_answer = [b["text"]["text"] for b in answer["blocks"] if "*Items" in str(b)]
        assert in_answer == on_card and "`w1` 12 accounts · Wed 02, Thu 03" in in_answer[0]
