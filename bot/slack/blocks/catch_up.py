"""The question a distribution's thread asks when late posts no longer fit its window."""

from __future__ import annotations

from typing import Any

from bot.slack import ids
from bot.slack.blocks.common import Block, actions, button, context, escape, section
from engine.models import Event

# choice -> (button text, action_id, what the decided message says)
CHOICES: dict[str, tuple[str, str, str]] = {
    "replan": ("Re-plan the rest", ids.CATCH_UP_REPLAN, "Re-planned over a new window"),
    "publish": (
        "Publish spaced past the window",
        ids.CATCH_UP_PUBLISH,
        "Publishing past the window",
    ),
    "skip": ("Skip them", ids.CATCH_UP_SKIP, "Skipped"),
}


def catch_up_text(event: Event) -> str:
    """One line saying what happened to a distribution's late posts."""
    return str(event.data.get("reason") or "late posts were re-spaced")


def build_catch_up_question(event: Event) -> list[Block]:
    """The held posts, and the three choices (operators; the service checks the role)."""
    value: dict[str, Any] = {"d": event.distribution_id}
    return [
        section(
            f":hourglass: {escape(catch_up_text(event))}. The plan's gaps are kept whatever "
            "you choose."
        ),
        actions(
            ids.CATCH_UP_BLOCK,
            *(
                button(text, action_id, {**value, "c": choice})
                for choice, (text, action_id, _) in CHOICES.items()
            ),
        ),
    ]


def build_catch_up_decided(text: str, choice: str, user: str, moved: int) -> list[Block]:
    """The question once answered: the buttons are gone."""
    verb = CHOICES[choice][2]
    return [section(text), context(f"{verb} ({moved} post(s)) by <@{user}>")]
