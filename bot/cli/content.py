"""`herald content import|list|show|archive`: the content library from the command line.

`import FILE.csv|FILE.json` adds every item in one transaction or none: each bad row is
printed by line on stderr and the exit code is 2 (see docs/content.md).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import InvalidImport


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The library sub-commands."""
    parser.add_argument(
        "--database-url", metavar="URL", help="database URL (default HERALD_DATABASE_URL)"
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = sub.add_parser("import", help="add every item of a CSV or JSON file, or none")
    importing.add_argument("file", type=Path, help="items file (.csv or .json)")
    listing = sub.add_parser("list", help="list library items")
    listing.add_argument("--tag", help="only items with this tag")
    listing.add_argument("--archived", action="store_true", help="include archived items")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    showing = sub.add_parser("show", help="show one item")
    showing.add_argument("id")
    archiving = sub.add_parser("archive", help="archive an item (queues stop using it)")
    archiving.add_argument("id")


def run(args: argparse.Namespace) -> int:
    """Run the action; HeraldErrors propagate to bot.cli (exit code 2)."""
    from bot.settings import load_settings

    settings = load_settings()
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Any) -> int:
    from bot.bootstrap import build_herald
    from bot.cli.plan import read_text
    from engine.models import Actor, Role

    herald = build_herald(settings)
    # The shell user is the operator: whoever can run the CLI can reach the database.
    actor = Actor(f"cli:{getpass.getuser()}", Role.OPERATOR)
    try:
        await herald.ensure_schema()
        library = herald.content
        if args.action == "import":
            text = read_text(args.file, "content")
            try:
                items = await library.import_file(actor, text, name=args.file.name)
            except InvalidImport as exc:
                for error in exc.errors:
                    print(f"herald content: {error}", file=sys.stderr)
                print(
                    f"herald content: {len(exc.errors)} bad row(s); nothing imported",
                    file=sys.stderr,
                )
                return 2
            print(f"imported {len(items)} item(s) from {args.file}")
        elif args.action == "list":
            for item in await library.list_items(tag=args.tag, archived=args.archived):
                if args.json:
                    print(json.dumps(item.to_dict(), ensure_ascii=False))
                else:
                    print(_line(item.to_dict()))
        elif args.action == "show":
            item = await library.show(args.id)
            print(json.dumps(item.to_dict(), ensure_ascii=False, indent=2))
        else:
            item = await library.archive(actor, args.id)
            print(f"archived {item.id}")
    finally:
        await herald.stop()
    return 0


def _line(data: dict[str, Any]) -> str:
    caption = str(data["caption"]).replace("\n", " ")
    if len(caption) > 60:
        caption = caption[:59] + "…"
    tags = ",".join(data["tags"]) or "-"
    state = " (archived)" if data["archived_at"] else ""
    return f"{data['id']:<24} {tags:<20} {caption}{state}"
