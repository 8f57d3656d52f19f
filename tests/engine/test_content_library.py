"""The content library service: roles, audit events, and distributions built from it."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from engine.accounts_csv import read_accounts_csv
from engine.clock import ManualClock
from engine.content_library import ContentLibrary, resolve_references
from engine.errors import ContentNotFound, InvalidInput, InvalidRequest, MediaNotFound, NotAllowed
from engine.media import MediaAsset, MediaKind
from engine.models import Actor, ContentItem, Role
from engine.request import Content, parse_request, request_from_fields
from engine.service import DistributionService
from tests.engine.execution_support import T0, RecordingNotifier, memory_repository

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPERATOR = Actor("U_OP", Role.OPERATOR, "Olga")
VIEWER = Actor("U_VIEW", Role.VIEWER, "Vic")


class _World:
    def __init__(self) -> None:
        self.repository = memory_repository()
        self.clock = ManualClock(T0 - timedelta(hours=1))
        self.notifier = RecordingNotifier()
        self.library = ContentLibrary(self.repository, self.clock, self.notifier)
        self.service = DistributionService(self.repository, self.clock, self.notifier)

    async def seed(self) -> None:
        accounts, _ = read_accounts_csv((EXAMPLES / "accounts.csv").read_text())
        async with self.repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)
        for k in range(5):
            tags = ["winter"] if k < 3 else ["spring"]
            await self.library.add(
                OPERATOR,
                Content(id=f"w{k}", caption=f"Item {k}", hashtags=["a", "b", "c"], tags=tags),
            )


async def test_add_archive_and_roles() -> None:
    """Operators add and archive (one audit event each); viewers may not; ids are unique."""
    world = _World()
    item = await world.library.add(OPERATOR, Content(id="x", caption="Hello", link="https://e.x"))
    assert item.created_by == "U_OP"
    with pytest.raises(InvalidRequest, match="already in the library"):
        await world.library.add(OPERATOR, Content(id="x", caption="Again"))
    with pytest.raises(NotAllowed):
        await world.library.add(VIEWER, Content(id="y", caption="No"))
    archived = await world.library.archive(OPERATOR, "x")
    assert archived.archived and await world.library.list_items() == []
    with pytest.raises(ContentNotFound):
        await world.library.show("nope")
    assert world.notifier.kinds() == ["content.added", "content.archived"]


async def test_calendar_from_a_tag_plans_each_item_once_per_account() -> None:
    """`queue_tag=winter` resolves to the 3 active winter items, stored in the request."""
    world = _World()
    await world.seed()
    request = request_from_fields(
        {
            "name": "week",
            "queue_tag": "winter",
            "platforms": "twitter,instagram",
            "mode": "calendar",
            "days": "7",
            "start": (T0 + timedelta(hours=1)).isoformat(),
        }
    )
    d = await world.service.create(OPERATOR, request)
    assert [c.id for c in d.request.items] == ["w0", "w1", "w2"]
    assert not d.request.unresolved
    view = await world.service.plan(OPERATOR, d.id)
    per: dict[tuple[str, str], int] = defaultdict(int)
    for slot in view.slots:
        per[(slot.account_id, slot.content_id)] += 1
    assert per and max(per.values()) == 1


async def test_window_with_content_id() -> None:
    """`content=<id>` in window mode plans that item; an unknown id is refused by name."""
    world = _World()
    await world.seed()
    fields = {"name": "one", "content": "w3", "platforms": "tiktok", "start": T0.isoformat()}
    d = await world.service.create(OPERATOR, request_from_fields(fields))
    assert d.request.content.caption == "Item 3"
    view = await world.service.plan(OPERATOR, d.id)
    assert view.slots and {s.content_id for s in view.slots} == {"w3"}
    with pytest.raises(InvalidRequest, match="content: no library item 'zz'"):
        await world.service.create(OPERATOR, request_from_fields({**fields, "content": "zz"}))


def test_queue_json_round_trip() -> None:
    """A request with an inline queue survives JSON (how distributions are stored)."""
    data = json.loads((EXAMPLES / "calendar-request.json").read_text())
    request = request_from_fields({"content": "a", "platforms": "x", "start": "2026-12-01T00:00Z"})
    assert request.unresolved and request.content_ref == "a"
    from engine.request import DistributionRequest, parse_request

    parsed = parse_request(data)
    again = DistributionRequest.model_validate_json(parsed.model_dump_json())
    assert [i.id for i in again.items] == [i.id for i in parsed.items]


def _item(item_id: str, *tags: str, archived: bool = False) -> ContentItem:
    content = Content(id=item_id, caption=f"Caption of {item_id}", tags=list(tags))
    return ContentItem(content, "U_OP", T0, T0 if archived else None)


LIBRARY = [_item("a", "winter"), _item("b", "winter"), _item("old", "spring", archived=True)]
BASE = {"platforms": ["tiktok"], "start": "2026-12-01T10:00Z", "mode": "calendar"}


class TestResolveReferences:
    def test_ids_inline_items_and_tags_resolve_in_order(self) -> None:
        """Ids keep their place beside inline items; a tag takes its active items, oldest first."""
        inline = {"id": "x", "caption": "Inline"}
        request = parse_request({**BASE, "queue": ["b", inline, "a"]})
        resolved = resolve_references(request, LIBRARY)
        assert [c.id for c in resolved.items] == ["b", "x", "a"]
        assert not resolved.unresolved and resolved.content.id == "b"
        tagged = resolve_references(parse_request({**BASE, "queue_tag": " Winter "}), LIBRARY)
        assert [c.id for c in tagged.items] == ["a", "b"]

    def test_every_unknown_and_archived_id_is_named(self) -> None:
        """One error names each unknown id and each archived one, under the field used."""
        request = parse_request({**BASE, "queue": ["a", "zz", "old", "yy"]})
        with pytest.raises(InvalidRequest) as caught:
            resolve_references(request, LIBRARY)
        assert caught.value.field == "queue"
        assert caught.value.problem == (
            "no library items 'zz', 'yy'; library item 'old' is archived (never posted again)"
        )
        window = parse_request({**BASE, "mode": "window", "content": "zz"})
        with pytest.raises(InvalidRequest, match=r"^content: no library item 'zz'$"):
            resolve_references(window, LIBRARY)

    def test_a_tag_with_only_archived_items_says_so(self) -> None:
        """`queue_tag` with no active item is refused, counting the archived ones."""
        with pytest.raises(InvalidRequest, match=r"tag 'spring' \(1 archived\)"):
            resolve_references(parse_request({**BASE, "queue_tag": "spring"}), LIBRARY)

    def test_an_item_queued_twice_is_refused(self) -> None:
        """A repeated id (inline or by reference) would double max_per_account: refused."""
        with pytest.raises(InvalidRequest, match="'a' queued more than once"):
            parse_request({**BASE, "queue": ["a", "b", "a"]})
        request = parse_request({**BASE, "queue": [{"id": "a", "caption": "Inline a"}, "b"]})
        request = request.model_copy(update={"queue": [*request.queue, "a"]})
        with pytest.raises(InvalidRequest, match="'a' queued more than once"):
            resolve_references(request, LIBRARY)

    def test_content_as_a_string_is_a_library_reference(self) -> None:
        """JSON `"content": "<id>"` is the inline grammar's `content=<id>`."""
        request = parse_request({**BASE, "mode": "window", "content": "a"})
        assert request.content_ref == "a" and request.unresolved
        assert resolve_references(request, LIBRARY).content.caption == "Caption of a"

    async def test_audit_events_name_the_api_token(self) -> None:
        """Adds and archives by a token-carrying actor record the token id in the event."""
        world = _World()
        actor = Actor("U_OP", Role.OPERATOR, "Olga", via="tok1")
        await world.library.add(actor, Content(id="t", caption="By token"))
        await world.library.archive(actor, "t")
        assert [e.data["via"] for e in world.notifier.events] == ["tok1", "tok1"]


