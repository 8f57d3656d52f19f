"""`SlackNotifier`: the engine's events as Slack messages, delivered even when Slack is not.

- the plan card in the origin channel is the thread parent, refreshed on lifecycle events;
- ONE status message in the thread, edited in place at most once per `status_interval`
  seconds per distribution (events in between are coalesced into the next edit);
- thread replies for failures (Retry / Skip), redistributions, pauses and completion;
- risk alerts to `settings.alerts_channel`, one thread per distribution;
- delivery (429 Retry-After, the persisted outbox) is `bot.slack.delivery.SlackDelivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.blocks.alerts import (
    ACCOUNT_CAUSES,
    build_account_alert,
    build_alert_parent,
    build_risk_alert,
)
from bot.slack.blocks.catch_up import build_catch_up_question, catch_up_text
from bot.slack.blocks.common import clip
from bot.slack.blocks.plan import build_plan_card, plan_card_text
from bot.slack.blocks.progress import (
    build_completion_report,
    build_event_reply,
    build_failure_reply,
    build_status_line,
    status_text,
)
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import Outbox
from bot.slack.reads import StatusCache
from bot.slack.timeline import render_timeline
from engine.clock import SystemClock
from engine.errors import HeraldError
from engine.event_kinds import ENDING_KINDS, EventKind
from engine.models import Distribution, DistributionStatus, Event
from engine.ports import Clock
from engine.queries import DistributionReads
from engine.wording import platform_name, with_article

log = logging.getLogger("herald.slack.notifier")

CARD_EVENTS = frozenset(
    {
        EventKind.DISTRIBUTION_CREATED,
        EventKind.DISTRIBUTION_PLANNED,
        EventKind.DISTRIBUTION_SIMULATED,
        EventKind.DISTRIBUTION_APPROVED,
        EventKind.DISTRIBUTION_REJECTED,
        EventKind.DISTRIBUTION_STARTED,
        EventKind.DISTRIBUTION_PAUSED,
        EventKind.DISTRIBUTION_RESUMED,
        EventKind.DISTRIBUTION_CANCELLED,
        EventKind.DISTRIBUTION_HALTED,
        EventKind.DISTRIBUTION_COMPLETED,
    }
)
STATUS_EVENTS = frozenset(
    {
        EventKind.DISTRIBUTION_APPROVED,
        EventKind.DISTRIBUTION_STARTED,
        EventKind.DISTRIBUTION_PAUSED,
        EventKind.DISTRIBUTION_RESUMED,
        EventKind.DISTRIBUTION_CANCELLED,
        EventKind.DISTRIBUTION_HALTED,
        EventKind.DISTRIBUTION_COMPLETED,
        EventKind.SLOT_PUBLISHED,
        EventKind.SLOT_FAILED,
        EventKind.SLOT_RETRY_SCHEDULED,
        EventKind.SLOT_REDISTRIBUTED,
        EventKind.SLOT_OUTCOME_UNKNOWN,
        EventKind.SLOT_SKIPPED,
        EventKind.SLOT_RECONCILED,
        EventKind.SLOT_MARKED_POSTED,
    }
)
REPLY_EVENTS = frozenset(
    {
        EventKind.DISTRIBUTION_PAUSED,
        EventKind.DISTRIBUTION_RESUMED,
        EventKind.DISTRIBUTION_CANCELLED,
        EventKind.DISTRIBUTION_HALTED,
        EventKind.SLOT_REDISTRIBUTED,
    }
)
ALERT_EVENTS = frozenset(
    {
        EventKind.RISK_ALERT,
        EventKind.DISTRIBUTION_HALTED,
        EventKind.ACCOUNT_SUSPENDED,
        EventKind.ACCOUNT_RATE_LIMITED,
        EventKind.ACCOUNT_NEEDS_AUTH,
    }
)
MAX_FAILURE_REPLIES = 20
# Outbox kind of a plan-card edit that waits for Slack: re-rendered when re-sent.
REFRESH_CARD = "herald.refresh_card"


class SlackNotifier:
    """An `engine.ports.Notifier` that renders events into Slack messages and threads."""

    def __init__(
        self,
        client: AsyncWebClient,
        settings: Settings,
        *,
        queries: DistributionReads,
        reads: StatusCache | None = None,
        outbox: Outbox | None = None,
        clock: Clock | None = None,
        status_interval: float | None = None,
        metrics: Metrics | None = None,
        timeline: bool = True,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.status_interval = (
            status_interval
            if status_interval is not None
            else settings.slack_status_interval_seconds
        )
        self.metrics = metrics or Metrics()
        self.delivery = SlackDelivery(client, outbox=outbox, clock=self.clock, metrics=self.metrics)
        self.delivery.redo[REFRESH_CARD] = self._redo_card
        self.timeline = timeline
        self._queries = queries
        # The bot's shared status reads make most status-line edits a cheap count.
        self.reads: StatusCache = reads or StatusCache(queries)
        self._queue: asyncio.Queue[Event] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._adopted: dict[str, str] = {}  # key or id -> channel, for cards without origin
        self._cards: dict[str, tuple[str, str]] = {}  # id -> (channel, ts) posted here
        self._status: dict[str, tuple[str, str]] = {}
        self._alerts: dict[str, tuple[str, str]] = {}
        # "<distribution or 'accounts'>:<cause>" -> account id -> worded line, and its message
        self._account_alerts: dict[str, dict[str, str]] = {}
        self._account_alert_refs: dict[str, tuple[str, str]] = {}
        self._last_status: dict[str, float] = {}
        self._pending_status: dict[str, asyncio.Task[None]] = {}
        self._failure_replies: dict[str, int] = {}
        self._in_flight = 0  # events queued or being rendered
        self._status_running = 0  # status-line edits being sent
        self._status_locks: dict[str, asyncio.Lock] = {}
        # Who rejected, halted or cancelled (the engine keeps only approvers on the record).
        self._deciders: dict[str, str] = {}
        self._ended: set[str] = set()  # ended runs whose last status edit is under way
        self._editing: dict[str, int] = {}  # status edits waiting or running, per run

    def adopt_channel(self, key: str, channel: str) -> None:
        """Post the card of `key` (id or name) in `channel` if it has no card yet."""
        self._adopted[key] = channel

    # --- the Notifier port
    async def notify(self, event: Event) -> None:
        """Queue `event` for rendering; returns at once and never raises."""
        try:
            # Before anyone can ask again: `/herald status` right after a pause says PAUSED.
            # Slot events only move counts, which the cache may keep for its few seconds.
            if event.distribution_id is not None and not event.kind.startswith("slot."):
                self.reads.invalidate(event.distribution_id)
            if event.kind.startswith("account"):
                self.reads.invalidate_accounts()
            if self._queue is None:
                self._queue = asyncio.Queue()
            self._queue.put_nowait(event)
            self._in_flight += 1
            if self._worker is None or self._worker.done():
                self._worker = asyncio.get_running_loop().create_task(self._work())
        except Exception:  # the engine's transaction already committed: never fail it
            log.exception("could not queue event %s", event.kind)

    async def idle(self, timeout: float = 10.0, *, edits: bool = True) -> None:
        """Wait until every queued event (and with `edits`, every pending status edit)
        has been sent (tests)."""
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            pending = edits and (
                self._status_running > 0 or any(not t.done() for t in self._pending_status.values())
            )
            busy = self._in_flight > 0 or pending
            if not busy:
                return
            await asyncio.sleep(0.01)

    async def start(self, *, outbox_interval: float = 5.0) -> None:
        """Start re-sending the outbox every `outbox_interval` seconds."""
        self.delivery.start(outbox_interval)

    async def close(self) -> None:
        """Stop the background tasks (queued events still unsent are dropped)."""
        await self.delivery.close()
        await self.reads.close()
        for task in [self._worker, *self._pending_status.values()]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # --- sending (through SlackDelivery)
    @property
    def outbox(self) -> Outbox | None:
        return self.delivery.outbox

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """One Web API call through the delivery (outbox on temporary failure)."""
        return await self.delivery.call(method, **kwargs)

    async def post(self, **kwargs: Any) -> dict[str, Any] | None:
        """chat.postMessage through the delivery."""
        return await self.delivery.call("chat.postMessage", **kwargs)

    async def drain_outbox(self, limit: int = 50) -> int:
        """Re-send what is due in the outbox (card edits are re-rendered, not replayed)."""
        return await self.delivery.drain(limit)

    async def _redo_card(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        # A card edit is re-rendered from the current state, never replayed: an old edit
        # sent late would overwrite a newer decision on the card.
        return await self.refresh_card(str(payload["d"]), persist=False)

    # --- event rendering
    async def _work(self) -> None:
        assert self._queue is not None
        handled = 0
        while True:
            event = await self._queue.get()
            handled += 1
            if handled % 50 == 0:
                # A burst of slot events must not hold the loop: Slack's acks wait on it.
                await asyncio.sleep(0)
            try:
                await self._handle(event)
            except HeraldError as exc:
                log.warning("cannot render %s: %s", event.kind, exc)
            except Exception:
                log.exception("rendering %s failed", event.kind)
            finally:
                self._in_flight -= 1
                self._queue.task_done()

    async def _handle(self, event: Event) -> None:
        if event.distribution_id is None:
            if event.kind in ALERT_EVENTS:
                await self._general_alert(event)
            return
        dist_id = event.distribution_id
        if event.kind in {
            EventKind.DISTRIBUTION_REJECTED,
            EventKind.DISTRIBUTION_HALTED,
            EventKind.DISTRIBUTION_CANCELLED,
        }:
            self._deciders[dist_id] = event.actor
        if event.kind in CARD_EVENTS:
            await self.refresh_card(dist_id)
        if event.kind == EventKind.DISTRIBUTION_PLANNED and self.timeline:
            await self._upload_timeline(dist_id)
        if event.kind in STATUS_EVENTS:
            self._schedule_status(dist_id)
        if event.kind in REPLY_EVENTS:
            await self._reply(dist_id, text=build_event_reply(event))
        if event.kind == EventKind.DISTRIBUTION_CATCH_UP_HELD:
            blocks = build_catch_up_question(event)
            await self._reply(dist_id, text=catch_up_text(event), blocks=blocks)
        if event.kind in {EventKind.SLOT_FAILED, EventKind.SLOT_OUTCOME_UNKNOWN}:
            await self._failure(event)
        if event.kind == EventKind.DISTRIBUTION_COMPLETED:
            await self._completion(dist_id, event)
        if event.kind in ALERT_EVENTS:
            await self._alert(dist_id, event)
        if event.kind in ENDING_KINDS:
            self._release(dist_id)

    def _release(self, distribution_id: str) -> None:
        """Forget what is kept per distribution once it has ended, after its last status
        edit (places of messages stay in the outbox's store)."""
        self._ended.add(distribution_id)
        self._forget_if_idle(distribution_id)

    def _forget_if_idle(self, distribution_id: str) -> None:
        # Only when no status edit is waiting or running: one would put its state back.
        pending = self._pending_status.get(distribution_id)
        busy = pending is not None and not pending.done()
        if distribution_id in self._ended and not busy and not self._editing.get(distribution_id):
            self._forget(distribution_id)

    def _forget(self, distribution_id: str) -> None:
        self._ended.discard(distribution_id)
        for state in (
            self._adopted,
            self._cards,
            self._status,
            self._alerts,
            self._last_status,
            self._pending_status,
            self._failure_replies,
            self._status_locks,
            self._deciders,
        ):
            state.pop(distribution_id, None)

    def tracked(self) -> int:
        """How many distributions have state kept here (it falls as they end)."""
        states = (self._cards, self._status, self._alerts, self._last_status, self._deciders)
        return len(set().union(*states, self._failure_replies, self._status_locks))

    async def refresh_card(
        self, distribution_id: str, *, persist: bool = True
    ) -> dict[str, Any] | None:
        """Re-render the plan card from the current state (posting it if it has none).
        Returns Slack's answer, or None when nothing was sent."""
        # Aggregates, not the slot list: listing a 10 000-slot run here held the loop ~1 s.
        dist, plan = await self._queries.plan_summary(distribution_id)
        blocks = build_plan_card(dist, plan, decided_by=self._deciders.get(dist.id))
        text = plan_card_text(dist, plan.slots)
        ref = self.card_ref(dist)
        if ref is not None:
            return await self.call(
                "chat.update",
                persist=persist,
                persist_as=(REFRESH_CARD, {"d": dist.id}),
                channel=ref[0],
                ts=ref[1],
                text=text,
                blocks=blocks,
            )
        channel = (
            dist.origin.get("channel") or self._adopted.get(dist.id) or self._adopted.get(dist.name)
        )
        if channel is None:
            for key, adopted in self._adopted.items():
                if key.lower() in dist.name.lower():
                    channel = adopted
        if channel is None:
            return None
        posted = await self.post(channel=channel, text=text, blocks=blocks)
        if posted and posted.get("ts"):
            ref = (str(posted.get("channel", channel)), str(posted["ts"]))
            await self.remember_card(dist.id, *ref)
        return posted

    async def remember_card(self, distribution_id: str, channel: str, ts: str) -> None:
        """Keep where a distribution's card is, across restarts (`card:<id>`): files posted
        in its thread are attached to that distribution."""
        await self._keep_message_ref(self._cards, f"card:{distribution_id}", (channel, ts))

    async def distribution_of_card(self, channel: str, ts: str) -> str | None:
        """The id of the distribution whose card is the message (channel, ts), if known."""
        for distribution_id, ref in self._cards.items():
            if ref == (channel, ts):
                return distribution_id
        if self.outbox is None:
            return None
        try:
            key = await self.outbox.find_key(channel, ts, prefix="card:")
        except HeraldError as exc:
            log.warning("could not look up the card of thread %s: %s", ts, exc)
            return None
        return key.split(":", 1)[1] if key else None

    def card_ref(self, dist: Distribution) -> tuple[str, str] | None:
        """(channel, ts) of the distribution's card, if it has one."""
        if dist.origin.get("channel") and dist.origin.get("ts"):
            return dist.origin["channel"], dist.origin["ts"]
        return self._cards.get(dist.id)

    async def _thread(self, distribution_id: str) -> tuple[str, str] | None:
        dist = await self._queries.resolve(distribution_id)
        return self.card_ref(dist)

    async def _reply(
        self, distribution_id: str, *, text: str, blocks: list[Any] | None = None
    ) -> dict[str, Any] | None:
        ref = await self._thread(distribution_id)
        if ref is None:
            return None
        return await self.post(channel=ref[0], thread_ts=ref[1], text=text, blocks=blocks)

    async def _upload_timeline(self, distribution_id: str) -> None:
        dist = await self._queries.resolve(distribution_id)
        ref = self.card_ref(dist)
        if ref is None:
            return
        slots = await self._queries.progress(distribution_id)
        png, legend = await asyncio.to_thread(render_timeline, slots, title=dist.name)
        try:
            await self.client.files_upload_v2(
                channel=ref[0],
                thread_ts=ref[1],
                content=png,
                filename=f"{distribution_id}-timeline.png",
                title="Timeline of the planned slots",
                initial_comment=legend,
                alt_txt="Planned slots over time, one lane per platform",
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            log.warning("timeline upload failed: %s", error or exc)
            if error == "not_in_channel":
                # chat:write.public posted the card, but files need membership: say how.
                await self.post(
                    channel=ref[0],
                    thread_ts=ref[1],
                    text=(
                        f"I could not attach the plan's timeline picture: I am not a member "
                        f"of <#{ref[0]}>. Invite me with `/invite @Herald` in the channel, "
                        "then the next plan's picture will arrive here."
                    ),
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("timeline upload failed: %s", exc)

    # --- the status line
    def _schedule_status(self, distribution_id: str) -> None:
        pending = self._pending_status.get(distribution_id)
        if pending is not None and not pending.done():
            return  # coalesced into the edit already scheduled
        last = self._last_status.get(distribution_id)
        delay = (
            0.0 if last is None else max(0.0, last + self.status_interval - self.clock.monotonic())
        )
        self._pending_status[distribution_id] = asyncio.get_running_loop().create_task(
            self._status_after(distribution_id, delay)
        )

    async def _status_after(self, distribution_id: str, delay: float) -> None:
        self._editing[distribution_id] = self._editing.get(distribution_id, 0) + 1
        try:
            await self._status_after_delay(distribution_id, delay)
        finally:
            self._editing[distribution_id] -= 1
            if not self._editing[distribution_id]:
                del self._editing[distribution_id]
            self._forget_if_idle(distribution_id)

    async def _status_after_delay(self, distribution_id: str, delay: float) -> None:
        # Wait on the injected clock (a test advancing it lets the edit through at once).
        due = self.clock.monotonic() + delay
        while (left := due - self.clock.monotonic()) > 0:  # noqa: ASYNC110 (polls the clock)
            await asyncio.sleep(min(left, 0.1))
        # Mark before the call: events arriving during it schedule the next edit.
        self._last_status[distribution_id] = self.clock.monotonic()
        self._pending_status.pop(distribution_id, None)
        self._status_running += 1  # no longer pending, not yet sent: `idle` waits for it
        try:
            await self._update_status(distribution_id)
        except Exception:
            log.exception("status update failed for %s", distribution_id)
        finally:
            self._status_running -= 1

    async def _update_status(self, distribution_id: str) -> None:
        # One edit at a time per distribution: two concurrent first edits would post twice.
        lock = self._status_locks.setdefault(distribution_id, asyncio.Lock())
        async with lock:
            await self._render_status(distribution_id)

    async def _render_status(self, distribution_id: str) -> None:
        # Counts are always current (the last edit must be final); the next due time and
        # the late count from a full read at most `reads.full_every` seconds old.
        view = await self.reads.status(distribution_id, fresh=True)
        dist, counts = view.distribution, view.counts
        running = dist.status in {DistributionStatus.EXECUTING, DistributionStatus.PAUSED}
        blocks = build_status_line(
            dist,
            counts,
            next_due_at=getattr(view, "next_due_at", None) if running else None,
            late=int(getattr(view, "late", 0) or 0) if running else 0,
        )
        text = status_text(dist, counts)
        ref = await self._message_ref(self._status, f"status:{dist.id}")
        if ref is not None:
            # Persisting a status edit is pointless: the next one supersedes it.
            await self.call(
                "chat.update", persist=False, channel=ref[0], ts=ref[1], text=text, blocks=blocks
            )
            self.metrics.inc("herald_slack_status_edits_total")
            return
        thread = self.card_ref(dist)
        if thread is None:
            return
        posted = await self.post(channel=thread[0], thread_ts=thread[1], text=text, blocks=blocks)
        if posted and posted.get("ts"):
            ref = (str(posted.get("channel", thread[0])), str(posted["ts"]))
            await self._keep_message_ref(self._status, f"status:{dist.id}", ref)

    # --- where long-lived messages are (kept in the outbox's store across restarts)
    async def _message_ref(
        self, cache: dict[str, tuple[str, str]], key: str
    ) -> tuple[str, str] | None:
        dist_id = key.split(":", 1)[1]
        if dist_id in cache:
            return cache[dist_id]
        if self.outbox is None:
            return None
        try:
            ref = await self.outbox.find_message(key)
        except HeraldError as exc:
            log.warning("could not read where %s is: %s", key, exc)
            return None
        if ref is not None:
            cache[dist_id] = ref
        return ref

    async def _keep_message_ref(
        self, cache: dict[str, tuple[str, str]], key: str, ref: tuple[str, str]
    ) -> None:
        cache[key.split(":", 1)[1]] = ref
        if self.outbox is None:
            return
        try:
            await self.outbox.remember_message(key, *ref)
        except HeraldError as exc:
            log.warning("could not remember where %s is: %s", key, exc)

    # --- replies
    async def _failure(self, event: Event) -> None:
        assert event.distribution_id is not None
        count = self._failure_replies.get(event.distribution_id, 0) + 1
        self._failure_replies[event.distribution_id] = count
        if count > MAX_FAILURE_REPLIES:
            if count == MAX_FAILURE_REPLIES + 1:
                await self._reply(
                    event.distribution_id,
                    text=f"More failures are counted in the status line only. "
                    f"`/herald retry {event.distribution_id}` re-plans them all.",
                )
            return
        data = event.data or {}
        blocks = build_failure_reply(
            slot_id=event.slot_id or "",
            distribution_id=event.distribution_id,
            platform=str(data.get("platform", "")),
            account_id=event.account_id or str(data.get("account_id", "")),
            error=str(data.get("reason") or data.get("error") or ""),
            kind=str(data.get("kind") or data.get("failure_kind") or "error"),
            attempts=int(data.get("attempts", 0) or 0),
            outcome_unknown=event.kind == EventKind.SLOT_OUTCOME_UNKNOWN,
        )
        platform = platform_name(str(data.get("platform") or "social"))
        where = event.account_id or "an account"
        text = f"{with_article(platform, capital=True)} post on {where} failed"
        await self._reply(event.distribution_id, text=text, blocks=blocks)

    async def _completion(self, distribution_id: str, event: Event) -> None:
        view = await self._queries.status(distribution_id)
        blocks = build_completion_report(view.distribution, view.counts, at=event.at)
        await self._reply(distribution_id, text=f"{view.distribution.name} finished", blocks=blocks)

    # --- alerts
    async def _alert(self, distribution_id: str, event: Event) -> None:
        dist = await self._queries.resolve(distribution_id)
        if event.kind in ACCOUNT_CAUSES:
            await self._account_alert(event, dist)
            return
        channel = self.settings.alerts_channel
        blocks = build_risk_alert(event, dist)
        text = f"Risk alert for {dist.name}: {_words(event)}"
        if channel is None:
            # No alerts channel configured: the alert goes into the card's own thread.
            if event.kind != EventKind.DISTRIBUTION_HALTED:
                await self._reply(distribution_id, text=text, blocks=blocks)
            return
        parent = await self._message_ref(self._alerts, f"alerts:{dist.id}")
        if parent is None:
            posted = await self.post(
                channel=channel,
                text=f"Risk alerts for {dist.name}",
                blocks=build_alert_parent(dist),
            )
            if not posted or not posted.get("ts"):
                return
            parent = (str(posted.get("channel", channel)), str(posted["ts"]))
            await self._keep_message_ref(self._alerts, f"alerts:{dist.id}", parent)
        await self.post(channel=parent[0], thread_ts=parent[1], text=text, blocks=blocks)

    async def _account_alert(self, event: Event, dist: Distribution | None) -> None:
        """Accounts of one run hitting one cause share one message, edited as more do
        (it was a top-level post per account, named by the internal event kind)."""
        data = event.data or {}
        who = str(data.get("handle") or event.account_id or "an account")
        detail = ", ".join(
            p
            for p in (
                platform_name(str(data.get("platform") or "")),
                f"until {data['until'][11:16]} UTC" if data.get("until") else "",
            )
            if p
        )
        key = f"{dist.id if dist else 'accounts'}:{event.kind}"
        seen = self._account_alerts.setdefault(key, {})
        seen[str(event.account_id or who)] = f"{who} ({detail})" if detail else who
        blocks = build_account_alert(event.kind, dist, list(seen.values()))
        _, words, _ = ACCOUNT_CAUSES[event.kind]
        text = f"{len(seen)} account(s) {words}" + (
            f" while publishing {dist.name}" if dist else ""
        )
        ref = self._account_alert_refs.get(key)
        if ref is not None:
            await self.call("chat.update", channel=ref[0], ts=ref[1], text=text, blocks=blocks)
            return
        channel = self.settings.alerts_channel
        if channel is not None:
            posted = await self.post(channel=channel, text=text, blocks=blocks)
        elif dist is not None and (thread := self.card_ref(dist)) is not None:
            posted = await self.post(
                channel=thread[0], thread_ts=thread[1], text=text, blocks=blocks
            )
        else:
            return
        if posted and posted.get("ts"):
            self._account_alert_refs[key] = (str(posted.get("channel", channel)), str(posted["ts"]))

    async def _general_alert(self, event: Event) -> None:
        if event.kind in ACCOUNT_CAUSES:
            await self._account_alert(event, None)
            return
        channel = self.settings.alerts_channel
        if channel is None:
            return
        if event.kind == EventKind.ACCOUNT_NEEDS_AUTH:
            # One per account until reconnected: the event is emitted on the state change only.
            from bot.slack.blocks.connect import build_needs_auth_alert

            data = event.data or {}
            text = f"{data.get('handle') or event.account_id} needs reconnecting"
            await self.post(channel=channel, text=text, blocks=build_needs_auth_alert(event))
            return
        await self.post(channel=channel, text=f"⚠️ {_words(event)}")


def _words(event: Event) -> str:
    """What happened, for a notification's text: the engine's reason, not its event kind."""
    reason = (event.data or {}).get("reason")
    if reason:
        return clip(str(reason), 300)
    return event.kind.split(".", 1)[-1].replace("_", " ")
