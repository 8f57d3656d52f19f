"""Every Block Kit builder's output passes Slack's rules for realistic and extreme inputs."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.slack import ids
from bot.slack.blocks import alerts, home, modals, plan, progress, reports
from bot.slack.events import propose
from bot.slack.intents import Intent
from engine.models import (
    Account,
    AccountState,
    DistributionStatus,
    Event,
    SlotStatus,
)
from engine.platforms import DEFAULT_RULES
from engine.service_support import StatusView
from tests.bot.blockkit import BlockKitError, validate_blocks, validate_view
from tests.bot.conftest import OPERATOR, Harness
from tests.bot.fake_slack import Message
from tests.bot.support import BLOCKS_T0 as T0
from tests.bot.support import sample_distribution as distribution
from tests.bot.support import slots

LONG = "🌸 *Spring* <b>&" + "x" * 6000
NAMES = ("spring", "s" * 200, "🌸" * 80, "<!channel> *bold* _it_ `code` &amp;")


def dist(
    name: str = "spring", status: DistributionStatus = DistributionStatus.EXECUTING, **kw: Any
) -> Any:
    d = distribution(status, **kw)
    d.name = name
    return d


def event(kind: str, **data: Any) -> Event:
    return Event("e1", T0, kind, "U_BOSS", distribution_id="d-1", account_id="acc-1", data=data)


def accounts(n: int) -> list[Account]:
    return [
        Account(
            f"acc-{i}" * (1 if i % 7 else 20),
            ("tiktok", "instagram")[i % 2],
            "@" + "h" * (i % 300),
            "UTC",
            state=list(AccountState)[i % len(AccountState)],
        )
        for i in range(n)
    ]


def status_view(d: Any, **counts: int) -> StatusView:
    by_status = {SlotStatus(k): v for k, v in counts.items()}
    return StatusView(
        d, by_status, T0 + timedelta(minutes=5), by_status.get(SlotStatus.PUBLISHED, 0), 0, 3
    )


# Each builder -> cases (label, a callable returning its blocks or view).
CASES: dict[str, list[tuple[str, Callable[[], Any]]]] = {
    "alerts.build_alert_parent": [
        (n[:10], lambda n=n: alerts.build_alert_parent(dist(n))) for n in NAMES
    ],
    "alerts.build_risk_alert": [
        (
            "risk",
            lambda: alerts.build_risk_alert(
                event("risk.alert", level="HIGH", reason="rate limits"), dist()
            ),
        ),
        (
            "extreme",
            lambda: alerts.build_risk_alert(
                event(
                    "risk.alert", level="x" * 500, reason=LONG, anomalies=[LONG] * 50, paused=True
                ),
                dist(NAMES[1]),
            ),
        ),
        (
            "halted",
            lambda: alerts.build_risk_alert(event("distribution.halted", reason=LONG), dist()),
        ),
    ],
    "alerts.build_account_alert": [
        ("one", lambda: alerts.build_account_alert("account.rate_limited", dist(), ["@tiktok1"])),
        (
            "many",
            lambda: alerts.build_account_alert("account.suspended", dist(LONG), [LONG] * 5000),
        ),
        ("no run", lambda: alerts.build_account_alert("account.other", None, ["x"])),
    ],
    "alerts.build_alert_decided": [
        ("long", lambda: alerts.build_alert_decided(LONG, "Halted", "U_BOSS")),
    ],
    "home.build_home": [
        ("empty", lambda: home.build_home(active=[], waiting=[], accounts=[], can_approve=True)),
        (
            "full",
            lambda: home.build_home(
                active=[
                    (dist(n), {SlotStatus.PUBLISHED: 10**6, SlotStatus.QUEUED: 3})
                    for n in NAMES * 20
                ],
                waiting=[dist(n, DistributionStatus.AWAITING_APPROVAL) for n in NAMES * 20],
                accounts=accounts(5000),
                can_approve=False,
            ),
        ),
    ],
    "modals.build_create_modal": [
        ("default", lambda: modals.build_create_modal(channel="C_OPS", now=T0)),
        (
            "many platforms",
            lambda: modals.build_create_modal(
                channel="C" * 200, now=T0, platforms=[f"p{i}" * 50 for i in range(200)]
            ),
        ),
    ],
    "modals.build_reject_modal": [
        (
            "long name",
            lambda: modals.build_reject_modal(
                distribution_id="d-1", name=LONG, version=10**9, channel="C_OPS", ts="1.2"
            ),
        ),
    ],
    "plan.build_plan_card": [
        (
            "awaiting",
            lambda: plan.build_plan_card(
                dist(status=DistributionStatus.AWAITING_APPROVAL), slots(10)
            ),
        ),
        ("draft", lambda: plan.build_plan_card(dist(status=DistributionStatus.DRAFT), [])),
        (
            "huge",
            lambda: plan.build_plan_card(
                dist(NAMES[1], DistributionStatus.AWAITING_APPROVAL, warnings=[LONG] * 20),
                slots(10_000),
                unscheduled=10**6,
                warnings=[LONG] * 20,
            ),
        ),
        (
            "approved",
            lambda: plan.build_plan_card(
                dist(
                    NAMES[2],
                    DistributionStatus.EXECUTING,
                    approved_by="U_BOSS",
                    approved_at=T0,
                    decision_note=LONG,
                ),
                slots(50),
                decided_by="U_BOSS",
            ),
        ),
    ],
    "plan.build_draft_placeholder": [
        (n[:10], lambda n=n: plan.build_draft_placeholder(n)) for n in NAMES
    ],
    "progress.build_status_line": [
        ("none", lambda: progress.build_status_line(dist(), {})),
        (
            "big",
            lambda: progress.build_status_line(
                dist(), {SlotStatus.PUBLISHED: 10**9}, next_due_at=T0, late=10**6
            ),
        ),
    ],
    "progress.build_failure_reply": [
        (
            "long error",
            lambda: progress.build_failure_reply(
                slot_id="d-1." + "9" * 200,
                distribution_id="d-1",
                platform="tiktok",
                account_id="a" * 500,
                error=LONG,
                kind="temporary",
                attempts=99,
                outcome_unknown=True,
            ),
        ),
    ],
    "progress.build_slot_decided": [
        ("skip", lambda: progress.build_slot_decided(slots(1)[0], "Skipped", "U_OP", T0)),
    ],
    "progress.build_completion_report": [
        ("empty", lambda: progress.build_completion_report(dist(), {})),
        (
            "all",
            lambda: progress.build_completion_report(
                dist(NAMES[1]), dict.fromkeys(SlotStatus, 10**6), at=T0
            ),
        ),
    ],
    "reports.build_help": [("all", lambda: reports.build_help())]
    + [
        (t, lambda t=t: reports.build_help(t))
        for t in ("create", "approve", "status", "import", "nonsense" * 100)
    ],
    "reports.build_status": [
        ("fresh", lambda: reports.build_status(status_view(dist(), QUEUED=3))),
        (
            "long",
            lambda: reports.build_status(status_view(dist(LONG), PUBLISHED=10**7, FAILED=10**6)),
        ),
    ],
    "reports.build_list": [
        ("none", lambda: reports.build_list([])),
        ("many", lambda: reports.build_list([dist(n) for n in NAMES * 300])),
    ],
    "reports.build_history": [
        ("none", lambda: reports.build_history([])),
        ("many", lambda: reports.build_history([event("x" * 300, reason=LONG)] * 5000)),
    ],
    "reports.build_accounts": [
        ("none", lambda: reports.build_accounts([], "tiktok")),
        ("many", lambda: reports.build_accounts(accounts(10_000))),
    ],
    "reports.build_velocity": [
        (r.name, lambda r=r: reports.build_velocity(r)) for r in DEFAULT_RULES
    ],
    "reports.build_captions": [
        ("none", lambda: reports.build_captions("spring", [])),
        (
            "many long",
            lambda: reports.build_captions(
                LONG,
                [
                    {
                        "platform": "instagram",
                        "language": "es",
                        "caption": LONG * 3,
                        "hashtags": ["ad", "x" * 100],
                        "slots": i,
                    }
                    for i in range(300)
                ],
            ),
        ),
    ],
    "reports.build_analytics": [
        ("none", lambda: reports.build_analytics({})),
        (
            "many",
            lambda: reports.build_analytics(
                {f"k{i}" * 30: {"a": LONG, "b": 1.5} for i in range(500)}
            ),
        ),
    ],
    "reports.build_choice": [
        (
            "two",
            lambda: reports.build_choice(
                "status", [("d-1", "spring launch"), ("d-2", "spring sale")], None
            ),
        ),
        (
            "extreme",
            lambda: reports.build_choice(
                "pause", [(f"d-{i}" * 30, LONG) for i in range(40)], "r" * 5000
            ),
        ),
    ],
    "events.propose": [
        ("approve", lambda: propose(Intent("approve", "d-1", {}), dist(), "U_OP")[1]),
        (
            "long args",
            lambda: propose(
                Intent("pause", "d-1", {"reason": LONG}, source="m" * 500), dist(NAMES[3]), "U_OP"
            )[1],
        ),
    ],
}


def _all_cases() -> list[tuple[str, str, Callable[[], Any]]]:
    return [(name, label, make) for name, cases in CASES.items() for label, make in cases]


@pytest.mark.parametrize(("builder", "label", "make"), _all_cases())
def test_builder_output_is_valid(builder: str, label: str, make: Callable[[], Any]) -> None:
    """The builder's blocks (or view) break no Block Kit rule for this input."""
    out = make()
    if isinstance(out, dict):
        validate_view(out)
    else:
        validate_blocks(out)


