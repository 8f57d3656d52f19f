"""`herald plan` and `herald simulate`: plan a request over an accounts CSV, writing nothing.

A request naming content library items reads them from `--library FILE` or, without it,
from the library in HERALD_DATABASE_URL (read only); an inline request reads no database.

`herald plan REQUEST.json --accounts ACCOUNTS.csv --json` prints the plan contract as JSON;
without `--json` a table and a summary. `herald simulate` prints the simulation report.
Bad input raises a HeraldError, which `bot.cli` prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import InvalidImport, InvalidInput


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Arguments shared by `plan` and `simulate`."""
    parser.add_argument("request", type=Path, help="distribution request JSON file")
    parser.add_argument(
        "--accounts", type=Path, required=True, metavar="CSV", help="accounts CSV file"
    )
    parser.add_argument(
        "--library",
        type=Path,
        metavar="FILE",
        help="content library items (.csv/.json, as `herald content import`) for `content=<id>`, "
        "queue ids and queue_tag; default: the library in HERALD_DATABASE_URL",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--trends", type=Path, metavar="FILE", help="trends JSON/CSV (default HERALD_TRENDS_FILE)"
    )
    parser.add_argument(
        "--safety-mode",
        choices=["SEMI_AUTONOMOUS", "MANUAL", "FULL_AUTONOMOUS"],
        help="safety mode whose max risk gates slots (default HERALD_SAFETY_MODE)",
    )
    parser.add_argument(
        "--rotation",
        type=int,
        default=0,
        help="how many distributions came before (rotates lead accounts)",
    )
    if name == "plan":
        parser.add_argument(
            "--limit", type=int, default=40, help="table rows to show (0 for all; not with --json)"
        )
        parser.add_argument(
            "--png", type=Path, metavar="FILE", help="also draw the plan picture into FILE"
        )


