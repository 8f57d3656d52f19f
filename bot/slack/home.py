"""The App Home tab: rendered for the user who opens it, from the service's current state."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.home import build_home
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from engine.models import DistributionStatus, Role

EVENT_TYPES = ("app_home_opened",)


def register(app: AsyncApp) -> None:
    """Register the `app_home_opened` event."""
    app.event(EVENT_TYPES[0])(guarded(on_home_opened))


async def on_home_opened(event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """Publish the Home tab when the user opens it (bolt acks events for us)."""
    if event.get("tab", "home") != "home":
        return
    await publish_home(deps_of(context), client, str(event["user"]))


async def publish_home(deps: BotDeps, client: AsyncWebClient, user: str) -> None:
    """Render and publish `user`'s Home tab."""
    service = deps.service
    running = await service.list(
        statuses=[DistributionStatus.EXECUTING, DistributionStatus.PAUSED], limit=20
    )
    active = [(d, (await deps.status(d.id)).counts) for d in running]
    waiting = await service.list(statuses=[DistributionStatus.AWAITING_APPROVAL], limit=20)
    accounts = await deps.reads.accounts() if deps.reads else await service.accounts(None)
    view = build_home(
        active=active,
        waiting=waiting,
        accounts=accounts,
        can_approve=deps.actor(user).role == Role.APPROVER,
    )
    await client.views_publish(user_id=user, view=view)
