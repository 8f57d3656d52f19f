"""A local fake of Slack's Web API (and Socket Mode) that keeps state and enforces limits.

An aiohttp app on 127.0.0.1 that speaks the Web API's wire format: form-encoded or JSON
requests with a bearer token, `{"ok": ...}` answers, HTTP 429 with `Retry-After` when a
test injects it. It keeps messages, threads, ephemerals, views and uploaded files so
tests assert on what a user would see, and refuses what Slack refuses: blocks that break a
Block Kit rule (tests/bot/blockkit.py: counts, lengths, duplicate action_ids, missing
fields) with `invalid_blocks`, reused or unknown trigger ids.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mimetypes
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.bot.blockkit import MESSAGE_BLOCKS, BlockKitError, validate_blocks, validate_view

BOT_USER = "UHERALD"
BOT_ID = "BHERALD"
TEAM = "T0001"


@dataclass
class Message:
    """One message as Slack keeps it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str = BOT_USER
    edits: int = 0
    metadata: dict[str, Any] | None = None

    def all_text(self) -> str:
        """The fallback text and every text inside the blocks, for assertions."""
        return self.text + "\n" + json.dumps(self.blocks, ensure_ascii=False)

    def action_values(self, action_id: str) -> list[str]:
        return [
            el["value"]
            for block in self.blocks
            if block.get("type") == "actions"
            for el in block.get("elements", [])
            if el.get("action_id") == action_id
        ]


@dataclass
class Failure:
    status: int
    error: str | None
    retry_after: int | None


