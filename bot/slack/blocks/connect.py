"""Block Kit for connected accounts: the Connect prompt, the Reconnect alert, the accounts table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import (
    Block,
    actions,
    button,
    clip,
    context,
    escape,
    section,
    slack_time,
    table,
)
from engine.connections import connection_cells
from engine.credentials import ConnectionInfo
from engine.models import Account, Event

LABELS = {
    "x": "X",
    "linkedin": "LinkedIn",
    "youtube": "YouTube",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "postiz": "Postiz",
    "mixpost": "Mixpost",
}


def label(publisher: str) -> str:
    """How a publisher is named to people (`x` -> `X`)."""
    return LABELS.get(publisher, publisher)


def link_button(text: str, url: str, value: dict[str, Any]) -> dict[str, Any]:
    """A button that opens `url` (Slack still sends Herald a click, which is acked)."""
    element = button(text, ids.CONNECT_LINK, value, style="primary")
    element["url"] = url
    return element


def build_connect_prompt(publisher: str, url: str, *, handle: str | None = None) -> list[Block]:
    """The caller's private Connect button (the link is single use, 10 minutes)."""
    what = (
        f"reconnect *{escape(handle)}* on {label(publisher)}"
        if handle
        else (f"connect a {label(publisher)} account")
    )
    return [
        section(
            f"Sign in to {label(publisher)} to {what}. The link is yours alone, works once "
            "and expires in 10 minutes."
        ),
        actions(
            ids.ACCOUNT_ACTIONS_BLOCK,
            link_button(f"Connect {label(publisher)}", url, {"p": publisher}),
        ),
    ]


def build_needs_auth_alert(event: Event) -> list[Block]:
    """The one alert for an account whose token was refused for good, with Reconnect."""
    data = event.data or {}
    publisher = str(data.get("publisher") or data.get("platform") or "")
    who = escape(str(data.get("handle") or event.account_id or "an account"))
    reason = escape(clip(str(data.get("reason") or "its token was refused"), 500))
    value = {"a": event.account_id or "", "p": publisher}
    return [
        section(
            f"🔌 *{who}* on {label(publisher) or 'its platform'} needs reconnecting: {reason}\n"
            "Herald will not post with it (its pending posts move to other accounts or wait "
            "with a reason) until an operator reconnects it."
        ),
        actions(
            ids.ACCOUNT_ACTIONS_BLOCK, button("Reconnect", ids.RECONNECT, value, style="primary")
        ),
        context(f"Operators only · `{event.account_id}` · {slack_time(event.at, '{time}')}"),
    ]


def build_accounts_connections(
    accounts: Sequence[Account],
    connections: Mapping[str, ConnectionInfo | None],
    platform: str | None = None,
    *,
    default_publisher: str = "default",
) -> list[Block]:
    """Accounts with their state and connection (connected, token expiry UTC, publisher)."""
    if not accounts:
        where = f" on {platform}" if platform else ""
        return [
            section(
                f"No accounts{where}. Import a CSV with `/herald import`, or "
                "`/herald accounts connect <platform>`."
            )
        ]
    rows = [["account", "platform", "state", "connected", "token expires", "publisher"]]
    rows += [
        [
            clip(a.handle or a.id, 22),
            a.platform,
            a.state.value,
            *connection_cells(a, connections.get(a.id), default_publisher),
        ]
        for a in accounts[:60]
    ]
    connected = sum(1 for a in accounts if connections.get(a.id) is not None)
    more = f" (first 60 of {len(accounts)})" if len(accounts) > 60 else ""
    return [
        section(f"*{len(accounts)} accounts*, {connected} connected{more}\n" + table(rows)),
        context("Connect one: `/herald accounts connect x` · expiry in UTC"),
    ]
