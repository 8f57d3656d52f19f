"""`herald tokens ...` and `herald webhooks ...`: API tokens and outbound webhook endpoints.

A token or webhook secret is printed once, when it is made; the database keeps only the
token's hash and the secret encrypted (HERALD_SECRET_KEY).
"""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import timedelta
from typing import Any

from engine.errors import InvalidInput

SCOPES = ("read", "operate", "approve")
# Slack user ids (U…, W… on Enterprise Grid); tests use readable ones such as U_BOSS.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9_]+$")


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    if name == "tokens":
        create = sub.add_parser("create", help="make a token acting as a Slack user (printed once)")
        create.add_argument("--as", dest="user", required=True, help="Slack user id (U...)")
        create.add_argument("--scopes", default="read", help="comma list of read,operate,approve")
        create.add_argument("--expires", default=None, help="lifetime, e.g. 90d (default: never)")
        sub.add_parser("list", help="list tokens (never their secrets)")
        revoke = sub.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("token_id")
    else:
        add = sub.add_parser("add", help="add an endpoint (its signing secret is printed once)")
        add.add_argument("url")
        add.add_argument("--events", required=True, help="comma list of event kinds, or *")
        add.add_argument("--as", dest="user", default="cli", help="who adds it (audit)")
        sub.add_parser("list", help="list endpoints")
        for action, text in (
            ("remove", "remove an endpoint (its undelivered deliveries go with it)"),
            ("enable", "enable a disabled endpoint again (its kept deliveries go, in order)"),
            ("disable", "disable an endpoint (its deliveries are kept until it is enabled)"),
        ):
            change = sub.add_parser(action, help=text)
            change.add_argument("webhook_id")
            change.add_argument("--as", dest="user", default="cli", help="who does it (audit)")


def run(args: argparse.Namespace) -> int:
    from bot.settings import load_settings

    settings = load_settings()
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Any) -> int:
    from bot.bootstrap import build_api_stores, check_schema
    from engine.clock import SystemClock

    if settings.database_url.startswith("memory"):
        raise InvalidInput("HERALD_DATABASE_URL: tokens and webhooks need a SQL database")
    await check_schema(settings)
    stores = build_api_stores(settings)
    assert stores is not None
    try:
        if args.command == "tokens":
            return await _tokens(args, stores.tokens, SystemClock().now())
        return await webhooks(
            args, stores.webhooks, SystemClock().now(), settings.webhook_allow_private_urls
        )
    finally:
        await stores.close()


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    wrong = [s for s in scopes if s not in SCOPES]
    if not scopes:
        raise InvalidInput(f"--scopes: empty; give one or more of {', '.join(SCOPES)}")
    if wrong:
        raise InvalidInput(f"--scopes: {', '.join(wrong)} not in {', '.join(SCOPES)}")
    return scopes


async def _tokens(args: argparse.Namespace, store: Any, now: Any) -> int:
    from engine.durations import parse_duration

    if args.action == "create":
        # The token takes its role from HERALD_OPERATORS/APPROVERS by this id: a name that is
        # no Slack user id would match nobody there, yet be an operator when OPERATORS is unset.
        if not SLACK_USER_ID.match(args.user):
            raise InvalidInput(
                f"--as: {args.user[:80]!r} is not a Slack user id (U… or W…, such as "
                "U012ABCDEF: in Slack, a profile's ⋮ menu → Copy member ID)"
            )
        expires = None
        if args.expires:
            try:
                lifetime = parse_duration(args.expires)
            except ValueError as exc:
                raise InvalidInput(f"--expires: {exc}") from None
            if lifetime <= timedelta(0):
                raise InvalidInput(f"--expires: {args.expires!r} must be longer than 0 (e.g. 90d)")
            expires = now + lifetime
        token, secret = await store.create_token(args.user, parse_scopes(args.scopes), now, expires)
        print(secret)
        print(
            f"token {token.id} acts as {token.user_id} with {','.join(token.scopes)}"
            + (f", expires {expires:%Y-%m-%d %H:%M}Z" if expires else "")
            + ". It is shown only now.",
        )
        return 0
    if args.action == "list":
        for t in await store.list_tokens():
            state = "revoked" if t.revoked_at else ("expired" if not t.usable(now) else "active")
            expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(
                f"{t.id}  {t.user_id:<12} {','.join(t.scopes):<22} {state:<8} "
                f"expires {expires}  last used {used}"
            )
        return 0
    if not await store.revoke(args.token_id, now):
        raise InvalidInput(f"token: no active token {args.token_id!r}")
    print(f"revoked {args.token_id}")
    return 0


async def webhooks(
    args: argparse.Namespace, store: Any, now: Any, allow_private: bool = False
) -> int:
    if args.action == "add":
        from bot.api.webhooks import check_target

        check_target(args.url, allow_private=allow_private)
        events = tuple(e.strip() for e in args.events.split(",") if e.strip())
        endpoint, secret = await store.add(args.url, events, args.user, now)
        print(secret)
        print(
            f"webhook {endpoint.id} -> {endpoint.url} for {','.join(events)}. "
            "The signing secret is shown only now."
        )
    elif args.action == "list":
        for e in await store.list():
            state = "enabled" if e.enabled else f"disabled {e.disabled_at:%Y-%m-%d %H:%M}"
            print(
                f"{e.id}  {e.shown_url}  {','.join(e.events)}  {state}  delivered {e.delivered}"
                + (f"  last error: {e.last_error}" if e.last_error else "")
            )
    elif args.action == "remove":
        dropped = await store.remove(args.webhook_id, by=args.user, now=now)
        print(f"removed {args.webhook_id} ({dropped} undelivered deliveries dropped)")
    elif args.action == "enable":
        requeued = await store.enable(args.webhook_id, by=args.user, now=now)
        if requeued is None:
            print(f"{args.webhook_id} is enabled already")
        else:
            print(f"enabled {args.webhook_id}; {requeued} kept deliveries go now, in order")
    else:
        if await store.disable(args.webhook_id, by=args.user, now=now):
            print(f"disabled {args.webhook_id}; its deliveries are kept until it is enabled")
        else:
            print(f"{args.webhook_id} is disabled already")
    return 0
