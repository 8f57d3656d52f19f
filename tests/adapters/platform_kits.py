"""One kit per platform publisher for the contract suite: its fake, the adapter, an account.

A kit starts the platform's fake (tests/fakes), connects one account through the
`MemoryTokenRefresher`, and knows how to provoke each situation on its fake (a rate limit,
an expired or revoked token, a duplicate, an answer that never comes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from engine.adapters.linkedin_publisher import LinkedInPublisher
from engine.adapters.mixpost_publisher import MixpostPublisher
from engine.adapters.oauth2_client import OAuth2Client
from engine.adapters.oauth_platforms import LinkedInOAuthClient, XOAuthClient
from engine.adapters.postiz_publisher import PostizPublisher
from engine.adapters.x_publisher import XPublisher
from engine.clock import SystemClock
from engine.models import Account
from engine.ports import PublishRequest
from engine.request import Content
from tests.adapters.publisher_support import MemoryMediaStore, MemoryTokenRefresher
from tests.fakes.linkedin_api import FakeLinkedIn
from tests.fakes.mixpost_api import FakeMixpost
from tests.fakes.oauth import OAuthProvider
from tests.fakes.postiz_api import FakePostiz
from tests.fakes.x_api import FakeX

TIMEOUT = 0.5  # the adapters' read timeout in these tests; fakes "hang" longer


class PlatformPublisher(Protocol):
    visibility_delay: timedelta

    async def publish(self, request: PublishRequest) -> Any: ...
    async def find_post(self, request: PublishRequest, sent_at: Any) -> Any: ...
    async def delete_post(self, account: Account, post_id: str) -> None: ...
    async def close(self) -> None: ...


@dataclass
class Kit:
    """A running fake and an adapter wired to it, for one account."""

    name: str
    fake: Any
    publisher: PlatformPublisher
    refresher: MemoryTokenRefresher
    account: Account
    media: MemoryMediaStore = field(default_factory=MemoryMediaStore)

    def request(self, caption: str = "Launch day: meet Herald", **changes: Any) -> PublishRequest:
        fields: dict[str, Any] = {
            "slot_id": "d-c.0",
            "distribution_id": "d-c",
            "account": self.account,
            "platform": self.account.platform,
            "language": "en",
            "caption": caption,
            "hashtags": ("herald",),
            "content": Content(id="c1", caption=caption),
            "content_type": "post",
            "idempotency_key": "herald:d-c.0",
        }
        fields.update(changes)
        return PublishRequest(**fields)

    def texts(self) -> list[str]:
        """What is live on the platform now (published, not deleted)."""
        fake = self.fake
        if isinstance(fake, FakeX):
            return [t.text for t in fake.live()]
        if isinstance(fake, FakeLinkedIn):
            return [p.commentary for p in fake.live()]
        if isinstance(fake, FakePostiz):
            fake._advance()
            return [p.content for p in fake.live()]
        return [p.body for p in fake.live()]

    def rate_limit(self) -> None:
        fake = self.fake
        if isinstance(fake, FakeX):
            fake.user_limit = 0
        elif isinstance(fake, FakeLinkedIn):
            fake.daily_limit = 0
        elif isinstance(fake, FakePostiz):
            fake.api_limit = 0
        else:
            fake.throttle = True

    def expire_token(self) -> None:
        """The current access token stops working; the refresher can get a new one."""
        token = self.refresher.stored[self.account.id].access_token
        if isinstance(self.fake, FakeX | FakeLinkedIn):
            self.fake.oauth.expire(token)
        elif isinstance(self.fake, FakePostiz):
            org = self.fake.keys.pop(token)
            self.fake.keys["key-2"] = org
            self.refresher.queue_key(self.account.id, "key-2")
        else:
            workspace = self.fake.tokens.pop(token)
            self.fake.tokens["token-2"] = workspace
            self.refresher.queue_key(self.account.id, "token-2")

    def revoke(self) -> None:
        """The user revoked Herald (or the key was deleted): nothing refreshes it."""
        if isinstance(self.fake, FakeX | FakeLinkedIn):
            for user in list(self.fake.oauth.access.values()):
                self.fake.oauth.revoke(user.user_id)
        elif isinstance(self.fake, FakePostiz):
            self.fake.keys.clear()
        else:
            self.fake.tokens.clear()

    async def arrange_duplicate(self, request: PublishRequest) -> None:
        """Make the platform refuse `request` as a duplicate."""
        if isinstance(self.fake, FakeX | FakeLinkedIn):
            await self.publisher.publish(request)
        else:
            self.fake.fail_next = "Duplicate content: this status was already posted"

    def hang(self, mode: str | None) -> None:
        self.fake.hang = mode
        self.fake.hang_seconds = TIMEOUT * 3


def oauth_client(cls: type[OAuth2Client], provider: OAuthProvider, base_url: str) -> OAuth2Client:
    """Herald's own OAuth client for a platform, pointed at its fake."""
    return cls(provider.client_id, provider.client_secret, SystemClock(), base_url=base_url)


