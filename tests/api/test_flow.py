"""The seed flow over HTTP: create -> plan -> simulate -> approve -> status, and the reads."""

from __future__ import annotations

from typing import Any

from engine.models import SlotStatus
from tests.api.conftest import REQUEST, Api


async def _planned(api: Api) -> str:
    status, body, _ = await api.call("POST", "/distributions", json=REQUEST)
    assert status == 201, body
    key = body["id"]
    status, body, _ = await api.call("POST", f"/distributions/{key}/plan")
    assert status == 200, body
    return str(key)


class TestSeedFlow:
    async def test_create_plan_simulate_approve_status(self, api: Api) -> None:
        """The whole seed flow through the API leaves the run EXECUTING with queued slots."""
        status, created, _ = await api.call("POST", "/distributions", json=REQUEST)
        assert status == 201 and created["status"] == "DRAFT"
        assert created["request"]["platforms"] == ["tiktok", "instagram"]
        key = created["id"]
        status, plan, _ = await api.call("POST", f"/distributions/{key}/plan")
        assert status == 200 and plan["distribution"]["status"] == "AWAITING_APPROVAL"
        assert len(plan["slots"]) > 0
        status, report, _ = await api.call("POST", f"/distributions/{key}/simulate")
        assert status == 200 and report["total_slots"] == len(plan["slots"])
        status, approved, _ = await api.call(
            "POST", f"/distributions/{key}/approve", who="approver", json={"note": "ok"}
        )
        assert status == 200, approved
        assert approved["status"] == "EXECUTING" and approved["approved_by"] == "U_BOSS"
        status, view, _ = await api.call("GET", f"/distributions/{key}/status")
        assert status == 200 and view["total"] == len(plan["slots"])
        assert view["counts"]["QUEUED"] == len(plan["slots"])

    async def test_audit_log_names_user_and_token(self, api: Api) -> None:
        """An approval through a token is recorded as its Slack user, with the token id."""
        key = await _planned(api)
        await api.call("POST", f"/distributions/{key}/approve", who="approver", json={})
        events = await api.service.history(key=key, limit=10)
        approved = next(e for e in events if e.kind == "distribution.approved")
        assert approved.actor == "U_BOSS"
        token_id = api.tokens["approver"].split("_")[1]
        assert approved.data["via"] == token_id

    async def test_slots_filters_and_reads(self, api: Api) -> None:
        """Slots filter by platform and status; progress, history, analytics, accounts answer."""
        key = await _planned(api)
        status, page, _ = await api.call("GET", f"/distributions/{key}/slots?platform=tiktok")
        assert status == 200 and page["total"] > 0
        assert {s["platform"] for s in page["slots"]} == {"tiktok"}
        status, page, _ = await api.call("GET", f"/distributions/{key}/slots?status=published")
        assert status == 200 and page["total"] == 0
        account = (await api.service.progress(key))[0].account_id
        status, page, _ = await api.call("GET", f"/distributions/{key}/slots?account={account}")
        assert {s["account_id"] for s in page["slots"]} == {account}
        for path in (
            f"/distributions/{key}/progress",
            f"/distributions/{key}/history",
            "/history",
            "/analytics",
            "/distributions",
        ):
            status, body, _ = await api.call("GET", path)
            assert status == 200, (path, body)
        status, accounts, _ = await api.call("GET", "/accounts?platform=tiktok")
        assert status == 200 and {a["platform"] for a in accounts} == {"tiktok"}
        status, profile, _ = await api.call("GET", "/velocity?platform=tiktok")
        assert status == 200 and profile["optimalPostsPerDay"] == 5

    async def test_lifecycle_moves(self, api: Api) -> None:
        """pause, resume, halt, retry-failed and cancel go through the service."""
        key = await _planned(api)
        await api.call("POST", f"/distributions/{key}/approve", who="approver", json={})
        for path, who, body, expected in (
            ("pause", "operator", {"reason": "check"}, "PAUSED"),
            ("resume", "operator", {}, "EXECUTING"),
            ("halt", "approver", {"reason": "stop"}, "HALTED"),
            ("resume", "approver", {}, "EXECUTING"),
        ):
            kwargs: dict[str, Any] = {"json": body} if body else {}
            status, d, _ = await api.call("POST", f"/distributions/{key}/{path}", who=who, **kwargs)
            assert status == 200 and d["status"] == expected, (path, d)
        status, retried, _ = await api.call("POST", f"/distributions/{key}/retry-failed")
        assert status == 200 and retried["retried"] == 0
        status, d, _ = await api.call("POST", f"/distributions/{key}/cancel", json={})
        assert status == 200 and d["status"] == "CANCELLED"

    async def test_reject_needs_reason_and_is_recorded(self, api: Api) -> None:
        """Reject with a reason moves the plan to REJECTED."""
        key = await _planned(api)
        status, d, _ = await api.call(
            "POST", f"/distributions/{key}/reject", who="approver", json={"reason": "tone"}
        )
        assert status == 200 and d["status"] == "REJECTED" and d["decision_note"] == "tone"


class TestRehearsals:
    async def test_run_simulate_changes_nothing(self, api: Api) -> None:
        """run with simulate=true publishes every slot through the simulated publisher and
        leaves the plan and its slots as they were."""
        key = await _planned(api)
        before = await api.service.progress(key)
        status, result, _ = await api.call(
            "POST", f"/distributions/{key}/run", json={"simulate": True}
        )
        assert status == 200 and result["simulated"] is True
        assert len(result["results"]) == len(before)
        assert all(r["success"] for r in result["results"])
        after = await api.service.progress(key)
        assert [s.status for s in after] == [SlotStatus.PLANNED] * len(before)
        assert (await api.service.resolve(key)).status == "AWAITING_APPROVAL"

    async def test_run_for_real_needs_approval(self, api: Api) -> None:
        """run with simulate=false is a start: refused (403) before an approval."""
        key = await _planned(api)
        status, problem, _ = await api.call(
            "POST", f"/distributions/{key}/run", json={"simulate": False}
        )
        assert status == 403 and "approval" in problem["detail"]

    async def test_dry_run_one_slot(self, api: Api) -> None:
        """A one-slot dry run answers the simulated receipt; simulate=false is refused."""
        key = await _planned(api)
        slot = (await api.service.progress(key))[0]
        status, body, _ = await api.call("POST", f"/slots/{slot.id}/publish", json={})
        assert status == 200 and body["success"] is True
        status, body, _ = await api.call(
            "POST", f"/slots/{slot.id}/publish", json={"simulate": False}
        )
        assert status == 403 and body["field"] == "simulate"
        assert (await api.service.progress(key))[0].status == SlotStatus.PLANNED

    async def test_content_tools(self, api: Api) -> None:
        """Platform selection, repurposing, language variants and trends answer."""
        content = REQUEST["content"]
        status, body, _ = await api.call(
            "POST", "/platforms", json={"available_platforms": ["linkedin", "tiktok", "instagram"]}
        )
        assert status == 200 and body["optimal_platforms"][0] in {"tiktok", "instagram"}
        status, body, _ = await api.call(
            "POST", "/repurpose", json={"content": content, "target_platforms": ["tiktok"]}
        )
        assert status == 200 and body["repurposed"]["tiktok"]["variant_id"] == "c-1-tiktok"
        status, body, _ = await api.call(
            "POST", "/language-variants", json={"content": content, "target_languages": ["en"]}
        )
        assert status == 200 and body["variants"][0]["language"] == "en"
        status, body, _ = await api.call("POST", "/trends", json={"platforms": ["tiktok"]})
        assert status == 200 and body == {"trends": []}