class TestImportFiles:
    def test_csv_media_column_and_json_rows_by_index(self) -> None:
        """A CSV `media` cell holds comma-separated refs; JSON rows carry their list index."""
        from engine.content_library import parse_content_file

        rows, errors = parse_content_file(
            'id,caption,media\nw1,Clip,"https://cdn.example/a.mp4, m-123"\n', name="items.csv"
        )
        assert not errors and rows[0].content.media == ["https://cdn.example/a.mp4", "m-123"]
        rows, errors = parse_content_file(
            '[{"id": "a", "caption": "x"},\n 7,\n {"id": "b"}]', name="items.json"
        )
        assert [(e.line, e.index, e.field) for e in errors] == [(2, 1, None), (3, 2, "caption")]


class _Store:
    """A media store holding fixed assets; `bad:` references are not media."""

    def __init__(self, *assets: MediaAsset) -> None:
        self.assets = {a.id: a for a in assets}
        self.resolved: list[str] = []

    async def get(self, media_id: str) -> MediaAsset:
        if media_id not in self.assets:
            raise MediaNotFound(media_id)
        return self.assets[media_id]

    async def resolve(self, ref: str) -> MediaAsset:
        self.resolved.append(ref)
        if ref.startswith("bad:"):
            raise InvalidInput(f"media {ref[4:]}: not an image or video Herald can read")
        return await self.get(ref if ref.startswith("m-") else "m-" + ref.split("/")[-1])