def test_every_builder_has_cases() -> None:
    """A new `build_*` in bot.blocks without validator cases fails here."""
    found = set()
    for module in (alerts, home, modals, plan, progress, reports):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("build_") and fn.__module__ == module.__name__:
                if inspect.signature(fn).return_annotation in {"str", str}:
                    continue  # text for a message, not blocks
                found.add(f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    assert found - set(CASES) == set()
    assert importlib.import_module("bot.slack.events").propose is propose


class TestValidator:
    def test_duplicate_action_ids_are_refused(self) -> None:
        """Two buttons with one action_id (in one block or two) are invalid_blocks."""
        button = {"type": "button", "text": {"type": "plain_text", "text": "a"}, "action_id": "x"}
        with pytest.raises(BlockKitError, match="duplicate action_id"):
            validate_blocks([{"type": "actions", "elements": [button, dict(button)]}])
        with pytest.raises(BlockKitError, match="duplicate action_id"):
            validate_blocks([{"type": "actions", "elements": [button]}] * 2)

    @pytest.mark.parametrize(
        "block",
        [
            {"type": "section"},
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
            {"type": "header", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "context", "elements": []},
            {"type": "actions", "elements": []},
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "a"}}],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "a"},
                        "value": "v" * 2001,
                    }
                ],
            },
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "x"},
                "element": {"type": "plain_text_input"},
            },
            {"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
        ],
    )
    def test_what_slack_refuses(self, block: dict[str, Any]) -> None:
        """Missing fields, over-long texts and values, unknown types: refused."""
        with pytest.raises(BlockKitError):
            validate_blocks([block])

    def test_block_count(self) -> None:
        """51 blocks in a message are too many; 100 in a view are fine."""
        divider = {"type": "divider"}
        with pytest.raises(BlockKitError):
            validate_blocks([divider] * 51)
        validate_view({"type": "home", "blocks": [divider] * 100})


