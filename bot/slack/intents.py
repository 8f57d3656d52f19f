"""Plain language ("pause the spring launch", "how is the black friday push doing?") to an Intent.

`KeywordIntentParser` is deterministic; `LLMIntentParser` asks the models through the LLM
gateway and falls back to it. Either way an Intent that changes state is only *proposed*:
it runs when an authorized user presses Confirm. Model output never acts by itself.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from engine.errors import LLMError
from engine.llm_gateway import make_call

if TYPE_CHECKING:
    from engine.llm_gateway import LLMGateway

log = logging.getLogger(__name__)

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
    # Who understood it: "keywords", or the models that agreed ("models: gpt, claude").
    source: str = field(default="keywords", compare=False)

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


# ---------------------------------------------------------------------- the model-backed parser

KNOWN_ACTIONS = tuple(action for action, _ in _ACTIONS)
NO_INTENT = "none"
INTENT_BUDGET_KEY = "slack-intents"
MAX_MESSAGE_CHARS = 2000

INTENT_INSTRUCTIONS = (
    "You read one chat message sent to Herald, a bot that runs content distributions "
    "(named campaigns) for the operator's own social accounts, and say what it asks for. "
    "action is one of: help, list (what is running), status (how one is doing), plan, "
    "simulate, approve, reject, pause, resume, cancel, halt (emergency stop), retry; or "
    "none when the message asks for none of these. key is the distribution's name or id "
    "exactly as written in data.message (null for help, list and none). reason is the "
    "reason the message gives, copied from it, or null."
)


class IntentAnswer(BaseModel):
    """What a model says a chat message asks for (validated; never acted on directly)."""

    action: Literal[
        "help",
        "list",
        "status",
        "plan",
        "simulate",
        "approve",
        "reject",
        "pause",
        "resume",
        "cancel",
        "halt",
        "retry",
        "none",
    ]
    key: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+", text.lower()) if w]


# More ways of saying a state-changing verb than the keyword parser matches on.
_MORE_VERBS: dict[str, tuple[str, ...]] = {
    "approve": ("go ahead", "green light", "greenlight", "lgtm", "accept", "okay it", "ok it"),
    "halt": ("kill", "emergency"),
    "cancel": ("call off", "scrap", "delete"),
    "pause": ("suspend", "on ice", "hold off", "put on hold"),
    "reject": ("refuse", "turn down", "deny"),
    "plan": ("replan", "re-plan", "schedule"),
    "retry": ("rerun", "re-run", "repost"),
}


def asks_for(action: str, message: str) -> bool:
    """Whether `message` uses a verb (or an inflection of it) that asks for `action`."""
    phrases = dict(_ACTIONS).get(action, ()) + _MORE_VERBS.get(action, ())
    text = message.lower()
    return any(re.search(r"(?<!\w)" + re.escape(p) + r"\w*", text) for p in phrases)


def check_intent_answer(answer: IntentAnswer, message: str) -> None:
    """Reject an answer whose key is not taken from `message` (a model must not pick a
    distribution the user never named), or whose state-changing action no verb of the
    message asks for. Raises ValueError."""
    if answer.action not in {*KNOWN_ACTIONS, NO_INTENT}:
        raise ValueError(f"unknown action {answer.action!r}")
    if answer.action in CHANGES_STATE and not asks_for(answer.action, message):
        # "how is the spring launch doing?" must never be offered as Approve.
        raise ValueError(f"the message does not ask to {answer.action}")
    if answer.key is None or answer.action in {"help", "list", NO_INTENT}:
        return
    said = set(_words(message))
    missing = [w for w in _words(answer.key) if w not in said]
    if missing or not _words(answer.key):
        raise ValueError(f"key {answer.key[:80]!r} is not in the message")


class LLMIntentParser:
    """Asks the models what a message means; the deterministic parser when they cannot say.

    The message travels as JSON data (never as instructions). Each answer must validate
    against `IntentAnswer` and name a key found in the message; the answers are fused by
    weighted vote on (action, key). No valid answer, a budget or gateway error, or a
    model saying `none` while the keywords find something: the keyword parser decides.
    The Intent is only proposed; Confirm still runs it.
    """

    def __init__(self, gateway: LLMGateway, fallback: IntentParser | None = None) -> None:
        self.gateway = gateway
        self.fallback: IntentParser = fallback or KeywordIntentParser()

    async def parse(self, text: str) -> Intent | None:
        clean = _normalise(text)
        if not clean:
            return None
        message = clean[:MAX_MESSAGE_CHARS]
        call = make_call(INTENT_INSTRUCTIONS, {"message": message}, IntentAnswer, max_tokens=200)
        try:
            result = await self.gateway.ask(
                call,
                IntentAnswer,
                # A budget per UTC day: spent, chat falls back to keywords until midnight.
                plan_id=f"{INTENT_BUDGET_KEY}-{self.gateway.clock.now():%Y-%m-%d}",
                check=lambda answer: check_intent_answer(answer, message),
            )
        except LLMError as exc:
            log.info("intent models unavailable (%s): keyword parser used", exc)
            return await self.fallback.parse(text)
        if not result.answers:
            return await self.fallback.parse(text)
        votes: dict[tuple[str, str | None], float] = defaultdict(float)
        for answer in result.answers:
            key = answer.value.key.strip() if answer.value.key else None
            votes[(answer.value.action, key)] += answer.weight
        (action, key), _ = max(votes.items(), key=lambda item: item[1])
        if action == NO_INTENT:
            return await self.fallback.parse(text)
        agreed = [
            a
            for a in result.answers
            if a.value.action == action and (a.value.key.strip() if a.value.key else None) == key
        ]
        args: dict[str, str] = {}
        reason = next((a.value.reason for a in agreed if a.value.reason), None)
        # Keep a reason only if it is the user's own words, not the model's.
        if reason and reason.strip().lower().rstrip(".!?") in message.lower():
            args["reason"] = reason.strip().rstrip(".!?")
        models = ", ".join(a.model for a in agreed)
        if action in {"help", "list"}:
            key = None
        return Intent(action, key, args, source=f"models: {models}")
