"""How an error reaches the user who caused it: one function, used by every listener.

`report_error` is bolt's `@app.error` handler. Listeners are also wrapped by `guarded`,
which hands errors raised *after* `ack()` to the same function: bolt's background runner
(process_before_response=False) resets `ack.response` when a listener raises after
acking (slack_bolt/listener/asyncio_runner.py), which turns an acknowledged request into
a 3-second wait and a 404 for Slack. Catching the error in the task keeps the ack intact.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.common import clip, escape, section
from bot.slack.blocks.reports import build_choice
from bot.slack.context import DEPS
from bot.slack.grammar import parse_command
from engine.errors import AmbiguousName, HeraldError

log = logging.getLogger("herald.slack")

Listener = Callable[..., Awaitable[Any]]


def guarded(listener: Listener) -> Listener:
    """`listener` with its errors answered by `report_error` (and an ack if it had none)."""
    wanted = list(inspect.signature(listener).parameters)

    async def run(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        available = {
            "ack": ack,
            "body": body,
            "client": client,
            "context": context,
            "respond": context.get("respond"),
            "command": body,
            "event": body.get("event") or {},
        }
        try:
            await listener(**{name: available[name] for name in wanted})
        except Exception as error:
            if getattr(ack, "response", True) is None:
                await ack()
            await report_error(error, body, client, context)

    run.__name__ = listener.__name__
    run.__doc__ = listener.__doc__
    return run


async def report_error(
    error: Exception, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """The person who caused `error` sees a specific, ephemeral message; bugs are logged."""
    if isinstance(error, HeraldError):
        text = f"⚠️ {safe_excerpt(str(error))}"
    else:
        log.error("unexpected error in a Slack listener", exc_info=error)
        text = "⚠️ Something went wrong on Herald's side; it is logged. Please try again."
    blocks = [section(text)]
    if isinstance(error, AmbiguousName):
        command, rest = _command_of(body)
        blocks = build_choice(command, error.candidates, rest)
    deps = context.get(DEPS)
    if deps is not None:
        deps.metrics.inc("herald_slack_errors_total", kind=type(error).__name__)
    try:
        await tell_user(client, body, text, blocks, respond=context.get("respond"))
    except Exception:
        log.exception("could not tell the user about %s", type(error).__name__)


_LONG_WORD = re.compile(r"\S{61,}")
_MENTION = re.compile(r"<[@#][A-Z0-9]{2,20}(?:\|[^<>\n]{0,80})?>")


def safe_excerpt(text: str, limit: int = 600) -> str:
    """`text` (which may quote what the user typed) fit to show back: a long word is cut
    to a short excerpt with its length, and `<`, `>`, `&` are escaped, so echoed input
    cannot ping (`<!channel>`) or link; user and channel mentions stay."""
    text = _LONG_WORD.sub(lambda m: f"{m.group(0)[:40]}…({len(m.group(0)):,} characters)", text)
    parts, last = [], 0
    for mention in _MENTION.finditer(text):
        parts += [escape(text[last : mention.start()]), mention.group(0)]
        last = mention.end()
    parts.append(escape(text[last:]))
    return clip("".join(parts), limit)


def _command_of(body: dict[str, Any]) -> tuple[str, str | None]:
    try:
        parsed = parse_command(str(body.get("text", "")))
    except HeraldError:
        return "status", None
    return parsed.name, parsed.rest


async def tell_user(
    client: AsyncWebClient,
    body: dict[str, Any],
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    respond: Any = None,
) -> None:
    """Answer only the user behind `body`: response_url, ephemeral, or a DM for modals."""
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    if respond is not None and getattr(respond, "response_url", None):
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        return
    channel = (
        body.get("channel_id") or (body.get("channel") or {}).get("id") or event.get("channel")
    )
    if body.get("type") == "view_submission" or not channel:
        if user:
            await client.chat_postMessage(channel=user, text=text, blocks=blocks)
        return
    if user:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=blocks, thread_ts=event.get("thread_ts")
        )
