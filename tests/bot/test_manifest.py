"""manifest.yml declares exactly the commands and events the bot handles."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot.slack import ids
from tests.bot.conftest import Harness

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# Event types a Slack app could subscribe to: the bot must handle exactly the declared ones.
CANDIDATE_EVENTS = (
    "app_home_opened",
    "app_mention",
    "message",
    "reaction_added",
    "member_joined_channel",
    "file_shared",
    "team_join",
    "app_uninstalled",
    "channel_created",
)


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def declared_events() -> set[str]:
    # `message.im` subscribes to the `message` event type for DMs.
    return {e.split(".")[0] for e in manifest()["settings"]["event_subscriptions"]["bot_events"]}


class TestManifest:
    def test_manifest_is_complete(self) -> None:
        """The manifest has the command, interactivity, Socket Mode, Home and scopes."""
        m = manifest()
        assert [c["command"] for c in m["features"]["slash_commands"]] == ["/herald"]
        assert m["settings"]["interactivity"]["is_enabled"] is True
        assert m["settings"]["socket_mode_enabled"] is True
        assert m["features"]["app_home"]["home_tab_enabled"] is True
        scopes = set(m["oauth_config"]["scopes"]["bot"])
        assert {
            "commands",
            "chat:write",
            "app_mentions:read",
            "im:history",
            "files:write",
            "files:read",
            "channels:history",
            "groups:history",
        } <= scopes

    async def test_declared_events_are_exactly_the_handled_ones(self, harness: Harness) -> None:
        """Every candidate event is handled (200) iff the manifest declares it (else 404)."""
        handled = set()
        for kind in CANDIDATE_EVENTS:
            event = {
                "type": kind,
                "user": "U_X",
                "channel": "D_X",
                "channel_type": "im",
                "tab": "messages",
                "text": "",
                "ts": "1.1",
            }
            reply = await harness.driver.event(event)
            assert reply.status in (200, 404), reply
            if reply.status == 200:
                handled.add(kind)
        await harness.settle()
        assert handled == declared_events()

    async def test_declared_command_is_handled(self, harness: Harness) -> None:
        """The declared slash command is answered; an undeclared one is not."""
        for command in manifest()["features"]["slash_commands"]:
            body = harness.driver.command_body("help")
            body["command"] = command["command"]
            from urllib.parse import urlencode

            reply = await harness.driver.post(urlencode(body), "application/x-www-form-urlencoded")
            assert reply.status == 200
        body = harness.driver.command_body("help")
        body["command"] = "/other"
        from urllib.parse import urlencode

        reply = await harness.driver.post(urlencode(body), "application/x-www-form-urlencoded")
        assert reply.status == 404

    async def test_every_action_id_has_a_listener(self, harness: Harness) -> None:
        """Each action id in bot.slack.ids is handled (acked), so no button is dead."""
        for action_id in ids.ALL_ACTION_IDS:
            payload = {
                "type": "block_actions",
                "user": {"id": "U_VIEW"},
                "team": {"id": "T0001"},
                "api_app_id": "A1",
                "trigger_id": harness.fake.issue_trigger(),
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": "b",
                        "type": "button",
                        "value": json.dumps({"d": "d-none"}),
                        "action_ts": "1",
                    }
                ],
            }
            reply = await harness.driver.interact(payload)
            assert reply.status == 200, action_id
        await harness.settle()
