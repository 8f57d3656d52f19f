"""`/herald content add|list|show|archive`: the content library in Slack.

`content add` opens a form whose fields are the request's `content` fields (id, caption,
type, hashtags, link, translations, tags, media URLs and files). A wrong field is shown next
to it and nothing is stored. Media are stored when the item is added: Slack wants the form
answered within 3 s, so a check that takes longer (a big video) answers with a "checking"
view, then turns it into "added" or back into the form with the problem under its field.
The other sub-commands answer the caller only (ephemeral).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.common import Block, escape
from bot.slack.blocks.content import (
    TEXT_FIELDS,
    build_content_modal,
    content_form_values,
    item_blocks,
    list_blocks,
    notice_view,
)
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from bot.slack.grammar import Command
from engine.content_files import content_from_fields
from engine.content_library import ContentLibrary
from engine.errors import InvalidInput, InvalidRequest
from engine.models import Actor, ContentItem, Role
from engine.request import Content

log = logging.getLogger("herald.slack")

USAGE = "`/herald content add|list [tag]|show <id>|archive <id>`"
# Slack shows an error when a view submission is not answered within 3 s: wait this long
# for the media before answering with the "checking" view.
ACK_BUDGET_S = 2.0

Answer = tuple[str, list[Block] | None]


def register(app: AsyncApp) -> None:
    """Register the add-content form's submission."""
    app.view(ids.CONTENT_MODAL)(guarded(on_content_submitted))


def _library(deps: BotDeps) -> ContentLibrary:
    return deps.herald.content


async def handle_content(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    """The `content` sub-commands."""
    action = cmd.args[0].lower() if cmd.args else "list"
    rest = cmd.args[1:]
    library = _library(deps)
    if action == "add":
        deps.require(body["user_id"], Role.OPERATOR, "add content")
        await client.views_open(trigger_id=body["trigger_id"], view=build_content_modal())
        return "Opening the content form…", None
    if action == "list":
        tag = " ".join(rest) or None  # `Winter Sale` is refused as two words, not cut
        items = await library.list_items(tag=tag)
        return "Content library", list_blocks(items, tag)
    if action in {"show", "archive"} and len(rest) != 1:
        raise InvalidInput(f"`/herald content {action}` needs one item id ({USAGE})")
    if action == "show":
        item = await library.show(rest[0])
        return "Content item", item_blocks(item, await library.describe(item))
    if action == "archive":
        actor = deps.require(body["user_id"], Role.OPERATOR, "archive content")
        before = await library.show(rest[0])
        item = await library.archive(actor, rest[0])
        if before.archived:
            when = f"{before.archived_at:%Y-%m-%d %H:%M}Z" if before.archived_at else ""
            return f"`{escape(item.id)}` was already archived on {when}; nothing changed.", None
        return f"Archived `{escape(item.id)}`: calendar queues no longer use it.", None
    raise InvalidInput(f"`{action}` is not a content action ({USAGE})")


def content_of(values: dict[str, str], files: list[tuple[str, str]]) -> Content:
    """The submitted form as a content item (media: URLs first, then the shared files).
    Raises InvalidRequest naming the field."""
    data: dict[str, Any] = {k: v for k, v in values.items() if k != ids.F_MEDIA}
    if "translations" in data:
        translations: dict[str, str] = {}
        for line in str(data["translations"]).splitlines():
            if not line.strip():
                continue
            lang, sep, text = line.partition(":")
            if not sep or not lang.strip() or not text.strip():
                raise InvalidRequest("translations", f"{line[:60]!r} is not `lang: text`")
            translations[lang.strip().lower()] = text.strip()
        data["translations"] = translations
    urls = [u.strip() for u in values.get(ids.F_MEDIA, "").split(",") if u.strip()]
    media = urls + [f"slack:{fid}" for fid, _ in files]
    if media:
        data["media"] = media
    return content_from_fields(data)


def _block_for(field: str, media: list[str]) -> str:
    """The form block showing an error on `field` (`media.<i>` by the reference's kind)."""
    root, _, rest = field.partition(".")
    if root == "media":
        index = int(rest) if rest.isdigit() else -1
        ref = media[index] if 0 <= index < len(media) else ""
        return ids.F_MEDIA_FILES if ref.startswith("slack:") else ids.F_MEDIA
    return root if root in (*TEXT_FIELDS, "type") else "id"


def _problem(exc: InvalidRequest, files: list[tuple[str, str]]) -> str:
    """The problem in the user's words: a shared file by its name, not its Slack id."""
    names = dict(files)
    if not names:
        return exc.problem
    pattern = r"\b(?:slack:)?(" + "|".join(re.escape(fid) for fid in names) + r")\b"
    return re.sub(pattern, lambda m: names[m.group(1)], exc.problem)


async def on_content_submitted(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Validate the form (errors next to the field), store its media, add the item."""
    deps = deps_of(context)
    user = str(body["user"]["id"])
    values, files = content_form_values(body["view"]["state"]["values"])
    library = _library(deps)
    media: list[str] = []
    try:
        actor = deps.require(user, Role.OPERATOR, "add content")
        content = content_of(values, files)
        media = content.media
        await library.check_id_free(content.id)
    except InvalidRequest as exc:
        await ack(
            response_action="errors", errors={_block_for(exc.field, media): exc.problem[:150]}
        )
        return
    adding = asyncio.ensure_future(library.add(actor, content))
    await asyncio.wait({adding}, timeout=ACK_BUDGET_S)
    if adding.done():
        try:
            item = adding.result()
        except InvalidRequest as exc:
            block = _block_for(exc.field, media)
            await ack(response_action="errors", errors={block: _problem(exc, files)[:150]})
            return
        await ack()
        await _tell_added(client, user, item)
        return
    checking = (
        f"Storing and checking the media of `{escape(content.id)}`… This form updates when done."
    )
    await ack(response_action="update", view=notice_view("Add content", checking))
    await _finish(client, body, actor, adding, values, files, media)


async def _finish(
    client: AsyncWebClient,
    body: dict[str, Any],
    actor: Actor,
    adding: asyncio.Future[ContentItem],
    values: dict[str, str],
    files: list[tuple[str, str]],
    media: list[str],
) -> None:
    """After the "checking" view: show the outcome in the form (or, if it was closed, DM)."""
    view_id = str(body["view"].get("id") or "")
    try:
        item = await adding
    except InvalidRequest as exc:
        block, problem = _block_for(exc.field, media), _problem(exc, files)
        if block == ids.F_MEDIA_FILES:
            problem += " (attach the files again)"
        view = build_content_modal(values, {block: problem})
        if not await _update(client, view_id, view):
            await client.chat_postMessage(channel=actor.id, text=f"⚠️ Nothing was added: {problem}")
        return
    await _update(client, view_id, notice_view("Content added", _added_text(item)))
    await _tell_added(client, actor.id, item)


async def _update(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> bool:
    """Replace the open form; False when it is gone (closed meanwhile)."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        log.info("content form %s not updated: %s", view_id, exc.response.get("error"))
        return False
    return True


def _added_text(item: ContentItem) -> str:
    files = f" with {len(item.content.media)} media file(s)" if item.content.media else ""
    return (
        f"Added `{escape(item.id)}`{files} to the content library. Use it with "
        f"`content={escape(item.id)}` (window) or `queue={escape(item.id)},…` (calendar); "
        f"`/herald content show {escape(item.id)}` says what each platform would post."
    )


async def _tell_added(client: AsyncWebClient, user: str, item: ContentItem) -> None:
    await client.chat_postMessage(channel=user, text=_added_text(item))
