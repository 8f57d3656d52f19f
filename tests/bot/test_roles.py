"""Approvers and operators given as Slack user groups, expanded through the Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import load_settings
from bot.slack import ids
from bot.slack.roles import RoleDirectory
from engine.models import DistributionStatus, Role
from tests.bot.conftest import OPERATOR, Harness, start_harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import create_and_plan

GROUP, LEAD = "S0APPROVERS", "U_LEAD"


class TestRoleDirectory:
    async def test_group_members_get_the_group_role_after_a_refresh(self, fake: FakeSlack) -> None:
        """Before the first read a group grants nothing; after it, its members are approvers."""
        fake.usergroups[GROUP] = [LEAD]
        settings = load_settings(
            {"HERALD_APPROVERS": f"U_DIRECT,{GROUP}", "HERALD_OPERATORS": "U_OPS"}
        )
        directory = RoleDirectory(settings)
        assert directory.groups == [GROUP]
        assert directory.role_of(LEAD) == Role.VIEWER
        from bot.slack.app import build_client

        client = build_client(
            load_settings({"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url})
        )
        await directory.refresh(client)
        assert directory.role_of(LEAD) == Role.APPROVER
        assert directory.role_of("U_DIRECT") == Role.APPROVER
        assert directory.role_of("U_OPS") == Role.OPERATOR
        assert directory.role_of("U_NOBODY") == Role.VIEWER

    async def test_a_group_that_cannot_be_read_keeps_granting_nothing(
        self, fake: FakeSlack
    ) -> None:
        """An unknown group id is logged and grants no role."""
        settings = load_settings({"HERALD_APPROVERS": "S0MISSING"})
        directory = RoleDirectory(settings)
        from bot.slack.app import build_client

        client = build_client(
            load_settings({"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url})
        )
        await directory.refresh(client)
        assert directory.role_of("U_ANY") == Role.OPERATOR


@pytest.fixture
async def group_harness(fake: FakeSlack) -> AsyncIterator[Harness]:
    fake.usergroups[GROUP] = [LEAD]
    h, runner = await start_harness(fake, HERALD_APPROVERS=GROUP)
    yield h
    await h.settle()
    await h.driver.close()
    await h.notifier.close()
    await runner.cleanup()


class TestApprovalThroughAGroup:
    async def test_group_member_approves_with_the_button(self, group_harness: Harness) -> None:
        """A member of the approvers' user group presses Approve and the run starts."""
        h = group_harness
        dist_id = await create_and_plan(h)
        await h.settle()
        assert h.deps.actor(LEAD).role == Role.VIEWER  # the group is not read yet
        await h.deps.roles.refresh(h.app.client)
        await h.driver.click(h.card(), ids.APPROVE, user=LEAD)
        await h.settle(until=lambda: "Approved" in h.card().all_text())
        assert f"Approved* by <@{LEAD}>" in h.card().all_text()
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        assert h.deps.actor(OPERATOR).role == Role.OPERATOR
