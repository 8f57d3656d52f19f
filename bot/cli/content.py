"""`herald content import|list|show|archive`: the content library from the command line.

`import FILE.csv|FILE.json` adds every new item in one transaction or none: each bad row
is printed by line on stderr and the exit code is 2; rows already in the library exactly as
given are left as they are and named. `show` prints the item as JSON with its media files'
facts and each platform's verdict (see docs/content.md).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import InvalidImport, InvalidInput


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
    showing = sub.add_parser(
        "show", help="show one item, its media and what each platform would do (JSON)"
    )
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
    from engine.models import Actor, Role

    herald = build_herald(settings)
    # The shell user is the operator: whoever can run the CLI can reach the database.
    actor = Actor(f"cli:{getpass.getuser()}", Role.OPERATOR)
    try:
        await herald.ensure_schema()
        library = herald.content
        if args.action == "import":
            return await _import(library, actor, args.file, settings.content_import_max_mb)
        if args.action == "list":
            items = await library.list_items(tag=args.tag, archived=args.archived)
            for item in items:
                print(json.dumps(item.to_dict(), ensure_ascii=False) if args.json else _line(item))
            if not items:
                where = f" with tag {args.tag!r}" if args.tag else ""
                print(f"herald content: no items{where}", file=sys.stderr)
        elif args.action == "show":
            item = await library.show(args.id)
            media = await library.describe(item)
            print(json.dumps(_shown(item, media), ensure_ascii=False, indent=2))
        else:
            before = await library.show(args.id)
            item = await library.archive(actor, args.id)
            if before.archived:
                print(f"{item.id} was already archived on {_day(item)}; nothing changed")
            else:
                print(f"archived {item.id}")
    finally:
        await herald.stop()
    return 0


async def _import(library: Any, actor: Any, path: Path, max_mb: int) -> int:
    from bot.cli.plan import read_text

    _check_size(path, max_mb)
    text = read_text(path, "content")
    try:
        done = await library.import_file(actor, text, name=path.name)
    except InvalidImport as exc:
        for error in exc.errors:
            print(f"herald content: {error}", file=sys.stderr)
        print(f"herald content: {len(exc.errors)} bad row(s); nothing imported", file=sys.stderr)
        return 2
    message = f"imported {len(done.added)} item(s) from {path}"
    if done.unchanged:
        ids = ", ".join(i.id for i in done.unchanged[:10])
        more = f" and {len(done.unchanged) - 10} more" if len(done.unchanged) > 10 else ""
        archived = sum(1 for i in done.unchanged if i.archived)
        note = f"; {archived} of them archived" if archived else ""
        message += (
            f"; {len(done.unchanged)} already in the library exactly as given, left as they "
            f"are ({ids}{more}{note})"
        )
    print(message)
    return 0


def _check_size(path: Path, max_mb: int) -> None:
    """Refuse a file over the import cap before reading it: an import holds the file and
    its items in memory."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # read_text names what is wrong with the path
    if size > max_mb * 1024**2:
        raise InvalidInput(
            f"content {path}: {size / 1024**2:.1f} MB is over the {max_mb} MB import cap "
            "(HERALD_CONTENT_IMPORT_MAX_MB; or split the file)"
        )


def _shown(item: Any, media: Any) -> dict[str, Any]:
    """The item's fields, then its media files' facts and what each platform would do."""
    files = []
    for f in media.files:
        entry: dict[str, Any] = {"ref": f.ref, "stored": f.asset is not None, "text": f.text()}
        if f.asset is not None:
            a = f.asset
            entry |= {
                "id": a.id,
                "kind": a.kind.value,
                "mime_type": a.mime_type,
                "size_bytes": a.size_bytes,
                "width": a.width,
                "height": a.height,
                "duration_s": a.duration_s,
                "filename": a.filename,
            }
        files.append(entry)
    platforms = [
        {
            "platform": p.platform,
            "content_type": p.content_type,
            "takes": p.takes,
            "problems": list(p.problems),
            "notes": list(p.notes),
        }
        for p in media.platforms
    ]
    return {**item.to_dict(), "media_files": files, "platforms": platforms}


def _day(item: Any) -> str:
    return f"{item.archived_at:%Y-%m-%d %H:%M}Z" if item.archived_at else "?"


def _line(item: Any) -> str:
    data = item.to_dict()
    caption = str(data["caption"]).replace("\n", " ")
    if len(caption) > 60:
        caption = caption[:59] + "…"
    tags = ",".join(data["tags"]) or "-"
    state = " (archived)" if data["archived_at"] else ""
    return f"{data['id']:<24} {tags:<20} {caption}{state}"
