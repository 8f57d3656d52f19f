"""Connecting accounts from Slack: `/herald accounts connect|disconnect`, the Reconnect button,
and the `/oauth/start` + `/oauth/callback` routes `herald serve` answers next to /slack/events.

The Connect button links to Herald's own `/oauth/start?state=…`, which redirects to the
platform's consent page; the callback finishes the sign-in and tells the Slack user who
asked "Connected @handle on X", or exactly why not.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import quote

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import CALLBACK_PATH, START_PATH, OAuthParts
from bot.slack import ids
from bot.slack.blocks.common import Block, decode_value
from bot.slack.blocks.connect import build_accounts_connections, build_connect_prompt, label
from bot.slack.context import BotDeps, deps_of
from bot.slack.failures import guarded
from bot.slack.grammar import Command
from engine.errors import ConnectRefused, HeraldError, InvalidInput
from engine.models import Role

log = logging.getLogger("herald.oauth")
Answer = tuple[str, list[Block] | None]


def register(app: AsyncApp) -> None:
    """The Reconnect button and the (link) Connect button's click."""
    app.action(ids.RECONNECT)(guarded(on_reconnect))
    app.action(ids.CONNECT_LINK)(guarded(on_connect_link))


def oauth_of(deps: BotDeps) -> OAuthParts:
    """The herald's OAuth parts; InvalidInput when this build has none."""
    parts = getattr(deps.herald, "oauth", None)
    if parts is None:
        raise InvalidInput("connecting accounts is not available in this Herald")
    return parts  # type: ignore[no-any-return]


def _redirect_uri(deps: BotDeps) -> str:
    uri = oauth_of(deps).redirect_uri(deps.settings.public_url)
    if uri is None:
        raise InvalidInput(
            "HERALD_PUBLIC_URL is not set, so the platform cannot send you back to Herald. "
            "Set it, or run `herald accounts connect <platform>` on the command line"
        )
    return uri


async def _prompt(
    deps: BotDeps,
    user: str,
    team: str,
    platform: str,
    *,
    channel: str | None,
    account_id: str | None = None,
    handle: str | None = None,
) -> Answer:
    actor = deps.require(user, Role.OPERATOR, "connect accounts")
    oauth = oauth_of(deps)
    client = oauth.service.client(platform)
    state = await oauth.service.start(
        platform,
        actor,
        team=team,
        redirect_uri=_redirect_uri(deps),
        channel=channel,
        account_id=account_id,
    )
    url = f"{deps.settings.public_url}{START_PATH}?state={quote(state)}"
    return (
        f"Connect {label(client.publisher)}: {url}",
        build_connect_prompt(client.publisher, url, handle=handle),
    )


async def accounts_command(deps: BotDeps, cmd: Command, body: dict[str, Any]) -> Answer | None:
    """`/herald accounts connect <platform>` / `disconnect <account>` / `[platform]`."""
    action = cmd.args[0].lower() if cmd.args else ""
    if action == "connect":
        if len(cmd.args) < 2:
            known = ", ".join(sorted(oauth_of(deps).clients)) or "none configured"
            raise InvalidInput(f"`/herald accounts connect` needs a platform (known: {known})")
        return await _prompt(
            deps,
            body["user_id"],
            str(body.get("team_id", "")),
            cmd.args[1],
            channel=body.get("channel_id"),
        )
    if action == "disconnect":
        if len(cmd.args) < 2:
            raise InvalidInput("`/herald accounts disconnect` needs an account id")
        actor = deps.require(body["user_id"], Role.OPERATOR, "disconnect accounts")
        done = await oauth_of(deps).service.disconnect(cmd.args[1], actor)
        if not done:
            return f"`{cmd.args[1]}` had no stored tokens; nothing changed", None
        return f"Disconnected `{cmd.args[1]}`: its tokens are deleted", None
    return None


async def accounts_overview(deps: BotDeps, platform: str | None) -> Answer:
    """`/herald accounts [platform]` with connection, token expiry and publisher per account."""
    rows = await oauth_of(deps).service.overview(platform)
    accounts = [r.account for r in rows]
    return "Accounts", build_accounts_connections(
        accounts,
        {r.account.id: r.connection for r in rows},
        platform,
        default_publisher=deps.settings.publisher,
    )


