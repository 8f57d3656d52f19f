"""Modal submissions: the create form and the reject reason.

The create form is validated before the ack, so a wrong field is shown next to that field
(`response_action: errors`) and the modal stays open; nothing is created.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.modals import create_fields_from_state
from bot.slack.cards import create_with_card
from bot.slack.context import deps_of
from bot.slack.failures import guarded
from engine.errors import ConcurrentModification, InvalidInput, InvalidRequest
from engine.models import Role
from engine.request import request_from_fields

# engine field (as InvalidRequest names it) -> the modal block showing it
FIELD_BLOCKS = {
    "name": ids.F_NAME,
    "content": ids.F_CAPTION,
    "content.id": ids.F_CONTENT,
    "content.caption": ids.F_CAPTION,
    "content.hashtags": ids.F_HASHTAGS,
    "platforms": ids.F_PLATFORMS,
    "languages": ids.F_LANGUAGES,
    "mode": ids.F_MODE,
    "spread_hours": ids.F_WINDOW,
    "window": ids.F_WINDOW,
    "days": ids.F_DAYS,
    "start": ids.F_START,
    "velocity": ids.F_VELOCITY,
    "account_count": ids.F_ACCOUNTS,
    "accounts": ids.F_ACCOUNTS,
    "trend_weighted": ids.F_TREND,
    "queue": ids.F_QUEUE,
    "queue_tag": ids.F_QUEUE_TAG,
    "content_ref": ids.F_CONTENT,
}


def register(app: AsyncApp) -> None:
    """Register the modal submission listeners."""
    app.view(ids.CREATE_MODAL)(guarded(on_create_submitted))
    app.view(ids.REJECT_MODAL)(guarded(on_reject_submitted))


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(body["view"].get("private_metadata") or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _block_for(field: str) -> str:
    root = field.split(".")[0] if field not in FIELD_BLOCKS else field
    return FIELD_BLOCKS.get(field) or FIELD_BLOCKS.get(root) or ids.F_NAME


async def _checked_request(deps: Any, user: str, fields: dict[str, str]) -> Any:
    """The form's request with its library items resolved, checked as `create` would
    (InvalidRequest naming the field, InvalidInput); nothing is stored."""
    request = request_from_fields(fields, now=deps.clock.now())
    check = getattr(deps.service, "check_create", None)
    if check is not None:
        check(deps.actor(user), request)  # what the engine refuses, before any post
    if request.unresolved:
        # One read, so an unknown or archived library id shows next to its field.
        try:
            request = await deps.herald.content.resolve(request)
        except InvalidRequest as exc:
            if exc.field == "content":  # the id is in the Content id box, not the caption
                raise InvalidRequest("content.id", exc.problem) from None
            raise
        if check is not None:
            check(deps.actor(user), request)  # the resolved items (duplicate gap, ...)
    return request


async def on_create_submitted(
    ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any
) -> None:
    """Validate the form, then create the draft and its card in the origin channel."""
    deps = deps_of(context)
    fields = create_fields_from_state(body["view"]["state"]["values"])
    user = str(body["user"]["id"])
    try:
        request = await _checked_request(deps, user, fields)
    except InvalidRequest as exc:
        await ack(response_action="errors", errors={_block_for(exc.field): exc.problem[:150]})
        return
    except InvalidInput as exc:
        block = ids.F_PLATFORMS if "platform" in str(exc) else ids.F_NAME
        await ack(response_action="errors", errors={block: str(exc)[:150]})
        return
    await ack()
    actor = deps.require(user, Role.OPERATOR, "create distributions")
    channel = str(_meta(body).get("c") or user)
    dist = await create_with_card(deps, client, actor, request, channel)
    await client.chat_postEphemeral(
        channel=dist.origin.get("channel", channel),
        user=user,
        text=f"Created draft *{dist.name}* (`{dist.id}`). Next: `/herald plan {dist.id}`",
    )


async def on_reject_submitted(ack: Any, body: dict[str, Any], context: Any) -> None:
    """Reject with the given reason (the version the card showed must still be current)."""
    values = body["view"]["state"]["values"]
    reason = str(
        values.get(ids.REJECT_REASON_BLOCK, {}).get(ids.REJECT_REASON_INPUT, {}).get("value") or ""
    ).strip()
    if not reason:
        await ack(
            response_action="errors",
            errors={ids.REJECT_REASON_BLOCK: "Say why, so the author can fix it"},
        )
        return
    await ack()
    deps = deps_of(context)
    meta = _meta(body)
    if not meta.get("d"):
        raise InvalidInput("this form lost track of its plan; press Reject on the card again")
    try:
        await deps.service.reject(
            deps.actor(str(body["user"]["id"])),
            str(meta["d"]),
            reason=reason,
            expected_version=meta.get("v"),
        )
    except ConcurrentModification:
        if deps.notifier is not None:
            await deps.notifier.refresh_card(str(meta["d"]))
        raise ConcurrentModification(
            "the plan changed while you were writing; nothing was rejected. "
            "The card shows the current plan."
        ) from None
