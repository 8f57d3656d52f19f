"""docs/api.md's curl examples, run in the order a newcomer pastes them, over real HTTP
against a migrated SQLite file: each one answers 2xx (the SSE one is opened and closed)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from tests.api.conftest import Api
from tests.media_samples import make_video

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "api.md").read_text()
PLACEHOLDER = "d-7f3a2c9e"  # the id the docs' create answers; the test uses the real one
MEDIA_PLACEHOLDER = "m-6f1e…"  # the id the docs' upload answers


def doc_curls() -> list[list[str]]:
    """Every `curl` command in the doc's bash blocks, continuation lines joined, split as
    the shell would (variables left in place)."""
    commands: list[list[str]] = []
    for block in re.findall(r"```bash\n(.*?)```", DOC, re.S):
        pending = ""  # a command whose quoted body runs over several lines
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if not (pending or line.startswith("curl ")):
                continue
            pending += line + "\n"
            try:
                commands.append(shlex.split(pending, comments=True))
            except ValueError:  # a quote still open
                continue
            pending = ""
    return commands


def _request(argv: list[str], api: Api, tmp: Path) -> dict[str, Any]:
    """One curl argv as aiohttp's method, url, headers and data (`@file` from the checkout,
    else from `tmp`); the doc's $TOKEN/$APPROVER_TOKEN become the test's tokens."""
    method, url, headers, data = "GET", "", {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data-binary"):
            value = next(args)
            data = value.encode()
            if value.startswith("@"):
                source = ROOT / value[1:]
                data = (source if source.exists() else tmp / value[1:]).read_bytes()
            if method == "GET":
                method = "POST"  # as curl does with a body
        elif not arg.startswith("-"):
            url = arg
    who = "approver" if "$APPROVER_TOKEN" in headers.get("Authorization", "") else "operator"
    headers["Authorization"] = api.auth(who)["Authorization"]
    url = url.replace("$HERALD", f"{api.url}/api/v1")
    return {"method": method, "url": url, "headers": headers, "data": data}


class TestDocExamples:
    async def test_every_curl_example_works_as_pasted(self, api: Api, tmp_path: Path) -> None:
        """The seed flow (create from examples/request.json, plan, simulate, rehearse,
        approve by another user, status, events), the content library and the media upload
        examples, in the doc's order: none is refused (an archive before its use was, once)."""
        (tmp_path / "items.csv").write_text(
            "id,caption,tags\nw2,Cosy evenings,winter\nw3,Coat weather,winter\n"
        )
        make_video(tmp_path / "launch.mp4")
        commands = doc_curls()
        assert len(commands) >= 12, commands
        created: str | None = None
        uploaded: str | None = None
        for argv in commands:
            call = _request(argv, api, tmp_path)
            if created is not None:
                call["url"] = call["url"].replace(PLACEHOLDER, created)
            if uploaded is not None:
                call["url"] = call["url"].replace(MEDIA_PLACEHOLDER, uploaded)
            async with api.session.request(
                call["method"], call["url"], data=call["data"], headers=call["headers"]
            ) as resp:
                if "-N" in argv:  # the SSE stream: it opens; reading it is test_sse's
                    assert resp.status == 200
                    assert resp.headers["Content-Type"].startswith("text/event-stream")
                    continue
                body: Any = await resp.json(content_type=None)
                assert 200 <= resp.status < 300, (" ".join(argv)[:160], body)
            if created is None and call["url"].endswith("/distributions"):
                created = body["id"]
            if uploaded is None and "/media?" in call["url"]:
                uploaded = body["id"]
