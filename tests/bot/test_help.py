"""`/herald help`, unknown commands and request signing, through the real bolt app over HTTP."""

from __future__ import annotations

import time

from tests.bot.conftest import Harness
from tests.bot.driver import sign


class TestHelp:
    async def test_help_lists_every_command(self, harness: Harness) -> None:
        """`/herald help` answers at once, ephemerally, with every sub-command."""
        reply = await harness.driver.command("help")
        assert reply.status == 200
        body = reply.json()
        assert body["response_type"] == "ephemeral"
        text = str(body["blocks"])
        for command in ("create", "approve", "halt", "velocity", "import"):
            assert f"/herald {command}" in text

    async def test_command_help_shows_usage_and_example(self, harness: Harness) -> None:
        """`/herald create help` shows the create usage with an example."""
        body = (await harness.driver.command("create help")).json()
        assert "Example" in str(body["blocks"]) and "platforms=" in str(body["blocks"])

    async def test_empty_text_is_help(self, harness: Harness) -> None:
        """A bare `/herald` shows the help."""
        body = (await harness.driver.command("")).json()
        assert "Herald commands" in str(body["blocks"])

    async def test_unknown_command_suggests(self, harness: Harness) -> None:
        """A typo gets an ephemeral answer with the closest command, nothing else happens."""
        reply = await harness.driver.command("aprove spring")
        assert reply.status == 200
        await harness.settle(until=lambda: harness.fake.responses_text())
        text = harness.fake.responses_text()
        assert "Did you mean `/herald approve`" in text and '"ephemeral"' in text
        assert harness.fake.messages == []


class TestSigning:
    async def test_forged_signature_is_401(self, harness: Harness) -> None:
        """A request signed with the wrong secret is refused with 401 and does nothing."""
        reply = await harness.driver.command("help", signature="v0=" + "0" * 64)
        assert reply.status == 401
        assert harness.fake.calls == []

    async def test_replayed_old_timestamp_is_401(self, harness: Harness) -> None:
        """A correctly signed request from 10 minutes ago (a replay) is refused with 401."""
        reply = await harness.driver.command("help", timestamp=int(time.time()) - 600)
        assert reply.status == 401

    async def test_signature_matches_slack_recipe(self) -> None:
        """The driver signs like Slack's documented example."""
        # https://api.slack.com/authentication/verifying-requests-from-slack (example values)
        secret = "8f742231b10e8888abcd99yyyzzz85a5"
        body = (
            "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
        )
        expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        assert sign(secret, "1531420618", body) == expected