class TestAmbiguousChoice:
    async def test_spring_launch_and_sale_offer_two_working_buttons(self, harness: Harness) -> None:
        """`/herald status spring` with two matches shows a choice; picking one answers."""
        h = harness
        for name in ("spring-launch", "spring-sale"):
            await h.driver.command(f"create name={name} caption=c platforms=tiktok", user=OPERATOR)
        await h.settle(until=lambda: h.fake.responses_text().count("Created draft") == 2)
        await h.driver.command("status spring", user=OPERATOR)
        await h.settle(until=lambda: "Which one" in h.fake.responses_text())
        assert h.fake.rejected == [], h.fake.problems
        reply = next(
            r for rs in h.fake.responses.values() for r in rs if "Which one" in str(r.get("blocks"))
        )
        message = Message("C_OPS", "1.1", reply.get("text", ""), reply["blocks"])
        buttons = [el for b in reply["blocks"] if b["type"] == "actions" for el in b["elements"]]
        assert len({el["action_id"] for el in buttons}) == len(buttons) == 2
        sale = next(el for el in buttons if "spring-sale" in el["text"]["text"])
        before = len(h.fake.responses_text())
        await h.driver.click(message, sale["action_id"], user=OPERATOR)
        await h.settle(
            until=lambda: (
                "Status of" in h.fake.responses_text()[before:]
                or "spring-sale" in h.fake.responses_text()[before:]
            )
        )
        assert "spring-sale" in h.fake.responses_text()[before:]
        assert ids.CHOOSE_DISTRIBUTION in sale["action_id"]
