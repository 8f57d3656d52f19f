"""Plan-time media checks: what each platform would reject, and why, before approval."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.media import MediaAsset, MediaKind
from engine.media_check import AccountLimits, check_media, media_issues, private_only_notes
from engine.models import PlanResult, SafetyMode
from engine.platforms import DEFAULT_PLATFORMS as T
from engine.platforms import daily_cap
from engine.simulation import ABORT


def video(
    seconds: float = 30, w: int = 1080, h: int = 1920, size: int = 50 << 20, **kw: str
) -> MediaAsset:
    mime = kw.get("mime", "video/mp4")
    return MediaAsset(
        "m-v", MediaKind.VIDEO, mime, size, "0" * 64, "clip.mp4", w, h, seconds, "h264"
    )


def image(
    w: int = 1080, h: int = 1080, mime: str = "image/jpeg", size: int = 1 << 20
) -> MediaAsset:
    return MediaAsset("m-i", MediaKind.IMAGE, mime, size, "1" * 64, "pic.jpg", w, h)


@dataclass(frozen=True)
class S:
    account_id: str
    platform: str
    content_type: str = "video"


class TestRules:
    def test_good_vertical_video_passes_everywhere_it_fits(self) -> None:
        """A 30 s 9:16 mp4 of 50 MB suits TikTok, YouTube, Instagram reels, X and LinkedIn."""
        for platform, ctype in [
            ("tiktok", "video"),
            ("youtube", "video"),
            ("instagram", "reel"),
            ("twitter", "post"),
            ("linkedin", "video"),
        ]:
            assert check_media(T[platform], ctype, [video()]) == [], platform

    def test_reel_too_big_and_too_long(self) -> None:
        """Instagram reels: 300 MB and 15 minutes, each reason named."""
        problems = check_media(T["instagram"], "reel", [video(seconds=1000, size=400 << 20)])
        assert any("400 MB is over instagram's 300 MB" in p for p in problems)
        assert any("16m40s long, over instagram's 15m limit" in p for p in problems)

    def test_instagram_images_jpeg_only_and_aspect(self) -> None:
        """Instagram feed images are JPEG only, between 4:5 and 1.91:1."""
        [problem] = check_media(T["instagram"], "post", [image(mime="image/png")])
        assert "image/png is not taken by instagram (takes jpeg)" in problem
        [problem] = check_media(T["instagram"], "post", [image(w=1000, h=2000)])
        assert "aspect ratio 1000x2000 (0.50) is outside instagram's 0.80-1.91" in problem

    def test_image_counts(self) -> None:
        """X takes 4 images, Instagram carousels 10; a video never travels with others."""
        assert check_media(T["twitter"], "post", [image()] * 4) == []
        [problem] = check_media(T["twitter"], "post", [image()] * 5)
        assert "at most 4 images, got 5" in problem
        [problem] = check_media(T["instagram"], "post", [video(), image()])
        assert "a video is posted alone" in problem

    def test_linkedin_multi_image_limit(self) -> None:
        """LinkedIn posts up to 20 images (MultiImage API) and says so at plan time past it."""
        assert check_media(T["linkedin"], "post", [image()] * 20) == []
        [problem] = check_media(T["linkedin"], "post", [image()] * 21)
        assert "linkedin takes at most 20 images, got 21" in problem

    def test_wrong_kind_and_missing_media(self) -> None:
        """YouTube takes no image; TikTok takes nothing without a video; X text is fine."""
        [problem] = check_media(T["youtube"], "video", [image()])
        assert problem == "youtube video takes video, not image"
        [problem] = check_media(T["tiktok"], "video", [])
        assert "needs a video file" in problem
        assert check_media(T["twitter"], "post", []) == []

    def test_stricter_account_limit_wins(self) -> None:
        """TikTok's creator_info limit for one account (60 s) is stricter than the table."""
        limits = AccountLimits(max_video_duration_s=60)
        [problem] = check_media(T["tiktok"], "video", [video(seconds=90)], limits=limits)
        assert "over this account's 1m limit" in problem
        assert check_media(T["tiktok"], "video", [video(seconds=90)]) == []

    def test_daily_cap_stricter_wins(self) -> None:
        """The daily cap is the least of the seed table's, the API's and the account's live one."""
        assert daily_cap(T["instagram"]) == 4
        assert daily_cap(T["instagram"], 2) == 2
        assert T["instagram"].api_max_posts_per_day == 25


