"""Content library blocks: the add form, its "checking media" and done views, the list,
and one item in full with its media and what each platform would do with it.

The form's block ids are the content fields it fills (one vocabulary with the request's
`content`); files shared through it become `slack:F…` media references.
"""

from __future__ import annotations

from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import MAX_SECTION_TEXT, Block, clip, escape, plain, section
from engine.content_library import ItemMedia
from engine.models import ContentItem

# The content fields the form fills from text inputs; `type` is a select and the files
# (ids.F_MEDIA_FILES) join `media`.
TEXT_FIELDS = ("id", "caption", "hashtags", "link", "translations", "tags", ids.F_MEDIA)
TYPES = ("video", "short", "reel", "story", "image", "post", "text")
# Slack's plain_text_input holds at most 3 000 characters; longer captions come by import.
MAX_INPUT = 3000
_HINTS = {
    "caption": "Up to 3000 characters here; `herald content import` takes longer ones",
    "translations": "One per line: `es: Hola a todos`",
    "tags": "One word each, space or comma separated (for calendar queues: queue_tag=...)",
    ids.F_MEDIA: "Media URLs or ids (m-…), comma separated; stored and checked when you add",
}
_LABELS = {
    "id": "Id",
    "caption": "Caption",
    "hashtags": "Hashtags",
    "link": "Link",
    "translations": "Translations",
    "tags": "Tags",
    ids.F_MEDIA: "Media URLs",
}


def _input(field: str, values: dict[str, str], problems: dict[str, str]) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": field + ids.INPUT_SUFFIX,
        "multiline": field in {"caption", "translations"},
        "max_length": MAX_INPUT,
    }
    if values.get(field):
        element["initial_value"] = clip(values[field], MAX_INPUT)
    block: Block = {
        "type": "input",
        "block_id": field,
        "optional": field not in {"id", "caption"},
        "label": plain(_LABELS[field], 2000),
        "element": element,
    }
    hint = problems.get(field) or _HINTS.get(field)
    if hint:
        block["hint"] = plain(("⚠️ " if field in problems else "") + hint, 2000)
    return block


def build_content_modal(
    values: dict[str, str] | None = None, problems: dict[str, str] | None = None
) -> dict[str, Any]:
    """The add-content form; `values` refill it and `problems` (block id -> text) show
    under their fields when a check that outlived Slack's 3 s answer failed."""
    values, problems = values or {}, problems or {}
    options = [{"text": plain(t), "value": t} for t in TYPES]
    chosen = values.get("type") if values.get("type") in TYPES else "video"
    type_block: Block = {
        "type": "input",
        "block_id": "type",
        "label": plain("Type"),
        "hint": plain(
            problems.get("type")
            or "What the item is; each platform posts it as "
            "its nearest format (`content show` says which)",
            2000,
        ),
        "element": {
            "type": "static_select",
            "action_id": "type" + ids.INPUT_SUFFIX,
            "options": options,
            "initial_option": next(o for o in options if o["value"] == chosen),
        },
    }
    files: Block = {
        "type": "input",
        "block_id": ids.F_MEDIA_FILES,
        "optional": True,
        "label": plain("Media files"),
        "hint": plain(
            ("⚠️ " + problems[ids.F_MEDIA_FILES])
            if ids.F_MEDIA_FILES in problems
            else "A video, or up to 10 images; stored and checked when you add",
            2000,
        ),
        "element": {
            "type": "file_input",
            "action_id": ids.F_MEDIA_FILES + ids.INPUT_SUFFIX,
            "filetypes": ["mp4", "mov", "webm", "jpg", "jpeg", "png", "gif", "webp"],
            "max_files": 10,
        },
    }
    blocks = [_input(f, values, problems) for f in TEXT_FIELDS]
    blocks.insert(2, type_block)
    return {
        "type": "modal",
        "callback_id": ids.CONTENT_MODAL,
        "title": plain("Add content"),
        "submit": plain("Add"),
        "close": plain("Cancel"),
        "blocks": [*blocks, files],
    }


def content_form_values(
    state: dict[str, dict[str, Any]],
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The submitted form: its text fields and type (empty ones left out), and the Slack
    files shared through it as (file id, file name)."""
    out: dict[str, str] = {}
    for field in (*TEXT_FIELDS, "type"):
        element = state.get(field, {}).get(field + ids.INPUT_SUFFIX, {})
        value = element.get("value")
        if element.get("type") == "static_select":
            value = (element.get("selected_option") or {}).get("value")
        if value is not None and str(value).strip():
            out[field] = str(value).strip()
    element = state.get(ids.F_MEDIA_FILES, {}).get(ids.F_MEDIA_FILES + ids.INPUT_SUFFIX, {})
    files = [
        (str(f["id"]), str(f.get("name") or f["id"]))
        for f in element.get("files") or []
        if f.get("id")
    ]
    return out, files


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A one-message modal (checking media, added)."""
    return {
        "type": "modal",
        "callback_id": ids.CONTENT_MODAL + ".notice",
        "title": plain(title),
        "close": plain("Close"),
        "blocks": [section(text)],
    }


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
    empty = f"No items with tag `{escape(tag)}`." if tag else "No items yet."
    return [section(clip(title + "\n" + ("\n".join(lines) or empty), MAX_SECTION_TEXT))]


def item_blocks(item: ContentItem, media: ItemMedia) -> list[Block]:
    """One item in full (`content show`): caption, details, media, platforms; each part in
    its own section so a long caption never crowds out the rest."""
    c = item.content
    state = f" (archived {item.archived_at:%Y-%m-%d})" if item.archived_at else ""
    caption = escape(c.caption)
    if len(caption) > 2500:
        caption = (
            clip(caption, 2500) + f"\n_(caption of {len(c.caption):,} characters, cut here: "
            f"`herald content show {escape(c.id)}` prints it whole)_"
        )
    blocks = [section(f"*{escape(c.id)}*{state} · {escape(c.type)}\n{caption}")]
    details = []
    if c.hashtags:
        details.append(" ".join("#" + escape(t) for t in c.hashtags))
    if c.link:
        details.append(f"link: {escape(c.link)}")
    details.extend(
        f"{escape(lang)}: {escape(clip(text, 300))}" for lang, text in c.translations.items()
    )
    if c.tags:
        details.append("tags: " + escape(", ".join(c.tags)))
    details.append(f"added by <@{escape(item.created_by)}>")
    blocks.append(section(clip("\n".join(details), MAX_SECTION_TEXT)))
    files = [f"• {escape(f.text())}" for f in media.files] or ["_no media attached_"]
    blocks.append(section(clip("*Media*\n" + "\n".join(files), MAX_SECTION_TEXT)))
    fits = [("✅ " if p.takes else "⛔ ") + escape(p.text()) for p in media.platforms]
    blocks.append(section(clip("*Per platform*\n" + "\n".join(fits), MAX_SECTION_TEXT)))
    return blocks
