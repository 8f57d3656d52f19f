"""Who may do what over the API, and errors as problem details naming the field."""

from __future__ import annotations

import json
from datetime import timedelta

from storage.api_store import ApiStore
from tests.api.conftest import REQUEST, Api

PROBLEM = "application/problem+json"


async def _planned(api: Api, who: str = "operator") -> str:
    status, body, _ = await api.call("POST", "/distributions", who=who, json=REQUEST)
    assert status == 201, body
    status, body, _ = await api.call("POST", f"/distributions/{body['id']}/plan", who=who)
    assert status == 200, body
    return str(body["distribution"]["id"])


class TestAuthMatrix:
    async def test_no_token(self, api: Api) -> None:
        """Without a token: 401 with a Bearer challenge, as problem+json."""
        status, body, headers = await api.call("GET", "/distributions", who=None)
        assert status == 401 and headers["Content-Type"].startswith(PROBLEM)
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert body["status"] == 401 and body["title"] == "Unauthorized"

    async def test_wrong_or_revoked_or_expired_token(self, api: Api) -> None:
        """An unknown, revoked or expired token is 401."""
        status, _, _ = await api.call(
            "GET", "/distributions", who=None, headers={"Authorization": "Bearer hrd_tok-x_nope"}
        )
        assert status == 401
        store = ApiStore(api.deps.herald.repository.engine)
        now = api.clock.now()
        token, secret = await store.create_token("U_OP", ("read",), now, now + timedelta(days=1))
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await api.call("GET", "/distributions", who=None, headers=headers))[0] == 200
        api.clock.advance(timedelta(days=2))
        assert (await api.call("GET", "/distributions", who=None, headers=headers))[0] == 401
        token, secret = await store.create_token("U_OP", ("read",), api.clock.now(), None)
        await store.revoke(token.id, api.clock.now())
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await api.call("GET", "/distributions", who=None, headers=headers))[0] == 401
        await store.close()

    async def test_wrong_scope(self, api: Api) -> None:
        """A read-only token cannot create: 403 naming the missing scope, nothing created."""
        status, body, _ = await api.call("POST", "/distributions", who="reader", json=REQUEST)
        assert status == 403 and "'operate' scope" in body["detail"]
        assert await api.service.list() == []

    async def test_viewer_cannot_approve(self, api: Api) -> None:
        """A token with every scope still acts as its user: a viewer cannot approve."""
        key = await _planned(api)
        status, body, _ = await api.call(
            "POST", f"/distributions/{key}/approve", who="viewer", json={}
        )
        assert status == 403 and "viewer" in body["detail"]
        assert (await api.service.resolve(key)).status == "AWAITING_APPROVAL"

    async def test_viewer_cannot_create(self, api: Api) -> None:
        """Viewers may only look, as in Slack."""
        status, body, _ = await api.call("POST", "/distributions", who="viewer", json=REQUEST)
        assert status == 403 and "viewer" in body["detail"]

    async def test_author_cannot_approve_own_plan(self, api: Api) -> None:
        """The no-self-approval rule holds through the API."""
        key = await _planned(api, who="approver")
        status, body, _ = await api.call(
            "POST", f"/distributions/{key}/approve", who="approver", json={}
        )
        assert status == 403 and "cannot approve it too" in body["detail"]
        assert (await api.service.resolve(key)).status == "AWAITING_APPROVAL"

    async def test_rate_limit(self, api: Api) -> None:
        """Past its burst a token gets 429 with Retry-After; other tokens are unaffected."""
        api.ctx.limiter.rate, api.ctx.limiter.burst = 0.5, 3
        codes = [(await api.call("GET", "/analytics"))[0] for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        status, _body, headers = await api.call("GET", "/analytics")
        assert status == 429 and int(headers["Retry-After"]) >= 1
        assert (await api.call("GET", "/analytics", who="approver"))[0] == 200


class TestBadInput:
    async def test_bad_json(self, api: Api) -> None:
        """Malformed JSON: 422 naming `body`, nothing created."""
        status, body, headers = await api.call(
            "POST",
            "/distributions",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert status == 422 and body["field"] == "body"
        assert headers["Content-Type"].startswith(PROBLEM)
        assert await api.service.list() == []

    async def test_bad_fields_are_named(self, api: Api) -> None:
        """Each bad field is named with its dotted path; nothing is created."""
        cases = [
            ({**REQUEST, "platforms": ["myspace"]}, "platforms"),
            ({**REQUEST, "content": {"id": "c", "caption": ""}}, "content.caption"),
            ({**REQUEST, "spread_hours": "soon"}, "spread_hours"),
            ({**REQUEST, "colour": "red"}, "colour"),
            ({**REQUEST, "accounts": True}, "accounts"),  # JSON true is not the number 1
            ({k: v for k, v in REQUEST.items() if k != "start"}, "start"),
        ]
        for body, field in cases:
            status, problem, _ = await api.call("POST", "/distributions", json=body)
            assert status == 422, (field, problem)
            assert problem["field"] == field, problem
            assert problem["detail"].startswith(field)
        assert await api.service.list() == []

    async def test_bad_query_and_decision_fields(self, api: Api) -> None:
        """Query strings and decision bodies name their bad field; the plan is unchanged."""
        key = await _planned(api)
        status, problem, _ = await api.call("GET", f"/distributions/{key}/slots?limit=zero")
        assert status == 422 and problem["field"] == "limit"
        status, problem, _ = await api.call("GET", f"/distributions/{key}/slots?status=LOST")
        assert status == 422 and problem["field"] == "status"
        status, problem, _ = await api.call(
            "POST", f"/distributions/{key}/reject", who="approver", json={"reason": ""}
        )
        assert status == 422 and problem["field"] == "reason"
        status, problem, _ = await api.call(
            "POST", f"/distributions/{key}/approve", who="approver", json={"expected_version": True}
        )
        assert status == 422 and problem["field"] == "expected_version"
        assert (await api.service.resolve(key)).status == "AWAITING_APPROVAL"

    async def test_not_found_and_conflict(self, api: Api) -> None:
        """An unknown distribution is 404; a move the lifecycle forbids is 409."""
        status, problem, _ = await api.call("GET", "/distributions/d-nothing/status")
        assert status == 404 and problem["status"] == 404
        status, created, _ = await api.call("POST", "/distributions", json=REQUEST)
        status, problem, _ = await api.call(
            "POST", f"/distributions/{created['id']}/pause", json={}
        )
        assert status == 409 and "DRAFT" in problem["detail"]
        status, problem, _ = await api.call("GET", "/no-such-route")
        assert status == 404 and problem["title"] == "Not Found"


class TestIdempotency:
    async def test_same_key_same_body_same_answer(self, api: Api) -> None:
        """A retried create with the same key answers the first distribution, creates none."""
        headers = {"Idempotency-Key": "cms-42"}
        first = await api.call("POST", "/distributions", json=REQUEST, headers=headers)
        again = await api.call("POST", "/distributions", json=REQUEST, headers=headers)
        assert first[0] == again[0] == 201 and first[1] == again[1]
        assert again[2]["Idempotent-Replayed"] == "true"
        assert len(await api.service.list()) == 1

    async def test_same_request_reformatted_is_the_same(self, api: Api) -> None:
        """The same JSON with other spacing and key order replays the first answer."""
        headers = {"Idempotency-Key": "cms-45", "Content-Type": "application/json"}
        compact = json.dumps(REQUEST, separators=(",", ":"))
        spaced = json.dumps(dict(reversed(list(REQUEST.items()))), indent=4)
        first = await api.call("POST", "/distributions", data=compact, headers=headers)
        again = await api.call("POST", "/distributions", data=spaced, headers=headers)
        assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
        assert len(await api.service.list()) == 1

    async def test_same_key_other_body_is_refused(self, api: Api) -> None:
        """Reusing a key for another request is 422 naming Idempotency-Key."""
        headers = {"Idempotency-Key": "cms-43"}
        await api.call("POST", "/distributions", json=REQUEST, headers=headers)
        status, problem, _ = await api.call(
            "POST", "/distributions", json={**REQUEST, "name": "other"}, headers=headers
        )
        assert status == 422 and problem["field"] == "Idempotency-Key"
        assert len(await api.service.list()) == 1

    async def test_key_expires_after_a_day(self, api: Api) -> None:
        """After 24 h the same key creates again."""
        headers = {"Idempotency-Key": "cms-44"}
        await api.call("POST", "/distributions", json=REQUEST, headers=headers)
        api.clock.advance(timedelta(hours=25))
        status, _, headers_out = await api.call(
            "POST", "/distributions", json=REQUEST, headers=headers
        )
        assert status == 201 and "Idempotent-Replayed" not in headers_out
        assert len(await api.service.list()) == 2

    async def test_refused_create_frees_the_key(self, api: Api) -> None:
        """A create refused for a bad field leaves the key unused."""
        headers = {"Idempotency-Key": "cms-45"}
        status, _, _ = await api.call(
            "POST", "/distributions", json={**REQUEST, "platforms": ["nope"]}, headers=headers
        )
        assert status == 422
        status, _, _ = await api.call("POST", "/distributions", json=REQUEST, headers=headers)
        assert status == 201
