"""The `/herald` text grammar: a sub-command, positional words, quoted values, `key=value`.

`/herald create name=spring platforms=tiktok,instagram window=6h caption="Spring is here"`
parses into a `Command`; `request_fields_to_request` turns its fields into the engine's
`DistributionRequest` (the one vocabulary shared with JSON and the modal).
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import InvalidInput
from engine.request import DistributionRequest, request_from_fields

# sub-command -> (usage, one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("help [command]", "show this help, or the help of one command"),
    "create": (
        "create [key=value ...]",
        "open the create form, or create from inline fields "
        "(name, content, caption, hashtags, platforms, languages, mode, window, days, "
        "start, velocity, accounts, trend_weighted; library items: content=<id>, "
        "queue=w1,w2, queue_tag, max_per_account)",
    ),
    "plan": ("plan <distribution>", "plan the slots and post the plan card for approval"),
    "simulate": ("simulate <distribution>", "simulate the plan and show the report"),
    "approve": ("approve <distribution> [note]", "approve a plan (approvers only)"),
    "reject": ("reject <distribution> <reason>", "reject a plan with a reason (approvers only)"),
    "start": ("start <distribution>", "start an approved distribution"),
    "pause": ("pause <distribution> [reason]", "pause a running distribution"),
    "resume": ("resume <distribution>", "resume a paused distribution"),
    "cancel": ("cancel <distribution> [reason]", "cancel a distribution"),
    "retry": ("retry <distribution>", "re-plan the failed slots of a distribution"),
    "halt": ("halt <distribution> <reason>", "emergency stop (approvers only)"),
    "status": ("status <distribution>", "progress of one distribution"),
    "list": ("list [status]", "recent distributions"),
    "history": ("history [distribution]", "the audit log, newest first"),
    "analytics": ("analytics", "totals across distributions"),
    "accounts": (
        "accounts [platform] | accounts connect <platform> | accounts disconnect <account>",
        "accounts, their health and connections; connect one with OAuth",
    ),
    "import": ("import", "import accounts from a CSV file shared with the bot"),
    "velocity": ("velocity <platform>", "a platform's posting rules"),
    "captions": ("captions <distribution>", "every distinct caption and translation of a plan"),
    "content": (
        "content add|list [tag]|show <id>|archive <id>",
        "the content library (calendar queues draw from it)",
    ),
}

# Commands whose first positional word names a distribution.
NEEDS_DISTRIBUTION = frozenset(
    {
        "plan",
        "simulate",
        "approve",
        "reject",
        "start",
        "pause",
        "resume",
        "cancel",
        "retry",
        "halt",
        "status",
        "captions",
    }
)
# Commands that refuse to run without a reason.
NEEDS_REASON = frozenset({"reject", "halt"})

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class Command:
    """One parsed `/herald` invocation."""

    name: str
    args: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    help: bool = False

    @property
    def key(self) -> str:
        """The distribution this command is about (its first positional word)."""
        if not self.args:
            usage = COMMANDS[self.name][0]
            raise InvalidInput(f"`/herald {self.name}` needs a distribution: `/herald {usage}`")
        return self.args[0]

    @property
    def rest(self) -> str | None:
        """Everything after the distribution, joined: a note or a reason."""
        text = " ".join(self.args[1:]).strip()
        return text or None


def tokenize(text: str) -> list[str]:
    """Split like a shell: quotes group words (Slack's curly quotes count too)."""
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError as exc:
        raise InvalidInput(f"could not read the command: {exc} (close your quotes)") from None


def parse_command(text: str) -> Command:
    """Parse the text after `/herald`. Raises InvalidInput with a suggestion when unknown."""
    tokens = tokenize(text)
    if not tokens:
        return Command("help")
    name = tokens[0].lower()
    if name in {"-h", "--help", "?"}:
        name = "help"
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f" Did you mean `/herald {close[0]}`?" if close else ""
        raise InvalidInput(f"`{tokens[0]}` is not a Herald command.{hint} Try `/herald help`.")
    args: list[str] = []
    fields: dict[str, str] = {}
    wants_help = False
    for token in tokens[1:]:
        if token.lower() in {"help", "-h", "--help"} and name != "help":
            wants_help = True
            continue
        key, sep, value = token.partition("=")
        if sep and key and " " not in key:
            normal = key.strip().lower().replace("-", "_")
            if normal in fields:
                raise InvalidInput(f"`{key}` is given twice")
            fields[normal] = value
        else:
            args.append(token)
    if name == "help" and args:
        topic = args[0].lower()
        if topic not in COMMANDS:
            raise InvalidInput(f"no help for `{args[0]}`: it is not a Herald command")
    command = Command(name, args, fields, wants_help)
    if not wants_help and name in NEEDS_REASON and len(args) < 2:
        raise InvalidInput(f"`/herald {name}` needs a reason: `/herald {COMMANDS[name][0]}`")
    return command


def request_from_command(command: Command, *, now: datetime) -> DistributionRequest:
    """The create command's inline fields as a validated request.

    Positional words are not allowed in `create` (a common slip is `name spring` for
    `name=spring`), so they are refused with the field syntax shown.
    """
    if command.args:
        raise InvalidInput(
            f"`{command.args[0]}` is not a `key=value` field; write e.g. "
            "`/herald create name=spring platforms=tiktok window=6h start=+30m`"
        )
    fields = dict(command.fields)
    # A library item (`content=<id>`) or a calendar queue stands in for the caption.
    from_library = any(fields.get(k) for k in ("content", "queue", "queue_tag"))
    for required in ("caption", "platforms"):
        if required == "caption" and from_library:
            continue
        if not fields.get(required):
            raise InvalidInput(
                f"{required}: is required (e.g. `/herald create name=spring "
                'caption="Spring is here" platforms=tiktok,instagram window=6h`)'
            )
    fields.setdefault("start", "now")
    return request_from_fields(fields, now=now)
