"""/content: the content library over HTTP, through the same `ContentLibrary` the CLI and
Slack use (docs/content.md): list, add, show, archive, and all-or-nothing imports."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.api.core import Call, route
from bot.api.problems import Problem
from engine.errors import InvalidImport, InvalidInput
from engine.models import ContentItem
from engine.request import STORED, Content

TAGS = ("content library",)
ITEM = "/content/{content_id}"
# What an import body may be: a JSON list of items, or a CSV with a header row.
IMPORT_TYPES = {"application/json": "body.json", "text/csv": "body.csv"}
ITEM_LIST = {"type": "array", "items": {"$ref": "#/components/schemas/Content"}}


class ContentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(default=None, description="only items with this library tag")
    archived: bool = Field(default=False, description="include archived items")
    query: str | None = Field(
        default=None,
        max_length=500,
        description="text in the id, caption, translations, hashtags or link (any case)",
    )
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ContentItemOut(Content):
    """An item: the request's content fields, plus who added it, when, and its archiving."""

    created_by: str
    created_at: datetime
    archived_at: datetime | None = None

    @classmethod
    def of(cls, item: ContentItem) -> ContentItemOut:
        # An item stored before a check was added (a link's scheme) is still shown.
        return cls.model_validate(
            {
                **item.content.model_dump(),
                "created_by": item.created_by,
                "created_at": item.created_at,
                "archived_at": item.archived_at,
            },
            context=STORED,
        )


class ContentPage(BaseModel):
    total: int = Field(description="items matching the filters, over all pages")
    offset: int
    limit: int
    items: list[ContentItemOut]


class Imported(BaseModel):
    imported: int = Field(description="items added")
    items: list[ContentItemOut] = Field(description="the items added")
    unchanged: list[str] = Field(
        default_factory=list,
        description="ids of rows already in the library exactly as given (not added again: "
        "importing the same file twice adds nothing)",
    )


@route(
    "GET",
    "/content",
    scope="read",
    summary="Library items, oldest first (filter by tag, text; archived on request)",
    query=ContentQuery,
    response=ContentPage,
    tags=TAGS,
)
async def list_items(call: Call) -> ContentPage:
    q = call.query
    found = await call.ctx.deps.herald.content.list_items(
        tag=q.tag, archived=q.archived, query=q.query
    )
    page = found[q.offset : q.offset + q.limit]
    return ContentPage(
        total=len(found),
        offset=q.offset,
        limit=q.limit,
        items=[ContentItemOut.of(i) for i in page],
    )


@route(
    "POST",
    "/content",
    scope="operate",
    summary="Add an item (body: the request's content fields); its media (URLs, Slack "
    "files) are stored first, a bad one is a 422 naming media.<index>",
    body=Content,
    response=ContentItemOut,
    status=201,
    idempotent=True,
    tags=TAGS,
)
async def add(call: Call) -> ContentItemOut:
    item = await call.ctx.deps.herald.content.add(call.actor, call.body)
    return ContentItemOut.of(item)


@route(
    "GET",
    ITEM,
    scope="read",
    summary="One item (archived ones too)",
    response=ContentItemOut,
    tags=TAGS,
)
async def show(call: Call) -> ContentItemOut:
    return ContentItemOut.of(await call.ctx.deps.herald.content.show(call.param("content_id")))


@route(
    "POST",
    f"{ITEM}/archive",
    scope="operate",
    summary="Archive an item: queues stop drawing it; it is never deleted",
    response=ContentItemOut,
    tags=TAGS,
)
async def archive(call: Call) -> ContentItemOut:
    item = await call.ctx.deps.herald.content.archive(call.actor, call.param("content_id"))
    return ContentItemOut.of(item)


@route(
    "POST",
    "/content/import",
    scope="operate",
    summary="Add every new item of a JSON list or CSV body in one transaction, or none "
    "(422 lists every bad row by line and index; rows already in the library exactly as "
    "given are listed as unchanged)",
    response=Imported,
    status=201,
    idempotent=True,
    raw_body={
        "application/json": {"schema": ITEM_LIST},
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "a header with id and caption, optionally the other content "
                "fields and translation_<lang> columns (as `herald content import`)",
            }
        },
    },
    tags=TAGS,
)
async def import_items(call: Call) -> dict[str, Any]:
    media_type = call.request.content_type
    name = IMPORT_TYPES.get(media_type)
    if name is None:
        raise Problem(
            415,
            f"Content-Type {media_type or '(none)'}: send application/json (a list of items) "
            "or text/csv",
            field="Content-Type",
        )
    try:
        text = call.raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "body: not UTF-8 text", field="body") from None
    try:
        done = await call.ctx.deps.herald.content.import_file(call.actor, text, name=name)
    except InvalidImport as exc:
        raise Problem(
            422,
            f"body: {len(exc.errors)} bad row(s), nothing imported",
            field="body",
            errors=[_row(e) for e in exc.errors],
        ) from None
    except InvalidInput as exc:
        # The engine names a file ("content file body.json: no items"); here it is the body.
        prefix = f"content file {name}: "
        if not str(exc).startswith(prefix):
            raise
        raise Problem(422, f"body: {str(exc).removeprefix(prefix)}", field="body") from None
    # Building and dumping 10 000 answer items is a second of CPU: off the event loop too
    # (the answer goes out as the `Imported` JSON it would dump to).
    return await asyncio.to_thread(_imported, done)


def _imported(done: Any) -> dict[str, Any]:
    answer = Imported(
        imported=len(done.added),
        items=[ContentItemOut.of(i) for i in done.added],
        unchanged=[i.id for i in done.unchanged],
    )
    return answer.model_dump(mode="json")


def _row(error: Any) -> dict[str, Any]:
    """One bad row as a problem's `errors` entry: where it is, the field, what is wrong."""
    row: dict[str, Any] = {"line": error.line, "detail": error.problem}
    if error.index is not None:
        row["index"] = error.index
    if error.field is not None:
        row["field"] = error.field
    return row
