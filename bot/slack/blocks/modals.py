"""Modals: the create form (fields are the request vocabulary) and the reject reason."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import MAX_MODAL_TITLE, Block, clip, plain

_PLATFORM_CHOICES = ("tiktok", "instagram", "youtube", "twitter", "linkedin")


def _input(
    block_id: str,
    label: str,
    *,
    placeholder: str = "",
    initial: str | None = None,
    optional: bool = True,
    multiline: bool = False,
    hint: str | None = None,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id + ids.INPUT_SUFFIX,
        "multiline": multiline,
    }
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    if initial:
        element["initial_value"] = initial
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _static_select(block_id: str, label: str, options: list[str], initial: str) -> Block:
    opts = [{"text": plain(o), "value": o} for o in options]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {
            "type": "static_select",
            "action_id": block_id + ids.INPUT_SUFFIX,
            "options": opts,
            "initial_option": next(o for o in opts if o["value"] == initial),
        },
    }


def build_create_modal(
    *, channel: str, now: datetime, platforms: list[str] | None = None
) -> dict[str, Any]:
    """The create form. Block ids are request field names; the origin channel rides along."""
    known = ", ".join(platforms or _PLATFORM_CHOICES)
    blocks: list[Block] = [
        _input(ids.F_NAME, "Name", placeholder="spring-launch", optional=False),
        _input(
            ids.F_CONTENT,
            "Content id",
            placeholder="vid-123 (defaults to the name)",
            hint="A content library item's id posts that item: leave Caption empty",
        ),
        _input(
            ids.F_CAPTION,
            "Caption",
            multiline=True,
            hint="Required unless Content id, Queue or Queue tag names library items",
        ),
        _input(ids.F_HASHTAGS, "Hashtags", placeholder="spring launch (space or comma separated)"),
        _input(
            ids.F_PLATFORMS,
            "Platforms",
            placeholder="tiktok,instagram",
            optional=False,
            hint=f"Known: {known}",
        ),
        _input(ids.F_LANGUAGES, "Languages", initial="en"),
        _static_select(ids.F_MODE, "Mode", ["window", "calendar"], "window"),
        _input(ids.F_WINDOW, "Window", initial="6h", hint="Window mode: spread over e.g. 90m, 6h"),
        _input(ids.F_DAYS, "Days", initial="7", hint="Calendar mode: number of days"),
        _input(
            ids.F_START,
            "Start (UTC)",
            initial="+10m",
            hint=f"ISO time like {now.strftime('%Y-%m-%dT%H:%MZ')}, `now` or `+30m`",
        ),
        _input(
            ids.F_VELOCITY,
            "Velocity",
            initial="1",
            hint="Calendar mode: posts per account per day, capped by the platform's daily maximum",
        ),
        _input(ids.F_ACCOUNTS, "Account count", placeholder="all eligible"),
        {
            "type": "input",
            "block_id": ids.F_TREND,
            "optional": True,
            "label": plain("Trend weighting"),
            "element": {
                "type": "checkboxes",
                "action_id": ids.F_TREND + ids.INPUT_SUFFIX,
                "options": [{"text": plain("Favour trending hours"), "value": "yes"}],
            },
        },
        _input(
            ids.F_QUEUE,
            "Queue",
            placeholder="w1,w2,w3",
            hint="Calendar mode: content library item ids to post over the days",
        ),
        _input(
            ids.F_QUEUE_TAG,
            "Queue tag",
            placeholder="winter",
            hint="Calendar mode: every active library item with this tag",
        ),
        _input(ids.F_MEDIA, "Media URLs", placeholder="https://… or m-… (comma separated)"),
        {
            "type": "input",
            "block_id": ids.F_MEDIA_FILES,
            "optional": True,
            "label": plain("Media files"),
            "hint": plain("A video, or up to 10 images; checked per platform when planned"),
            "element": {
                "type": "file_input",
                "action_id": ids.F_MEDIA_FILES + ids.INPUT_SUFFIX,
                "filetypes": ["mp4", "mov", "webm", "jpg", "jpeg", "png", "gif", "webp"],
                "max_files": 10,
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": ids.CREATE_MODAL,
        "title": plain(clip("New distribution", MAX_MODAL_TITLE), MAX_MODAL_TITLE),
        "submit": plain("Create"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"c": channel}),
        "blocks": blocks,
    }


def create_fields_from_state(values: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The modal's submitted state as flat request fields (empty inputs left out)."""
    fields: dict[str, str] = {}
    for block_id in ids.CREATE_FIELDS:
        element = values.get(block_id, {}).get(block_id + ids.INPUT_SUFFIX, {})
        kind = element.get("type")
        if kind == "static_select":
            value = (element.get("selected_option") or {}).get("value")
        elif kind == "checkboxes":
            value = "true" if element.get("selected_options") else "false"
        else:
            value = element.get("value")
        if value is not None and str(value).strip():
            fields[block_id] = str(value).strip()
    # Files shared through the modal join content.media as Slack file references.
    element = values.get(ids.F_MEDIA_FILES, {}).get(ids.F_MEDIA_FILES + ids.INPUT_SUFFIX, {})
    shared = [f"slack:{f['id']}" for f in element.get("files") or [] if f.get("id")]
    if shared:
        fields[ids.F_MEDIA] = ",".join(filter(None, [fields.get(ids.F_MEDIA), *shared]))
    # Window mode ignores days and calendar mode ignores the window: drop the other one,
    # so the defaults pre-filled in both never conflict.
    if fields.get(ids.F_MODE) == "calendar":
        fields.pop(ids.F_WINDOW, None)
    else:
        fields.pop(ids.F_DAYS, None)
    return fields


def build_reject_modal(
    *, distribution_id: str, name: str, version: int, channel: str, ts: str
) -> dict[str, Any]:
    """Ask for the reason of a rejection; the card to update rides in private_metadata."""
    meta = json.dumps({"d": distribution_id, "v": version, "c": channel, "ts": ts})
    return {
        "type": "modal",
        "callback_id": ids.REJECT_MODAL,
        "title": plain("Reject plan", MAX_MODAL_TITLE),
        "submit": plain("Reject"),
        "close": plain("Cancel"),
        "private_metadata": meta,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"Rejecting *{clip(name, 200)}*"},
            },
            _input(
                ids.REJECT_REASON_BLOCK,
                "Reason",
                optional=False,
                multiline=True,
                placeholder="What should change before this can go out?",
            ),
        ],
    }
