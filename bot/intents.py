"""Plain language ("pause the spring launch", "how is the black friday push doing?") to an Intent.

`KeywordIntentParser` is deterministic. An LLM-backed parser can be plugged in through the
`IntentParser` protocol later; either way an Intent that changes state is only *proposed*:
it runs when an authorized user presses Confirm. Model output never acts by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

# action -> words that ask for it (checked in this order: the first hit wins)
_ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("help", ("help", "what can you do", "commands")),
    ("halt", ("halt", "emergency stop", "kill switch")),
    ("resume", ("resume", "unpause", "continue", "restart", "carry on")),
    ("pause", ("pause", "hold", "stop", "freeze")),
    ("cancel", ("cancel", "abort", "drop")),
    ("approve", ("approve", "sign off", "ship")),
    ("reject", ("reject", "decline")),
    ("simulate", ("simulate", "dry run", "dry-run")),
    ("plan", ("plan",)),
    ("retry", ("retry", "try again")),
    (
        "list",
        (
            "list",
            "what is running",
            "what's running",
            "whats running",
            "show all",
            "anything running",
        ),
    ),
    ("status", ("how is", "how's", "hows", "how are", "status", "progress", "doing", "going")),
)
READ_ONLY = frozenset({"help", "list", "status"})
CHANGES_STATE = frozenset(
    {"halt", "resume", "pause", "cancel", "approve", "reject", "simulate", "plan", "retry"}
)
NEEDS_REASON = frozenset({"halt", "reject"})

# Words that carry no name: removed around the distribution's name.
_FILLER = {
    "the",
    "a",
    "an",
    "please",
    "can",
    "could",
    "would",
    "you",
    "herald",
    "now",
    "for",
    "me",
    "of",
    "on",
    "is",
    "are",
    "it",
    "its",
    "doing",
    "going",
    "how",
    "hows",
    "how's",
    "what",
    "whats",
    "what's",
    "status",
    "progress",
    "with",
    "distribution",
    "campaign",
    "right",
    "away",
    "immediately",
    "asap",
    "plan",
    "again",
    "let's",
    "lets",
    "us",
    "our",
    "my",
    "?",
}
_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
_REASON = re.compile(r"\b(?:because|since|reason:?|due to)\b(.*)$", re.IGNORECASE)
# Nouns people add to a name that are seldom part of it ("spring launch" for "spring").
NAME_NOUNS = ("launch", "push", "campaign", "drop", "promo", "release")


@dataclass(frozen=True)
class Intent:
    """What the user asked: an action, the distribution it is about, and extra arguments."""

    action: str
    key: str | None = None
    args: dict[str, str] = field(default_factory=dict)

    @property
    def changes_state(self) -> bool:
        return self.action in CHANGES_STATE


class IntentParser(Protocol):
    """Text to Intent. Implementations may call a model; they must never act."""

    async def parse(self, text: str) -> Intent | None:
        """The intent in `text`, or None when there is none to find."""
        ...


def _normalise(text: str) -> str:
    text = _MENTION.sub(" ", text)
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.strip().split())


class KeywordIntentParser:
    """A deterministic parser: a verb table, a reason clause, the rest is the name."""

    async def parse(self, text: str) -> Intent | None:
        return parse_intent(text)


def parse_intent(text: str) -> Intent | None:
    """The intent in `text` by keywords, or None."""
    clean = _normalise(text)
    if not clean:
        return None
    lowered = clean.lower()
    args: dict[str, str] = {}
    match = _REASON.search(clean)
    if match and match.group(1).strip():
        args["reason"] = match.group(1).strip().rstrip(".!?")
        lowered = lowered[: match.start()]
    quoted = re.search(r'"([^"]+)"', clean)
    for action, phrases in _ACTIONS:
        for phrase in phrases:
            found = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", lowered)
            if found is None:
                continue
            if action in {"help", "list"}:
                return Intent(action, None, args)
            if quoted:
                return Intent(action, quoted.group(1).strip(), args)
            rest = (lowered[: found.start()] + " " + lowered[found.end() :]).replace("?", " ")
            words = [w.strip(".,!") for w in rest.split()]
            name = " ".join(w for w in words if w and w not in _FILLER)
            return Intent(action, name or None, args)
    return None


def name_candidates(key: str) -> list[str]:
    """Ways to look `key` up, most literal first: as said, hyphenated, without a noun."""
    out: list[str] = []

    def add(value: str) -> None:
        value = value.strip(" -")
        if value and value not in out:
            out.append(value)

    add(key)
    add(key.replace(" ", "-"))
    add(key.replace(" ", "_"))
    words = key.split()
    trimmed = [w for w in words if w not in NAME_NOUNS]
    if trimmed and trimmed != words:
        add(" ".join(trimmed))
        add("-".join(trimmed))
    return out


def describe(intent: Intent, name: str) -> str:
    """What a confirmed intent will do, in words."""
    reason = f" (reason: {intent.args['reason']})" if intent.args.get("reason") else ""
    return f"*{intent.action.capitalize()}* {name}{reason}"