class TestPlanIssues:
    def test_issues_group_slots_with_repurposed_type(self) -> None:
        """A video goes to Instagram as a reel: the reel rules flag those slots, by index."""
        slots = [S("a", "instagram"), S("b", "tiktok"), S("c", "instagram")]
        issues = media_issues(slots, [video(seconds=2)], T)
        assert len(issues) == 1
        issue = issues[0]
        assert (issue.platform, issue.content_type, issue.slots) == ("instagram", "reel", (0, 2))
        assert issue.text().startswith("media rejected by instagram reel, 2 slots: clip.mp4: 2s")

    def test_per_account_issue_names_the_account(self) -> None:
        """An issue from one account's live limit names that account."""
        slots = [S("a", "tiktok"), S("b", "tiktok")]
        issues = media_issues(
            slots, [video(seconds=120)], T, limits={"b": AccountLimits(max_video_duration_s=60)}
        )
        assert [(i.account_id, i.slots) for i in issues] == [("b", (1,))]

    def test_with_media_checks_puts_reasons_first(self) -> None:
        """The reasons lead the plan's warnings (the card shows the first few)."""
        from engine.media_check import with_media_checks

        result = PlanResult(slots=[], warnings=["older"])
        assert with_media_checks(result, [video()], T).warnings == ["older"]

    def test_private_only_note(self) -> None:
        """An unaudited TikTok client: the plan says its posts will be private."""
        table = T.with_overrides({"tiktok": {"private_only": True}})
        slots = [S("a", "tiktok"), S("b", "tiktok"), S("c", "youtube")]
        [note] = private_only_notes(slots, table, own_api={"a", "b", "c"})
        assert note.startswith("tiktok: 2 posts will be PRIVATE")

    def test_private_only_note_counts_only_accounts_on_the_platforms_own_client(self) -> None:
        """Simulated, webhook or other publishers post no private posts: no note for them."""
        from engine.media_check import own_api_accounts
        from engine.models import Account

        table = T.with_overrides({p: {"private_only": True} for p in ("tiktok", "youtube")})
        accounts = [
            Account("a", "tiktok", "@a", "UTC", publisher="tiktok"),
            Account("b", "tiktok", "@b", "UTC"),
            Account("c", "youtube", "@c", "UTC", publisher="postiz"),
            Account("d", "youtube", "@d", "UTC", publisher=" YouTube "),
        ]
        own = own_api_accounts(accounts)
        assert own == {"a", "d"}
        slots = [S("a", "tiktok"), S("b", "tiktok"), S("c", "youtube"), S("d", "youtube")]
        notes = private_only_notes(slots, table, own_api=own)
        assert [n.split(" will")[0] for n in notes] == ["tiktok: 1 post", "youtube: 1 post"]
        assert private_only_notes(slots[1:3], table, own_api=own) == []

    def test_simulation_aborts_on_media_problems(self) -> None:
        """simulate() recommends ABORT with the media reasons first."""
        from datetime import UTC, datetime

        from engine.request import parse_request
        from engine.simulation import simulate

        request = parse_request(
            {
                "content": {"id": "c", "caption": "x"},
                "platforms": ["tiktok"],
                "start": datetime(2026, 12, 1, tzinfo=UTC),
            }
        )
        report = simulate(
            [], [], request=request, mode=SafetyMode.SEMI_AUTONOMOUS, media_problems=["bad"]
        )
        assert report.recommended_action == ABORT and report.reasons[0] == "bad"


@pytest.mark.parametrize("ref", ["", " "])
def test_blank_media_reference_is_refused(ref: str) -> None:
    """content.media refuses blank references with a message naming the field."""
    from engine.errors import InvalidRequest
    from engine.request import parse_request

    with pytest.raises(InvalidRequest, match=r"content\.media"):
        parse_request(
            {
                "content": {"id": "c", "caption": "x", "media": [ref]},
                "platforms": ["tiktok"],
                "start": "2026-12-01T10:00Z",
            }
        )