PHOTO = MediaAsset("m-p.jpg", MediaKind.IMAGE, "image/jpeg", 2048, "ab", "p.jpg", 1080, 1350)


class TestItemMedia:
    async def test_add_stores_media_by_id_and_describe_gives_facts(self) -> None:
        """Adding an item stores each reference and keeps its id; a bad one is refused as
        `media.<index>` before anything is added; describe lists facts and platforms."""
        world = _World()
        store = _Store(PHOTO)
        library = ContentLibrary(world.repository, world.clock, world.notifier, media=store)
        with pytest.raises(InvalidRequest) as refused:
            await library.add(
                OPERATOR, Content(id="x", caption="Hi", media=["https://c/p.jpg", "bad:a.pdf"])
            )
        assert refused.value.field == "media.1" and "a.pdf: not an image" in refused.value.problem
        assert await library.list_items(archived=True) == []
        item = await library.add(
            OPERATOR, Content(id="p", caption="Photo", type="image", media=["https://c/p.jpg"])
        )
        assert item.content.media == ["m-p.jpg"]
        described = await library.describe(item)
        assert [f.text() for f in described.files] == [
            "p.jpg: image/jpeg, 2 KB, 1080x1350 (m-p.jpg)"
        ]
        fits = {p.platform: p for p in described.platforms}
        assert fits["instagram"].takes and fits["instagram"].content_type == "post"
        assert fits["tiktok"].text() == "tiktok: rejects: takes video/short, not image"

    def test_platform_fits_cuts_and_unchecked_files(self) -> None:
        """Caption and hashtag cuts are notes; an item without files, or with files not
        stored yet, is not media-checked (as at plan time)."""
        from engine.content_media import MediaFile, platform_fits
        from engine.platforms import DEFAULT_PLATFORMS

        long = Content(id="l", caption="word " * 100, hashtags=[f"h{i}" for i in range(12)])
        fits = {p.platform: p for p in platform_fits(long, [], DEFAULT_PLATFORMS)}
        assert "caption cut to 280 characters" in fits["twitter"].notes
        assert fits["tiktok"].takes and fits["tiktok"].notes == ("first 8 of 12 hashtags",)
        assert fits["linkedin"].text() == "linkedin video: takes it (first 5 of 12 hashtags)"
        later = [MediaFile("https://cdn.example/x.mp4")]
        fits = {p.platform: p for p in platform_fits(long, later, DEFAULT_PLATFORMS)}
        assert fits["tiktok"].takes
        assert "1 media file(s) not stored yet, not checked" in fits["tiktok"].notes

    async def test_import_twice_is_idempotent(self) -> None:
        """A file imported again adds nothing and returns its rows as unchanged; one audit
        event per item ever added."""
        world = _World()
        text = "id,caption,tags\nw1,One,Winter\nw2,Two,\n"
        first = await world.library.import_file(OPERATOR, text, name="a.csv")
        again = await world.library.import_file(OPERATOR, text, name="a.csv")
        assert [i.id for i in first.added] == ["w1", "w2"] and first.unchanged == []
        assert again.added == [] and [i.id for i in again.unchanged] == ["w1", "w2"]
        assert world.notifier.kinds() == ["content.added", "content.added"]
