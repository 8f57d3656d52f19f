"""Requests a newcomer gets slightly wrong are refused by name, and change nothing: a body
sent where none is taken, a flag given as a word, an unknown platform or event kind."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import REQUEST, Api


async def _seq(api: Api) -> int:
    return int(await api.ctx.events.last_seq())


async def _planned(api: Api) -> dict[str, Any]:
    _, d, _ = await api.call("POST", "/distributions", json=REQUEST)
    status, _, _ = await api.call("POST", f"/distributions/{d['id']}/plan")
    assert status == 200
    return dict(d)


class TestBodies:
    async def test_a_body_where_none_is_taken_is_refused(self, api: Api) -> None:
        """`plan` with {"seed": 7} is a 422 naming `body` (it was ignored and the plan
        redone without it); no body, `{}` and `null` are still fine."""
        d = await _planned(api)
        before = await _seq(api)
        for path in ("plan", "simulate", "retry-failed"):
            status, problem, _ = await api.call(
                "POST", f"/distributions/{d['id']}/{path}", json={"seed": 7}
            )
            assert (status, problem["field"]) == (422, "body"), (path, problem)
            assert "takes no body" in problem["detail"]
        assert await _seq(api) == before
        for body in (None, {}, "null"):
            kwargs: dict[str, Any] = {"json": body} if body != "null" else {"data": "null"}
            status, _, _ = await api.call("POST", f"/distributions/{d['id']}/simulate", **kwargs)
            assert status == 200, body

    async def test_flags_take_only_true_or_false(self, api: Api) -> None:
        """`run` {"simulate": "no"} (or 0) would start the real run if read as false: it is
        a 422 naming `simulate`, as is `publish` {"simulate": "true"}; nothing changes."""
        d = await _planned(api)
        before = await _seq(api)
        for value in ("no", 0, "false", "yes", 1):
            status, problem, _ = await api.call(
                "POST", f"/distributions/{d['id']}/run", json={"simulate": value}
            )
            assert (status, problem["field"]) == (422, "simulate"), (value, problem)
        status, problem, _ = await api.call(
            "POST", f"/slots/{d['id']}.0/publish", json={"simulate": "true"}
        )
        assert (status, problem["field"]) == (422, "simulate")
        assert await _seq(api) == before
        status, _, _ = await api.call(
            "POST", f"/distributions/{d['id']}/run", json={"simulate": True}
        )
        assert status == 200


class TestNames:
    async def test_unknown_platform_in_accounts_is_named(self, api: Api) -> None:
        """GET /accounts?platform=tiktk is a 422 listing the platforms, not an empty list."""
        status, problem, _ = await api.call("GET", "/accounts?platform=tiktk")
        assert status == 422 and "unknown platform 'tiktk' (known:" in problem["detail"]
        status, accounts, _ = await api.call("GET", "/accounts?platform=TikTok")
        assert status == 200 and accounts and {a["platform"] for a in accounts} == {"tiktok"}

    async def test_webhook_for_no_event_kind_is_refused(self, api: Api) -> None:
        """A webhook subscribed to `slot.publishd` would never be called: 422 naming
        `events` with the likely kind; nothing stored or audited."""
        before = await _seq(api)
        body = {"url": "https://cms.example.test/h", "events": ["slot.publishd"]}
        status, problem, _ = await api.call("POST", "/webhooks", who="approver", json=body)
        assert status == 422 and problem["field"] == "events", problem
        assert "did you mean slot.published?" in problem["detail"]
        status, hooks, _ = await api.call("GET", "/webhooks", who="approver")
        assert (status, hooks) == (200, [])
        assert await _seq(api) == before

    async def test_inline_content_needs_only_a_caption(self, api: Api) -> None:
        """As `/herald create caption=...`: a JSON content without `id` takes the name."""
        request = {**REQUEST, "content": {"caption": "Spring is here"}}
        status, d, _ = await api.call("POST", "/distributions", json=request)
        assert status == 201, d
        assert d["request"]["content"]["id"] == REQUEST["name"]

    async def test_unknown_content_type_is_refused(self, api: Api) -> None:
        """`type: "vidoe"` would be planned on every platform and posted: a 422 naming
        `content.type` (or the queue item's) with the known types; nothing created."""
        before = await _seq(api)
        request = {**REQUEST, "content": {**REQUEST["content"], "type": "vidoe"}}
        status, problem, _ = await api.call("POST", "/distributions", json=request)
        assert (status, problem["field"]) == (422, "content.type"), problem
        assert "(known: image, post, reel, short, story, text, video)" in problem["detail"]
        queue = [{"id": "q1", "caption": "One"}, {"id": "q2", "caption": "Two", "type": "x"}]
        weekly = {**REQUEST, "mode": "calendar", "queue": queue, "days": 2}
        weekly.pop("content")
        status, problem, _ = await api.call("POST", "/distributions", json=weekly)
        assert (status, problem["field"]) == (422, "queue.1.type"), problem
        assert await _seq(api) == before

    async def test_empty_import_names_the_body(self, api: Api) -> None:
        """An import of `[]` is a 422 naming `body`, not a file the client never sent."""
        status, problem, _ = await api.call(
            "POST", "/content/import", data=b"[]", headers={"Content-Type": "application/json"}
        )
        assert (status, problem["field"]) == (422, "body"), problem
        assert problem["detail"] == "body: no items" and "body.json" not in str(problem)
