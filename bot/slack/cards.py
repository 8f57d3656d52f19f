"""Creating a distribution together with its plan card, so the card's place is persisted.

The card is posted first (a placeholder), and its channel and `ts` go into the
distribution's `origin`: the notifier finds its thread again after a restart.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.plan import build_draft_placeholder
from bot.slack.context import BotDeps
from engine.models import Actor, Distribution
from engine.request import DistributionRequest


async def create_with_card(
    deps: BotDeps,
    client: AsyncWebClient,
    actor: Actor,
    request: DistributionRequest,
    channel: str,
) -> Distribution:
    """Post a placeholder card in `channel`, create the draft with the card as its origin.

    Everything the engine would refuse is refused before anything is posted (the error
    reaches only the caller); if the engine still refuses (a race), the placeholder is
    deleted.
    """
    check = getattr(deps.service, "check_create", None)
    if check is not None:
        check(actor, request)
    origin: dict[str, str] = {"channel": channel, "user": actor.id}
    posted: dict[str, Any] | None = None
    if deps.notifier is not None:
        posted = await deps.notifier.post(
            channel=channel,
            text=f"Creating {request.name}…",
            blocks=build_draft_placeholder(request.name),
        )
        if posted and posted.get("ts"):
            # Slack answers with the real channel (a user id becomes their DM's D... id).
            origin["channel"] = str(posted.get("channel") or channel)
            origin["ts"] = str(posted["ts"])
    try:
        created: Distribution = await deps.service.create(actor, request, origin=origin)
    except Exception:
        if posted and posted.get("ts"):
            await client.chat_delete(
                channel=str(posted.get("channel", channel)), ts=str(posted["ts"])
            )
        raise
    if deps.notifier is not None and "ts" in origin:
        # Files posted in the card's thread find their distribution by it (issue 10).
        await deps.notifier.remember_card(created.id, origin["channel"], origin["ts"])
    return created
