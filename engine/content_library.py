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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from engine.errors import InvalidCsvRow, InvalidImport, InvalidInput, InvalidRequest
from engine.event_kinds import EventKind
from engine.models import Actor, ContentItem, Event, Role, new_id
from engine.ports import Clock, Notifier, Repository
from engine.request import Content, DistributionRequest, check_queue_ids
from engine.service_support import require_role

CSV_COLUMNS = (
    "id",
    "caption",
    "hashtags",
    "type",
    "translations",
    "media_url",
    "media",
    "link",
    "tags",
)


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


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One good row of an import file: where it is (line; index in a JSON list) and the item."""

    line: int
    index: int | None
    content: Content


def parse_content_file(text: str, *, name: str) -> tuple[list[ImportRow], list[InvalidCsvRow]]:
    """Items of a `.csv` or `.json` file with their lines, and one InvalidCsvRow per bad
    row (by line; JSON rows also by index, and the field at fault when there is one).

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
    items: list[ImportRow] = []
    errors: list[InvalidCsvRow] = []
    first: dict[str, int] = {}
    for line, index, data in rows:
        if isinstance(data, InvalidCsvRow):
            errors.append(data)
            continue
        try:
            content = content_from_fields(data)
        except InvalidRequest as exc:
            errors.append(
                InvalidCsvRow(line, str(exc), source=source, index=index, field=exc.field)
            )
            continue
        if content.id in first:
            problem = f"duplicate id {content.id!r} (first on line {first[content.id]})"
            errors.append(InvalidCsvRow(line, problem, source=source, index=index, field="id"))
            continue
        first[content.id] = line
        items.append(ImportRow(line, index, content))
    return items, errors


# (line, index in a JSON list or None, the row's fields or what is wrong with it)
Row = tuple[int, int | None, dict[str, Any] | InvalidCsvRow]


def _csv_rows(text: str, source: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [
            (1, None, InvalidCsvRow(1, "the file is empty (expected a header row)", source=source))
        ]
    unknown = [h for h in header if h not in CSV_COLUMNS and not h.startswith("translation_")]
    missing = [h for h in ("id", "caption") if h not in header]
    if missing or unknown:
        problem = "; ".join(
            ([f"header lacks column(s): {', '.join(missing)}"] if missing else [])
            + ([f"unknown column(s): {', '.join(unknown)}"] if unknown else [])
        )
        return [(1, None, InvalidCsvRow(1, problem, source=source))]
    rows: list[Row] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problem = f"has {len(values)} fields; the header has {len(header)}"
            rows.append((line, None, InvalidCsvRow(line, problem, source=source)))
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
                    bad = InvalidCsvRow(line, problem, source=source, field="translations")
                    rows.append((line, None, bad))
                    break
            else:
                data[column] = value
        else:
            if translations:
                data["translations"] = translations
            rows.append((line, None, data))
    return rows


def _json_rows(text: str, source: str) -> list[Row]:
    """Each element of the top-level list with the line it starts on and its index."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        problem = "expected a JSON list of content objects"
        return [(1, None, InvalidCsvRow(1, problem, source=source))]
    pos += 1
    rows: list[Row] = []
    index = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            bad = InvalidCsvRow(exc.lineno, f"not JSON ({exc.msg})", source=source, index=index)
            rows.append((exc.lineno, index, bad))
            break
        if isinstance(value, dict):
            rows.append((line, index, value))
        else:
            bad = InvalidCsvRow(line, "expected a JSON object", source=source, index=index)
            rows.append((line, index, bad))
        index += 1
    return rows


class ContentLibrary:
    """Add, list, show, archive and import library items; resolve a request's references."""

    def __init__(self, repository: Repository, clock: Clock, notifier: Notifier) -> None:
        self._repository = repository
        self._clock = clock
        self._notifier = notifier

    async def add(self, actor: Actor, content: Content) -> ContentItem:
        """Store a new item. Raises NotAllowed, InvalidRequest (id already used)."""
        return (await self._add_all(actor, [ImportRow(0, None, content)], source="content"))[0]

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
        rows: Sequence[ImportRow],
        *,
        source: str,
        errors: list[InvalidCsvRow] | None = None,
    ) -> list[ContentItem]:
        require_role(actor, Role.OPERATOR, "add content")
        now = self._clock.now()
        items = [ContentItem(row.content, actor.id, now) for row in rows]
        events = [_event(now, EventKind.CONTENT_ADDED, actor, i.id) for i in items]
        async with self._repository.unit_of_work() as uow:
            taken = {i.id for i in await uow.list_content_items(include_archived=True)}
            errors = list(errors or [])
            for row in rows:
                if row.content.id in taken:
                    problem = f"id {row.content.id!r} is already in the library"
                    if source == "content":
                        raise InvalidRequest("id", problem)
                    errors.append(
                        InvalidCsvRow(row.line, problem, source=source, index=row.index, field="id")
                    )
            if errors:
                raise InvalidImport(source, sorted(errors, key=lambda e: e.line))
            await uow.add_content_items(items)
            for event in events:
                await uow.append_event(event)
        for event in events:
            await self._notifier.notify(event)
        return items

    async def list_items(
        self, *, tag: str | None = None, archived: bool = False, query: str | None = None
    ) -> list[ContentItem]:
        """Items (with `tag`; whose id, caption, translations, hashtags or link contain
        `query`, any case), oldest first; archived ones only when asked."""
        async with self._repository.unit_of_work() as uow:
            items = await uow.list_content_items(include_archived=archived)
        if tag is not None:
            items = [i for i in items if tag.strip().lower() in i.content.tags]
        if query:
            needle = query.casefold()
            items = [i for i in items if needle in _searchable(i.content)]
        return items

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


def _event(now: datetime, kind: str, actor: Actor, item_id: str) -> Event:
    data = {"content_id": item_id}
    if actor.via:
        data["via"] = actor.via  # the API token the user acted through
    return Event(new_id("e"), now, kind, actor.id, data=data)


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