@dataclass
class FakeSlack:
    """The fake's state; start it with `await fake.start()`."""

    bot_token: str = "xoxb-test-token"
    app_token: str = "xapp-test-token"
    messages: list[Message] = field(default_factory=list)  # posted by the bot
    user_messages: list[Message] = field(default_factory=list)  # people's, from the driver
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why blocks were refused, for asserts
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    # Channels the bot is not a member of: posting there is refused with `not_in_channel`,
    # as Slack does when the app cannot post where it was not invited.
    not_member: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._triggers: set[str] = set()
        self._used_triggers: set[str] = set()
        self._failures: dict[str, list[Failure]] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._socket_acked = asyncio.Condition()
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        """Serve on a free loopback port; returns the Web API base URL (ending in '/')."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # the SDK GETs a few read methods
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_post("/upload/{fid}", self._upload)
        app.router.add_get("/files/{fid}", self._download)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)  # not Herald's lines
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.api_url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # ------------------------------------------------------------------ test controls
    def issue_trigger(self) -> str:
        """A fresh trigger id, as Slack puts in a command or click payload."""
        trigger = f"{next(self._ids)}.{secrets.token_hex(4)}"
        self._triggers.add(trigger)
        return trigger

    def response_url(self) -> str:
        rid = f"R{next(self._ids)}"
        self.responses[rid] = []
        return f"{self.base}/response/{rid}"

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail (429 with Retry-After by default)."""
        self._failures.setdefault(method, []).extend(
            Failure(status, error, retry_after) for _ in range(times)
        )

    def add_file(self, content: bytes, name: str = "accounts.csv") -> dict[str, Any]:
        """A file as Slack would describe it in a `file_share` message event (its MIME type
        guessed from the name, as Slack does)."""
        fid = f"F{next(self._ids)}"
        self.files[fid] = {"bytes": content, "filename": name}
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return {
            "id": fid,
            "name": name,
            "mimetype": mimetype,
            "url_private_download": f"{self.base}/files/{fid}",
        }

    # ------------------------------------------------------------------ queries
    def channel_messages(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts == ts]

    def get(self, channel: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel and m.ts == ts:
                return m
        raise KeyError((channel, ts))

    def responses_text(self) -> str:
        return "\n".join(
            json.dumps(r, ensure_ascii=False) for rs in self.responses.values() for r in rs
        )

    def ephemeral_text(self) -> str:
        return "\n".join(json.dumps(e, ensure_ascii=False) for e in self.ephemerals)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    # ------------------------------------------------------------------ socket mode
    async def wait_socket(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(
        self, envelope_type: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope to the connected app; return its ack."""
        envelope_id = secrets.token_hex(8)
        message = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        await self._sockets[-1].send_str(json.dumps(message))

        async def acked() -> dict[str, Any]:
            async with self._socket_acked:
                while True:
                    for ack in self.socket_acks:
                        if ack.get("envelope_id") == envelope_id:
                            return ack
                    await self._socket_acked.wait()

        return await asyncio.wait_for(acked(), timeout)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        )
        self._socket_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                async with self._socket_acked:
                    self.socket_acks.append(json.loads(msg.data))
                    self._socket_acked.notify_all()
        return ws

    # ------------------------------------------------------------------ HTTP handlers
    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        for key in ("blocks", "view", "files", "attachments"):
            if isinstance(args.get(key), str) and args[key].startswith(("[", "{")):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append((method, args))
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            body = {"ok": False, "error": failure.error or "ratelimited"}
            return web.json_response(body, status=failure.status, headers=headers)
        if self.down and method.startswith(("chat.", "files.", "views.")):
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        auth = request.headers.get("Authorization", "")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if not auth:
            return self._error(method, "not_authed")
        if auth != f"Bearer {wanted}":
            return self._error(method, "invalid_auth")
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error(method, "unknown_method")
        try:
            result = await handler(args)
        except SlackError as exc:
            if exc.detail:
                self.problems.append(f"{method}: {exc.detail}")
            return self._error(method, exc.error)
        return web.json_response({"ok": True, **result})

    def _error(self, method: str, error: str) -> web.Response:
        self.rejected.append((method, error))
        return web.json_response({"ok": False, "error": error})

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        if rid not in self.responses:
            return web.Response(status=404, text="no_such_response_url")
        body = json.loads(await request.text())
        if len(self.responses[rid]) >= 5:
            return web.Response(status=400, text="used_up")
        try:
            check_blocks(body.get("blocks"), limit=50)
        except SlackError as exc:
            self.rejected.append(("response_url", exc.error))
            self.problems.append(f"response_url: {exc.detail}")
            return web.Response(status=400, text=exc.error)
        self.responses[rid].append(body)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        fid = request.match_info["fid"]
        if fid not in self.files:
            return web.Response(status=404)
        self.files[fid]["bytes"] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _download(self, request: web.Request) -> web.Response:
        fid = request.match_info["fid"]
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=403)
        if fid not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[fid]["bytes"], content_type="text/csv")

    # ------------------------------------------------------------------ Web API methods
    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"

    async def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack/",
            "team": "Fake",
            "user": "herald",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    async def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    async def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel")
        if channel in self.not_member:
            raise SlackError("not_in_channel")
        if channel.startswith("U"):
            channel = "D" + channel  # a user id posts into the app's DM with them
        blocks = args.get("blocks") or []
        if not args.get("text") and not blocks:
            raise SlackError("no_text")
        check_blocks(blocks, limit=50)
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            self.get_parent(channel, thread_ts)
        message = Message(
            channel,
            self._next_ts(),
            str(args.get("text") or ""),
            blocks,
            thread_ts=thread_ts,
            metadata=args.get("metadata"),
        )
        self.messages.append(message)
        return {
            "channel": channel,
            "ts": message.ts,
            "message": {"text": message.text, "blocks": blocks, "ts": message.ts},
        }

    def get_parent(self, channel: str, ts: str) -> Message:
        for m in [*self.messages, *self.user_messages]:
            if m.channel == channel and m.ts == ts:
                return m
        raise SlackError("thread_not_found")

    async def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _require(args, "channel"), _require(args, "ts")
        blocks = args.get("blocks")
        if blocks is not None:
            check_blocks(blocks, limit=50)
        try:
            message = self.get(channel, ts)
        except KeyError:
            raise SlackError("message_not_found") from None
        if blocks is not None:
            message.blocks = blocks
        if args.get("text") is not None:
            message.text = str(args["text"])
        message.edits += 1
        return {"channel": channel, "ts": ts, "text": message.text}

    async def m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _require(args, "channel"), _require(args, "ts")
        before = len(self.messages)
        self.messages = [m for m in self.messages if not (m.channel == channel and m.ts == ts)]
        if len(self.messages) == before:
            raise SlackError("message_not_found")
        return {"channel": channel, "ts": ts}

    async def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        check_blocks(args.get("blocks") or [], limit=50)
        self.ephemerals.append(
            {
                "channel": _require(args, "channel"),
                "user": _require(args, "user"),
                "text": args.get("text", ""),
                "blocks": args.get("blocks") or [],
            }
        )
        return {"message_ts": self._next_ts()}

    async def m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = _require(args, "usergroup")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    async def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        return {"channel": {"id": "D" + users.replace(",", "")}}

    async def m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel")
        return {"channel": {"id": channel, "is_member": channel not in self.not_member}}

    async def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = _require(args, "trigger_id")
        if trigger in self._used_triggers:
            raise SlackError("expired_trigger_id")
        if trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        view = args.get("view") or {}
        check_view(view)
        self._triggers.discard(trigger)
        self._used_triggers.add(trigger)
        view_id = f"V{next(self._ids)}"
        self.views[view_id] = {**view, "id": view_id}
        return {"view": self.views[view_id]}

    async def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = _require(args, "view_id")
        if view_id not in self.views:
            raise SlackError("not_found")
        check_view(args.get("view") or {})
        self.views[view_id] = {**args["view"], "id": view_id}
        return {"view": self.views[view_id]}

    async def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = _require(args, "user_id")
        view = args.get("view") or {}
        if view.get("type") != "home":
            raise SlackError("invalid_arguments")
        check_blocks(view.get("blocks") or [], limit=100)
        self.home[user] = view
        return {"view": {**view, "id": f"VH{user}"}}

    async def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        fid = f"F{next(self._ids)}"
        self.files[fid] = {
            "filename": _require(args, "filename"),
            "length": int(args.get("length", 0)),
            "bytes": b"",
            "shared": False,
        }
        return {"upload_url": f"{self.base}/upload/{fid}", "file_id": fid}

    async def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in args.get("files") or []:
            entry = self.files.get(item["id"])
            if entry is None or not entry.get("bytes"):
                raise SlackError("file_not_found")
            entry.update(
                shared=True,
                title=item.get("title"),
                channel=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
                comment=args.get("initial_comment"),
            )
            done.append({"id": item["id"], "title": item.get("title")})
        return {"files": done}

    async def m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        fid = _require(args, "file")
        if fid not in self.files:
            raise SlackError("file_not_found")
        url = f"{self.base}/files/{fid}"
        name = self.files[fid].get("filename")
        return {"file": {"id": fid, "name": name, "url_private": url, "url_private_download": url}}

    async def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = _require(args, "user")
        return {"user": {"id": user, "name": user.lower(), "tz": "UTC"}}


class SlackError(Exception):
    """A Web API error answer (`ok: false`); `detail` is what a test reads in `rejected`."""

    def __init__(self, error: str, detail: str = "") -> None:
        self.error = error
        self.detail = detail
        super().__init__(f"{error}: {detail}" if detail else error)


def _require(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackError("invalid_arguments" if name != "channel" else "channel_not_found")
    return str(value)


def check_blocks(blocks: Any, *, limit: int) -> None:
    """Refuse blocks the way Slack does (`invalid_blocks`), by tests/bot/blockkit.py's rules."""
    try:
        validate_blocks(blocks, limit=limit, in_view=limit > MESSAGE_BLOCKS)
    except BlockKitError as exc:
        raise SlackError("invalid_blocks", str(exc)) from None


def check_view(view: dict[str, Any]) -> None:
    """Refuse a view the way Slack does (`invalid_arguments`)."""
    try:
        validate_view(view)
    except BlockKitError as exc:
        raise SlackError("invalid_arguments", str(exc)) from None
