"""The contract every platform publisher passes, each against its platform's local fake."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import AuthExpired, DuplicateContent, OutcomeUnknown, RateLimited
from engine.ports import PublishReceipt, PublishRequest
from tests.adapters.platform_kits import Kit, platform_kit

KITS = ["x", "linkedin", "linkedin-page", "postiz", "mixpost"]


@pytest.fixture(params=KITS)
async def kit(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    async with platform_kit(request.param) as running:
        yield running


async def _reconcile(kit: Kit, request: PublishRequest, sent_at: datetime) -> PublishReceipt:
    """What the dispatcher does with an in-doubt slot: look first, send once if not found."""
    found = await kit.publisher.find_post(request, sent_at)
    if found is not None:
        return found  # type: ignore[no-any-return]
    return await kit.publisher.publish(replace(request, sent_before_at=sent_at))  # type: ignore[no-any-return]


class TestPublisherContract:
    async def test_publish(self, kit: Kit) -> None:
        """A post goes out once, with the caption and hashtags, and its id comes back."""
        receipt = await kit.publisher.publish(kit.request())
        assert receipt.post_id and not receipt.reconciled
        assert kit.texts() == ["Launch day: meet Herald #herald"]

    async def test_rate_limited(self, kit: Kit) -> None:
        """A rate-limit answer is RateLimited with the reset time, and nothing is posted."""
        kit.rate_limit()
        with pytest.raises(RateLimited) as caught:
            await kit.publisher.publish(kit.request())
        assert caught.value.retry_after is not None
        assert timedelta(0) < caught.value.retry_after <= timedelta(days=1)
        assert kit.texts() == []

    async def test_expired_token_is_refreshed_then_published(self, kit: Kit) -> None:
        """A 401 on an expired token forces one refresh, and the retry publishes."""
        kit.expire_token()
        receipt = await kit.publisher.publish(kit.request())
        assert receipt.post_id
        assert kit.refresher.refreshes == 1
        assert len(kit.texts()) == 1

    async def test_revoked_token_is_auth_expired(self, kit: Kit) -> None:
        """A revoked token that cannot be refreshed raises AuthExpired; nothing is posted."""
        kit.revoke()
        with pytest.raises(AuthExpired):
            await kit.publisher.publish(kit.request())
        assert kit.texts() == []

    async def test_duplicate_is_duplicate_content(self, kit: Kit) -> None:
        """The platform's duplicate refusal is DuplicateContent (never retried)."""
        await kit.arrange_duplicate(kit.request())
        with pytest.raises(DuplicateContent):
            await kit.publisher.publish(kit.request())

    async def test_timeout_after_send_is_reconciled_as_found(self, kit: Kit) -> None:
        """The post went out but the answer never came: found, reconciled, not posted again."""
        sent_at = datetime.now(UTC)
        kit.hang("after")
        with pytest.raises(OutcomeUnknown):
            await kit.publisher.publish(kit.request())
        kit.hang(None)
        receipt = await _reconcile(kit, kit.request(), sent_at)
        assert receipt.reconciled and receipt.post_id
        assert kit.texts() == ["Launch day: meet Herald #herald"]

    async def test_timeout_before_post_is_reconciled_as_not_found(self, kit: Kit) -> None:
        """The request timed out and no post was made: not found, then sent once."""
        sent_at = datetime.now(UTC)
        kit.hang("before")
        with pytest.raises(OutcomeUnknown):
            await kit.publisher.publish(kit.request())
        kit.hang(None)
        assert await kit.publisher.find_post(kit.request(), sent_at) is None
        receipt = await _reconcile(kit, kit.request(), sent_at)
        assert not receipt.reconciled
        assert kit.texts() == ["Launch day: meet Herald #herald"]

    async def test_delete(self, kit: Kit) -> None:
        """A published post can be deleted (Postiz: from Postiz only, as documented)."""
        receipt = await kit.publisher.publish(kit.request())
        await kit.publisher.delete_post(kit.account, receipt.post_id)
        assert kit.texts() == []
