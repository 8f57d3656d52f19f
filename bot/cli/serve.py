"""`herald serve`: the Slack bot, the engine and its dispatcher in one process.

Socket Mode when `SLACK_APP_TOKEN` is set, else HTTP on `--port` with bolt's
`/slack/events`. Both serve `/health` (is the dispatcher really ticking?) and `/metrics`
(Prometheus text). Settings are checked before anything starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.bootstrap import Herald
    from bot.settings import Settings
    from bot.slack.context import BotDeps

log = logging.getLogger("herald.serve")


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """`herald serve [--port N] [--host H]`."""
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port (default HERALD_PORT, 3000)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0 behind a reverse proxy)"
    )


def run(args: argparse.Namespace) -> int:
    """Load settings, then serve until SIGINT/SIGTERM."""
    from bot.logs import configure_logging
    from bot.settings import load_settings, warn_unknown_variables

    settings = load_settings(warn=False)
    configure_logging(settings.log_level, settings.log_format)
    # After logging is set up, so that with HERALD_LOG_FORMAT=json they are JSON lines too.
    warn_unknown_variables()
    from engine.errors import HeraldError

    try:
        asyncio.run(serve(settings, host=args.host, port=args.port or settings.port))
    except HeraldError as exc:
        if settings.log_format != "json":
            raise  # the command line prints it as one plain line
        log.error("herald serve: %s", exc)  # a JSON line, like every other
        return 2
    except Exception:
        if settings.log_format != "json":
            raise
        log.exception("herald serve stopped on an unexpected error")  # traceback in "exc"
        return 1
    return 0


def dispatcher_health(herald: Herald) -> tuple[bool, str]:
    """Whether the dispatcher ticked recently (a stopped or wedged one is unhealthy)."""
    return herald.runner.healthy()


def build_web_app(bolt_app: AsyncApp, *, with_events: bool = True) -> web.Application:
    """The aiohttp app: bolt's /slack/events (HTTP mode), /health, /metrics, and the
    routes added with `Herald.add_routes` (e.g. the HTTP API)."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    from bot.slack.app import deps_of_app
    from bot.slack.signing import headers_signed

    deps = deps_of_app(bolt_app)
    secret = deps.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret is not None else ""

    from bot.metrics import MetricsNotifier
    from bot.ops import Operations

    ops = Operations(deps.herald, deps.metrics)
    deps.herald.add_notifier(MetricsNotifier(deps.metrics))

    async def events(request: web.Request) -> web.Response:
        started = time.perf_counter()
        # Verified before bolt parses anything: an unsigned body is never read, answered
        # or used (its response_url could name any host).
        if not headers_signed(signing_secret, request.headers, await request.read()):
            deps.metrics.inc("herald_slack_unverified_requests_total")
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_response = await bolt_app.async_dispatch(await to_bolt_request(request))
        # process_before_response=False: bolt answers as soon as the listener acked.
        deps.metrics.observe("herald_slack_ack_seconds", time.perf_counter() - started)
        return await to_aiohttp_response(bolt_response)

    async def health(request: web.Request) -> web.Response:
        ok, body = await ops.health()
        body["outbox_kind"] = "sql" if deps.notifier.outbox is not None else "none"
        return web.json_response(body, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.Response:
        await ops.refresh()
        text = deps.metrics.render()
        if deps.notifier.metrics is not deps.metrics:  # a notifier built elsewhere
            text += deps.notifier.metrics.render()
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    web_app = web.Application()
    if with_events:
        web_app.router.add_post("/slack/events", events)
    if getattr(deps.herald, "oauth", None) is not None:
        from bot.slack.oauth import add_oauth_routes

        add_oauth_routes(web_app, deps, bolt_app.client)  # oauth (issue 9)
    web_app.router.add_get("/health", health)
    web_app.router.add_get("/metrics", metrics)
    for install in deps.herald.routes:
        install(web_app, deps.herald)
    # --- HTTP API (issue 12): /api/v1 from bot/api, when the database is SQL.
    from bot.api.app import mount_api

    mount_api(web_app, deps)
    # --- end HTTP API
    return web_app


def settle_heap() -> None:
    """Put what starting allocated (modules, the app, its caches) out of the garbage
    collector's reach. A full collection walks every tracked object while holding the
    loop: ~180 000 of them after start, 150 ms of CPU and 0.3-0.7 s of wall time on a
    loaded 2-core host (measured under bench.api), which every Slack ack and API answer
    waited out. Frozen objects are never collected (they live as long as the process).

    Full collections also come ten times less often than Python's default (every 100
    middle-generation collections, not 10): each still walked the objects a 10 000-slot
    run keeps (20-45 ms of CPU) and was the longest stall left; under bench.api the Slack
    ack p99 went from 66-73 ms to 30-42 ms on a quiet host. Cycles that die young are
    still collected at once; only long-lived ones wait longer."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*FULL_COLLECTION_THRESHOLDS)


# Python's defaults are (700, 10, 10).
FULL_COLLECTION_THRESHOLDS = (700, 10, 100)


async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    stop: asyncio.Event | None = None,
    herald: Herald | None = None,
    client: AsyncWebClient | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run everything until `stop` is set (or SIGINT/SIGTERM). Without `herald`, it is
    built from `settings` by the composition root (and released at the end)."""
    from aiohttp import web
    from slack_sdk.errors import SlackApiError

    from bot.bootstrap import build_herald
    from bot.media.wiring import ensure_media_dir
    from bot.slack.app import check_settings, create_app, deps_of_app
    from engine.errors import InvalidInput

    socket_mode = settings.slack_app_token is not None
    check_settings(settings, socket_mode=socket_mode)  # before anything is opened
    ensure_media_dir(settings)
    herald = herald or build_herald(settings)
    bolt_app = create_app(settings, herald=herald, client=client)
    deps = deps_of_app(bolt_app)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await _check_slack(bolt_app.client, settings)
    except InvalidInput:
        await herald.stop()
        raise
    await herald.start()
    await deps.notifier.start(outbox_interval=settings.slack_outbox_interval_seconds)
    roles_task = asyncio.create_task(_keep_roles_fresh(deps, bolt_app.client))
    from bot.ops import Operations
    from bot.slack.oauth import redacting_access_logger  # oauth (issue 9): no codes in logs

    overdue_task = asyncio.create_task(
        Operations(herald, deps.metrics).watch(deps.notifier.post, settings.alerts_channel)
    )
    runner = web.AppRunner(
        build_web_app(bolt_app, with_events=not socket_mode),
        access_log_class=redacting_access_logger(),
    )
    await runner.setup()
    settle_heap()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        roles_task.cancel()
        overdue_task.cancel()
        await runner.cleanup()
        await deps.notifier.close()
        await herald.stop()
        raise InvalidInput(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another process uses "
            "the port; stop it or choose another with --port or HERALD_PORT"
        ) from None
    handler = None
    try:
        if socket_mode:
            app_token = settings.slack_app_token
            assert app_token is not None  # socket_mode
            handler = _socket_mode_handler(bolt_app, app_token.get_secret_value(), deps)
            try:
                await asyncio.wait_for(handler.connect_async(), timeout=30)
            except SlackApiError as exc:
                error = exc.response.get("error", "error") if exc.response is not None else "error"
                raise InvalidInput(f"SLACK_APP_TOKEN was refused by Slack ({error})") from None
            log.info("Herald is connected to Slack in Socket Mode; health on %s:%s", host, port)
        else:
            log.info("Herald listens on http://%s:%s/slack/events", host, port)
        if started is not None:
            started.set()
        await stop.wait()
    finally:
        roles_task.cancel()
        overdue_task.cancel()
        if handler is not None:
            await handler.close_async()
        await runner.cleanup()
        await deps.notifier.close()
        await herald.stop()


def _socket_mode_handler(bolt_app: AsyncApp, app_token: str, deps: BotDeps) -> Any:
    """bolt's Socket Mode handler, timing each envelope from receipt to the ack sent back
    (`herald_slack_ack_seconds`, as HTTP mode does)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    class TimedSocketModeHandler(AsyncSocketModeHandler):
        async def handle(self, client: Any, req: Any) -> None:
            started = time.perf_counter()
            await super().handle(client, req)
            deps.metrics.observe("herald_slack_ack_seconds", time.perf_counter() - started)

    return TimedSocketModeHandler(bolt_app, app_token)


async def _keep_roles_fresh(
    deps: BotDeps, client: AsyncWebClient, every_seconds: float = 300.0
) -> None:
    """Read user-group members now, then every few minutes (people join and leave)."""
    if not deps.roles.groups:
        return
    while True:
        await deps.roles.refresh(client)
        await asyncio.sleep(every_seconds)


async def _check_slack(client: AsyncWebClient, settings: Settings) -> None:
    """One auth.test before anything runs: a wrong token or URL fails the start, named."""
    import aiohttp
    from slack_sdk.errors import SlackApiError

    from engine.errors import InvalidInput

    try:
        await asyncio.wait_for(client.auth_test(), timeout=15)
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        raise InvalidInput(f"SLACK_BOT_TOKEN was refused by Slack ({error})") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise InvalidInput(
            f"SLACK_API_URL {settings.slack_api_url} is unreachable ({type(exc).__name__})"
        ) from None
    if settings.slack_app_token is not None:
        await _check_app_token(client, settings.slack_app_token.get_secret_value())


# Why Slack refuses an app-level token, in words an operator can act on.
APP_TOKEN_ERRORS = {
    "invalid_auth": "the token is wrong or was revoked (Basic Information > App-Level Tokens)",
    "not_authed": "the token is empty",
    "not_allowed_token_type": "it is not an app-level token (xapp-...)",
    "missing_scope": "the token lacks the connections:write scope",
    "token_revoked": "the token was revoked",
}


async def _check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """One apps.connections.open with the app token: a refused token fails the start in one
    line instead of 30 s of Socket Mode retries and tracebacks."""
    import aiohttp
    from slack_sdk.errors import SlackApiError

    from engine.errors import InvalidInput

    try:
        await asyncio.wait_for(client.apps_connections_open(app_token=app_token), timeout=15)
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        why = APP_TOKEN_ERRORS.get(str(error), "Slack refused it")
        raise InvalidInput(f"SLACK_APP_TOKEN was rejected by Slack ({error}): {why}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise InvalidInput(
            f"SLACK_APP_TOKEN could not be checked: Slack is unreachable ({type(exc).__name__})"
        ) from None
