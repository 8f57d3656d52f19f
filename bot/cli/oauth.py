"""Connected accounts from the shell: `herald accounts connect|set-token|disconnect` and
`herald secrets generate-key|rotate`.

`connect` works without a public URL, as `gcloud auth login` does: it listens on
127.0.0.1, prints the platform's consent URL and waits for the browser's redirect.
`set-token` stores tokens obtained elsewhere, read from stdin (never from argv).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO

from engine.credentials import Credentials
from engine.errors import ConnectRefused, InvalidInput
from engine.models import Actor, Role

LOOPBACK_PORT = 8765
CONNECT_TIMEOUT_SECONDS = 600.0


def add_account_actions(sub: Any) -> None:
    """The `herald accounts` actions this module runs."""
    connect = sub.add_parser(
        "connect", help="connect an account with OAuth through a browser on this machine"
    )
    connect.add_argument("platform", help="x, linkedin, youtube, instagram or tiktok")
    connect.add_argument(
        "--port",
        type=int,
        default=LOOPBACK_PORT,
        help=f"loopback port of the redirect (register http://127.0.0.1:{LOOPBACK_PORT}"
        "/oauth/callback in the platform app); 0 picks a free one",
    )
    token = sub.add_parser(
        "set-token", help="store a token obtained elsewhere (read from stdin, never argv)"
    )
    token.add_argument("account", help="account id (it must exist: import it first)")
    token.add_argument("--platform", required=True, help="the publisher: x, linkedin, ...")
    token.add_argument(
        "--oauth1",
        action="store_true",
        help="X OAuth 1.0a user token: stdin gives the token, then the token secret",
    )
    token.add_argument("--refresh", action="store_true", help="stdin's 2nd line: refresh token")
    token.add_argument("--expires-in", type=int, default=None, help="access token lifetime (s)")
    token.add_argument("--user-id", default="", help="the account's id on the platform")
    disconnect = sub.add_parser("disconnect", help="delete an account's stored tokens")
    disconnect.add_argument("account", help="account id")


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """`herald secrets generate-key|rotate`."""
    parser.add_argument("--database-url", metavar="URL", help="default HERALD_DATABASE_URL")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("generate-key", help="print a new key for HERALD_SECRET_KEY")
    sub.add_parser(
        "rotate",
        help="re-encrypt stored tokens under the first HERALD_SECRET_KEY key (put the new "
        "key first, keep the old one after it, run this, then drop the old one)",
    )


def run(args: argparse.Namespace) -> int:
    """`herald secrets ...`."""
    if args.action == "generate-key":
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode("ascii"))
        return 0
    from bot.settings import load_settings

    settings = load_settings()
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    return int(asyncio.run(rotate(settings)))


async def rotate(settings: Any) -> int:
    """Re-encrypt every stored token under the first HERALD_SECRET_KEY key."""
    from bot.bootstrap import build_herald

    if settings.secret_key is None:
        raise InvalidInput("HERALD_SECRET_KEY is not set: nothing to rotate to")
    herald = build_herald(settings)
    try:
        await herald.ensure_schema()
        rotate_keys = getattr(herald.oauth.store if herald.oauth else None, "rotate_keys", None)
        if rotate_keys is None:
            raise InvalidInput("this database keeps no tokens (an in-memory Herald)")
        count = await rotate_keys()
    finally:
        await herald.stop()
    keys = len([k for k in settings.secret_key.get_secret_value().split(",") if k.strip()])
    print(f"re-encrypted {count} connection(s) under the first of {keys} key(s)")
    return 0


def cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", Role.OPERATOR, getpass.getuser())


async def connect_loopback(
    oauth: Any,
    platform: str,
    *,
    port: int = LOOPBACK_PORT,
    out: TextIO | None = None,
    timeout: float = CONNECT_TIMEOUT_SECONDS,
    on_url: Callable[[str], Any] | None = None,
) -> int:
    """Listen on 127.0.0.1, print the consent URL, finish the sign-in from the redirect."""
    out = out or sys.stdout
    from aiohttp import web

    from bot.bootstrap import CALLBACK_PATH
    from bot.slack.oauth import _page

    done: asyncio.Future[tuple[str, str | None, str | None]] = (
        asyncio.get_running_loop().create_future()
    )

    async def callback(request: web.Request) -> web.Response:
        query = request.query
        if not done.done():
            done.set_result(
                (
                    query.get("state", ""),
                    query.get("code"),
                    query.get("error_description") or query.get("error"),
                )
            )
        return _page(200, "Herald got the answer; go back to your terminal.")

    app = web.Application()
    app.router.add_get(CALLBACK_PATH, callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        redirect_uri = f"http://127.0.0.1:{bound}{CALLBACK_PATH}"
        state = await oauth.service.start(platform, cli_actor(), team="", redirect_uri=redirect_uri)
        url = await oauth.states.authorize_url(state, now=oauth.service.clock.now())
        print(
            f"Open this URL in a browser on this machine (valid 10 minutes):\n\n  {url}\n", file=out
        )
        print(f"Waiting for the redirect to {redirect_uri} ...", file=out, flush=True)
        if on_url is not None:
            await on_url(url)
        try:
            got_state, code, error = await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise InvalidInput("no answer from the browser in 10 minutes; run it again") from None
    finally:
        await runner.cleanup()
    try:
        connected = await oauth.service.complete(got_state, code=code, error=error)
    except ConnectRefused as exc:
        print(f"Not connected: {exc}", file=out)
        return 2
    account = connected.account
    print(f"Connected {account.handle} on {connected.label} (account {account.id})", file=out)
    return 0


def read_secrets(count: int, stdin: TextIO | None = None) -> list[str]:
    """`count` secrets, one a line, from stdin (or prompted without echo on a terminal)."""
    stdin = stdin or sys.stdin
    names = ["token", "second value"]
    if stdin.isatty():
        values = [getpass.getpass(f"{names[min(i, 1)]}: ") for i in range(count)]
    else:
        values = [stdin.readline().strip() for _ in range(count)]
    if any(not v for v in values):
        raise InvalidInput(f"set-token: expected {count} non-empty line(s) on stdin")
    return values


async def set_token(oauth: Any, args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    """Store a token from stdin for an existing account (no argv echo)."""
    from datetime import timedelta

    publisher = args.platform.strip().lower()
    publisher = {"twitter": "x"}.get(publisher, publisher)
    if args.oauth1 and publisher != "x":
        raise InvalidInput("--oauth1: OAuth 1.0a user tokens are for X only")
    values = read_secrets(2 if (args.oauth1 or args.refresh) else 1, stdin)
    now = oauth.service.clock.now()
    user_id = args.user_id or (values[0].split("-", 1)[0] if args.oauth1 else "")
    credentials = Credentials(
        account_id=args.account,
        publisher=publisher,
        platform_user_id=user_id,
        access_token=values[0],
        refresh_token=values[1] if args.refresh else None,
        token_secret=values[1] if args.oauth1 else None,
        expires_at=now + timedelta(seconds=args.expires_in) if args.expires_in else None,
        extra={"oauth1": True} if args.oauth1 else {},
    )
    account = await oauth.service.set_token(credentials, cli_actor())
    kind = "OAuth 1.0a user token" if args.oauth1 else "token"
    print(f"stored the {kind} for {account.id} ({account.handle}); publisher {publisher}")
    return 0


async def disconnect(oauth: Any, args: argparse.Namespace) -> int:
    done = await oauth.service.disconnect(args.account, cli_actor())
    print(f"disconnected {args.account}" if done else f"{args.account} had no stored tokens")
    return 0
