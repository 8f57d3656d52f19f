"""The content library (seed 001's next step): reusable items a calendar queue draws from.

An item's fields are the request's `content` fields (one vocabulary: caption, hashtags,
type, translations, media_url, link, tags). Items are archived, never deleted, so a plan
that used one can still be explained. Imports are all or nothing: every bad row is
reported by line and a file with any bad row changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from engine.errors import InvalidCsvRow, InvalidImport, InvalidInput, InvalidRequest
from engine.event_kinds import EventKind
from engine.models import Actor, ContentItem, Event, Role, new_id
from engine.ports import Clock, Notifier, Repository
from engine.request import Content, DistributionRequest
from engine.service_support import require_role

CSV_COLUMNS = ("id", "caption", "hashtags", "type", "translations", "media_url", "link", "tags")


def content_from_fields(data: dict[str, Any]) -> Content:
    """Validate one item given as request-style content fields; raise InvalidRequest."""
    try:
        return Content.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ())) or "content"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a content field (known: " + ", ".join(CSV_COLUMNS) + ")"
        raise InvalidRequest(field, message) from None


def parse_content_file(
    text: str, *, name: str
) -> tuple[list[tuple[int, Content]], list[InvalidCsvRow]]:
    """Items of a `.csv` or `.json` file with their lines, and one InvalidCsvRow per bad
    row (by line).

    CSV: a header with `id` and `caption`, optionally the other content fields and
    `translation_<lang>` columns. JSON: a list of content objects. A repeated id is an error
    on its later line."""
    source = f"content file {name}"
    if name.lower().endswith(".json"):
        rows = _json_rows(text, source)
    elif name.lower().endswith(".csv"):
        rows = _csv_rows(text, source)
    else:
        raise InvalidInput(f"{source}: expected a .csv or .json file")
    items: list[tuple[int, Content]] = []
    errors: list[InvalidCsvRow] = []
    first: dict[str, int] = {}
    for line, data in rows:
        if isinstance(data, InvalidCsvRow):
            errors.append(data)
            continue
        try:
            content = content_from_fields(data)
        except InvalidRequest as exc:
            errors.append(InvalidCsvRow(line, str(exc), source=source))
            continue
        if content.id in first:
            errors.append(
                InvalidCsvRow(
                    line,
                    f"duplicate id {content.id!r} (first on line {first[content.id]})",
                    source=source,
                )
            )
            continue
        first[content.id] = line
        items.append((line, content))
    return items, errors


Row = tuple[int, dict[str, Any] | InvalidCsvRow]


def _csv_rows(text: str, source: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [(1, InvalidCsvRow(1, "the file is empty (expected a header row)", source=source))]
    unknown = [h for h in header if h not in CSV_COLUMNS and not h.startswith("translation_")]
    missing = [h for h in ("id", "caption") if h not in header]
    if missing or unknown:
        problem = "; ".join(
            ([f"header lacks column(s): {', '.join(missing)}"] if missing else [])
            + ([f"unknown column(s): {', '.join(unknown)}"] if unknown else [])
        )
        return [(1, InvalidCsvRow(1, problem, source=source))]
    rows: list[Row] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problem = f"has {len(values)} fields; the header has {len(header)}"
            rows.append((line, InvalidCsvRow(line, problem, source=source)))
            continue
        data: dict[str, Any] = {}
        translations: dict[str, str] = {}
        for column, value in zip(header, values, strict=True):
            value = value.strip()
            if not value:
                continue
            if column.startswith("translation_"):
                translations[column.removeprefix("translation_")] = value
            elif column == "translations":
                try:
                    translations.update(json.loads(value))
                except (json.JSONDecodeError, TypeError, ValueError):
                    problem = "translations is not a JSON object (or use translation_<lang>)"
                    data = {}
                    rows.append((line, InvalidCsvRow(line, problem, source=source)))
                    break
            else:
                data[column] = value
        else:
            if translations:
                data["translations"] = translations
            rows.append((line, data))
    return rows


def _json_rows(text: str, source: str) -> list[Row]:
    """Each element of the top-level list with the line it starts on."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        return [(1, InvalidCsvRow(1, "expected a JSON list of content objects", source=source))]
    pos += 1
    rows: list[Row] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            rows.append(
                (exc.lineno, InvalidCsvRow(exc.lineno, f"not JSON ({exc.msg})", source=source))
            )
            break
        if isinstance(value, dict):
            rows.append((line, value))
        else:
            rows.append((line, InvalidCsvRow(line, "expected a JSON object", source=source)))
    return rows


