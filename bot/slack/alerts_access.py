"""When Slack refuses a post in `HERALD_ALERTS_CHANNEL` because Herald is not in it, the
approvers are told in a direct message what to do, once a day per channel (across
replicas when the database is shared), not on every alert.

Risk, overdue and webhook-disabled alerts all go through `SlackDelivery`, which reports
each call Slack refused for good to `AlertsAccess.refused`. Before this, a bot never
invited to the channel left only a log line, and every alert after it was lost unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack.blocks.common import clip
from bot.slack.delivery import SlackDelivery
from engine.ports import Clock

log = logging.getLogger("herald.slack.alerts")

# What Slack answers when the app is not in the channel: a public one it was not invited
# to (without chat:write.public), or a private one (which then looks like no channel).
NOT_MEMBER = {
    "not_in_channel": "I am not a member of it",
    "channel_not_found": "it is private and I am not in it, or it does not exist",
}
MAX_TOLD = 20  # approvers told at most (a large group needs one who acts, not a crowd)


class AlertsAccess:
    """Tells the approvers, once a day per channel, that alerts cannot reach the channel."""

    def __init__(
        self,
        delivery: SlackDelivery,
        channel: str | None,
        *,
        approvers: Callable[[], list[str]],
        clock: Clock,
        claim: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.delivery = delivery
        self.channel = channel
        self.approvers = approvers
        self.clock = clock
        self.claim = claim  # one caller across replicas; None when nothing is shared
        self._told: set[str] = set()

    def install(self) -> None:
        """Listen to the calls Slack refuses."""
        self.delivery.refused.append(self.refused)

    async def refused(self, method: str, error: str, call: dict[str, Any]) -> None:
        """If Slack refused a post in the alerts channel for want of membership, DM the
        approvers how to fix it (with the alert that was lost), once a day."""
        channel = call.get("channel")
        if method != "chat.postMessage" or error not in NOT_MEMBER or channel != self.channel:
            return
        key = f"alerts-channel-{channel}-{self.clock.now():%Y-%m-%d}"
        if key in self._told:
            return
        self._told.add(key)
        if self.claim is not None and not await self.claim(key):
            return  # another replica (or an earlier run today) told them
        people = self.approvers()[:MAX_TOLD]
        if not people:
            log.warning(
                "cannot post alerts in %s (%s) and no HERALD_APPROVERS to tell: invite Herald",
                channel,
                error,
            )
            return
        lost = clip(str(call.get("text") or ""), 300)
        text = (
            f":warning: I cannot post alerts in <#{channel}>: {NOT_MEMBER[error]}. "
            f"Invite me with `/invite @Herald` in <#{channel}> (or set HERALD_ALERTS_CHANNEL "
            "to a channel I am in); until then alerts are lost. "
            "I tell you this once a day." + (f"\nThe alert was: {lost}" if lost else "")
        )
        for user in people:
            # A user id as the channel posts in the app's DM with them.
            await self.delivery.call("chat.postMessage", channel=user, text=text)
