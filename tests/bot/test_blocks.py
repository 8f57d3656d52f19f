"""Block Kit builders are pure and stay inside Slack's limits, even for 10 000 slots."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.slack import ids
from bot.slack.blocks.alerts import build_risk_alert
from bot.slack.blocks.common import MAX_BUTTON_VALUE, decode_value, encode_value
from bot.slack.blocks.home import build_home
from bot.slack.blocks.modals import build_create_modal, build_reject_modal, create_fields_from_state
from bot.slack.blocks.plan import advice_text, build_plan_card
from bot.slack.blocks.progress import (
    build_completion_report,
    build_failure_reply,
    build_status_line,
)
from bot.slack.blocks.reports import build_help, build_history
from engine.models import (
    DistributionStatus,
    Event,
    SlotStatus,
)
from engine.plan_summary import summarize_slots
from tests.bot.fake_slack import check_blocks, check_view
from tests.bot.support import sample_distribution, slots

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PLATFORMS = ("tiktok", "instagram", "youtube", "twitter", "facebook", "linkedin")


# The same distribution the Block Kit validator uses (tests.bot.support).
distribution = sample_distribution


class TestPlanCard:
    def test_ten_thousand_slots_fit_slack_limits(self) -> None:
        """A 10 000-slot, 14-day, 6-platform plan renders within every Slack limit."""
        blocks = build_plan_card(distribution(), slots(10_000), warnings=["w" * 5000] * 9)
        check_blocks(blocks, limit=50)
        text = json.dumps(blocks)
        assert "10,000 slots" in text and "more" in text  # days beyond the table are summed

    def test_summary_card_counts_like_the_slots(self) -> None:
        """The card drawn from a plan summary (what the notifier reads) is the card drawn
        from the slots, and its table totals add up to every slot at 10 000 slots."""
        many = slots(10_000)
        blocks = build_plan_card(distribution(), summarize_slots(many))
        assert blocks == build_plan_card(distribution(), many)
        table = next(b["text"]["text"] for b in blocks if "per platform and day" in str(b))
        rows = [line.split() for line in table.strip("`").splitlines()[2:]]
        assert sum(int(row[-1]) for row in rows) == 10_000
        assert "*10,000 slots* on *900 accounts*" in json.dumps(blocks)

    def test_buttons_carry_id_and_version(self) -> None:
        """Approve (primary, confirm), Reject (danger), Simulate carry distribution + version."""
        blocks = build_plan_card(distribution(), slots(10))
        buttons = {
            el["action_id"]: el for b in blocks if b["type"] == "actions" for el in b["elements"]
        }
        assert decode_value(buttons[ids.APPROVE]["value"]) == {"d": "d-1", "v": 3}
        assert buttons[ids.APPROVE]["style"] == "primary" and "confirm" in buttons[ids.APPROVE]
        assert buttons[ids.REJECT]["style"] == "danger"
        assert ids.SIMULATE in buttons

    def test_decided_card_has_no_buttons(self) -> None:
        """Once approved the card says who and when, and the buttons are gone."""
        dist = distribution(DistributionStatus.EXECUTING, approved_by="U_BOSS", approved_at=T0)
        text = json.dumps(build_plan_card(dist, slots(10)))
        assert "Approved* by <@U_BOSS> at <!date^" in text and ids.APPROVE not in text


class TestPlanAdvice:
    def test_fused_advice_names_the_models_and_caps_lines(self) -> None:
        """Fused advice is headed by the models that answered and shows at most 5 lines."""
        advice = {
            "source": "fusion",
            "models_answered": ["gpt", "claude"],
            "fallback_reason": None,
            "lines": [f"Risk tiktok: note {i} <b> (80%, gpt+claude)" for i in range(8)],
        }
        blocks = build_plan_card(distribution(advice=advice), slots(10))
        check_blocks(blocks, limit=50)
        texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        found = [t for t in texts if t.startswith("*Advice*")]
        assert len(found) == 1
        assert found[0].startswith("*Advice* (fused from gpt, claude)")
        assert found[0].count("\n• ") == 5 and "note 4" in found[0] and "note 5" not in found[0]
        assert "&lt;b&gt;" in found[0]  # model text is escaped, never mrkdwn/markup

    def test_builtin_advice_says_why(self) -> None:
        """Built-in advice names its reason once, in the heading."""
        advice = {
            "source": "builtin",
            "models_answered": ["builtin"],
            "fallback_reason": "no model configured",
            "lines": [
                "Platform order: tiktok > instagram",
                "Built-in advisor: no model configured",
            ],
        }
        text = advice_text(advice)
        assert (
            text
            == "*Advice* (built-in: no model configured)\n• Platform order: tiktok &gt; instagram"
        )

    def test_no_advice_no_section_and_huge_advice_fits(self) -> None:
        """A plan without advice has no Advice section; oversized advice stays in limits."""
        assert advice_text(None) is None
        assert "*Advice*" not in json.dumps(build_plan_card(distribution(), slots(10)))
        huge = {
            "source": "fusion",
            "models_answered": ["m" * 500] * 50,
            "lines": ["x" * 10_000] * 50,
        }
        blocks = build_plan_card(distribution(advice=huge), slots(10_000), warnings=["w"] * 9)
        check_blocks(blocks, limit=50)
        assert "*Advice* (fused from" in json.dumps(blocks)


class TestOtherBuilders:
    def test_status_line(self) -> None:
        """The status line shows a bar, counts and lateness."""
        counts = {SlotStatus.PUBLISHED: 50, SlotStatus.QUEUED: 50}
        text = json.dumps(
            build_status_line(distribution(DistributionStatus.EXECUTING), counts, late=3)
        )
        assert "50%" in text and "published 50" in text and "3 late" in text

    def test_failure_reply_has_retry_and_skip(self) -> None:
        """Failure replies carry the slot id on Retry and Skip, within limits."""
        blocks = build_failure_reply(
            slot_id="d-1.7",
            distribution_id="d-1",
            platform="tiktok",
            account_id="tt-1",
            error="x" * 5000,
            kind="unknown",
            attempts=2,
        )
        check_blocks(blocks, limit=50)
        values = [decode_value(el["value"]) for el in blocks[1]["elements"]]
        assert values == [{"s": "d-1.7", "d": "d-1"}] * 2

    def test_outcome_unknown_reply_offers_mark_posted_retry_and_skip(self) -> None:
        """An in-doubt slot's reply has Mark posted / Retry / Skip, in that order."""
        blocks = build_failure_reply(
            slot_id="d-1.7",
            distribution_id="d-1",
            platform="twitter",
            account_id="x-1",
            error="X did not answer in time after the post was sent",
            kind="outcome_unknown",
            outcome_unknown=True,
        )
        check_blocks(blocks, limit=50)
        buttons = [el["action_id"] for el in blocks[1]["elements"]]
        assert buttons == [ids.MARK_POSTED, ids.RETRY_SLOT, ids.SKIP_SLOT]

    def test_alert_and_report_and_help_fit(self) -> None:
        """Alerts, the completion report, help and history stay within limits."""
        event = Event(
            "e",
            T0,
            "risk.alert",
            "system",
            "d-1",
            data={"level": "CRITICAL", "reason": "r" * 5000, "anomalies": ["a" * 500] * 50},
        )
        for blocks in (
            build_risk_alert(event, distribution()),
            build_completion_report(
                distribution(), {SlotStatus.PUBLISHED: 9_990, SlotStatus.FAILED: 10}
            ),
            build_help(),
            build_history([event] * 500),
        ):
            check_blocks(blocks, limit=50)

    def test_modals_fit_and_round_trip(self) -> None:
        """Modals pass the view checks; submitted state maps back to request fields."""
        modal = build_create_modal(channel="C1", now=T0)
        check_view(modal)
        check_view(
            build_reject_modal(
                distribution_id="d-1", name="n" * 300, version=1, channel="C", ts="1"
            )
        )
        state = {
            ids.F_NAME: {ids.F_NAME + ids.INPUT_SUFFIX: {"type": "plain_text_input", "value": "x"}},
            ids.F_MODE: {
                ids.F_MODE + ids.INPUT_SUFFIX: {
                    "type": "static_select",
                    "selected_option": {"value": "calendar"},
                }
            },
            ids.F_WINDOW: {
                ids.F_WINDOW + ids.INPUT_SUFFIX: {"type": "plain_text_input", "value": "6h"}
            },
            ids.F_DAYS: {ids.F_DAYS + ids.INPUT_SUFFIX: {"type": "plain_text_input", "value": "7"}},
            ids.F_TREND: {
                ids.F_TREND + ids.INPUT_SUFFIX: {
                    "type": "checkboxes",
                    "selected_options": [{"value": "yes"}],
                }
            },
        }
        fields = create_fields_from_state(state)
        assert fields == {"name": "x", "mode": "calendar", "days": "7", "trend_weighted": "true"}

    def test_home_fits(self) -> None:
        """The Home tab stays under 100 blocks with many distributions."""
        dist = distribution(DistributionStatus.EXECUTING)
        view = build_home(
            active=[(dist, {SlotStatus.PUBLISHED: 1})] * 80,
            waiting=[dist] * 80,
            accounts=[],
            can_approve=True,
        )
        check_view(view)

    def test_button_value_limit_is_enforced(self) -> None:
        """A button value over 2 000 characters is refused, never cut silently."""
        try:
            encode_value({"x": "y" * MAX_BUTTON_VALUE})
        except ValueError as exc:
            assert "exceeds" in str(exc)
        else:
            raise AssertionError("expected a refusal")


class TestCreateModalMedia:
    def test_shared_files_join_the_media_field(self) -> None:
        """Files from the modal's file input become `slack:F…` references in `media`."""

        modal = build_create_modal(channel="C1", now=datetime(2026, 12, 2, tzinfo=UTC))
        kinds = {
            b["block_id"]: b["element"]["type"] for b in modal["blocks"] if b["type"] == "input"
        }
        assert kinds[ids.F_MEDIA_FILES] == "file_input"
        state = {
            ids.F_MEDIA: {
                ids.F_MEDIA + ids.INPUT_SUFFIX: {
                    "type": "plain_text_input",
                    "value": "https://x/a.jpg",
                }
            },
            ids.F_MEDIA_FILES: {
                ids.F_MEDIA_FILES + ids.INPUT_SUFFIX: {
                    "type": "file_input",
                    "files": [{"id": "F1"}, {"id": "F2"}],
                }
            },
        }
        assert create_fields_from_state(state)[ids.F_MEDIA] == "https://x/a.jpg,slack:F1,slack:F2"
