"""Fusion of distribution suggestions from several models by confidence-weighted agreement.

Each model answers a `SuggestionAnswer`; `fuse` turns the validated answers into one
`FusedSuggestions` where every item carries its confidence and its provenance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from engine.errors import LLMInvalidAnswer

# A peak hour is kept when the weighted support of the models that spoke about its
# platform reaches this share; a risk note needs less, because a warning is cheap to read.
PEAK_AGREEMENT = 0.5
NOTE_AGREEMENT = 0.25
NOTE_SIMILARITY = 0.5

_FORBIDDEN_IN_NOTES = re.compile(r"https?://|www\.|@\w|<[!@#]|\bjavascript:", re.IGNORECASE)


def _safe_note(text: str) -> str:
    text = " ".join(text.split())
    if _FORBIDDEN_IN_NOTES.search(text):
        raise ValueError("risk notes may not contain links, mentions or Slack markup")
    return text


Note = Annotated[str, Field(min_length=3, max_length=200), AfterValidator(_safe_note)]
Hour = Annotated[int, Field(ge=0, le=23)]


class PlatformAdvice(BaseModel):
    """One model's advice for one platform."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, max_length=40)
    peak_hours: list[Hour] = Field(max_length=12, description="recommended local peak hours")
    confidence: float = Field(ge=0, le=1)
    risk_notes: list[Note] = Field(default_factory=list, max_length=3)


class SuggestionAnswer(BaseModel):
    """What one model answers when asked for distribution suggestions."""

    model_config = ConfigDict(extra="forbid")

    platform_order: list[str] = Field(min_length=1, max_length=20)
    order_confidence: float = Field(ge=0, le=1)
    platforms: list[PlatformAdvice] = Field(max_length=20)


def check_answer(answer: SuggestionAnswer, platforms: Sequence[str]) -> None:
    """Reject an answer that talks about other platforms than asked, or repeats itself.

    Raises LLMInvalidAnswer; the gateway then discards the whole answer.
    """
    wanted = set(platforms)
    order = [p.lower() for p in answer.platform_order]
    if sorted(order) != sorted(wanted):
        raise LLMInvalidAnswer(f"platform_order {order} is not an ordering of {sorted(wanted)}")
    seen: set[str] = set()
    for advice in answer.platforms:
        name = advice.platform.lower()
        if name not in wanted:
            raise LLMInvalidAnswer(f"advice for {name!r}, which was not asked about")
        if name in seen:
            raise LLMInvalidAnswer(f"two pieces of advice for {name!r}")
        seen.add(name)
        if len(set(advice.peak_hours)) != len(advice.peak_hours):
            raise LLMInvalidAnswer(f"{name}: repeated peak hours {advice.peak_hours}")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who stands behind a fused item: the model that carried it most strongly, the other
    models that said the same, and those that answered on the subject but did not."""

    proposed_by: str
    agreed_by: tuple[str, ...] = ()
    dissented: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[str, ...]:
        return (self.proposed_by, *self.agreed_by)

    def describe(self) -> str:
        text = f"proposed by {self.proposed_by}"
        if self.agreed_by:
            text += f", agreed by {', '.join(self.agreed_by)}"
        if self.dissented:
            text += f"; not {', '.join(self.dissented)}"
        return text


@dataclass(frozen=True, slots=True)
class PeakAdjustment:
    """A change to a platform's default peak hours: `add` or `remove` local `hour`."""

    platform: str
    hour: int
    action: str
    confidence: float
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class RiskNote:
    platform: str
    text: str
    confidence: float
    provenance: Provenance


