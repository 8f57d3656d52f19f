"""`/herald content add|list|show|archive`: the content library in Slack.

`content add` opens a modal whose fields are the request's `content` fields (id, caption,
hashtags, link, translations, tags); a wrong field is shown next to it and nothing is
stored. The other sub-commands answer the caller only (ephemeral).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.common import Block, clip, escape, plain, section
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from bot.slack.grammar import Command
from engine.content_library import ContentLibrary, content_from_fields
from engine.errors import InvalidInput, InvalidRequest
from engine.models import ContentItem, Role

CONTENT_MODAL = "herald.content_add"
INPUT = "-input"
# Block id = the content field it fills (one vocabulary with the request's `content`).
FIELDS = ("id", "caption", "hashtags", "link", "translations", "tags")
USAGE = "`/herald content add|list [tag]|show <id>|archive <id>`"

Answer = tuple[str, list[Block] | None]


def register(app: AsyncApp) -> None:
    """Register the add-content modal's submission."""
    app.view(CONTENT_MODAL)(guarded(on_content_submitted))


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
        tag = rest[0] if rest else None
        items = await library.list_items(tag=tag)
        return "Content library", list_blocks(items, tag)
    if action in {"show", "archive"} and not rest:
        raise InvalidInput(f"`/herald content {action}` needs an item id ({USAGE})")
    if action == "show":
        return "Content item", [section(item_text(await library.show(rest[0])))]
    if action == "archive":
        actor = deps.require(body["user_id"], Role.OPERATOR, "archive content")
        item = await library.archive(actor, rest[0])
        return f"Archived `{escape(item.id)}`: calendar queues no longer use it.", None
    raise InvalidInput(f"`{action}` is not a content action ({USAGE})")


def list_blocks(items: list[ContentItem], tag: str | None) -> list[Block]:
    """One line per item (at most 40), the caption clipped."""
    title = f"*Content library*{f' · tag `{escape(tag)}`' if tag else ''} · {len(items)} items"
    lines = [
        f"`{escape(clip(i.id, 40))}` {escape(clip(i.content.caption.replace(chr(10), ' '), 80))}"
        + (f" · _{escape(', '.join(i.content.tags))}_" if i.content.tags else "")
        for i in items[:40]
    ]
    if len(items) > 40:
        lines.append(f"… and {len(items) - 40} more (`herald content list` shows all)")
    return [section(clip(title + "\n" + ("\n".join(lines) or "No items yet."), 3000))]


def item_text(item: ContentItem) -> str:
    """One item in full, for `content show`."""
    c = item.content
    parts = [f"*{escape(c.id)}*" + (" (archived)" if item.archived else ""), escape(c.caption)]
    if c.hashtags:
        parts.append(" ".join("#" + escape(t) for t in c.hashtags))
    if c.link:
        parts.append(f"link: {escape(c.link)}")
    parts.extend(f"{escape(lang)}: {escape(text)}" for lang, text in c.translations.items())
    if c.tags:
        parts.append("tags: " + escape(", ".join(c.tags)))
    parts.append(f"added by <@{escape(item.created_by)}>")
    return clip("\n".join(parts), 3000)


def _input(field: str, label: str, *, optional: bool = True, multiline: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": field,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {"type": "plain_text_input", "action_id": field + INPUT, "multiline": multiline},
    }


def build_content_modal() -> dict[str, Any]:
    """The add-content form."""
    translations = _input("translations", "Translations", multiline=True)
    translations["hint"] = plain("One per line: `es: Hola a todos`", 2000)
    return {
        "type": "modal",
        "callback_id": CONTENT_MODAL,
        "title": plain("Add content"),
        "submit": plain("Add"),
        "close": plain("Cancel"),
        "blocks": [
            _input("id", "Id", optional=False),
            _input("caption", "Caption", optional=False, multiline=True),
            _input("hashtags", "Hashtags"),
            _input("link", "Link"),
            translations,
            _input("tags", "Tags (for calendar queues: queue_tag=...)"),
        ],
    }


def fields_from_state(values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The submitted form as content fields (empty inputs left out)."""
    out: dict[str, Any] = {}
    for field in FIELDS:
        value = str(values.get(field, {}).get(field + INPUT, {}).get("value") or "").strip()
        if value:
            out[field] = value
    if "translations" in out:
        translations: dict[str, str] = {}
        for line in str(out["translations"]).splitlines():
            lang, sep, text = line.partition(":")
            if not sep or not lang.strip() or not text.strip():
                raise InvalidRequest("translations", f"{line!r} is not `lang: text`")
            translations[lang.strip().lower()] = text.strip()
        out["translations"] = translations
    return out


async def on_content_submitted(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Validate the form (errors next to the field), then add the item."""
    deps = deps_of(context)
    user = str(body["user"]["id"])
    try:
        content = content_from_fields(fields_from_state(body["view"]["state"]["values"]))
        actor = deps.require(user, Role.OPERATOR, "add content")
        await _library(deps).add(actor, content)
    except InvalidRequest as exc:
        block = exc.field.split(".")[0] if exc.field.split(".")[0] in FIELDS else "caption"
        await ack(response_action="errors", errors={block: exc.problem[:150]})
        return
    await ack()
    await client.chat_postMessage(
        channel=user,
        text=f"Added `{content.id}` to the content library. Use it with "
        f"`content={content.id}` (window) or `queue={content.id},…` (calendar).",
    )
