"""Button clicks: plan decisions, slot retry/skip, alert halt/continue, intent confirmation.

Every button carries the distribution (and, on plan cards, the version it showed). A click
on a card whose plan has changed is refused and the card refreshed; the engine checks the
clicker's role, so an unauthorized click changes nothing and gets an ephemeral answer.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.alerts import build_alert_decided
from bot.slack.blocks.catch_up import build_catch_up_decided
from bot.slack.blocks.common import decode_value, section
from bot.slack.blocks.modals import build_create_modal, build_reject_modal
from bot.slack.blocks.progress import build_slot_decided
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from bot.slack.grammar import Command
from bot.slack.intents import Intent, describe
from engine.errors import ConcurrentModification, InvalidInput
from engine.models import Distribution, DistributionStatus, Role


def register(app: AsyncApp) -> None:
    """Register every button's listener."""
    app.action(ids.APPROVE)(guarded(on_approve))
    app.action(ids.REJECT)(guarded(on_reject))
    app.action(ids.SIMULATE)(guarded(on_simulate))
    app.action(ids.RETRY_SLOT)(guarded(on_retry_slot))
    app.action(ids.SKIP_SLOT)(guarded(on_skip_slot))
    app.action(ids.MARK_POSTED)(guarded(on_mark_posted))
    app.action(ids.HALT)(guarded(on_halt))
    app.action(ids.CONTINUE)(guarded(on_continue))
    app.action(ids.INTENT_CONFIRM)(guarded(on_intent_confirm))
    app.action(ids.INTENT_CANCEL)(guarded(on_intent_cancel))
    app.action(re.compile(ids.CHOOSE_PATTERN))(guarded(on_choose))
    app.action(ids.HOME_REFRESH)(guarded(on_home_refresh))
    app.action(ids.HOME_OPEN_CREATE)(guarded(on_home_create))
    for action_id in (ids.CATCH_UP_REPLAN, ids.CATCH_UP_PUBLISH, ids.CATCH_UP_SKIP):
        app.action(action_id)(guarded(on_catch_up))


def _value(body: dict[str, Any]) -> dict[str, Any]:
    """The clicked button's value; a button without a distribution or slot is refused."""
    action = (body.get("actions") or [{}])[0]
    value = decode_value(action.get("value"))
    if not value.get("d") and not value.get("s"):
        raise InvalidInput("this button is from an older Herald and no longer works")
    return value


