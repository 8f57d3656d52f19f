"""Small Block Kit helpers that keep every message inside Slack's limits.

Limits (Slack's documentation): 50 blocks per message, 100 per modal or Home tab,
3 000 characters of section text, 2 000 per button value, 24 per modal title,
3 000 of `private_metadata`, 150 per header and 75 per button label.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_BUTTON_VALUE = 2000
MAX_MODAL_TITLE = 24
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 3000

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}


def plain(text: str, limit: int = MAX_BUTTON_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_value(data: dict[str, Any]) -> str:
    """A button value: compact JSON, refused (not silently cut) when over Slack's limit."""
    value = json.dumps(data, separators=(",", ":"), sort_keys=True)
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} chars exceeds {MAX_BUTTON_VALUE}")
    return value


def decode_value(value: str | None) -> dict[str, Any]:
    """The dict a builder encoded; `{}` for anything else (a forged or old button)."""
    try:
        data = json.loads(value or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def button(
    text: str,
    action_id: str,
    value: dict[str, Any],
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text),
        "action_id": action_id,
        "value": encode_value(value),
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str, *, danger: bool = False) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": plain(title, 100),
        "text": mrkdwn(text),
        "confirm": plain(yes, 30),
        "deny": plain("Cancel", 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def actions(block_id: str, *elements: dict[str, Any]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)[:25]}


def slack_time(at: datetime, fmt: str = "{date_short} {time}") -> str:
    """A timestamp every reader sees in their own time zone, with a UTC fallback."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{fmt}|{fallback}>"


def fit(blocks: list[Block], limit: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """Keep at most `limit` blocks; when cut, the last one says how many were left out."""
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return [*kept, context(f"_{len(blocks) - len(kept)} more blocks left out_")]


def table(rows: list[list[str]], *, limit: int = MAX_SECTION_TEXT - 8) -> str:
    """A fixed-width table inside a code block (Slack has no table block in sections)."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    body = ""
    for n, line in enumerate(lines):
        if len(body) + len(line) + 1 > limit - 20:
            body += f"… {len(lines) - n} more rows\n"
            break
        body += line + "\n"
    return f"```{body.rstrip()}```"
