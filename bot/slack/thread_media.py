"""Files posted in a distribution card's thread become its media (until it is approved).

An image or video shared in the thread of a plan card, by an operator, is downloaded from
Slack with the bot token (files.info, url_private), stored and probed, and attached
(`DistributionService.attach_media`); a planned distribution is planned again so its
media checks run before anyone approves. The answer goes in the thread: what each platform
gets, or why it refuses the file. Other files (a PDF, a CSV) are conversation, not media.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.common import escape, section
from bot.slack.context import BotDeps
from bot.slack.failures import safe_excerpt
from engine.errors import HeraldError
from engine.media_attach import EDITABLE, MediaAttached, describe_asset
from engine.models import DistributionStatus, Role

MEDIA_TYPES = ("image/", "video/")
# Distributions whose cards are looked for by their `origin` when no `card:` reference was
# kept (cards posted before references were): newest first, this many.
ORIGIN_SCAN = 200


def is_thread_file_share(event: dict[str, Any]) -> bool:
    """A reply in a thread that shares files (the card's thread is looked up later)."""
    thread = event.get("thread_ts")
    return bool(event.get("files")) and bool(thread) and thread != event.get("ts")


async def card_distribution(deps: BotDeps, channel: str, thread_ts: str) -> str | None:
    """The id of the distribution whose card starts this thread, if any."""
    if deps.notifier is not None:
        found = await deps.notifier.distribution_of_card(channel, thread_ts)
        if found is not None:
            return found
    live = [*EDITABLE, DistributionStatus.APPROVED, DistributionStatus.EXECUTING]
    for dist in await deps.service.list(statuses=live, limit=ORIGIN_SCAN):
        if dist.origin.get("channel") == channel and dist.origin.get("ts") == thread_ts:
            return dist.id
    return None


async def attach_thread_files(deps: BotDeps, client: AsyncWebClient, event: dict[str, Any]) -> bool:
    """Attach the media files of a card-thread reply; False when the thread is no card's
    (then the message is someone else's business)."""
    channel, thread = str(event["channel"]), str(event["thread_ts"])
    dist_id = await card_distribution(deps, channel, thread)
    if dist_id is None:
        return False
    files = [f for f in event.get("files") or [] if _is_media(f)]
    if not files:
        return True  # a document in the card's thread: talk, not media
    names = ", ".join(safe_excerpt(str(f.get("name") or f.get("id")), 80) for f in files)

    async def reply(text: str) -> None:
        await client.chat_postMessage(
            channel=channel, thread_ts=thread, text=text, blocks=[section(text)]
        )

    try:
        actor = deps.require(str(event.get("user", "")), Role.OPERATOR, "attach media")
        refs = [f"slack:{f['id']}" for f in files]
        # "replace" in the message: these files instead of the ones the content had.
        replace = "replace" in str(event.get("text", "")).lower()
        done = await deps.service.attach_media(actor, dist_id, refs, replace=replace)
    except HeraldError as exc:
        await reply(f"⚠️ {escape(names)} not attached: {safe_excerpt(str(exc))}")
        return True
    await reply(attached_text(done))
    return True


def attached_text(done: MediaAttached) -> str:
    """The thread answer: the files read, each platform's verdict, what happens next."""
    d = done.distribution
    added = ", ".join(escape(describe_asset(a)) for a in done.added)
    lines = [f"📎 Attached {added} to *{escape(d.name)}*."]
    if len(done.media) > len(done.added):
        lines[0] += f" It now carries {len(done.media)} files."
    for verdict, ok in done.verdicts:
        lines.append(f"{'✅' if ok else '⛔'} {escape(safe_excerpt(verdict, 400))}")
    if done.replanned:
        lines.append("Planned again with it: the card shows the new plan and its checks.")
    else:
        lines.append(f"Still a draft: `/herald plan {escape(d.name)}` checks it against each slot.")
    return "\n".join(lines)


def _is_media(file: dict[str, Any]) -> bool:
    return str(file.get("mimetype") or "").startswith(MEDIA_TYPES)
