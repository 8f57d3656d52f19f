"""/api/v1/content over real HTTP: the library's reads, writes, imports, and distributions
created from library items."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import REQUEST, Api

ITEM = {"id": "w1", "caption": "Winter is here", "hashtags": ["snow"], "tags": ["winter"]}
CSV = "id,caption,tags,translation_es\nw1,Winter is here,winter,Llega el invierno\n"


async def stored(api: Api) -> list[str]:
    return [i.id for i in await api.deps.herald.content.list_items(archived=True)]


async def library_events(api: Api) -> list[Any]:
    return [e for e in await api.service.history(limit=100) if e.kind.startswith("content.")]


def token_id(api: Api, who: str) -> str:
    return api.tokens[who].split("_")[1]


async def add_items(api: Api, *items: dict[str, Any]) -> None:
    for item in items:
        status, body, _ = await api.call("POST", "/content", json=item)
        assert status == 201, body


class TestContentReadsAndWrites:
    async def test_add_show_list_archive(self, api: Api) -> None:
        """An operator token adds, shows, lists and archives; each write is audited with
        the user and the token id."""
        status, item, _ = await api.call("POST", "/content", json=ITEM)
        assert status == 201 and item["id"] == "w1" and item["created_by"] == "U_OP"
        assert item["tags"] == ["winter"] and item["archived_at"] is None
        status, shown, _ = await api.call("GET", "/content/w1", who="reader")
        assert status == 200 and shown == item
        status, archived, _ = await api.call("POST", "/content/w1/archive")
        assert status == 200 and archived["archived_at"] is not None
        status, page, _ = await api.call("GET", "/content")
        assert status == 200 and page["total"] == 0
        status, page, _ = await api.call("GET", "/content?archived=true")
        assert [i["id"] for i in page["items"]] == ["w1"]
        events = await library_events(api)
        assert sorted(e.kind for e in events) == ["content.added", "content.archived"]
        assert {(e.actor, e.data["via"]) for e in events} == {("U_OP", token_id(api, "operator"))}

    async def test_filters_and_pages(self, api: Api) -> None:
        """Tag, text query, limit and offset filter the list; total counts every match."""
        await add_items(
            api,
            *(
                {
                    "id": f"i{k}",
                    "caption": f"Item {k} caption",
                    "tags": ["even" if k % 2 else "odd"],
                }
                for k in range(5)
            ),
            {"id": "x", "caption": "Snowy boots", "translations": {"es": "Botas NEVADAS"}},
        )
        status, page, _ = await api.call("GET", "/content?tag=odd&limit=2&offset=1")
        assert status == 200 and page["total"] == 3
        assert [i["id"] for i in page["items"]] == ["i2", "i4"]
        status, page, _ = await api.call("GET", "/content?query=nevadas")
        assert [i["id"] for i in page["items"]] == ["x"]
        status, problem, _ = await api.call("GET", "/content?limit=0")
        assert status == 422 and problem["field"] == "limit"

    async def test_scopes_roles_and_refusals(self, api: Api) -> None:
        """Reads need `read`, writes `operate` and an operator; bad items and unknown ids are
        problems naming the field; nothing is stored by a refused write."""
        status, _, _ = await api.call("POST", "/content", who="reader", json=ITEM)
        assert status == 403
        status, problem, _ = await api.call("POST", "/content", who="viewer", json=ITEM)
        assert status == 403 and "operator" in problem["detail"]
        status, problem, _ = await api.call("POST", "/content", json={"id": "x"})
        assert status == 422 and problem["field"] == "caption"
        status, problem, _ = await api.call("POST", "/content", json={**ITEM, "colour": "red"})
        assert status == 422 and problem["field"] == "colour"
        assert await stored(api) == []
        await add_items(api, ITEM)
        status, problem, _ = await api.call("POST", "/content", json=ITEM)
        assert status == 422 and problem["field"] == "id" and "already" in problem["detail"]
        status, problem, _ = await api.call("GET", "/content/nope")
        assert status == 404 and "'nope'" in problem["detail"]
        status, _, _ = await api.call("POST", "/content/nope/archive")
        assert status == 404

    async def test_idempotent_add(self, api: Api) -> None:
        """The same Idempotency-Key and body answer the first item; one item stored."""
        headers = {"Idempotency-Key": "cms-item-1"}
        first = await api.call("POST", "/content", json=ITEM, headers=headers)
        again = await api.call("POST", "/content", json=ITEM, headers=headers)
        assert first[0] == again[0] == 201 and first[1] == again[1]
        assert again[2]["Idempotent-Replayed"] == "true"
        assert await stored(api) == ["w1"]


class TestContentImport:
    async def test_json_and_csv_bodies_import_whole(self, api: Api) -> None:
        """A JSON list and a CSV body each import every item in one go (201)."""
        items = [ITEM, {"id": "w2", "caption": "Cosy evenings"}]
        status, body, _ = await api.call("POST", "/content/import", json=items)
        assert status == 201 and body["imported"] == 2
        csv = CSV.replace("w1", "w3")
        status, body, _ = await api.call(
            "POST", "/content/import", data=csv, headers={"Content-Type": "text/csv"}
        )
        assert status == 201 and body["items"][0]["translations"] == {"es": "Llega el invierno"}
        assert await stored(api) == ["w1", "w2", "w3"]
        events = await library_events(api)
        assert len(events) == 3 and all(e.data["via"] == token_id(api, "operator") for e in events)

    async def test_every_bad_row_is_reported_and_nothing_imported(self, api: Api) -> None:
        """Bad JSON rows come back as one 422 problem listing each by line, index and field."""
        await add_items(api, {"id": "old", "caption": "Already here"})
        body = (
            "[\n"
            '  {"id": "ok", "caption": "Fine"},\n'
            '  {"id": "no-caption"},\n'
            '  {"id": "old", "caption": "Clash"},\n'
            '  {"id": "x", "caption": "Tags", "hashtags": ["bad tag"]}\n'
            "]"
        )
        status, problem, headers = await api.call(
            "POST", "/content/import", data=body, headers={"Content-Type": "application/json"}
        )
        assert status == 422 and headers["Content-Type"].startswith("application/problem+json")
        assert problem["detail"] == "body: 3 bad row(s), nothing imported"
        rows = {(r["line"], r.get("index"), r.get("field")) for r in problem["errors"]}
        assert rows == {(3, 1, "caption"), (4, 2, "id"), (5, 3, "hashtags")}
        assert await stored(api) == ["old"]

    async def test_bad_csv_rows_and_bad_bodies(self, api: Api) -> None:
        """CSV rows by line; a wrong media type is 415, non-UTF-8 and empty bodies 422."""
        csv = "id,caption,colour\nw1,x,red\n"
        status, problem, _ = await api.call(
            "POST", "/content/import", data=csv, headers={"Content-Type": "text/csv"}
        )
        assert status == 422 and problem["errors"][0]["line"] == 1
        assert "unknown column(s): colour" in problem["errors"][0]["detail"]
        status, problem, _ = await api.call(
            "POST", "/content/import", data="x", headers={"Content-Type": "text/plain"}
        )
        assert status == 415 and problem["field"] == "Content-Type"
        status, problem, _ = await api.call(
            "POST", "/content/import", data=b"\xff\xfe", headers={"Content-Type": "text/csv"}
        )
        assert status == 422 and problem["detail"] == "body: not UTF-8 text"
        status, problem, _ = await api.call("POST", "/content/import", json=[])
        assert status == 422 and "no items" in problem["detail"]
        assert await stored(api) == []

    async def test_same_body_twice_adds_nothing_and_names_the_rows(self, api: Api) -> None:
        """An import sent again is 201 with nothing added and the ids listed as unchanged;
        a semicolon CSV with a BOM and Windows line endings imports like any other."""
        status, body, _ = await api.call("POST", "/content/import", json=[ITEM])
        assert status == 201 and body["imported"] == 1 and body["unchanged"] == []
        status, body, _ = await api.call("POST", "/content/import", json=[ITEM])
        assert status == 201 and (body["imported"], body["unchanged"]) == (0, ["w1"])
        csv = "\ufeffid;caption;tags\r\nw2;Cosy;Winter\r\n".encode()
        status, body, _ = await api.call(
            "POST", "/content/import", data=csv, headers={"Content-Type": "text/csv"}
        )
        assert status == 201 and body["items"][0]["tags"] == ["winter"]
        assert await stored(api) == ["w1", "w2"]
        assert len(await library_events(api)) == 2


class TestContentMediaOverHttp:
    async def test_unusable_media_is_a_422_naming_the_reference(self, api: Api) -> None:
        """An add whose media cannot be stored (unreachable URL, unknown id) is refused
        naming `media.<index>`; nothing is added."""
        for media, field, text in [
            (
                ["http://127.0.0.1:9/clip.mp4"],
                "media.0",
                "media clip.mp4: URL resolves to a loopback address 127.0.0.1",
            ),
            (["https://127.0.0.1:9/a.jpg", "m-0000"], "media.0", "media a.jpg"),
            (["m-0000"], "media.0", "'m-0000'"),
        ]:
            item = {"id": "m1", "caption": "With media", "media": media}
            status, problem, _ = await api.call("POST", "/content", json=item)
            assert status == 422 and problem["field"] == field and text in problem["detail"]
        assert await stored(api) == []


class TestDistributionsFromTheLibrary:
    async def test_content_id_queue_and_tag(self, api: Api) -> None:
        """A create names library items as the CLI and Slack do; the stored request carries
        the items themselves, and the plan posts each item."""
        await add_items(api, ITEM, {"id": "w2", "caption": "Cosy evenings", "tags": ["winter"]})
        window = {k: v for k, v in REQUEST.items() if k != "content"} | {"content": "w2"}
        status, created, _ = await api.call("POST", "/distributions", json=window)
        assert status == 201, created
        assert created["request"]["content"]["caption"] == "Cosy evenings"
        assert created["request"]["content_ref"] is None
        calendar = {k: v for k, v in REQUEST.items() if k not in {"content", "spread_hours"}}
        calendar |= {"mode": "calendar", "days": 2}
        for naming in ({"queue": ["w2", "w1"]}, {"queue": "w1,w2"}, {"queue_tag": "winter"}):
            status, created, _ = await api.call("POST", "/distributions", json=calendar | naming)
            assert status == 201, created
            assert sorted(q["id"] for q in created["request"]["queue"]) == ["w1", "w2"]
        status, plan, _ = await api.call("POST", f"/distributions/{created['id']}/plan")
        assert status == 200 and {s["content_id"] for s in plan["slots"]} == {"w1", "w2"}
        assert [i["content_id"] for i in plan["items"]] == ["w1", "w2"]

    async def test_simulate_answers_per_item_figures_as_the_plan_does(self, api: Api) -> None:
        """The simulate answer carries `items` with exactly the plan answer's per-item
        accounts and days (and the stored simulation too)."""
        await add_items(api, ITEM, {"id": "w2", "caption": "Cosy evenings", "tags": ["winter"]})
        calendar = {k: v for k, v in REQUEST.items() if k not in {"content", "spread_hours"}}
        calendar |= {"mode": "calendar", "days": 2, "queue_tag": "winter"}
        status, created, _ = await api.call("POST", "/distributions", json=calendar)
        assert status == 201, created
        _, plan, _ = await api.call("POST", f"/distributions/{created['id']}/plan")
        status, report, _ = await api.call("POST", f"/distributions/{created['id']}/simulate")
        assert status == 200 and report["items"] == plan["items"]
        assert sum(i["slots"] for i in report["items"]) == report["total_slots"] > 0
        assert all(i["accounts"] and i["days"] for i in report["items"])
        _, stored, _ = await api.call("GET", f"/distributions/{created['id']}")
        assert stored["simulation"]["items"] == plan["items"]

    async def test_unknown_and_archived_items_are_named(self, api: Api) -> None:
        """Unknown or archived ids are a 422 naming the field and the ids; nothing created."""
        await add_items(api, ITEM)
        await api.call("POST", "/content/w1/archive")
        calendar = {k: v for k, v in REQUEST.items() if k != "content"} | {"mode": "calendar"}
        status, problem, _ = await api.call(
            "POST", "/distributions", json=calendar | {"queue": ["w1", "zz"]}
        )
        assert status == 422 and problem["field"] == "queue"
        assert problem["detail"] == (
            "queue: no library item 'zz'; library item 'w1' is archived (never posted again)"
        )
        window = {k: v for k, v in REQUEST.items() if k != "content"} | {"content": "zz"}
        status, problem, _ = await api.call("POST", "/distributions", json=window)
        assert status == 422 and problem["field"] == "content"
        assert await api.service.list() == []
