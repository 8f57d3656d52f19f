"""Who may do what: Slack user ids and user groups from settings, mapped to engine roles.

`HERALD_APPROVERS` and `HERALD_OPERATORS` list Slack user ids (`U…`/`W…`) and user group
ids (`S…`). Group members are read with `usergroups.users.list` at start and every few
minutes after; until the first read, a group grants nothing (never more than configured).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from bot.settings import Settings
from engine.models import Role

log = logging.getLogger(__name__)


def is_group_id(entry: str) -> bool:
    """Slack user group ids start with S (users with U or W)."""
    return entry.startswith("S")


class RoleDirectory:
    """Maps a Slack user to a Role; expands user groups through the Web API."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._members: dict[str, frozenset[str]] = {}

    @property
    def groups(self) -> list[str]:
        """Every user group id named by the settings."""
        entries = [*self._settings.approvers, *self._settings.operators]
        return sorted({e for e in entries if is_group_id(e)})

    def _expand(self, entries: Iterable[str]) -> set[str]:
        users: set[str] = set()
        for entry in entries:
            if is_group_id(entry):
                users |= self._members.get(entry, frozenset())
            else:
                users.add(entry)
        return users

    def approvers(self) -> list[str]:
        """The approvers' user ids (groups expanded as last read)."""
        return sorted(self._expand(self._settings.approvers))

    def role_of(self, user_id: str) -> Role:
        """Approver if listed (directly or through a group); operator if listed, or when
        no operators are configured at all; viewer otherwise."""
        if user_id in self._expand(self._settings.approvers):
            return Role.APPROVER
        if not self._settings.operators or user_id in self._expand(self._settings.operators):
            return Role.OPERATOR
        return Role.VIEWER

    async def refresh(self, client: Any) -> None:
        """Re-read the members of every configured user group (keeps the old list of a
        group whose read failed, and logs why)."""
        for group in self.groups:
            try:
                response = await client.usergroups_users_list(usergroup=group)
            except Exception as exc:  # slack_sdk raises SlackApiError or aiohttp errors
                log.warning("could not read members of user group %s: %s", group, exc)
                continue
            self._members[group] = frozenset(response.get("users") or [])
