"""/api/v1/media over real HTTP: uploads streamed into HERALD_MEDIA_DIR, their facts and
per-platform verdicts, the size cap, non-media bodies, scopes and the audit log."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from engine.models import SYSTEM
from tests.api.conftest import Api, FakeSlack, make_tokens, start_api, stop_api
from tests.bot.conftest import ACCOUNTS_CSV
from tests.media_samples import make_image, make_video


@pytest.fixture
async def media_api(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """The API with its media store in tmp_path and a 2 MB cap."""
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(url)
    running = await start_api(
        fake, url, HERALD_MEDIA_DIR=str(tmp_path / "media"), HERALD_MEDIA_MAX_MB="2"
    )
    await running.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(running)
    yield running
    await stop_api(running)


async def uploads(api: Api) -> list[dict[str, object]]:
    events = await api.service.history(limit=100)
    return [e.data for e in events if e.kind == "media.uploaded"]


class TestMediaUpload:
    async def test_upload_answers_facts_and_verdicts(self, media_api: Api, tmp_path: Path) -> None:
        """A video posted as the raw body is stored under HERALD_MEDIA_DIR and answered with
        its probed facts and each platform's verdict; GET shows the same; one audit event
        names the user and token."""
        clip = make_video(tmp_path / "clip.mp4", width=72, height=128, seconds=2.0)
        status, body, _ = await media_api.call(
            "POST",
            "/media?filename=clip.mp4",
            data=clip.read_bytes(),
            headers={"Content-Type": "video/mp4"},
        )
        assert status == 201, body
        assert body["id"].startswith("m-") and body["kind"] == "video"
        assert body["filename"] == "clip.mp4" and body["size_bytes"] == clip.stat().st_size
        assert (body["width"], body["height"]) == (72, 128) and body["codec"]
        assert 1.5 < body["duration_s"] < 2.5 and len(body["sha256"]) == 64
        verdicts = {(v["platform"], v["content_type"]): v for v in body["platforms"]}
        assert verdicts[("tiktok", "video")]["takes"] is True
        assert list((tmp_path / "media").rglob(body["sha256"]))
        status, shown, _ = await media_api.call("GET", f"/media/{body['id']}", who="reader")
        assert status == 200 and shown == body
        (event,) = await uploads(media_api)
        assert (
            event["media"] == body["id"]
            and event["via"] == media_api.tokens["operator"].split("_")[1]
        )

    async def test_streamed_body_and_content_disposition(
        self, media_api: Api, tmp_path: Path
    ) -> None:
        """A chunked body (no Content-Length) named by Content-Disposition is stored; an image
        gets image verdicts (a text-only platform rule refuses nothing it does not check)."""
        photo = make_image(tmp_path / "p.png", width=400, height=400, fmt="PNG")

        async def parts() -> AsyncIterator[bytes]:
            data = photo.read_bytes()
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        status, body, _ = await media_api.call(
            "POST",
            "/media",
            data=parts(),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": 'attachment; filename="../../square.png"',
            },
        )
        assert status == 201, body
        assert body["kind"] == "image" and body["mime_type"] == "image/png"
        assert body["filename"] == "square.png"
        linkedin = [v for v in body["platforms"] if v["platform"] == "linkedin"]
        assert linkedin and all(v["takes"] for v in linkedin)

    async def test_a_file_over_the_json_body_limit_streams_in(
        self, media_api: Api, tmp_path: Path
    ) -> None:
        """A 1.5 MB file (past the 1 MiB limit of JSON bodies, which are read whole) is
        streamed into the store and its bytes are exactly what was sent."""
        noise = Image.frombytes("RGB", (720, 720), os.urandom(720 * 720 * 3))
        noise.save(tmp_path / "noise.png", "PNG")
        data = (tmp_path / "noise.png").read_bytes()
        assert len(data) > 1024 * 1024
        status, body, _ = await media_api.call(
            "POST", "/media?filename=noise.png", data=data, headers={"Content-Type": "image/png"}
        )
        assert status == 201, body
        assert body["size_bytes"] == len(data)
        assert body["sha256"] == hashlib.sha256(data).hexdigest()

    async def test_over_the_cap_is_413_and_nothing_is_kept(
        self, media_api: Api, tmp_path: Path
    ) -> None:
        """A body over HERALD_MEDIA_MAX_MB is a 413 problem, by Content-Length or while
        streaming, and leaves no file and no event."""
        big = b"\0" * (2 * 1024 * 1024 + 10)
        status, body, _ = await media_api.call(
            "POST", "/media", data=big, headers={"Content-Type": "video/mp4"}
        )
        assert status == 413 and body["field"] == "body" and "2 MB size cap" in body["detail"]

        async def parts() -> AsyncIterator[bytes]:
            for i in range(0, len(big), 64 * 1024):
                yield big[i : i + 64 * 1024]

        status, body, _ = await media_api.call(
            "POST", "/media", data=parts(), headers={"Content-Type": "video/mp4"}
        )
        assert status == 413 and "size cap" in body["detail"]
        assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
        assert await uploads(media_api) == []

    async def test_not_media_is_422_naming_the_problem(self, media_api: Api) -> None:
        """Bytes that are no image or video (whatever their name) and an empty body are 422
        problems naming the file; a non-media Content-Type is 415."""
        status, body, _ = await media_api.call(
            "POST",
            "/media?filename=notes.jpg",
            data=b"just some text, not a picture",
            headers={"Content-Type": "image/jpeg"},
        )
        assert status == 422 and body["field"] == "body"
        assert "notes.jpg" in body["detail"]
        status, body, _ = await media_api.call(
            "POST", "/media?filename=e.mp4", data=b"", headers={"Content-Type": "video/mp4"}
        )
        assert status == 422 and "empty" in body["detail"]
        status, body, _ = await media_api.call(
            "POST", "/media", data=b"a,b\n", headers={"Content-Type": "text/csv"}
        )
        assert status == 415 and body["field"] == "Content-Type"
        assert await uploads(media_api) == []

    async def test_scopes_and_unknown_ids(self, media_api: Api, tmp_path: Path) -> None:
        """Uploading needs the operate scope (a read token is 403); an unknown id is 404;
        the uploaded id is usable in a library item's media."""
        photo = make_image(tmp_path / "p.jpg", width=800, height=1000).read_bytes()
        status, body, _ = await media_api.call(
            "POST", "/media", who="reader", data=photo, headers={"Content-Type": "image/jpeg"}
        )
        assert status == 403 and "operate" in body["detail"]
        status, body, _ = await media_api.call("GET", "/media/m-0000", who="reader")
        assert status == 404 and body["status"] == 404
        status, body, _ = await media_api.call(
            "POST", "/media", data=photo, headers={"Content-Type": "image/jpeg"}
        )
        assert status == 201 and body["filename"] == "upload.jpg"
        item = {"id": "i1", "caption": "A photo", "media": [body["id"]]}
        status, added, _ = await media_api.call("POST", "/content", json=item)
        assert status == 201 and added["media"] == [body["id"]]
