"""Plays Slack's side of the Events/Interactivity HTTP protocol against the bolt app.

Signs every request like Slack (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the
signing secret): slash commands form-encoded, interactivity as `payload=<json>`, events as
JSON. Trigger ids and response URLs come from the FakeSlack, as they would from Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.bot.fake_slack import TEAM, FakeSlack, Message


@dataclass
class Reply:
    """Bolt's HTTP answer."""

    status: int
    text: str
    elapsed: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.text) if self.text.startswith("{") else {}


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Sends signed Slack requests to `url` (bolt's /slack/events)."""

    def __init__(self, url: str, secret: str, fake: FakeSlack) -> None:
        self.url = url
        self.secret = secret
        self.fake = fake
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST a raw body, signed unless `signature` is given."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or sign(self.secret, ts, body),
            **(headers or {}),
        }
        started = time.perf_counter()
        async with self._session.post(self.url, data=body.encode(), headers=all_headers) as resp:
            text = await resp.text()
            return Reply(resp.status, text, time.perf_counter() - started)

    # ------------------------------------------------------------------ slash commands
    def command_body(
        self, text: str, *, user: str = "U_OP", user_name: str = "olivia", channel: str = "C_OPS"
    ) -> dict[str, str]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": user_name,
            "command": "/herald",
            "text": text,
            "api_app_id": "A1",
            "response_url": self.fake.response_url(),
            "trigger_id": self.fake.issue_trigger(),
        }

    async def command(self, text: str, **kwargs: Any) -> Reply:
        """`/herald <text>` typed by `user` in `channel`."""
        timestamp = kwargs.pop("timestamp", None)
        signature = kwargs.pop("signature", None)
        body = urlencode(self.command_body(text, **kwargs))
        return await self.post(
            body, "application/x-www-form-urlencoded", timestamp=timestamp, signature=signature
        )

    # ------------------------------------------------------------------ interactivity
    async def interact(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def click_payload(
        self, message: Message, action_id: str, *, user: str, value: str | None = None
    ) -> dict[str, Any]:
        """The block_actions payload of clicking `action_id` on `message`."""
        found = None
        for block in message.blocks:
            for el in block.get("elements", []) if block.get("type") == "actions" else []:
                if el.get("action_id") == action_id and (value is None or el.get("value") == value):
                    found = (block, el)
                    break
        if found is None:
            raise AssertionError(f"no {action_id} button on message {message.ts}: {message.blocks}")
        block, element = found
        return {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.fake.issue_trigger(),
            "channel": {"id": message.channel, "name": "ops"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "thread_ts": message.thread_ts,
            },
            "response_url": self.fake.response_url(),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block.get("block_id", "b"),
                    "text": element.get("text"),
                    "value": element.get("value"),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def click(
        self, message: Message, action_id: str, *, user: str, value: str | None = None
    ) -> Reply:
        """Click a button of a message as `user`."""
        return await self.interact(self.click_payload(message, action_id, user=user, value=value))

    def home_click_payload(self, action_id: str, *, user: str) -> dict[str, Any]:
        view = self.fake.home[user]
        element = next(
            el
            for b in view["blocks"]
            if b.get("type") == "actions"
            for el in b["elements"]
            if el["action_id"] == action_id
        )
        return {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "container": {"type": "view", "view_id": f"VH{user}"},
            "trigger_id": self.fake.issue_trigger(),
            "view": {**view, "id": f"VH{user}"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": element.get("value"),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def submit(self, view_id: str, values: dict[str, Any], *, user: str) -> Reply:
        """Submit an open modal with `values` (block id -> text, option value or bool)."""
        view = self.fake.views[view_id]
        state: dict[str, dict[str, Any]] = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            bid, aid = block["block_id"], element["action_id"]
            value = values.get(bid, _initial(element))
            if element["type"] == "static_select":
                state[bid] = {
                    aid: {
                        "type": "static_select",
                        "selected_option": {
                            "value": value,
                            "text": {"type": "plain_text", "text": value},
                        },
                    }
                }
            elif element["type"] == "checkboxes":
                selected = [{"value": "yes"}] if value else []
                state[bid] = {aid: {"type": "checkboxes", "selected_options": selected}}
            elif element["type"] == "file_input":
                # Slack puts the shared files' objects (as files.info describes them) here.
                state[bid] = {aid: {"type": "file_input", "files": list(value or [])}}
            else:
                state[bid] = {aid: {"type": "plain_text_input", "value": value}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": self.fake.issue_trigger(),
            "view": {**view, "state": {"values": state}, "hash": secrets.token_hex(4)},
        }
        return await self.interact(payload)

    # ------------------------------------------------------------------ events
    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UHERALD", "is_bot": True}],
        }

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> Reply:
        """Deliver an Events API event (a retry carries X-Slack-Retry-Num, as Slack's do)."""
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        if event.get("type") in {"message", "app_mention"} and event.get("ts") and not retry_num:
            # The user's own message exists in Slack, so the bot may reply in its thread.
            self.fake.user_messages.append(
                Message(
                    event["channel"],
                    event["ts"],
                    event.get("text", ""),
                    [],
                    thread_ts=event.get("thread_ts"),
                    user=event.get("user", "U?"),
                )
            )
        body = json.dumps(self.event_body(event, event_id=event_id))
        return await self.post(body, "application/json", headers=headers)

    async def dm(
        self,
        text: str,
        *,
        user: str = "U_OP",
        channel: str = "D_OP",
        event_id: str | None = None,
        retry_num: int | None = None,
        **extra: Any,
    ) -> Reply:
        """A direct message from `user` to the bot."""
        ts = f"{time.time():.6f}"
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            **extra,
        }
        return await self.event(event, event_id=event_id, retry_num=retry_num)


def _initial(element: dict[str, Any]) -> Any:
    if element["type"] == "static_select":
        return (element.get("initial_option") or {}).get("value")
    return element.get("initial_value")
