"""What every listener needs, bundled once by `create_app` and injected by a middleware.

Listeners read it as `context["deps"]`; nothing else builds clients or services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.reads import StatusCache
from bot.slack.roles import RoleDirectory
from engine.errors import NotAllowed
from engine.models import Actor, Role
from engine.ports import Clock
from engine.service import DistributionService
from engine.service_support import StatusView
from engine.wording import with_article

if TYPE_CHECKING:
    from bot.bootstrap import Herald
    from bot.slack.intents import IntentParser
    from bot.slack.notifier import SlackNotifier
    from bot.slack.outbox import Outbox

DEPS = "deps"


@dataclass
class BotDeps:
    """The composition root's products that listeners use."""

    settings: Settings
    herald: Herald
    clock: Clock
    notifier: SlackNotifier
    intent_parser: IntentParser
    outbox: Outbox | None = None
    metrics: Metrics = field(default_factory=Metrics)
    reads: StatusCache | None = None
    roles: RoleDirectory = field(init=False)
    names: dict[str, str] = field(default_factory=dict)  # user id -> name Slack sent

    def __post_init__(self) -> None:
        self.roles = RoleDirectory(self.settings)

    async def status(self, key: str) -> StatusView:
        """The distribution's StatusView, through the shared short-lived cache."""
        if self.reads is None:
            return await self.service.status(key)
        return await self.reads.status(key)

    @property
    def service(self) -> DistributionService:
        """The engine's DistributionService."""
        return self.herald.service

    def actor(self, user_id: str, display: str = "") -> Actor:
        """The engine actor for a Slack user, with the role the settings give them. Its
        display (in refusals) is the name Slack last sent for them, else a mention, which
        Slack shows as their name: never the raw id."""
        name = display or self.names.get(user_id) or f"<@{user_id}>"
        return Actor(user_id, self.roles.role_of(user_id), name)

    def remember_name(self, user_id: str, name: str) -> None:
        """Keep the name a request carried for `user_id` (bounded: the oldest go first)."""
        if not user_id or not name or len(name) > 80:
            return
        self.names.pop(user_id, None)
        self.names[user_id] = name
        if len(self.names) > 5000:
            self.names.pop(next(iter(self.names)))

    def require(self, user_id: str, role: Role, doing: str) -> Actor:
        """The actor, or NotAllowed before anything is touched (the service checks again)."""
        actor = self.actor(user_id)
        order = [Role.VIEWER, Role.OPERATOR, Role.APPROVER]
        if order.index(actor.role) < order.index(role):
            raise NotAllowed(
                f"only {role.value}s can {doing}; you are {with_article(actor.role.value)}"
            )
        return actor


def deps_of(context: Any) -> BotDeps:
    """The BotDeps a middleware put in bolt's context."""
    return context[DEPS]  # type: ignore[no-any-return]
