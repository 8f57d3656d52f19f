"""The `/herald` slash command: ack at once, parse, one service call, answer the caller.

Answers go only to the caller (ephemeral); shared state (the plan card, the progress
thread) is kept up to date by the SlackNotifier from the engine's events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks.common import Block, section
from bot.slack.blocks.modals import build_create_modal
from bot.slack.blocks.plan import items_text, simulation_summary
from bot.slack.blocks.reports import (
    build_accounts,
    build_analytics,
    build_captions,
    build_help,
    build_history,
    build_list,
    build_status,
    build_velocity,
)
from bot.slack.cards import create_with_card
from bot.slack.content import handle_content
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from bot.slack.grammar import Command, parse_command, request_from_command
from engine.errors import HeraldError, InvalidInput
from engine.models import Actor, Distribution, DistributionStatus, Role
from engine.platforms import PlatformTable
from engine.service import DistributionService

SLASH_COMMAND = "/herald"

Answer = tuple[str, list[Block] | None]
Handler = Callable[[BotDeps, Command, dict[str, Any], AsyncWebClient], Awaitable[Answer]]


def register(app: AsyncApp) -> None:
    """Register the `/herald` command."""
    app.command(SLASH_COMMAND)(guarded(on_herald))


def _quick_parse(text: str) -> Command | None:
    try:
        return parse_command(text)
    except HeraldError:
        return None  # parsed again after the ack, so the error handler explains it


async def on_herald(
    ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient, context: Any
) -> None:
    """Every `/herald ...` invocation."""
    deps = deps_of(context)
    text = str(command.get("text", ""))
    quick = _quick_parse(text)
    if quick is not None and (quick.name == "help" or quick.help):
        topic = quick.args[0].lower() if quick.name == "help" and quick.args else quick.name
        blocks = build_help(None if topic == "help" else topic)
        await ack(response_type="ephemeral", text="Herald help", blocks=blocks)
        return
    await ack()
    parsed = parse_command(text)
    if parsed.name == "create" and not parsed.fields and not parsed.args:
        deps.require(command["user_id"], Role.OPERATOR, "create distributions")
        view = build_create_modal(
            channel=command["channel_id"], now=deps.clock.now(), platforms=_platforms(deps).names()
        )
        await client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    text_out, answer_blocks = await HANDLERS[parsed.name](deps, parsed, command, client)
    await respond(text=text_out, blocks=answer_blocks, response_type="ephemeral")


def _platforms(deps: BotDeps) -> PlatformTable:
    return deps.herald.platforms


def _actor(deps: BotDeps, body: dict[str, Any]) -> Any:
    return deps.actor(body["user_id"], body.get("user_name", ""))


async def _create(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    actor = deps.require(body["user_id"], Role.OPERATOR, "create distributions")
    request = request_from_command(cmd, now=deps.clock.now())
    dist = await create_with_card(deps, client, actor, request, body["channel_id"])
    return f"Created draft *{dist.name}* (`{dist.id}`). Next: `/herald plan {dist.id}`", None


async def _plan(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    if deps.notifier is not None:
        deps.notifier.adopt_channel(cmd.key, body["channel_id"])
    view = await deps.service.plan(_actor(deps, body), cmd.key)
    dist = view.distribution
    left = len(getattr(view, "unscheduled", []) or [])
    extra = f", {left} accounts left out" if left else ""
    return (
        f"Planned *{len(view.slots):,} slots* for *{dist.name}*{extra}. The plan card is in "
        f"<#{dist.origin.get('channel', body['channel_id'])}>; approvers decide there.",
        None,
    )


async def _simulate(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    report = await deps.service.simulate(_actor(deps, body), cmd.key)
    blocks = [section("*Simulation*\n" + simulation_summary(report))]
    if report.get("items"):
        blocks.append(section(items_text(report["items"])))  # the plan card's figures
    return "Simulation", blocks


Move = Callable[[DistributionService, Actor, Command], Awaitable[Distribution]]
"""One typed lifecycle call on the service (the grammar has already required a reason)."""


def _simple(verb: str, move: Move) -> Handler:
    """A handler for a lifecycle command: one service call, a one-line answer."""

    async def handle(
        deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
    ) -> Answer:
        dist = await move(deps.service, _actor(deps, body), cmd)
        return f"{verb} *{dist.name}* (`{dist.id}`): now {dist.status.value}", None

    return handle


async def _retry(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    count = await deps.service.retry_failed(_actor(deps, body), cmd.key)
    return f"Re-planned {count} failed slot(s) of `{cmd.key}`", None


async def _status(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    view = await deps.status(cmd.key)
    return f"Status of {view.distribution.name}", build_status(view)


async def _list(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    statuses = None
    if cmd.args:
        wanted = cmd.args[0].upper()
        if wanted not in DistributionStatus.__members__:
            known = ", ".join(s.value.lower() for s in DistributionStatus)
            raise InvalidInput(f"`{cmd.args[0]}` is not a status (known: {known})")
        statuses = [DistributionStatus(wanted)]
    distributions = await deps.service.list(statuses=statuses, limit=20)
    return "Distributions", build_list(distributions)


async def _history(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    key = cmd.args[0] if cmd.args else None
    events = await deps.service.history(key=key, limit=20)
    return "History", build_history(events)


async def _analytics(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    return "Analytics", build_analytics(await deps.service.analytics())


async def _accounts(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    # oauth (issue 9): connect / disconnect, and the connection columns
    from bot.slack import oauth as oauth_slack

    answer = await oauth_slack.accounts_command(deps, cmd, body)
    if answer is not None:
        return answer
    platform = cmd.args[0].lower() if cmd.args else None
    if platform is not None:
        _platforms(deps)[platform]  # unknown platform -> InvalidInput listing the known ones
    if getattr(deps.herald, "oauth", None) is not None:
        return await oauth_slack.accounts_overview(deps, platform)
    accounts = await deps.service.accounts(platform)
    return "Accounts", build_accounts(accounts, platform, default_publisher=deps.settings.publisher)


async def _velocity(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    if not cmd.args:
        known = ", ".join(_platforms(deps).names())
        raise InvalidInput(f"`/herald velocity` needs a platform (known: {known})")
    rules = _platforms(deps)[cmd.args[0]]
    return "Velocity", build_velocity(rules, await deps.service.velocity(rules.name))


async def _captions(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    if not cmd.key:
        raise InvalidInput("`/herald captions` needs a distribution name or id")
    return "Captions", build_captions(cmd.key, await deps.service.captions(cmd.key))


async def _import(
    deps: BotDeps, cmd: Command, body: dict[str, Any], client: AsyncWebClient
) -> Answer:
    deps.require(body["user_id"], Role.OPERATOR, "import accounts")
    return (
        "To import accounts, send me the CSV file in a direct message with the word "
        "*import* in the message. Columns: id, platform, handle, timezone, language, followers.",
        None,
    )


HANDLERS: dict[str, Handler] = {
    "create": _create,
    "plan": _plan,
    "simulate": _simulate,
    "approve": _simple("Approved", lambda s, a, c: s.approve(a, c.key, note=c.rest or None)),
    "reject": _simple("Rejected", lambda s, a, c: s.reject(a, c.key, reason=c.rest or "")),
    "start": _simple("Started", lambda s, a, c: s.start(a, c.key)),
    "pause": _simple("Paused", lambda s, a, c: s.pause(a, c.key, reason=c.rest or None)),
    "resume": _simple("Resumed", lambda s, a, c: s.resume(a, c.key)),
    "cancel": _simple("Cancelled", lambda s, a, c: s.cancel(a, c.key, reason=c.rest or None)),
    "halt": _simple("Halted", lambda s, a, c: s.halt(a, c.key, reason=c.rest or "")),
    "retry": _retry,
    "status": _status,
    "list": _list,
    "history": _history,
    "analytics": _analytics,
    "accounts": _accounts,
    "velocity": _velocity,
    "captions": _captions,
    "import": _import,
    "content": handle_content,
}
