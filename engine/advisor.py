"""The advisor: distribution suggestions, caption variants and translations for a plan.

`Advisor` asks the models through an `LLMGateway` when one is configured and falls back
to the deterministic built-in advisor (no model) when none is, or every provider fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from engine.errors import LLMBudgetExceeded
from engine.fusion import (
    FusedSuggestions,
    PlatformAdvice,
    SuggestionAnswer,
    WeightedAnswer,
    check_answer,
    fuse,
)
from engine.llm_gateway import LLMGateway, make_call
from engine.models import Account
from engine.platform_selection import AccountsSummary, rank_platforms
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Trend
from engine.request import Content, DistributionRequest
from engine.variants import CaptionVariant, LanguageVariant, VariantTarget, VariantWriter

log = logging.getLogger(__name__)

BUILTIN = "builtin"
BUILTIN_CONFIDENCE = 0.6

SUGGEST_INSTRUCTIONS = (
    "You advise on distributing one piece of content across the operator's own social "
    "accounts. For each platform listed in data.platforms give the local peak hours you "
    "recommend (0-23), your confidence (0-1) and up to three short risk notes (plain "
    "text, no links or mentions); give platform_order, the platforms best first, with "
    "order_confidence. Use data.default_peak_hours and data.accounts as evidence."
)


def builtin_suggestions(
    request: DistributionRequest,
    accounts: AccountsSummary,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
) -> SuggestionAnswer:
    """The deterministic advice, in the same shape a model answers.

    Order: `platform_selection`; peaks: the platform's own (its weekend peaks when the
    distribution starts on a weekend); notes: account health, rate limits, suspensions,
    platform risk and content-type conversions.
    """
    ranked = rank_platforms(
        request.content.type, request.platforms, platforms=platforms, accounts=accounts
    )
    weekday = request.start.weekday()
    advice = []
    for score in ranked:
        rules = platforms[score.platform]
        notes: list[str] = []
        summary = accounts.get(score.platform)
        if score.content_type is None:
            notes.append(f"{rules.name} takes no {request.content.type}; it will be skipped")
        elif summary is None or summary.active == 0:
            notes.append("no active account on this platform")
        else:
            if summary.suspended:
                notes.append(f"{summary.suspended} account(s) with suspensions: rotate them out")
            if summary.rate_limited:
                notes.append(f"{summary.rate_limited} account(s) rate limited now")
            if summary.mean_health < 0.7:
                notes.append(f"mean account health is low ({summary.mean_health:.2f})")
        if rules.risk >= 0.3 and len(notes) < 3:
            notes.append(f"platform risk {rules.risk:.2f}: keep gaps wide")
        if score.content_type and score.content_type != request.content.type and len(notes) < 3:
            notes.append(f"posted as {score.content_type}, not {request.content.type}")
        advice.append(
            PlatformAdvice(
                platform=rules.name,
                peak_hours=list(rules.peaks_for(weekday)),
                confidence=BUILTIN_CONFIDENCE,
                risk_notes=notes[:3],
            )
        )
    return SuggestionAnswer(
        platform_order=[s.platform for s in ranked],
        order_confidence=BUILTIN_CONFIDENCE,
        platforms=advice,
    )


class Advisor:
    """One object for everything model-assisted in a plan. Small on purpose:

    - `await suggest(request, accounts)` -> `FusedSuggestions` (order, peaks, risk notes,
      each with confidence and provenance; `.lines()` for a plan card);
    - `await caption_variants(content, targets)` -> one `CaptionVariant` per target;
    - `await translate(content, languages)` -> one `LanguageVariant` per language.

    With `gateway=None` (or no configured model) everything comes from the built-in
    advisor. Model output never changes state: callers show it for a human to approve.
    """

    def __init__(
        self,
        gateway: LLMGateway | None = None,
        *,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
        source_language: str = "en",
        extra_hashtags: Sequence[str] = (),
    ) -> None:
        self.gateway = gateway if gateway is not None and gateway.configured else None
        self.platforms = platforms
        self.writer = VariantWriter(
            self.gateway,
            platforms=platforms,
            source_language=source_language,
            extra_hashtags=extra_hashtags,
        )

    @property
    def mode(self) -> str:
        """`models` when a gateway with models is configured, else `builtin`."""
        return "models" if self.gateway is not None else BUILTIN

    async def suggest(
        self,
        request: DistributionRequest,
        accounts: Sequence[Account] | AccountsSummary,
        *,
        trends: Sequence[Trend] = (),
        plan_id: str = "default",
    ) -> FusedSuggestions:
        """Fused suggestions for `request` over `accounts` (never raises for model trouble:
        it falls back to the built-in advisor and says why in `fallback_reason`)."""
        summary = (
            accounts if isinstance(accounts, AccountsSummary) else AccountsSummary.of(accounts)
        )
        defaults = {p: self.platforms[p].peak_hours for p in request.platforms}
        if self.gateway is None:
            return self._builtin(request, summary, defaults, "no model configured")
        call = make_call(
            SUGGEST_INSTRUCTIONS,
            _suggest_data(request, summary, defaults, trends),
            SuggestionAnswer,
        )
        try:
            result = await self.gateway.ask(
                call,
                SuggestionAnswer,
                plan_id=plan_id,
                check=lambda answer: check_answer(answer, request.platforms),
            )
        except LLMBudgetExceeded as exc:
            return self._builtin(request, summary, defaults, str(exc))
        failed = tuple(f"{r.model} ({r.outcome})" for r in result.records if r.outcome != "ok")
        if not result.answers:
            reason = "every model failed: " + ", ".join(failed)
            fused = self._builtin(request, summary, defaults, reason)
            return replace(
                fused,
                models_failed=failed,
                invalid_answers=result.invalid,
                cost_usd=result.cost_usd,
                elapsed_s=round(result.elapsed_s, 3),
            )
        fused = fuse(
            [WeightedAnswer(a.model, a.weight, a.value) for a in result.answers],
            request.platforms,
            defaults,
        )
        return replace(
            fused,
            models_failed=failed,
            invalid_answers=result.invalid,
            cost_usd=round(result.cost_usd, 6),
            elapsed_s=round(result.elapsed_s, 3),
        )

    def _builtin(
        self,
        request: DistributionRequest,
        summary: AccountsSummary,
        defaults: dict[str, tuple[int, ...]],
        reason: str,
    ) -> FusedSuggestions:
        answer = builtin_suggestions(request, summary, self.platforms)
        fused = fuse([WeightedAnswer(BUILTIN, 1.0, answer)], request.platforms, defaults)
        return replace(fused, source=BUILTIN, fallback_reason=reason)

    async def caption_variants(
        self,
        content: Content,
        targets: Sequence[Account | VariantTarget],
        *,
        plan_id: str = "default",
    ) -> list[CaptionVariant]:
        """One validated caption + hashtags per target account (in its language), pairwise
        distinct; built-in `engine.captions` variants where no model answer validates."""
        wanted = [t if isinstance(t, VariantTarget) else VariantTarget(t) for t in targets]
        return await self.writer.caption_variants(content, wanted, plan_id=plan_id)

    async def translate(
        self, content: Content, languages: Sequence[str], *, plan_id: str = "default"
    ) -> list[LanguageVariant]:
        """The caption in each of `languages`, with an agreement score per translation."""
        return await self.writer.translate(content, languages, plan_id=plan_id)


def _suggest_data(
    request: DistributionRequest,
    summary: AccountsSummary,
    defaults: dict[str, tuple[int, ...]],
    trends: Sequence[Trend],
) -> dict[str, object]:
    return {
        "content": {
            "type": request.content.type,
            "caption": request.content.caption[:1000],
            "hashtags": request.content.hashtags[:30],
        },
        "platforms": request.platforms,
        "languages": request.languages,
        "start_utc": request.start.isoformat(),
        "end_utc": request.end.isoformat(),
        "default_peak_hours": {p: list(h) for p, h in defaults.items()},
        "accounts": {
            name: {
                "total": s.total,
                "active": s.active,
                "rate_limited": s.rate_limited,
                "suspended": s.suspended,
                "mean_health": s.mean_health,
                "timezones": list(s.timezones),
            }
            for name, s in summary.platforms.items()
            if name in request.platforms
        },
        "trends": [
            {
                "platform": t.platform,
                "topic": t.topic[:80],
                "score": t.score,
                "start_hour": t.start_hour,
                "end_hour": t.end_hour,
            }
            for t in list(trends)[:30]
        ],
    }
