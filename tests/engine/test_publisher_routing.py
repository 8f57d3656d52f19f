"""Publisher routing: each account's slots go to the publisher its `publisher` field names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.errors import UnknownPublishError
from engine.ports import PublishRequest
from engine.publisher_routing import PublisherRouter, publisher_names, reconciler_for
from engine.request import Content
from tests.engine.execution_support import ScriptedPublisher, make_accounts


def _request(account) -> PublishRequest:  # type: ignore[no-untyped-def]
    content = Content(id="c", caption="hi")
    return PublishRequest(
        "d-r.0", "d-r", account, account.platform, "en", "hi", (), content, "post", "k"
    )


class TestPublisherRouter:
    async def test_routes_by_account_publisher_and_default(self) -> None:
        """ "" goes to the default, "x" to the X adapter; names are shown per account."""
        default, x = ScriptedPublisher(), ScriptedPublisher()
        router = PublisherRouter(default, {"x": x}, default_name="webhook")
        plain, connected = make_accounts(2, ["twitter"])
        connected = replace(connected, publisher="x")
        await router.publish(_request(plain))
        await router.publish(_request(connected))
        assert [c.account.id for c in default.calls] == [plain.id]
        assert [c.account.id for c in x.calls] == [connected.id]
        assert (router.name_for(plain), router.name_for(connected)) == ("webhook", "x")
        assert publisher_names(router, [plain, connected, connected]) == {"webhook": 1, "x": 2}

    async def test_unconfigured_publisher_is_refused_with_a_reason(self) -> None:
        """An account naming a publisher this Herald lacks fails clearly, nothing is sent."""
        default = ScriptedPublisher()
        router = PublisherRouter(default)
        account = replace(make_accounts(1, ["linkedin"])[0], publisher="linkedin")
        with pytest.raises(UnknownPublishError, match="has not configured"):
            await router.publish(_request(account))
        assert default.calls == [] and reconciler_for(router, account) is None
