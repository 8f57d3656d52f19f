"""Content links through Slack (signed requests through bolt) and the CLI: a link that is not
an absolute http(s) URL is refused naming its field, and what users typed is shown escaped,
so a caption or link cannot turn into a Slack link (`<http://evil|Click>`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.bot.conftest import OPERATOR, Harness
from tests.bot.support import ask, open_content_form, operator_dms, stored_items

ROOT = Path(__file__).resolve().parents[2]
INJECTION = "<http://evil.example|Click>"


class TestSlackLinks:
    @pytest.mark.parametrize("link", ["javascript:alert(1)", "www.example.com", "ftp://x.example"])
    async def test_create_refuses_the_link_naming_content_link(
        self, harness: Harness, link: str
    ) -> None:
        """`/herald create ... link=...` answers one line naming content.link; no draft."""
        h = harness
        await h.driver.command(
            f"create name=bad caption=Hi platforms=tiktok start=+1h link={link}", user=OPERATOR
        )
        await h.settle(until=lambda: "content.link" in h.fake.responses_text())
        assert "is not a web address" in h.fake.responses_text()
        assert await h.service.list() == []

    async def test_content_form_shows_the_refusal_on_the_link_field(self, harness: Harness) -> None:
        """The content-add modal keeps the form open with the error on `link`; nothing added."""
        h = harness
        view_id = await open_content_form(h)
        form = {"id": "x", "caption": "Hi", "link": "data:text/html,hi"}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        errors = reply.json()["errors"]
        assert errors.keys() == {"link"} and "is not a web address" in errors["link"]
        assert await stored_items(h) == []

    async def test_typed_markup_is_shown_escaped(self, harness: Harness) -> None:
        """A caption carrying Slack link markup is shown as text on the item and plan cards."""
        h = harness
        view_id = await open_content_form(h)
        form = {"id": "x", "caption": f"Hi {INJECTION}", "link": "https://example.com/a?b=1&c=2"}
        assert (await h.driver.submit(view_id, form, user=OPERATOR)).text == ""
        await h.settle(until=lambda: "Added `x`" in operator_dms(h))
        shown = await ask(h, "content show x", "example.com")
        assert "&lt;http://evil.example|Click&gt;" in shown and INJECTION not in shown
        assert "https://example.com/a?b=1&amp;c=2" in shown
        await h.import_accounts()
        await h.driver.command(
            f'create name=inj caption="Hi {INJECTION}" platforms=tiktok start=+1h', user=OPERATOR
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        card = json.dumps(h.card().blocks, ensure_ascii=False)
        assert "&lt;http://evil.example|Click&gt;" in card and INJECTION not in card


class TestCliLinks:
    def test_plan_refuses_the_link_with_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`herald plan` names content.link in one line and plans nothing."""
        data = json.loads((ROOT / "examples" / "request.json").read_text())
        data["content"]["link"] = "javascript:alert(1)"
        path = tmp_path / "request.json"
        path.write_text(json.dumps(data))
        accounts = str(ROOT / "examples" / "accounts.csv")
        code = main(["plan", str(path), "--accounts", accounts, "--json"])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert "content.link: 'javascript:alert(1)' is not a web address" in err
        assert err.count("\n") == 1

    def test_import_refuses_the_file_by_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`herald content import` names the CSV line and the link; nothing is imported."""
        monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
        assert main(["db", "upgrade"]) == 0
        path = tmp_path / "items.csv"
        path.write_text("id,caption,link\na,Fine,https://example.com\nb,Bad,www.example.com\n")
        capsys.readouterr()
        assert main(["content", "import", str(path)]) == 2
        err = capsys.readouterr().err
        assert "line 3: link: 'www.example.com' is not a web address" in err
        assert main(["content", "list"]) == 0
        assert "Fine" not in capsys.readouterr().out
