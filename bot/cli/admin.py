"""`herald db ...` and `herald accounts ...`: database administration from the shell.

`herald db upgrade` migrates `HERALD_DATABASE_URL` to the code's schema; `herald db check`
says whether it is current. `herald accounts import FILE.csv` upserts the good rows of an
accounts CSV in one transaction (with an audit event) and reports every bad row by line;
`herald accounts list [--platform P] [--json]` prints the stored accounts with their
connection; `connect`, `set-token` and `disconnect` are in `bot.cli.oauth`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import Herald
    from bot.settings import Settings
    from engine.credentials import ConnectionInfo

# Exit codes: 0 all good, 1 some CSV rows were rejected (the good ones were imported),
# 2 nothing done (bot.cli prints the HeraldError).
EXIT_SOME_ROWS_BAD = 1


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Sub-commands of `herald db` (name "db") or `herald accounts` (name "accounts")."""
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="database URL (default HERALD_DATABASE_URL)",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    if name == "db":
        sub.add_parser("upgrade", help="migrate the database to the code's schema")
        sub.add_parser("check", help="exit 0 if the schema is current, 2 with advice if not")
    else:
        importing = sub.add_parser(
            "import", help="upsert accounts from a CSV (same columns as `herald plan`)"
        )
        importing.add_argument("file", type=Path, help="accounts CSV file")
        listing = sub.add_parser("list", help="list stored accounts")
        listing.add_argument("--platform", help="only this platform")
        listing.add_argument("--json", action="store_true", help="print JSON lines")
        from bot.cli.oauth import add_account_actions  # oauth (issue 9)

        add_account_actions(sub)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; HeraldErrors propagate to bot.cli (exit code 2)."""
    import asyncio

    from bot.settings import load_settings

    settings = load_settings()
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    actions = {
        ("db", "upgrade"): _db_upgrade,
        ("db", "check"): _db_check,
        ("accounts", "import"): _accounts_import,
        ("accounts", "list"): _accounts_list,
        ("accounts", "connect"): _oauth_action,  # oauth (issue 9)
        ("accounts", "set-token"): _oauth_action,
        ("accounts", "disconnect"): _oauth_action,
    }
    action = actions[(args.command, args.action)]
    return int(asyncio.run(_with_herald(action, args, settings)))


Action = Callable[[argparse.Namespace, "Herald"], Awaitable[int]]


async def _with_herald(action: Action, args: argparse.Namespace, settings: Settings) -> int:
    """Run `action` on a Herald built by the composition root, released afterwards."""
    from bot.bootstrap import build_herald

    herald = build_herald(settings)
    try:
        return await action(args, herald)
    finally:
        await herald.stop()


async def _db_upgrade(args: argparse.Namespace, herald: Herald) -> int:
    revision = await herald.ensure_schema(upgrade=True)
    print(f"database at {herald.database_label()} is at revision {revision}")
    return 0


async def _db_check(args: argparse.Namespace, herald: Herald) -> int:
    revision = await herald.ensure_schema()
    print(f"database at {herald.database_label()} is current (revision {revision})")
    return 0


async def _accounts_import(args: argparse.Namespace, herald: Herald) -> int:
    import getpass

    from bot.cli.plan import read_text
    from engine.accounts_csv import read_accounts_csv
    from engine.event_kinds import EventKind
    from engine.models import Event, new_event_id

    text = read_text(args.file, "accounts")
    accounts, errors = read_accounts_csv(text, platforms=herald.platforms)
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    await herald.ensure_schema()
    event = Event(
        new_event_id(),
        herald.clock.now(),
        EventKind.ACCOUNT_IMPORTED,
        f"cli:{getpass.getuser()}",
        data={
            "file": args.file.name,
            "imported": len(accounts),
            "errors": len(errors),
            "lines": [e.line for e in errors][:100],
        },
    )
    async with herald.repository.unit_of_work() as uow:
        written = await uow.upsert_accounts(accounts) if accounts else 0
        await uow.append_event(event)
    print(f"imported {written} account(s) from {args.file}; {len(errors)} bad row(s) skipped")
    return EXIT_SOME_ROWS_BAD if errors else 0


async def _oauth_action(args: argparse.Namespace, herald: Herald) -> int:
    from bot.cli import oauth as oauth_cli

    await herald.ensure_schema()
    if args.action == "connect":
        return await oauth_cli.connect_loopback(herald.oauth, args.platform, port=args.port)
    if args.action == "set-token":
        return await oauth_cli.set_token(herald.oauth, args)
    return await oauth_cli.disconnect(herald.oauth, args)


async def _accounts_list(args: argparse.Namespace, herald: Herald) -> int:
    from engine.connections import connection_cells

    await herald.ensure_schema()
    platform = args.platform.lower() if args.platform else None
    accounts = await herald.queries.accounts(platform)
    # Connections are listed without decrypting anything (no key needed).
    listed = await herald.oauth.store.list_connections() if herald.oauth else []
    connections = {c.account_id: c for c in listed}
    if args.json:
        for a in accounts:
            print(
                json.dumps(
                    {
                        "id": a.id,
                        "platform": a.platform,
                        "handle": a.handle,
                        "timezone": a.timezone,
                        "language": a.language,
                        "followers": a.followers,
                        "health": a.health,
                        "state": str(a.state),
                        "publisher": a.publisher or herald.settings.publisher,
                        "connected": a.id in connections and not connections[a.id].needs_reauth,
                        "token_expires_at": _expiry(connections.get(a.id)),
                    }
                )
            )
        return 0
    print(
        f"{'id':<16} {'platform':<10} {'handle':<24} {'state':<13} {'followers':>9} health "
        f"{'connected':<12} {'expires UTC':<11} publisher"
    )
    for a in accounts:
        connected, expires, publisher = connection_cells(
            a, connections.get(a.id), herald.settings.publisher
        )
        print(
            f"{a.id:<16} {a.platform:<10} {a.handle:<24} {a.state!s:<13} "
            f"{a.followers:>9} {a.health:.2f}   {connected:<12} {expires:<11} {publisher}"
        )
    print(f"{len(accounts)} account(s)")
    return 0


def _expiry(connection: ConnectionInfo | None) -> str | None:
    """A connection's token expiry as ISO 8601, or None."""
    if connection is None or connection.expires_at is None:
        return None
    return connection.expires_at.isoformat()
