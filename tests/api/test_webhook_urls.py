"""A webhook URL may carry its receiver's secret (a Slack hook's path, `?token=`): it is
shown whole only in the answer that creates it; the list (API and CLI), the audit log, the
events fanned out and the Slack alert show the redacted form."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli.api import webhooks as webhooks_cli
from tests.api.conftest import REQUEST, Api, idle_deliverer, running_app
from tests.api.receiver import Receiver
from tests.bot.fake_slack import FakeSlack

PATH_SECRET = "XXXXpathS3cr3tXXXX9z9z"
QUERY_SECRET = "q-S3cr3t"


@pytest.fixture
async def hooked(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """An app that disables a webhook after an hour of failures; tests drive rounds."""
    extra = idle_deliverer(HERALD_EVENT_WEBHOOK_DISABLE_AFTER_HOURS="1")
    async with running_app(fake, tmp_path, **extra) as api:
        yield api


def _secret_url(receiver: Receiver) -> str:
    base = receiver.url.removesuffix("/hook")
    return f"{base}/services/T0/B0/{PATH_SECRET}?token={QUERY_SECRET}"


def _assert_redacted(text: str) -> None:
    assert PATH_SECRET not in text and QUERY_SECRET not in text
    assert "/…9z9z?token=…" in text


class TestWebhookUrlsRedacted:
    async def test_only_the_create_answer_shows_the_url_whole(
        self, hooked: Api, receiver: Receiver, fake: FakeSlack
    ) -> None:
        """Create shows the URL; list, audit, fanned-out events and the alert never do."""
        url = _secret_url(receiver)
        status, hook, _ = await hooked.call(
            "POST", "/webhooks", who="approver", json={"url": url, "events": ["*"]}
        )
        assert status == 201 and hook["url"] == url
        receiver.secret = hook["secret"]
        _status, listed, _ = await hooked.call("GET", "/webhooks", who="approver")
        _assert_redacted(json.dumps(listed, ensure_ascii=False))
        # The receiver (path included) is reached: redaction is for showing only.
        await hooked.call("POST", "/distributions", json=REQUEST)
        assert await hooked.ctx.deliverer.run_once() >= 1
        receiver.up = False
        for _ in range(3):
            hooked.clock.advance(timedelta(hours=1))
            name = f"n{time.time_ns()}"
            await hooked.call("POST", "/distributions", json={**REQUEST, "name": name})
            await hooked.ctx.deliverer.run_once()
        alerts = [m.text for m in fake.messages if hook["id"] in m.text]
        assert len(alerts) == 1
        _assert_redacted(alerts[0])
        history = await hooked.service.history(limit=500)
        audit = [e.data for e in history if e.kind.startswith("webhook.")]
        assert {"webhook.added", "webhook.disabled"} <= {e.kind for e in history}
        _assert_redacted(json.dumps(audit, ensure_ascii=False))
        _status, events, _ = await hooked.call("GET", "/events?limit=200", who="approver")
        assert PATH_SECRET not in json.dumps(events) and QUERY_SECRET not in json.dumps(events)
        delivered = json.dumps(receiver.received)
        assert PATH_SECRET not in delivered and QUERY_SECRET not in delivered

    async def test_cli_list_shows_the_redacted_url(
        self, hooked: Api, receiver: Receiver, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`herald webhooks list` prints the redacted URL; `add` prints it whole, once."""
        add = argparse.Namespace(action="add", url=_secret_url(receiver), events="*", user="U1")
        await webhooks_cli(add, hooked.ctx.webhooks, hooked.clock.now(), allow_private=True)
        assert PATH_SECRET in capsys.readouterr().out
        await webhooks_cli(
            argparse.Namespace(action="list"), hooked.ctx.webhooks, hooked.clock.now()
        )
        _assert_redacted(capsys.readouterr().out)
