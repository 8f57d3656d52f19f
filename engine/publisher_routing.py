"""Which publisher posts for an account: `Account.publisher` names a registered adapter
(`x`, `linkedin`, `postiz`, `mixpost`, ...); "" means the configured default (simulated or
webhook). `PublisherRouter` is itself a Publisher, so the dispatcher needs no change to use it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from datetime import timedelta

from engine.errors import UnknownPublishError
from engine.models import Account
from engine.ports import Publisher, PublishReceipt, PublishRequest, Reconciler


class PublisherRouter:
    """Routes each slot to its account's publisher (see module docstring)."""

    def __init__(
        self,
        default: Publisher,
        adapters: Mapping[str, Publisher] | None = None,
        *,
        default_name: str = "simulated",
    ) -> None:
        self.default = default
        self.default_name = default_name
        self._adapters: dict[str, Publisher] = dict(adapters or {})
        # True only when every route de-duplicates (see `route_publisher` per account).
        self.supports_idempotency = self._all_idempotent()

    def __repr__(self) -> str:
        return f"PublisherRouter(default={self.default_name!r}, adapters={sorted(self._adapters)})"

    def _all_idempotent(self) -> bool:
        return all(p.supports_idempotency for p in (self.default, *self._adapters.values()))

    def register(self, name: str, publisher: Publisher) -> None:
        self._adapters[name.strip().lower()] = publisher
        self.supports_idempotency = self._all_idempotent()

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def name_for(self, account: Account) -> str:
        """The publisher an account uses, as shown to users (`simulated`, `x`, ...)."""
        return account.publisher.strip().lower() or self.default_name

    def publisher_for(self, account: Account) -> Publisher:
        """Raises UnknownPublishError when the account names a publisher not configured."""
        name = account.publisher.strip().lower()
        if not name:
            return self.default
        try:
            return self._adapters[name]
        except KeyError:
            configured = ", ".join(self.names()) or "none"
            raise UnknownPublishError(
                f"{account.handle} uses publisher {name!r}, which this Herald has not configured "
                f"(configured: {configured}; see docs/publishing.md)"
            ) from None

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        """Publish through the account's publisher; raises what it raises, or
        UnknownPublishError for an unconfigured publisher."""
        return await self.publisher_for(request.account).publish(request)

    async def close(self) -> None:
        for publisher in (*self._adapters.values(), self.default):
            close = getattr(publisher, "close", None)
            result = close() if close is not None else None
            if inspect.isawaitable(result):
                await result


def route_publisher(publisher: Publisher, account: Account) -> Publisher:
    """The publisher that actually posts for `account` (itself unless it is a router)."""
    if isinstance(publisher, PublisherRouter):
        try:
            return publisher.publisher_for(account)
        except UnknownPublishError:
            return publisher.default
    return publisher


def reconciler_for(publisher: Publisher, account: Account) -> Reconciler | None:
    """The publisher of `account` when it can look up its own posts, else None."""
    routed = route_publisher(publisher, account)
    return routed if callable(getattr(routed, "find_post", None)) else None  # type: ignore[return-value]


def visibility_delay(reconciler: Reconciler) -> timedelta:
    """How long after a send the platform reliably shows the post (0 when unknown)."""
    delay = getattr(reconciler, "visibility_delay", timedelta(0))
    return delay if isinstance(delay, timedelta) else timedelta(0)


def publisher_name(publisher: Publisher, account: Account) -> str:
    """The name of the publisher that posts for `account` ("" for an unnamed default)."""
    if isinstance(publisher, PublisherRouter):
        return publisher.name_for(account)
    return account.publisher.strip().lower()


def publisher_names(publisher: Publisher, accounts: Iterable[Account]) -> dict[str, int]:
    """How many of `accounts` each publisher posts for (for the plan card)."""
    counts: dict[str, int] = {}
    for account in accounts:
        if isinstance(publisher, PublisherRouter):
            name = publisher.name_for(account)
        else:
            name = account.publisher or "default"
        counts[name] = counts.get(name, 0) + 1
    return counts