def read_text(path: Path, what: str) -> str:
    """A file's text, or InvalidInput naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path}: no such file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} {path}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"{what} {path}: {exc.strerror or exc}") from None


def load_request_file(path: Path) -> Any:
    """Parse a request JSON file into a `DistributionRequest`; InvalidInput/InvalidRequest."""
    from engine.request import parse_request

    text = read_text(path, "request")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"request {path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidInput(f"request {path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"request {path}: expected a JSON object")
    return parse_request(data)


def run(args: argparse.Namespace) -> int:
    """Plan (and for `simulate`, report on) the request; print to stdout."""
    from bot.platforms_file import load_platforms
    from bot.settings import load_settings
    from engine.accounts_csv import parse_accounts_csv
    from engine.models import SafetyMode
    from engine.planner import plan_distribution, plan_to_dict
    from engine.safety import SafetyPolicy
    from engine.trends import parse_trends

    settings = load_settings()
    platforms = load_platforms(settings.platforms_file)
    if settings.publisher != "simulated":
        from bot.platforms_file import with_audit_state

        platforms = with_audit_state(
            platforms,
            tiktok_audited=settings.tiktok_audited,
            youtube_audited=settings.youtube_audited,
        )
    request = load_request_file(args.request)
    unused_library = args.library is not None and not request.unresolved
    if request.unresolved or unused_library:
        # A --library the request does not need is still read: a missing or broken file is
        # an error the user should hear about, not something silently skipped.
        try:
            if unused_library:
                read_library_file(args.library)
            else:
                request = resolve_references_for_cli(request, args.library, settings)
        except InvalidImport as exc:
            for error in exc.errors:  # one line each, as `herald content import` prints them
                print(f"herald {args.command}: --library: {error}", file=sys.stderr)
            print(
                f"herald {args.command}: --library: {len(exc.errors)} bad row(s)", file=sys.stderr
            )
            return 2
    request, assets = asyncio.run(resolve_local_media(request, args.request.parent, settings))
    accounts = parse_accounts_csv(read_text(args.accounts, "accounts"), platforms=platforms)
    trends_path = args.trends or settings.trends_file
    trends = []
    if trends_path is not None:
        trends = parse_trends(read_text(Path(trends_path), "trends"), source=str(trends_path))
    mode = SafetyMode(args.safety_mode) if args.safety_mode else settings.safety_mode
    policy = SafetyPolicy.for_mode(mode)
    result = plan_distribution(
        request,
        accounts,
        platforms=platforms,
        trends=trends,
        rotation=args.rotation,
        max_risk=policy.schedule_limit,
        duplicate_floor_minutes=settings.duplicate_gap_floor_minutes,
    )
    from engine.item_media import with_item_media_checks
    from engine.media_check import own_api_accounts

    own_api = own_api_accounts(accounts)
    result = with_item_media_checks(result, assets, platforms, own_api=own_api)
    from engine.item_report import item_report, unused_warnings

    items = item_report(request, result.slots)
    result.warnings.extend(unused_warnings(items))
    if unused_library:
        result.warnings.append(
            f"--library {args.library}: not used, the request names no library items "
            "(`content=<id>`, queue ids or `queue_tag`)"
        )
    if request.start < datetime.now(UTC):
        result.warnings.append(
            f"start {request.start:%Y-%m-%d %H:%M}Z is in the past: `herald {args.command}` "
            "shows it as asked; a distribution created now would run from the next minute"
        )
    if args.json or args.command == "simulate":
        # The table prints them itself; elsewhere stdout is data, so say them on stderr.
        for warning in result.warnings:
            print(f"herald {args.command}: warning: {warning}", file=sys.stderr)
    if args.command == "simulate":
        from engine.simulation import simulate

        report = simulate(
            result.slots,
            accounts,
            request=request,
            mode=mode,
            platforms=platforms,
            unscheduled=len(result.unscheduled),
            media_problems=[issue.text() for issue in result.media_issues],
        )
        if args.json:
            _print_json(report.to_dict())  # its `items` are the plan's `items`
        else:
            from bot.cli.plan_render import render_simulation

            render_simulation(report, request)
        return 0
    if getattr(args, "png", None) is not None:
        from bot.slack.timeline import render_timeline

        png, _ = render_timeline(result.slots, title=request.name)
        try:
            args.png.write_bytes(png)
        except OSError as exc:
            raise InvalidInput(f"--png {args.png}: {exc.strerror or exc}") from None
    if args.json:
        _print_json({**plan_to_dict(result), "items": items})
        return 0
    from bot.cli.plan_render import render_plan

    render_plan(result, request, accounts, platforms, limit=args.limit, mode=mode)
    return 0


def resolve_references_for_cli(request: Any, library: Path | None, settings: Any) -> Any:
    """The request with its library references resolved from `--library FILE` (nothing
    else is read) or else the library in HERALD_DATABASE_URL (read only). InvalidRequest
    names unknown or archived ids and empty tags; InvalidImport every bad file row."""
    from engine.content_library import resolve_references

    if library is not None:
        return resolve_references(request, read_library_file(library))
    return asyncio.run(_resolve_from_database(request, settings))


def read_library_file(library: Path) -> Any:
    """The items of a `--library` file. Raises InvalidInput (unreadable) or InvalidImport."""
    from engine.content_library import items_from_file

    return items_from_file(
        read_text(library, "--library"), name=library.name, now=datetime.now(UTC)
    )


async def _resolve_from_database(request: Any, settings: Any) -> Any:
    from bot.bootstrap import build_herald
    from engine.errors import SchemaNotMigrated

    herald = build_herald(settings)
    try:
        try:
            await herald.ensure_schema()
        except SchemaNotMigrated as exc:
            raise InvalidInput(
                f"the request names content library items, read from HERALD_DATABASE_URL: "
                f"{exc}; or give them with --library FILE (.csv/.json)"
            ) from None
        return await herald.content.resolve(request)
    finally:
        await herald.stop()


async def resolve_local_media(
    request: Any, base: Path, settings: Any
) -> tuple[Any, dict[str, list[Any]]]:
    """Read every item's `media` for `herald plan`: local paths (relative to the request
    file) are probed in place, URLs downloaded to HERALD_MEDIA_DIR. Nothing else is
    stored. Returns the request with media ids, and each item's assets (item id -> files)."""
    if not any(item.media for item in request.items):
        return request, {}
    from engine.adapters.file_media_store import FileMediaStore, MemoryMediaIndex, describe_path
    from engine.clock import SystemClock

    store = FileMediaStore(
        Path(settings.media_dir),
        MemoryMediaIndex(),
        SystemClock(),
        max_bytes=settings.media_max_mb * 1024 * 1024,
        allow_private_urls=settings.media_allow_private_urls,
    )
    assets: dict[str, list[Any]] = {}
    replaced = {}
    for item in request.items:
        found = []
        for ref in item.media:
            if ref.startswith(("http://", "https://")):
                found.append(await store.ingest_url(ref))
            elif ref.startswith("m-"):
                raise InvalidInput(
                    f"content.media: {ref} is a stored media id; `herald plan` reads files or URLs"
                )
            elif re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", ref):
                # ftp://…, slack:F…: not a file name (a one-letter scheme is a Windows drive).
                raise InvalidInput(
                    f"content.media: {ref[:60]!r}: `herald plan` reads local files and http(s) URLs"
                )
            else:
                # `~` is expanded by the shell, not here: a path is the file's or the request's.
                path = Path(ref)
                found.append(await describe_path(path if path.is_absolute() else base / path))
        assets[item.id] = found
        if found:
            replaced[item.id] = item.model_copy(update={"media": [a.id for a in found]})
    return request.with_items(replaced), assets


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
