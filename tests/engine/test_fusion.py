"""Confidence-weighted fusion of model suggestions, with provenance."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engine.errors import LLMInvalidAnswer
from engine.fusion import SuggestionAnswer, WeightedAnswer, check_answer, fuse

PLATFORMS = ["tiktok", "instagram", "youtube"]
DEFAULTS = {"tiktok": (10, 14, 18, 20), "instagram": (9, 12, 17, 21), "youtube": (12, 18)}


def answer(
    order: list[str],
    *,
    conf: float = 0.8,
    peaks: dict[str, list[int]] | None = None,
    notes: dict[str, list[str]] | None = None,
) -> SuggestionAnswer:
    peaks = peaks or {p: list(DEFAULTS[p]) for p in PLATFORMS}
    notes = notes or {}
    data: dict[str, Any] = {
        "platform_order": order,
        "order_confidence": conf,
        "platforms": [
            {"platform": p, "peak_hours": h, "confidence": conf, "risk_notes": notes.get(p, [])}
            for p, h in peaks.items()
        ],
    }
    return SuggestionAnswer.model_validate(data)


def wa(model: str, value: SuggestionAnswer, weight: float = 1.0) -> WeightedAnswer:
    return WeightedAnswer(model, weight, value)


class TestSchema:
    def test_notes_with_links_are_invalid(self) -> None:
        """A risk note carrying a URL or a mention does not validate."""
        with pytest.raises(ValidationError):
            answer(PLATFORMS, notes={"tiktok": ["see https://evil.example"]})
        with pytest.raises(ValidationError):
            answer(PLATFORMS, notes={"tiktok": ["ask @admin for help"]})

    def test_hours_out_of_range_are_invalid(self) -> None:
        """Peak hours must be 0-23."""
        with pytest.raises(ValidationError):
            answer(PLATFORMS, peaks={"tiktok": [25]})


class TestCheckAnswer:
    def test_order_must_cover_the_platforms(self) -> None:
        """An order naming another platform, or missing one, is rejected."""
        with pytest.raises(LLMInvalidAnswer, match="ordering"):
            check_answer(answer(["tiktok", "twitter", "youtube"]), PLATFORMS)

    def test_advice_for_unasked_platform(self) -> None:
        """Advice about a platform nobody asked about is rejected."""
        bad = answer(PLATFORMS, peaks={"tiktok": [10], "linkedin": [8]})
        with pytest.raises(LLMInvalidAnswer, match="linkedin"):
            check_answer(bad, PLATFORMS)

    def test_good_answer_passes(self) -> None:
        """A complete answer passes."""
        check_answer(answer(["youtube", "tiktok", "instagram"]), PLATFORMS)


class TestFuse:
    def test_majority_order_wins_with_provenance(self) -> None:
        """Two of three models agree on an order: it wins, credited to them."""
        a = ["tiktok", "instagram", "youtube"]
        fused = fuse(
            [
                wa("gpt", answer(a, conf=0.9)),
                wa("claude", answer(a, conf=0.7)),
                wa("gemini", answer(["youtube", "instagram", "tiktok"], conf=0.8)),
            ],
            PLATFORMS,
            DEFAULTS,
        )
        assert fused.platform_order == a
        assert fused.order_provenance.proposed_by == "gpt"
        assert fused.order_provenance.agreed_by == ("claude",)
        assert fused.order_provenance.dissented == ("gemini",)
        assert 0.5 < fused.order_confidence < 0.6

    def test_weight_decides_between_two(self) -> None:
        """With two disagreeing models, the heavier one's order wins."""
        fused = fuse(
            [
                wa("small", answer(["youtube", "instagram", "tiktok"]), weight=0.5),
                wa("big", answer(["tiktok", "instagram", "youtube"]), weight=2.0),
            ],
            PLATFORMS,
            DEFAULTS,
        )
        assert fused.platform_order[0] == "tiktok"
        assert fused.order_provenance.proposed_by == "big"

    def test_agreed_peak_added_lone_peak_dropped(self) -> None:
        """An hour most models add becomes an `add` adjustment; one model alone is ignored."""
        base = list(DEFAULTS["tiktok"])
        fused = fuse(
            [
                wa("gpt", answer(PLATFORMS, peaks={"tiktok": [*base, 22]})),
                wa("claude", answer(PLATFORMS, peaks={"tiktok": [*base, 22, 7]})),
                wa("grok", answer(PLATFORMS, peaks={"tiktok": base})),
            ],
            PLATFORMS,
            DEFAULTS,
        )
        assert 22 in fused.peak_hours["tiktok"] and 7 not in fused.peak_hours["tiktok"]
        (adj,) = [a for a in fused.peak_adjustments if a.platform == "tiktok"]
        assert (adj.hour, adj.action) == (22, "add")
        assert adj.confidence == pytest.approx(0.8 * 2 / 3, abs=0.001)
        assert set(adj.provenance.models) == {"gpt", "claude"}
        assert adj.provenance.dissented == ("grok",)

    def test_agreed_removal(self) -> None:
        """A default peak that every model drops becomes a `remove` adjustment."""
        fused = fuse(
            [wa(m, answer(PLATFORMS, peaks={"youtube": [18]})) for m in ("a", "b")],
            PLATFORMS,
            DEFAULTS,
        )
        assert fused.peak_hours["youtube"] == (18,)
        (adj,) = fused.peak_adjustments
        assert (adj.platform, adj.hour, adj.action) == ("youtube", 12, "remove")
        assert fused.peak_hours["tiktok"] == DEFAULTS["tiktok"]  # nobody advised: defaults

    def test_similar_risk_notes_merge(self) -> None:
        """Notes with the same words from two models merge into one, with both as provenance."""
        fused = fuse(
            [
                wa("gpt", answer(PLATFORMS, notes={"tiktok": ["high posting velocity risk"]})),
                wa("claude", answer(PLATFORMS, notes={"tiktok": ["posting velocity risk high"]})),
                wa("gemini", answer(PLATFORMS, notes={"youtube": ["unrelated worry here"]})),
            ],
            PLATFORMS,
            DEFAULTS,
        )
        tiktok = [n for n in fused.risk_notes if n.platform == "tiktok"]
        assert len(tiktok) == 1
        assert set(tiktok[0].provenance.models) == {"gpt", "claude"}
        assert tiktok[0].confidence == pytest.approx(0.8 * 2 / 3, abs=0.001)
        assert any(n.platform == "youtube" for n in fused.risk_notes)

    def test_lines_and_dict(self) -> None:
        """The fused result renders card lines and plain JSON-able data."""
        fused = fuse([wa("gpt", answer(PLATFORMS))], PLATFORMS, DEFAULTS)
        assert fused.lines()[0].startswith("Platform order: tiktok > instagram > youtube")
        assert fused.to_dict()["peak_hours"]["youtube"] == [12, 18]

    def test_nothing_to_fuse(self) -> None:
        """Fusing no answers is a programming error."""
        with pytest.raises(ValueError):
            fuse([], PLATFORMS, DEFAULTS)