@dataclass(frozen=True)
class FusedSuggestions:
    """The fused advice for one distribution, ready for the plan card.

    `source` is `fusion` (models answered) or `builtin` (the deterministic advisor);
    `fallback_reason` says why the built-in advisor was used.
    """

    platform_order: list[str]
    order_confidence: float
    order_provenance: Provenance
    peak_hours: dict[str, tuple[int, ...]]
    peak_adjustments: list[PeakAdjustment]
    risk_notes: list[RiskNote]
    source: str = "fusion"
    models_answered: tuple[str, ...] = ()
    models_failed: tuple[str, ...] = ()
    invalid_answers: int = 0
    fallback_reason: str | None = None
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (tuples become lists)."""
        data = asdict(self)
        data["peak_hours"] = {k: list(v) for k, v in self.peak_hours.items()}
        return data

    def lines(self, limit: int = 8) -> list[str]:
        """Short human lines for a plan card, most important first."""
        out = [
            f"Platform order: {' > '.join(self.platform_order)} "
            f"({self.order_confidence:.0%}, {self.order_provenance.describe()})"
        ]
        for adj in self.peak_adjustments:
            sign = "+" if adj.action == "add" else "-"
            out.append(
                f"{adj.platform} peak {sign}{adj.hour:02d}:00 ({adj.confidence:.0%}, "
                f"{adj.provenance.describe()})"
            )
        out.extend(
            f"Risk {n.platform}: {n.text} ({n.confidence:.0%}, {n.provenance.describe()})"
            for n in self.risk_notes
        )
        if self.source == "builtin" and self.fallback_reason:
            out.append(f"Built-in advisor: {self.fallback_reason}")
        return out[:limit]


@dataclass(frozen=True, slots=True)
class WeightedAnswer:
    """A validated answer with its model's name and weight (the gateway's ModelAnswer fits)."""

    model: str
    weight: float
    value: SuggestionAnswer


def fuse(
    answers: Sequence[WeightedAnswer] | Sequence[Any],
    platforms: Sequence[str],
    default_peaks: Mapping[str, Sequence[int]],
) -> FusedSuggestions:
    """Fuse validated answers (each with `.model`, `.weight`, `.value`) into one suggestion.

    - platform order: weighted Borda count, each vote weighted by model weight x the
      model's own `order_confidence`; confidence is the weighted Kendall agreement of the
      answers with the fused order;
    - peak hours: an hour is kept when its support (weight x confidence of the models
      proposing it / weight of all models that advised on the platform) reaches 0.5;
      adjustments are the differences from `default_peaks`;
    - risk notes: similar notes (word overlap) are merged; kept from 0.25 support.

    Raises ValueError when `answers` is empty.
    """
    if not answers:
        raise ValueError("nothing to fuse")
    platforms = [p.lower() for p in platforms]
    order, order_conf, order_prov = _fuse_order(answers, platforms)
    peaks: dict[str, tuple[int, ...]] = {}
    adjustments: list[PeakAdjustment] = []
    notes: list[RiskNote] = []
    for platform in platforms:
        advising = [(a, adv) for a in answers if (adv := _advice(a.value, platform)) is not None]
        default = tuple(sorted(default_peaks.get(platform, ())))
        if not advising:
            peaks[platform] = default
            continue
        fused, adj = _fuse_peaks(platform, advising, default)
        peaks[platform] = fused
        adjustments.extend(adj)
        notes.extend(_fuse_notes(platform, advising))
    notes.sort(key=lambda n: (-n.confidence, n.platform))
    return FusedSuggestions(
        platform_order=order,
        order_confidence=order_conf,
        order_provenance=order_prov,
        peak_hours=peaks,
        peak_adjustments=adjustments,
        risk_notes=notes,
        models_answered=tuple(a.model for a in answers),
    )


def _advice(answer: SuggestionAnswer, platform: str) -> PlatformAdvice | None:
    return next((p for p in answer.platforms if p.platform.lower() == platform), None)


def _fuse_order(
    answers: Sequence[Any], platforms: list[str]
) -> tuple[list[str], float, Provenance]:
    n = len(platforms)
    points = dict.fromkeys(platforms, 0.0)
    orders: list[tuple[Any, list[str], float]] = []
    for a in answers:
        ranked = [p.lower() for p in a.value.platform_order if p.lower() in points]
        ranked += [p for p in platforms if p not in ranked]
        strength = a.weight * a.value.order_confidence
        orders.append((a, ranked, strength))
        for rank, p in enumerate(ranked):
            points[p] += strength * (n - rank)
    fused = sorted(platforms, key=lambda p: (-points[p], platforms.index(p)))
    total = sum(a.weight for a in answers) or 1.0
    confidence = sum(s * _kendall(r, fused) for _, r, s in orders) / total
    same = sorted(((a, s) for a, r, s in orders if r == fused), key=lambda x: -x[1])
    if same:
        proposer = same[0][0].model
        agreed = tuple(a.model for a, _ in same[1:])
    else:  # nobody gave exactly this order: credit the closest answer
        best = max(orders, key=lambda o: (_kendall(o[1], fused), o[2]))
        proposer, agreed = best[0].model, ()
    dissent = tuple(a.model for a, r, _ in orders if r != fused and a.model != proposer)
    return fused, round(min(1.0, confidence), 3), Provenance(proposer, agreed, dissent)


def _kendall(order: list[str], reference: list[str]) -> float:
    """Share of platform pairs that `order` puts in the same relative order as `reference`."""
    pos = {p: i for i, p in enumerate(order)}
    pairs = concordant = 0
    for i, a in enumerate(reference):
        for b in reference[i + 1 :]:
            pairs += 1
            concordant += pos[a] < pos[b]
    return concordant / pairs if pairs else 1.0


def _fuse_peaks(
    platform: str, advising: list[tuple[Any, PlatformAdvice]], default: tuple[int, ...]
) -> tuple[tuple[int, ...], list[PeakAdjustment]]:
    total = sum(a.weight for a, _ in advising) or 1.0
    hours = sorted({h for _, adv in advising for h in adv.peak_hours} | set(default))
    support = {
        h: sum(a.weight * adv.confidence for a, adv in advising if h in adv.peak_hours) / total
        for h in hours
    }
    fused = tuple(h for h in hours if support[h] >= PEAK_AGREEMENT) or default
    adjustments = []
    for h in hours:
        proposing = [(a, adv) for a, adv in advising if h in adv.peak_hours]
        others = [(a, adv) for a, adv in advising if h not in adv.peak_hours]
        if h in fused and h not in default:
            adjustments.append(
                PeakAdjustment(platform, h, "add", round(support[h], 3), _prov(proposing, others))
            )
        elif h not in fused and h in default and others:
            against = sum(a.weight * adv.confidence for a, adv in others) / total
            if against >= PEAK_AGREEMENT:
                adjustments.append(
                    PeakAdjustment(
                        platform, h, "remove", round(against, 3), _prov(others, proposing)
                    )
                )
    return tuple(sorted(fused)), adjustments


def _prov(
    backing: list[tuple[Any, PlatformAdvice]], against: list[tuple[Any, PlatformAdvice]]
) -> Provenance:
    ranked = sorted(backing, key=lambda x: -x[0].weight * x[1].confidence)
    return Provenance(
        ranked[0][0].model,
        tuple(a.model for a, _ in ranked[1:]),
        tuple(a.model for a, _ in against),
    )


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / len(wa | wb) >= NOTE_SIMILARITY


def _fuse_notes(platform: str, advising: list[tuple[Any, PlatformAdvice]]) -> list[RiskNote]:
    total = sum(a.weight for a, _ in advising) or 1.0
    clusters: list[list[tuple[Any, PlatformAdvice, str]]] = []
    for a, adv in advising:
        for text in adv.risk_notes:
            for cluster in clusters:
                if _similar(cluster[0][2], text):
                    if all(m[0].model != a.model for m in cluster):
                        cluster.append((a, adv, text))
                    break
            else:
                clusters.append([(a, adv, text)])
    notes = []
    for cluster in clusters:
        support = sum(a.weight * adv.confidence for a, adv, _ in cluster) / total
        if support < NOTE_AGREEMENT:
            continue
        backing = [(a, adv) for a, adv, _ in cluster]
        members = {a.model for a, _ in backing}
        prov = _prov(backing, [(a, adv) for a, adv in advising if a.model not in members])
        text = next(t for a, _, t in cluster if a.model == prov.proposed_by)
        notes.append(RiskNote(platform, text, round(support, 3), prov))
    return notes
