"""The content library (seed 001's next step): reusable items a calendar queue draws from.

An item's fields are the request's `content` fields (one vocabulary: caption, hashtags,
type, translations, media_url, link, tags). Items are archived, never deleted, so a plan
that used one can still be explained. Imports are all or nothing: every bad row is
reported by line and a file with any bad row changes nothing; rows already stored exactly
as given are left alone. Adding one item stores its media first (engine/content_media.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.content_files import ImportRow, library_id_problem, parse_content_file
from engine.content_media import MediaFile, PlatformFit, platform_fits, store_media
from engine.errors import InvalidCsvRow, InvalidImport, InvalidInput, InvalidRequest, NotFound
from engine.event_kinds import EventKind
from engine.models import Actor, ContentItem, Event, Role, new_event_id
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Clock, MediaStore, Notifier, Repository
from engine.request import Content, DistributionRequest, check_queue_ids, normalise_tag
from engine.service_support import require_role

NOTIFY_CHUNK = 500  # an import's events notified between two turns of the event loop
INSERT_CHUNK = 500  # an import's items built and stored between two turns of the loop


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: the items it added, and the rows already in the library exactly
    as given (`unchanged`: importing the same file twice adds nothing and says so)."""

    added: list[ContentItem] = field(default_factory=list)
    unchanged: list[ContentItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemMedia:
    """An item's media files (facts once stored) and what each platform would do with it."""

    files: list[MediaFile]
    platforms: list[PlatformFit]


class ContentLibrary:
    """Add, list, show, archive and import library items; resolve a request's references.

    With a media store, `add` stores the item's media (see engine/content_media.py)."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        notifier: Notifier,
        *,
        media: MediaStore | None = None,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._notifier = notifier
        self._media = media
        self._platforms = platforms

    async def add(self, actor: Actor, content: Content) -> ContentItem:
        """Store a new item, its media first. Raises NotAllowed, InvalidRequest (`id` bad or
        already used, `media.<i>` a file that cannot be stored)."""
        require_role(actor, Role.OPERATOR, "add content")
        problem = library_id_problem(content.id)
        if problem is not None:
            raise InvalidRequest("id", problem)
        await self.check_id_free(content.id)  # before any download
        content = await self.store_media(content)
        done = await self._add_all(actor, [ImportRow(0, None, content)], source="content")
        return done.added[0]

    async def check_id_free(self, item_id: str) -> None:
        """Raise InvalidRequest("id") when the library already has `item_id` (archived too)."""
        try:
            item = await self.show(item_id)
        except NotFound:
            return
        raise InvalidRequest("id", _taken(item))

    async def store_media(self, content: Content) -> Content:
        """`content` with its media stored and named by id (downloads happen here, outside
        any transaction). Raises InvalidRequest(`media.<index>`)."""
        return await store_media(self._media, content)

    async def import_file(self, actor: Actor, text: str, *, name: str) -> ImportResult:
        """Add every new item of a CSV/JSON file in one transaction, or none: raises
        InvalidImport listing every bad row by line (an id already in the library with other
        fields too). Rows already in the library exactly as given are left as they are."""
        require_role(actor, Role.OPERATOR, "import content")
        # Parsing and validating 10 000 rows is seconds of CPU: in a worker thread, so the
        # event loop (health checks, Slack acks, SSE) keeps answering meanwhile.
        items, errors = await asyncio.to_thread(parse_content_file, text, name=name)
        if not errors and not items:
            raise InvalidInput(f"content file {name}: no items")
        return await self._add_all(actor, items, source=f"content file {name}", errors=errors)

    async def _add_all(
        self,
        actor: Actor,
        rows: Sequence[ImportRow],
        *,
        source: str,
        errors: list[InvalidCsvRow] | None = None,
    ) -> ImportResult:
        require_role(actor, Role.OPERATOR, "add content")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            ids = [row.content.id for row in rows]
            stored = {i.id: i for i in await uow.find_content_items(ids)}
            errors = list(errors or [])
            new: list[ImportRow] = []
            unchanged: list[ContentItem] = []
            for row in rows:
                held = stored.get(row.content.id)
                if held is None:
                    new.append(row)
                elif source != "content" and held.content == row.content:
                    unchanged.append(held)
                elif source == "content":
                    raise InvalidRequest("id", _taken(held))
                else:
                    errors.append(
                        InvalidCsvRow(
                            row.line,
                            _taken(held, differs=row.content),
                            source=source,
                            index=row.index,
                            field="id",
                        )
                    )
            if errors:
                raise InvalidImport(source, sorted(errors, key=lambda e: e.line))
            items: list[ContentItem] = []
            events: list[Event] = []
            # A chunk at a time: the loop runs while each is sent, between the chunks' CPU.
            for start in range(0, len(new), INSERT_CHUNK):
                chunk = [
                    ContentItem(r.content, actor.id, now) for r in new[start : start + INSERT_CHUNK]
                ]
                added = [_event(now, EventKind.CONTENT_ADDED, actor, i.id) for i in chunk]
                await uow.add_content_items(chunk)
                await uow.append_events(added)
                items += chunk
                events += added
        for count, event in enumerate(events, 1):
            await self._notifier.notify(event)
            if count % NOTIFY_CHUNK == 0:
                await asyncio.sleep(0)  # thousands of notifications must not stall the loop
        return ImportResult(items, unchanged)

    async def list_items(
        self, *, tag: str | None = None, archived: bool = False, query: str | None = None
    ) -> list[ContentItem]:
        """Items (with `tag`; whose id, caption, translations, hashtags or link contain
        `query`, any case), oldest first; archived ones only when asked. Raises
        InvalidInput for a tag that is not one word."""
        if tag is not None:
            try:
                tag = normalise_tag(tag)
            except ValueError as exc:
                raise InvalidInput(f"tag: {exc}") from None
        async with self._repository.unit_of_work() as uow:
            items = await uow.list_content_items(include_archived=archived)
        if tag is not None:
            items = [i for i in items if tag in i.content.tags]
        if query:
            needle = query.casefold()
            items = [i for i in items if needle in _searchable(i.content)]
        return items

    async def describe(self, item: ContentItem) -> ItemMedia:
        """`item`'s media with their facts (from the media store) and, per platform, what it
        would post the item as or why it would refuse it (`content show`)."""
        files = []
        for ref in item.content.media:
            asset = None
            if self._media is not None and ref.startswith("m-"):
                try:
                    asset = await self._media.get(ref)
                except NotFound:
                    asset = None
            files.append(MediaFile(ref, asset))
        return ItemMedia(files, platform_fits(item.content, files, self._platforms))

    async def show(self, item_id: str) -> ContentItem:
        """One item. Raises ContentNotFound."""
        async with self._repository.unit_of_work() as uow:
            return await uow.get_content_item(item_id)

    async def archive(self, actor: Actor, item_id: str) -> ContentItem:
        """Archive an item (queues stop drawing it). Raises NotAllowed, ContentNotFound."""
        require_role(actor, Role.OPERATOR, "archive content")
        now = self._clock.now()
        event = _event(now, EventKind.CONTENT_ARCHIVED, actor, item_id)
        async with self._repository.unit_of_work() as uow:
            item = await uow.get_content_item(item_id)
            if item.archived:
                return item
            item = replace(item, archived_at=now)
            await uow.save_content_item(item)
            await uow.append_event(event)
        await self._notifier.notify(event)
        return item

    async def resolve(self, request: DistributionRequest) -> DistributionRequest:
        """`request` with its library references replaced by the items (see
        `resolve_references`); unchanged when it has none. Raises InvalidRequest."""
        if not request.unresolved:
            return request
        async with self._repository.unit_of_work() as uow:
            items = await uow.list_content_items(include_archived=True)
        return resolve_references(request, items)


def _taken(item: ContentItem, *, differs: Content | None = None) -> str:
    """Why an id cannot be added again: archived items keep their ids too."""
    state = " (archived)" if item.archived else ""
    text = f"id {item.id!r} is already in the library{state}"
    if differs is not None:
        fields = [
            name
            for name in type(differs).model_fields
            if getattr(differs, name) != getattr(item.content, name)
        ]
        what = f"a different {fields[0]}" if len(fields) == 1 else f"different {', '.join(fields)}"
        text += f" with {what}: give the new item its own id"
    return text


def _event(now: datetime, kind: str, actor: Actor, item_id: str) -> Event:
    data = {"content_id": item_id}
    if actor.via:
        data["via"] = actor.via  # the API token the user acted through
    return Event(new_event_id(), now, kind, actor.id, data=data)


def _searchable(content: Content) -> str:
    parts = [content.id, content.caption, *content.translations.values(), *content.hashtags]
    return "\n".join([*parts, content.link or ""]).casefold()


def items_from_file(text: str, *, name: str, now: datetime) -> list[ContentItem]:
    """A library read from a CSV/JSON import file without storing it (`herald plan
    --library`). Raises InvalidImport listing every bad row, InvalidInput."""
    rows, errors = parse_content_file(text, name=name)
    if errors:
        raise InvalidImport(f"content file {name}", errors)
    if not rows:
        raise InvalidInput(f"content file {name}: no items")
    return [ContentItem(row.content, f"file:{name}", now) for row in rows]


def resolve_references(
    request: DistributionRequest, library: Sequence[ContentItem]
) -> DistributionRequest:
    """The request with its library references (`content=<id>`, queue ids, `queue_tag`)
    replaced by the items of `library`. Raises InvalidRequest naming the field and every
    unknown or archived id, a tag with no active item, or an item queued twice."""
    if request.content_ref is not None:
        (content,) = _pick(library, [request.content_ref], field="content")
        queue: list[Content | str] = []
    elif request.queue_tag is not None:
        queue = list(_tagged(library, request.queue_tag))
        content = queue[0]  # type: ignore[assignment]  # _tagged never returns ids
    else:
        ids = [q for q in request.queue if isinstance(q, str)]
        resolved = iter(_pick(library, ids, field="queue"))
        queue = [next(resolved) if isinstance(q, str) else q for q in request.queue]
        check_queue_ids([q.id if isinstance(q, Content) else q for q in queue])
        content = next(q for q in queue if isinstance(q, Content))
    return request.model_copy(
        update={"content": content, "queue": queue, "queue_tag": None, "content_ref": None}
    )


def _tagged(library: Sequence[ContentItem], tag: str) -> list[Content]:
    wanted = tag.strip().lower()
    found = [i.content for i in library if not i.archived and wanted in i.content.tags]
    if not found:
        archived = sum(1 for i in library if wanted in i.content.tags)
        note = f" ({archived} archived)" if archived else ""
        raise InvalidRequest("queue_tag", f"no active library item has tag {tag!r}{note}")
    return found


def _pick(library: Sequence[ContentItem], ids: Sequence[str], *, field: str) -> list[Content]:
    by_id = {i.id: i for i in library}
    unknown = [x for x in dict.fromkeys(ids) if x not in by_id]
    archived = [x for x in dict.fromkeys(ids) if x in by_id and by_id[x].archived]
    problems = []
    if unknown:
        problems.append(f"no library {_names(unknown)}")
    if archived:
        verb = "is" if len(archived) == 1 else "are"
        problems.append(f"library {_names(archived)} {verb} archived (never posted again)")
    if problems:
        raise InvalidRequest(field, "; ".join(problems))
    return [by_id[x].content for x in ids]


def _names(ids: Sequence[str]) -> str:
    """`item 'a'` / `items 'a', 'b' and 3 more`."""
    shown = ", ".join(repr(x) for x in ids[:10])
    more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
    return ("item " if len(ids) == 1 else "items ") + shown + more