def _user(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


async def _current(deps: BotDeps, value: dict[str, Any]) -> Distribution:
    """The distribution a plan button shows, refusing (and refreshing) a stale card."""
    dist: Distribution = await deps.service.resolve(value["d"])
    if value.get("v") is not None and int(value["v"]) != dist.version:
        await _stale(deps, dist.id)
    return dist


# What a plan in each state can no longer be decided because of (a click on its card).
_NO_LONGER = {
    DistributionStatus.CANCELLED: "was cancelled",
    DistributionStatus.HALTED: "was halted",
    DistributionStatus.REJECTED: "was rejected",
    DistributionStatus.COMPLETED: "has finished",
    DistributionStatus.APPROVED: "is already approved",
    DistributionStatus.EXECUTING: "is already approved and running",
    DistributionStatus.PAUSED: "is already approved (now paused)",
}


async def _stale(deps: BotDeps, distribution_id: str) -> None:
    """Refuse a click on an out-of-date card, saying why: the plan's state when it can
    no longer be decided (cancelled, halted, ...), else that the plan changed."""
    if deps.notifier is not None:
        await deps.notifier.refresh_card(distribution_id)
    dist: Distribution = await deps.service.resolve(distribution_id)
    gone = _NO_LONGER.get(dist.status)
    if gone is not None:
        raise ConcurrentModification(
            f"*{dist.name}* {gone}; there is nothing to decide on this card any more."
        )
    raise ConcurrentModification(
        "this plan changed since the card was shown; the card now shows the current plan. "
        "Look again, then decide."
    )


async def on_approve(ack: Any, body: dict[str, Any], context: Any) -> None:
    """Approve (primary, behind a confirm dialog)."""
    await ack()
    deps = deps_of(context)
    value = _value(body)
    try:
        await deps.service.approve(
            deps.actor(_user(body)), value["d"], expected_version=value.get("v")
        )
    except ConcurrentModification:
        await _stale(deps, value["d"])


async def on_reject(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """Reject (danger): ask for the reason in a modal; the modal does the rejecting."""
    await ack()
    deps = deps_of(context)
    deps.require(_user(body), Role.APPROVER, "reject plans")
    value = _value(body)
    dist = await _current(deps, value)
    if dist.status not in {DistributionStatus.AWAITING_APPROVAL, DistributionStatus.PLANNED}:
        await _stale(deps, dist.id)
    container = body.get("container") or {}
    view = build_reject_modal(
        distribution_id=dist.id,
        name=dist.name,
        version=dist.version,
        channel=str(container.get("channel_id", "")),
        ts=str(container.get("message_ts", "")),
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def on_simulate(ack: Any, body: dict[str, Any], respond: Any, context: Any) -> None:
    """Simulate: run the simulation; the card shows the result when it refreshes."""
    await ack()
    deps = deps_of(context)
    value = _value(body)
    dist = await _current(deps, value)
    await deps.service.simulate(deps.actor(_user(body)), dist.id)


async def _slot_action(
    body: dict[str, Any], client: AsyncWebClient, context: Any, action: str, verb: str
) -> None:
    deps = deps_of(context)
    value = _value(body)
    actor = deps.actor(_user(body))
    if action == "skip":
        slot = await deps.service.skip_slot(actor, value["s"])
    elif action == "mark_posted":
        slot = await deps.service.mark_posted(actor, value["s"])
    else:
        slot = await deps.service.retry_slot(actor, value["s"])
    container = body.get("container") or {}
    if container.get("channel_id") and container.get("message_ts"):
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{verb} by <@{_user(body)}>",
            blocks=build_slot_decided(slot, verb, _user(body), deps.clock.now()),
        )


async def on_retry_slot(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Retry a failed slot from its thread reply."""
    await ack()
    await _slot_action(body, client, context, "retry", "Retried")


async def on_skip_slot(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Skip a failed slot from its thread reply."""
    await ack()
    await _slot_action(body, client, context, "skip", "Skipped")


async def on_mark_posted(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Mark an OUTCOME_UNKNOWN slot posted after checking the platform."""
    await ack()
    await _slot_action(body, client, context, "mark_posted", "Marked posted")


async def _alert_decided(body: dict[str, Any], client: AsyncWebClient, verb: str) -> None:
    container = body.get("container") or {}
    message = body.get("message") or {}
    first = (message.get("blocks") or [{}])[0]
    text = (first.get("text") or {}).get("text", "Risk alert")
    if container.get("channel_id") and container.get("message_ts"):
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{verb} by <@{_user(body)}>",
            blocks=build_alert_decided(text, verb, _user(body)),
        )


async def on_halt(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """Halt from a risk alert (approvers; behind a danger confirm dialog)."""
    await ack()
    deps = deps_of(context)
    value = _value(body)
    await deps.service.halt(deps.actor(_user(body)), value["d"], reason="halted from a risk alert")
    await _alert_decided(body, client, "🛑 Halted")


async def on_continue(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """Continue after a risk alert: resume if it was auto-paused, else acknowledge."""
    await ack()
    deps = deps_of(context)
    actor = deps.require(_user(body), Role.APPROVER, "continue after a risk alert")
    value = _value(body)
    dist = await deps.service.resolve(value["d"])
    if dist.status == DistributionStatus.PAUSED:
        await deps.service.resume(actor, dist.id)
    await _alert_decided(body, client, "▶️ Continued")


async def on_catch_up(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    """Late posts past the window: Re-plan the rest / Publish spaced past it / Skip them."""
    await ack()
    deps = deps_of(context)
    value = _value(body)
    choice = str(value.get("c", ""))
    moved = await deps.service.decide_held(deps.actor(_user(body)), value["d"], choice)
    container = body.get("container") or {}
    first = ((body.get("message") or {}).get("blocks") or [{}])[0]
    text = (first.get("text") or {}).get("text", "Late posts")
    if container.get("channel_id") and container.get("message_ts"):
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{choice} by <@{_user(body)}>",
            blocks=build_catch_up_decided(text, choice, _user(body), moved),
        )


async def run_intent(deps: BotDeps, user: str, intent: Intent) -> str:
    """Carry out a confirmed intent through the service; returns what happened."""
    actor = deps.actor(user)
    key = intent.key or ""
    reason = intent.args.get("reason")
    service = deps.service
    if intent.action == "approve":
        version = intent.args.get("v")
        dist = await service.approve(actor, key, expected_version=int(version) if version else None)
    elif intent.action == "reject":
        dist = await service.reject(actor, key, reason=reason or "rejected in chat")
    elif intent.action == "halt":
        dist = await service.halt(actor, key, reason=reason or "halted in chat")
    elif intent.action == "pause":
        dist = await service.pause(actor, key, reason=reason)
    elif intent.action == "cancel":
        dist = await service.cancel(actor, key, reason=reason)
    elif intent.action == "resume":
        dist = await service.resume(actor, key)
    elif intent.action == "simulate":
        await service.simulate(actor, key)
        dist = await service.resolve(key)
    elif intent.action == "plan":
        dist = (await service.plan(actor, key)).distribution
    elif intent.action == "retry":
        count = await service.retry_failed(actor, key)
        return f"Re-planned {count} failed slot(s) of `{key}`"
    else:
        raise InvalidInput(f"`{intent.action}` cannot be confirmed")
    return f"Done: {describe(intent, dist.name)}, now {dist.status.value}"


async def on_intent_confirm(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Confirm a plain-language request: only now, and only for an authorized user, it runs."""
    await ack()
    deps = deps_of(context)
    value = _value(body)
    intent = Intent(
        str(value["a"]), str(value["d"]), {k: str(v) for k, v in (value.get("x") or {}).items()}
    )
    text = await run_intent(deps, _user(body), intent)
    await _replace(body, client, f"{text} (confirmed by <@{_user(body)}>)")


async def on_intent_cancel(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Drop a proposed action."""
    await ack()
    await _replace(body, client, f"Dropped; nothing changed (<@{_user(body)}>)")


async def _replace(body: dict[str, Any], client: AsyncWebClient, text: str) -> None:
    container = body.get("container") or {}
    if container.get("channel_id") and container.get("message_ts"):
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=text,
            blocks=[section(text)],
        )


async def on_choose(
    ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient, context: Any
) -> None:
    """One of several matching distributions was picked: run the command on it."""
    from bot.slack.commands import HANDLERS

    await ack()
    deps = deps_of(context)
    value = _value(body)
    command = str(value.get("c", "status"))
    if command not in HANDLERS:
        raise InvalidInput(f"`{command}` is not a Herald command")
    rest = str(value.get("r") or "").split()
    cmd = Command(command, [str(value["d"]), *rest])
    channel = (body.get("channel") or {}).get("id") or _user(body)
    text, blocks = await HANDLERS[command](
        deps, cmd, {"user_id": _user(body), "channel_id": channel}, client
    )
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def on_home_refresh(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Re-render the Home tab."""
    from bot.slack.home import publish_home

    await ack()
    await publish_home(deps_of(context), client, _user(body))


async def on_home_create(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Open the create form from the Home tab; the card goes to the user's DM."""
    await ack()
    deps = deps_of(context)
    deps.require(_user(body), Role.OPERATOR, "create distributions")
    view = build_create_modal(channel=_user(body), now=deps.clock.now())
    await client.views_open(trigger_id=body["trigger_id"], view=view)