async def on_reconnect(ack: Any, body: dict[str, Any], context: Any) -> None:
    """The alert's Reconnect button: a private Connect link for whoever clicked (operators)."""
    await ack()
    deps = deps_of(context)
    value = decode_value((body.get("actions") or [{}])[0].get("value"))
    user = (body.get("user") or {}).get("id", "")
    account_id = str(value.get("a") or "")
    if not account_id:
        raise InvalidInput("this Reconnect button is out of date")
    async with deps.herald.repository.unit_of_work() as uow:
        account = await uow.get_account(account_id)
    # An alert raised by a publish failure names no publisher: the account's platform does.
    platform = str(value.get("p") or account.publisher or account.platform)
    text, blocks = await _prompt(
        deps,
        user,
        str((body.get("team") or {}).get("id", "")),
        platform,
        channel=(body.get("channel") or {}).get("id"),
        account_id=account_id,
        handle=account.handle,
    )
    respond = context.get("respond")
    if respond is not None:
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


async def on_connect_link(ack: Any) -> None:
    """Slack reports clicks on link buttons too; the browser does the work."""
    await ack()


# --- HTTP routes on `herald serve`
def add_oauth_routes(web_app: Any, deps: BotDeps, client: AsyncWebClient) -> None:
    """`GET /oauth/start` and `GET /oauth/callback`."""
    from aiohttp import web

    async def start(request: web.Request) -> web.Response:
        oauth = oauth_of(deps)
        url = await oauth.states.authorize_url(request.query.get("state", ""), now=deps.clock.now())
        if url is None:
            return _page(
                400,
                "This Connect link expired or was already used. Run "
                "/herald accounts connect <platform> in Slack again.",
            )
        raise web.HTTPFound(url)

    async def callback(request: web.Request) -> web.Response:
        query = request.query
        oauth = oauth_of(deps)
        try:
            connected = await oauth.service.complete(
                query.get("state", ""),
                code=query.get("code"),
                error=query.get("error_description") or query.get("error"),
                role_of=deps.roles.role_of,
            )
        except ConnectRefused as refused:
            await _tell(client, refused.slack_user, refused.channel, f"⚠️ Not connected: {refused}")
            return _page(400, f"Not connected: {refused}")
        except HeraldError as exc:
            log.warning("OAuth callback failed: %s", exc)
            return _page(500, f"Herald could not finish: {exc}")
        account = connected.account
        text = f"Connected {account.handle} on {connected.label}"
        if connected.reconnected:
            text += " (reconnected: its posts resume)"
        await _tell(client, connected.slack_user, connected.channel, f"✅ {text} (`{account.id}`)")
        return _page(200, f"{text}. You can close this window and go back to Slack.")

    web_app.router.add_get(START_PATH, start)
    web_app.router.add_get(CALLBACK_PATH, callback)


async def _tell(client: AsyncWebClient, user: str | None, channel: str | None, text: str) -> None:
    """Tell the Slack user privately: ephemeral where they asked, else a direct message."""
    if not user:
        return
    try:
        if channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackApiError:
                pass  # the bot is not in that channel: a DM still reaches them
        await client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.exception("could not tell %s how the connect ended", user)


# Polled by machines (probes, Prometheus) or already logged as the state change a request
# made (Slack): one INFO line each would be most of an idle day's log.
QUIET_PATHS = ("/health", "/metrics", "/slack/events")


def redacting_access_logger() -> Any:
    """An aiohttp access logger that never writes query strings: the OAuth callback's URL
    carries the authorization code and the state. Probes, scrapes and Slack's requests are
    DEBUG; other server errors are warnings."""
    from aiohttp.abc import AbstractAccessLogger

    class RedactingAccessLogger(AbstractAccessLogger):
        def log(self, request: Any, response: Any, time: float) -> None:
            if request.path in QUIET_PATHS:
                level = logging.DEBUG  # /health's 503 is in its body and in the metrics
            elif response.status >= 500:
                level = logging.WARNING
            else:
                level = logging.INFO
            self.logger.log(
                level,
                '%s "%s %s" %s %.3fs',
                request.remote,
                request.method,
                request.path,
                response.status,
                time,
            )

    return RedactingAccessLogger


def _page(status: int, message: str) -> Any:
    from aiohttp import web

    body = (
        "<!doctype html><meta charset=utf-8><title>Herald</title>"
        f"<p style='font:16px sans-serif;margin:3em'>{html.escape(message)}</p>"
    )
    return web.Response(status=status, text=body, content_type="text/html")
