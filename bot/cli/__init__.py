"""The `herald` command line: one sub-command module per job, imported only when used.

Each module named in `COMMANDS` has `add_arguments(parser)` and `run(args) -> int`.
Heavy imports (Slack, SQLAlchemy, litellm) stay inside those modules, so `herald plan`
starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from engine.errors import HeraldError

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("bot.cli.plan", "plan a distribution from a request JSON and an accounts CSV"),
    "simulate": ("bot.cli.plan", "print the simulation report for a request and accounts"),
    "demo": ("bot.cli.demo", "run a whole distribution on the bundled accounts, time compressed"),
    "db": ("bot.cli.admin", "database administration (upgrade)"),
    "accounts": ("bot.cli.admin", "account administration (import a CSV, list, connect)"),
    "content": ("bot.cli.content", "the content library (import a CSV/JSON, list, show, archive)"),
    "serve": ("bot.cli.serve", "run the Slack bot, the engine and the dispatcher"),
    "secrets": ("bot.cli.oauth", "HERALD_SECRET_KEY: generate a key, re-encrypt tokens (rotate)"),
    "tokens": ("bot.cli.api", "HTTP API tokens acting as a Slack user (create, list, revoke)"),
    "webhooks": ("bot.cli.api", "outbound event webhooks (add, list, remove, enable, disable)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="herald", description="Plan, approve and run content distributions safely."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name)
        module = _load(module_name)
        if module is not None:
            module.add_arguments(command, name)
    return parser


def _load(module_name: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = _load(args._module)
    if module is None:
        print(f"herald {args.command}: not available in this build", file=sys.stderr)
        return 2
    try:
        return int(module.run(args) or 0)
    except HeraldError as exc:
        print(f"herald {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `herald accounts list | head`: the reader left; say nothing (and let the final
        # flush at exit write to nowhere instead of printing a second error).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1  # as rich's console does on a closed pipe, and Python's docs advise


if __name__ == "__main__":
    sys.exit(main())
