"""A Block Kit validator for tests: what Slack refuses with `invalid_blocks`.

Limits from Slack's Block Kit reference (blocks, block elements, composition objects,
views): 50 blocks in a message, 100 in a modal or Home tab; block_id ≤ 255 and unique;
action_id ≤ 255 and unique in the message or view (Slack refuses duplicates even across
blocks); section text ≤ 3 000, ≤ 10 fields of ≤ 2 000; header ≤ 150 plain text; context
1-10 elements; actions 1-25 elements; button text ≤ 75 plain text, value ≤ 2 000, url ≤
3 000, style primary/danger; confirm title ≤ 100, text ≤ 300, confirm/deny ≤ 30; input
label ≤ 2 000 and an element; select ≤ 100 options, option text ≤ 75, value ≤ 150;
checkboxes ≤ 10 options; modal title, submit and close ≤ 24, private_metadata ≤ 3 000,
callback_id ≤ 255. Text objects need a non-empty `text`. Message fallback `text` ≤ 40 000.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
MAX_MESSAGE_TEXT = 40_000


class BlockKitError(ValueError):
    """What is wrong and where (`blocks[3].elements[1].value: 2 100 > 2 000`)."""


def _fail(where: str, problem: str) -> None:
    raise BlockKitError(f"{where}: {problem}")


def _text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in {"plain_text", "mrkdwn"}:
        _fail(where, f"not a text object: {obj!r:.80}")
    if plain_only and obj["type"] != "plain_text":
        _fail(where, "must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        _fail(where, "text is empty")
    if len(text) > limit:
        _fail(where, f"text of {len(text)} chars > {limit}")
    if "emoji" in obj and obj["type"] != "plain_text":
        _fail(where, "emoji only goes with plain_text")


def _confirm(dialog: Any, where: str) -> None:
    if not isinstance(dialog, dict):
        _fail(where, "confirm is not an object")
    _text(dialog.get("title"), f"{where}.title", 100, plain_only=True)
    _text(dialog.get("text"), f"{where}.text", 300)
    _text(dialog.get("confirm"), f"{where}.confirm", 30, plain_only=True)
    _text(dialog.get("deny"), f"{where}.deny", 30, plain_only=True)
    if dialog.get("style") not in (None, "primary", "danger"):
        _fail(where, f"style {dialog['style']!r}")


def _option(option: Any, where: str) -> None:
    _text(option.get("text") if isinstance(option, dict) else None, f"{where}.text", 75)
    value = option.get("value", "")
    if not isinstance(value, str) or not value or len(value) > 150:
        _fail(where, f"option value {value!r:.40} (1-150 chars)")


def _element(el: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(el, dict) or not el.get("type"):
        _fail(where, "element without a type")
    kind = el["type"]
    if kind in {"image"}:
        return
    action_id = el.get("action_id")
    if action_id is not None or kind == "button":
        if not isinstance(action_id, str) or not action_id or len(action_id) > 255:
            _fail(where, f"action_id {action_id!r:.40} (1-255 chars)")
        if action_id in action_ids:
            _fail(where, f"duplicate action_id {action_id!r}")
        action_ids.add(action_id)
    if kind == "button":
        _text(el.get("text"), f"{where}.text", 75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            _fail(where, f"button value of {len(str(el['value']))} chars > 2000")
        if len(str(el.get("url", ""))) > 3000:
            _fail(where, "button url > 3000")
        if el.get("style") not in (None, "primary", "danger"):
            _fail(where, f"button style {el['style']!r}")
    elif kind in {"static_select", "radio_buttons"}:
        options = el.get("options") or []
        if not options or len(options) > 100:
            _fail(where, f"{len(options)} options (1-100)")
        for i, option in enumerate(options):
            _option(option, f"{where}.options[{i}]")
    elif kind == "checkboxes":
        options = el.get("options") or []
        if not options or len(options) > 10:
            _fail(where, f"{len(options)} checkbox options (1-10)")
        for i, option in enumerate(options):
            _option(option, f"{where}.options[{i}]")
    elif kind == "plain_text_input" and len(str(el.get("initial_value", ""))) > 3000:
        _fail(where, "initial_value > 3000")
    if "placeholder" in el:
        _text(el["placeholder"], f"{where}.placeholder", 150, plain_only=True)
    if "confirm" in el:
        _confirm(el["confirm"], f"{where}.confirm")


def _block(block: Any, where: str, action_ids: set[str], *, in_view: bool) -> None:
    if not isinstance(block, dict):
        _fail(where, "not an object")
    kind = block.get("type")
    if kind == "section":
        if "text" not in block and not block.get("fields"):
            _fail(where, "section needs text or fields")
        if "text" in block:
            _text(block["text"], f"{where}.text", 3000)
        fields = block.get("fields") or []
        if len(fields) > 10:
            _fail(where, f"{len(fields)} fields > 10")
        for i, f in enumerate(fields):
            _text(f, f"{where}.fields[{i}]", 2000)
        if "accessory" in block:
            _element(block["accessory"], f"{where}.accessory", action_ids)
    elif kind == "header":
        _text(block.get("text"), f"{where}.text", 150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > 10:
            _fail(where, f"{len(elements)} context elements (1-10)")
        for i, el in enumerate(elements):
            if isinstance(el, dict) and el.get("type") == "image":
                continue
            _text(el, f"{where}.elements[{i}]", 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > 25:
            _fail(where, f"{len(elements)} actions elements (1-25)")
        for i, el in enumerate(elements):
            _element(el, f"{where}.elements[{i}]", action_ids)
    elif kind == "input":
        if not in_view:
            _fail(where, "input blocks only go in modals")
        _text(block.get("label"), f"{where}.label", 2000, plain_only=True)
        if "hint" in block:
            _text(block["hint"], f"{where}.hint", 2000, plain_only=True)
        _element(block.get("element"), f"{where}.element", action_ids)
    elif kind == "image":
        if not block.get("image_url") or len(block["image_url"]) > 3000:
            _fail(where, "image_url (1-3000 chars)")
        alt = block.get("alt_text", "")
        if not alt or len(alt) > 2000:
            _fail(where, "alt_text (1-2000 chars)")
    elif kind != "divider":
        _fail(where, f"unknown block type {kind!r}")


def validate_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS, in_view: bool = False) -> None:
    """Raise BlockKitError naming the first thing Slack would refuse in `blocks`."""
    if blocks is None:
        return
    if not isinstance(blocks, list):
        _fail("blocks", "not a list")
    if len(blocks) > limit:
        _fail("blocks", f"{len(blocks)} blocks > {limit}")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                _fail(where, f"block_id {block_id!r:.40} (1-255 chars)")
            if block_id in block_ids:
                _fail(where, f"duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        _block(block, where, action_ids, in_view=in_view)


def validate_message(text: str | None, blocks: Any) -> None:
    """A chat.postMessage / chat.update / response_url payload: text or blocks, both valid."""
    if not text and not blocks:
        _fail("message", "neither text nor blocks")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        _fail("text", f"{len(text)} chars > {MAX_MESSAGE_TEXT}")
    validate_blocks(blocks)


def validate_view(view: Any) -> None:
    """A modal or Home tab view."""
    if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
        _fail("view", "type must be modal or home")
    if view["type"] == "modal":
        _text(view.get("title"), "view.title", 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                _text(view[key], f"view.{key}", 24, plain_only=True)
        has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            _fail("view", "a modal with inputs needs a submit button")
    if len(str(view.get("private_metadata", ""))) > 3000:
        _fail("view.private_metadata", "> 3000 chars")
    if len(str(view.get("callback_id", ""))) > 255:
        _fail("view.callback_id", "> 255 chars")
    validate_blocks(view.get("blocks") or [], limit=VIEW_BLOCKS, in_view=True)