@asynccontextmanager
async def platform_kit(name: str) -> AsyncIterator[Kit]:
    """A kit for `x`, `linkedin` (member), `linkedin-page`, `postiz` or `mixpost`."""
    media = MemoryMediaStore()
    fake: Any
    publisher: Any
    if name == "x":
        fake = FakeX()
        served = await fake.serve()
        refresher = MemoryTokenRefresher(oauth_client(XOAuthClient, fake.oauth, served.url))
        refresher.connect(
            "x-01", "x", "2244994945", fake.add_user("2244994945", "herald_hq"), handle="herald_hq"
        )
        publisher = XPublisher(
            refresher,
            media=media,
            base_url=served.url,
            timeout_seconds=TIMEOUT,
            visibility_delay=timedelta(0),
            media_poll_seconds=0.01,
        )
        account = Account("x-01", "twitter", "@herald_hq", "UTC", publisher="x")
    elif name in ("linkedin", "linkedin-page"):
        fake = FakeLinkedIn(part_size=300_000)
        served = await fake.serve()
        refresher = MemoryTokenRefresher(oauth_client(LinkedInOAuthClient, fake.oauth, served.url))
        if name == "linkedin":
            tokens, user = fake.add_member("abc123", "Ada"), "urn:li:person:abc123"
        else:
            tokens, user = fake.add_member("p-admin", "Pat"), "urn:li:organization:9001"
            fake.page_admins["9001"] = {"p-admin"}
        refresher.connect("li-01", "linkedin", user, tokens)
        publisher = LinkedInPublisher(
            refresher,
            media=media,
            base_url=served.url,
            timeout_seconds=TIMEOUT,
            visibility_delay=timedelta(0),
            video_poll_seconds=0.01,
        )
        account = Account("li-01", "linkedin", "@ada", "UTC", publisher="linkedin")
    elif name == "postiz":
        fake = FakePostiz()
        fake.keys["key-1"] = "org-1"
        fake.add_channel("int-x-1", "herald_hq")
        served = await fake.serve()
        refresher = MemoryTokenRefresher()
        refresher.connect("pz-01", "postiz", "", "key-1")
        publisher = PostizPublisher(
            refresher,
            base_url=served.url + "/public/v1",
            timeout_seconds=TIMEOUT,
            poll_seconds=0.01,
            media=media,
        )
        account = Account("pz-01", "twitter", "@herald_hq", "UTC", publisher="postiz")
    elif name == "mixpost":
        fake = FakeMixpost()
        fake.tokens["token-1"] = fake.workspace
        fake.add_account("herald_hq")
        served = await fake.serve()
        refresher = MemoryTokenRefresher()
        refresher.connect("mp-01", "mixpost", "", "token-1")
        publisher = MixpostPublisher(
            refresher,
            base_url=served.url + "/mixpost",
            workspace=fake.workspace,
            timeout_seconds=TIMEOUT,
            poll_seconds=0.01,
            media=media,
        )
        account = Account("mp-01", "twitter", "@herald_hq", "UTC", publisher="mixpost")
    else:
        raise ValueError(name)
    kit = Kit(name, fake, publisher, refresher, account, media)
    try:
        yield kit
    finally:
        await publisher.close()
        await served.close()
