"""Events API: mentions and direct messages in plain language, and CSV imports in DMs.

Questions are answered at once. Anything that would change state is only proposed, with
a Confirm button; it runs when someone allowed to do it presses Confirm.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.common import actions, button, clip, context, escape, section
from bot.slack.blocks.reports import build_help, build_list, build_status
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded, safe_excerpt
from bot.slack.intents import NEEDS_REASON, Intent, describe, name_candidates
from bot.slack.thread_media import attach_thread_files, is_thread_file_share
from engine.errors import AmbiguousName, DistributionNotFound, InvalidInput
from engine.models import Distribution, Role

APPROVER_ACTIONS = frozenset({"approve", "reject", "halt"})
MAX_CSV_BYTES = 5_000_000


# Event types this module listens to (manifest.yml declares `message` as `message.im`,
# `message.channels` and `message.groups`: DMs, and files in plan cards' threads).
EVENT_TYPES = ("app_mention", "message")


def register(app: AsyncApp) -> None:
    """Register mentions and direct messages."""
    app.event(EVENT_TYPES[0])(guarded(on_mention))
    app.event(EVENT_TYPES[1])(guarded(on_message))


async def on_mention(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """`@herald pause the spring launch` in a channel: answer in a thread."""
    await answer_text(
        deps_of(context), client, event, thread_ts=event.get("thread_ts") or event.get("ts")
    )


async def on_message(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """A direct message to the bot, or files posted in a plan card's thread (its media);
    other message events are ignored."""
    if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
        return  # the bot's own posts; edits, deletions, joins: not requests
    deps = deps_of(context)
    if is_thread_file_share(event) and await attach_thread_files(deps, client, event):
        return
    if event.get("channel_type") != "im":
        return
    if event.get("files") and "import" in str(event.get("text", "")).lower():
        await import_csv(deps, client, event)
        return
    await answer_text(deps, client, event, thread_ts=event.get("thread_ts"))


async def resolve_key(deps: BotDeps, key: str) -> Distribution:
    """The distribution a spoken name means: tried as said, hyphenated, without 'launch'."""
    last: Exception = DistributionNotFound(key)
    for candidate in name_candidates(key):
        try:
            return await deps.service.resolve(candidate)  # type: ignore[no-any-return]
        except DistributionNotFound as exc:
            last = exc
        except AmbiguousName as exc:
            last = exc
            break
    raise last


async def answer_text(
    deps: BotDeps, client: AsyncWebClient, event: dict[str, Any], *, thread_ts: str | None
) -> None:
    """Work out the intent of a message and answer it (or propose it with Confirm)."""
    channel = str(event["channel"])
    user = str(event.get("user", ""))
    intent = await deps.intent_parser.parse(str(event.get("text", "")))

    async def say(text: str, blocks: list[Any] | None = None) -> None:
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks
        )

    if intent is None:
        await say(
            "I did not catch that. Try _how is spring doing?_, _pause spring because the "
            "video is wrong_, or `/herald help`."
        )
        return
    if intent.action == "help":
        await say("Herald help", build_help())
        return
    if intent.action == "list":
        await say("Distributions", build_list(await deps.service.list(limit=20)))
        return
    if not intent.key:
        raise InvalidInput(
            f"which distribution should I {intent.action}? Name it, e.g. _{intent.action} spring_"
        )
    dist = await resolve_key(deps, intent.key)
    if intent.action == "status":
        await say(f"Status of {dist.name}", build_status(await deps.status(dist.id)))
        return
    await say(*propose(intent, dist, user))


def propose(intent: Intent, dist: Distribution, user: str) -> tuple[str, list[Any]]:
    """The message that shows what a state-changing intent will do, with Confirm / Cancel."""
    # Clipped: the Confirm button carries them, and a button value holds 2 000 characters.
    args = {k: clip(str(v), 300) for k, v in list(intent.args.items())[:10]}
    if intent.action in NEEDS_REASON and "reason" not in args:
        args["reason"] = f"requested in chat by <@{user}>"
    if intent.action == "approve":
        args["v"] = str(dist.version)
    value = {"a": intent.action, "d": dist.id, "x": args}
    who = "an approver" if intent.action in APPROVER_ACTIONS else "an operator"
    what = describe(Intent(intent.action, dist.id, args), dist.name)
    text = f"I will {what} (`{dist.id}`, now {dist.status.value})."
    blocks = [
        section(text + " Confirm?"),
        actions(
            ids.INTENT_ACTIONS_BLOCK,
            button(
                "Confirm",
                ids.INTENT_CONFIRM,
                value,
                style="danger" if intent.action in {"halt", "cancel", "reject"} else "primary",
            ),
            button("Cancel", ids.INTENT_CANCEL, {"d": dist.id}),
        ),
        context(
            f"Only {who} can confirm. Nothing happens until someone does."
            + (f" Understood by {escape(intent.source)}." if intent.source != "keywords" else "")
        ),
    ]
    return text, blocks


async def import_csv(deps: BotDeps, client: AsyncWebClient, event: dict[str, Any]) -> None:
    """Import the accounts CSV shared in a DM (downloaded from Slack with the bot token)."""
    user = str(event.get("user", ""))
    actor = deps.require(user, Role.OPERATOR, "import accounts")
    file = (event.get("files") or [{}])[0]
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    _check_download_url(deps, url)
    token = (
        deps.settings.slack_bot_token.get_secret_value() if deps.settings.slack_bot_token else ""
    )
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        if response.status != 200:
            raise InvalidInput(
                f"could not download {file.get('name', 'the file')} (HTTP {response.status})"
            )
        data = await response.content.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"the CSV is larger than {MAX_CSV_BYTES // 1_000_000} MB")
    report = await deps.service.import_accounts(actor, data.decode("utf-8-sig"))
    errors = list(getattr(report, "errors", []) or [])
    name = safe_excerpt(str(file.get("name") or "the CSV"), 100)
    text = f"Imported *{report.imported}* accounts from {name}."
    if errors:
        # A refused row quotes its values: shown as short, escaped excerpts.
        shown = "\n".join(f"• {safe_excerpt(str(e), 300)}" for e in errors[:10])
        text += f" {len(errors)} rows were refused:\n{shown}"
    await client.chat_postMessage(channel=str(event["channel"]), text=text, blocks=[section(text)])


def _check_download_url(deps: BotDeps, url: str) -> None:
    """Send the bot token only to Slack's own hosts (or the configured API host)."""
    parts = urlsplit(url)
    api = urlsplit(deps.settings.slack_api_url)
    allowed = {"files.slack.com", api.hostname}
    if parts.scheme not in {"https", "http"} or parts.hostname not in allowed:
        raise InvalidInput("that file is not hosted by Slack; share the CSV as a file in this DM")
    if parts.scheme == "http" and parts.hostname != "127.0.0.1":
        raise InvalidInput("refusing to send the bot token over plain HTTP")
