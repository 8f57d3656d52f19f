"""`/herald content ...` through the real bolt app: the add modal, list, show, archive."""

from __future__ import annotations

from tests.bot.conftest import OPERATOR, Harness


async def ask(h: Harness, text: str, expect: str) -> str:
    """Run `/herald <text>` as the operator; the answers it got once `expect` shows."""
    before = len(h.fake.responses_text())
    await h.driver.command(text, user=OPERATOR)
    await h.settle(until=lambda: expect in h.fake.responses_text()[before:])
    return h.fake.responses_text()[before:]


async def _open_form(h: Harness) -> str:
    await h.driver.command("content add", user=OPERATOR)
    await h.settle(until=lambda: h.fake.views)
    view_id = next(iter(h.fake.views))
    assert h.fake.views[view_id]["callback_id"] == "herald.content_add"
    return view_id


async def test_add_list_show_archive(harness: Harness) -> None:
    """The modal adds an item with the request's content fields; list/show/archive answer."""
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
    await h.settle(until=lambda: "Added `winter-1`" in " ".join(m.text for m in h.fake.messages))
    listed = await ask(h, "content list winter", "winter-1")
    assert "Winter is here" in listed
    shown = await ask(h, "content show winter-1", "Llega el invierno")
    assert "#snow" in shown and "https://example.com/w" in shown
    await ask(h, "content archive winter-1", "Archived")
    assert "No items yet" in await ask(h, "content list", "Content library")


async def test_bad_field_is_shown_next_to_it(harness: Harness) -> None:
    """A malformed translation line comes back on its field; nothing is stored."""
    h = harness
    view_id = await _open_form(h)
    reply = await h.driver.submit(
        view_id, {"id": "x", "caption": "Hi", "translations": "no colon here"}, user=OPERATOR
    )
    assert reply.json()["errors"].keys() == {"translations"}
    assert "No items yet" in await ask(h, "content list", "Content library")
    assert "needs an item id" in await ask(h, "content show", "needs an item id")