class ContentLibrary:
    """Add, list, show, archive and import library items; resolve a calendar queue."""

    def __init__(self, repository: Repository, clock: Clock, notifier: Notifier) -> None:
        self._repository = repository
        self._clock = clock
        self._notifier = notifier

    async def add(self, actor: Actor, content: Content) -> ContentItem:
        """Store a new item. Raises NotAllowed, InvalidRequest (id already used)."""
        return (await self._add_all(actor, [(0, content)], source="content"))[0]

    async def import_file(self, actor: Actor, text: str, *, name: str) -> list[ContentItem]:
        """Add every item of a CSV/JSON file in one transaction, or none: raises
        InvalidImport listing every bad row by line (ids already in the library too)."""
        require_role(actor, Role.OPERATOR, "import content")
        items, errors = parse_content_file(text, name=name)
        if not errors and not items:
            raise InvalidInput(f"content file {name}: no items")
        return await self._add_all(actor, items, source=f"content file {name}", errors=errors)

    async def _add_all(
        self,
        actor: Actor,
        numbered: Sequence[tuple[int, Content]],
        *,
        source: str,
        errors: list[InvalidCsvRow] | None = None,
    ) -> list[ContentItem]:
        require_role(actor, Role.OPERATOR, "add content")
        now = self._clock.now()
        items = [ContentItem(c, actor.id, now) for _, c in numbered]
        events = [
            Event(new_id("e"), now, EventKind.CONTENT_ADDED, actor.id, data={"content_id": i.id})
            for i in items
        ]
        async with self._repository.unit_of_work() as uow:
            taken = {i.id for i in await uow.list_content_items(include_archived=True)}
            errors = list(errors or [])
            for (line, _), item in zip(numbered, items, strict=True):
                if item.id in taken:
                    problem = f"id {item.id!r} is already in the library"
                    if source == "content":
                        raise InvalidRequest("id", problem)
                    errors.append(InvalidCsvRow(line, problem, source=source))
            if errors:
                raise InvalidImport(source, sorted(errors, key=lambda e: e.line))
            await uow.add_content_items(items)
            for event in events:
                await uow.append_event(event)
        for event in events:
            await self._notifier.notify(event)
        return items

    async def list_items(
        self, *, tag: str | None = None, archived: bool = False
    ) -> list[ContentItem]:
        """Items (with `tag`), oldest first; archived ones only when asked."""
        async with self._repository.unit_of_work() as uow:
            items = await uow.list_content_items(include_archived=archived)
        if tag is not None:
            items = [i for i in items if tag.lower() in i.content.tags]
        return items

    async def show(self, item_id: str) -> ContentItem:
        """One item. Raises ContentNotFound."""
        async with self._repository.unit_of_work() as uow:
            return await uow.get_content_item(item_id)

    async def archive(self, actor: Actor, item_id: str) -> ContentItem:
        """Archive an item (queues stop drawing it). Raises NotAllowed, ContentNotFound."""
        require_role(actor, Role.OPERATOR, "archive content")
        now = self._clock.now()
        event = Event(
            new_id("e"), now, EventKind.CONTENT_ARCHIVED, actor.id, data={"content_id": item_id}
        )
        async with self._repository.unit_of_work() as uow:
            item = await uow.get_content_item(item_id)
            if item.archived:
                return item
            item = replace(item, archived_at=now)
            await uow.save_content_item(item)
            await uow.append_event(event)
        await self._notifier.notify(event)
        return item

    async def resolve_queue(self, ids: Sequence[str] = (), tag: str | None = None) -> list[Content]:
        """The contents of a calendar queue given by item ids (in order) or a tag.
        Raises ContentNotFound; an archived item or an empty tag is InvalidRequest."""
        if tag is not None:
            found = [i.content for i in await self.list_items(tag=tag)]
            if not found:
                raise InvalidRequest("queue_tag", f"no active library item has tag {tag!r}")
            return found
        out = []
        for item_id in ids:
            item = await self.show(item_id)
            if item.archived:
                raise InvalidRequest("queue", f"library item {item_id!r} is archived")
            out.append(item.content)
        return out


async def resolve_library(
    library: ContentLibrary, request: DistributionRequest
) -> DistributionRequest:
    """The request with its library references (`content=<id>`, queue ids, `queue_tag`)
    replaced by the items. Raises ContentNotFound, InvalidRequest."""
    if request.content_ref is not None:
        (content,) = await library.resolve_queue([request.content_ref])
        queue: list[Content | str] = []
    else:
        ids = [q for q in request.queue if isinstance(q, str)]
        resolved = iter(await library.resolve_queue(ids, request.queue_tag))
        if request.queue_tag is not None:
            queue = list(resolved)
        else:
            queue = [next(resolved) if isinstance(q, str) else q for q in request.queue]
        content = next(q for q in queue if isinstance(q, Content))
    return request.model_copy(
        update={"content": content, "queue": queue, "queue_tag": None, "content_ref": None}
    )
