"""Caption, hashtag and language variants through the models, strictly validated.

Model output is checked before use: platform length and hashtag limits, language script,
no links, @mentions or hashtags the source did not have, the same numbers and disclosures,
and variants distinct from each other. Anything else falls back to `engine.captions`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from engine.captions import caption_for, caption_text, render_post, variant_id
from engine.errors import LLMBudgetExceeded, LLMInvalidAnswer
from engine.faithful import faithfulness_problems
from engine.llm_gateway import LLMGateway, ModelAnswer, make_call
from engine.models import Account
from engine.platforms import DEFAULT_PLATFORMS, PlatformRules, PlatformTable
from engine.request import Content

log = logging.getLogger(__name__)

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "yi", "dv", "ku"})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w.])@[\w.]+")
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Words that mark paid or affiliated content; a source with one needs one in every variant.
DISCLOSURES = (
    "#ad",
    "#ads",
    "#sponsored",
    "#partner",
    "#paidpartnership",
    "#affiliate",
    "#anuncio",
    "#publicidad",
    "#patrocinado",
    "#إعلان",
    "sponsored",
    "paid partnership",
    "affiliate",
    "advertisement",
    "publicidad",
    "patrocinado",
    "anuncio",
    "إعلان",
    "ممول",
    "publicité",
    "werbung",
    "anzeige",
)
_STOPWORDS = {
    "en": {"the", "and", "is", "are", "to", "of", "with", "for", "this", "our", "you", "new"},
    "es": {
        "el",
        "la",
        "los",
        "las",
        "y",
        "es",
        "de",
        "con",
        "para",
        "este",
        "esta",
        "nuestro",
        "nuevo",
        "nueva",
        "que",
        "del",
        "en",
        "una",
        "un",
    },
    "fr": {"le", "la", "les", "et", "est", "de", "avec", "pour", "ce", "cette", "notre", "nouveau"},
    "de": {"der", "die", "das", "und", "ist", "mit", "für", "unser", "neue", "neu", "ein", "eine"},
    "pt": {"o", "os", "as", "e", "com", "para", "este", "esta", "nosso", "novo", "nova", "uma"},
}

VARIANTS_INSTRUCTIONS = (
    "You write caption variants for social posts published by the owner of the accounts. "
    "For each requested variant, rewrite the source caption in the target language so that "
    "it keeps exactly the same meaning, the same numbers, links, @mentions and disclosures, "
    "adds no new claims, links, mentions or hashtags, and differs in wording from every "
    "other variant. Choose hashtags only from allowed_hashtags, at most hashtag_limit. "
    "Caption plus hashtags must fit in caption_limit characters."
)
TRANSLATE_INSTRUCTIONS = (
    "Translate the source caption into the target language for a social post. Keep the "
    "meaning, numbers, links, @mentions, hashtags and disclosures exactly; add nothing. "
    "Also give back_translation: your translation translated back into the source language."
)


class VariantItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: str = Field(min_length=1, max_length=10_000)
    hashtags: list[str] = Field(default_factory=list, max_length=30)


class VariantSet(BaseModel):
    """A model's answer: one variant per requested account, in order."""

    model_config = ConfigDict(extra="forbid")

    variants: list[VariantItem] = Field(min_length=1, max_length=200)


class TranslationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: str = Field(min_length=1, max_length=10_000)
    back_translation: str = Field(min_length=1, max_length=10_000)


@dataclass(frozen=True, slots=True)
class VariantTarget:
    """An account to write for, in `language` (default: the account's language)."""

    account: Account
    language: str | None = None

    @property
    def lang(self) -> str:
        return (self.language or self.account.language or "en").lower()


@dataclass(frozen=True, slots=True)
class CaptionVariant:
    """The caption and hashtags one account posts. `source` is `model:<name>` or `builtin`."""

    account_id: str
    platform: str
    language: str
    caption: str
    hashtags: tuple[str, ...]
    variant_id: str
    source: str

    @property
    def text(self) -> str:
        return render_post(self.caption, self.hashtags)


@dataclass(frozen=True, slots=True)
class LanguageVariant:
    """The caption in one language; `agreement` in [0, 1] says how far models agree
    (second model, else back-translation); None when nothing could be compared."""

    language: str
    caption: str
    source: str
    translated: bool
    agreement: float | None = None
    back_translation: str | None = None
    rtl: bool = False


def is_rtl(language: str) -> bool:
    """Whether `language` is written right to left."""
    return language.lower().split("-")[0] in RTL_LANGUAGES


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


def _tag(tag: str) -> str:
    return tag.strip().lstrip("#").lower()


def check_language(text: str, language: str) -> None:
    """Raise LLMInvalidAnswer when `text` is visibly not in `language` (script, stopwords)."""
    lang = language.lower().split("-")[0]
    letters = [c for c in _HASHTAG.sub("", _URL.sub("", text)) if c.isalpha()]
    if not letters:
        return
    arabic = sum("\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" for c in letters)
    hebrew = sum("\u0590" <= c <= "\u05ff" for c in letters)
    latin = sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters)
    share = {"ar": arabic, "fa": arabic, "ur": arabic, "he": hebrew}.get(lang)
    if share is not None:
        if share / len(letters) < 0.6:
            raise LLMInvalidAnswer(f"caption is not written in {lang}")
        return
    if lang in _STOPWORDS:
        if latin / len(letters) < 0.8:
            raise LLMInvalidAnswer(f"caption is not written in {lang} (wrong script)")
        words = re.findall(r"\w+", text.lower())
        hits = {code: sum(w in stops for w in words) for code, stops in _STOPWORDS.items()}
        best = max(hits, key=lambda code: hits[code])
        if best != lang and hits[best] >= 2 and hits[best] > 2 * hits[lang]:
            raise LLMInvalidAnswer(f"caption reads as {best}, not {lang}")


def check_caption(
    caption: str,
    hashtags: Sequence[str],
    *,
    source: str,
    language: str,
    rules: PlatformRules,
    allowed_hashtags: Sequence[str],
    source_hashtags: Sequence[str] = (),
    translated: bool = False,
) -> None:
    """Raise LLMInvalidAnswer unless `caption` + `hashtags` is a faithful, postable variant
    of `source`: limits, language, no added hashtags, and `engine.faithful`'s rules (every
    link, @mention, number and disclosure kept whole, none added, no added sentence)."""
    # Hashtags written inside the source caption (#ad) are part of the allowed set too.
    allowed = {_tag(t) for t in allowed_hashtags} | {_tag(t) for t in _HASHTAG.findall(source)}
    tags = [_tag(t) for t in hashtags]
    if any(not t or not re.fullmatch(r"\w+", t) for t in tags):
        raise LLMInvalidAnswer(f"malformed hashtag in {list(hashtags)}")
    if len(tags) > rules.hashtag_limit:
        raise LLMInvalidAnswer(f"{len(tags)} hashtags, {rules.name} allows {rules.hashtag_limit}")
    if len(set(tags)) != len(tags):
        raise LLMInvalidAnswer("repeated hashtag")
    inline = [_tag(t) for t in _HASHTAG.findall(caption)]
    invented = sorted({t for t in [*tags, *inline] if t not in allowed})
    if invented:
        raise LLMInvalidAnswer(f"hashtags not in the allowed set: {invented}")
    length = len(render_post(caption, tuple(hashtags)))
    if length > rules.caption_limit:
        raise LLMInvalidAnswer(f"{length} characters, {rules.name} allows {rules.caption_limit}")
    problems = faithfulness_problems(
        caption,
        tags,
        source=source,
        source_hashtags=source_hashtags,
        translated=translated,
    )
    if problems:
        raise LLMInvalidAnswer("; ".join(problems))
    check_language(caption, language)


def _key(caption: str, hashtags: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    return " ".join(caption.lower().split()), tuple(sorted(_tag(t) for t in hashtags))


def similarity(a: str, b: str) -> float:
    """Character-trigram Jaccard similarity of two texts (script-independent), in [0, 1]."""

    def grams(text: str) -> set[str]:
        clean = " ".join(re.findall(r"\w+", _digits(text).lower()))
        return {clean[i : i + 3] for i in range(max(1, len(clean) - 2))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


class VariantWriter:
    """Writes caption variants and translations through a gateway, or without a model."""

    def __init__(
        self,
        gateway: LLMGateway | None,
        *,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
        source_language: str = "en",
        extra_hashtags: Sequence[str] = (),
    ) -> None:
        self.gateway = gateway if gateway is not None and gateway.configured else None
        self.platforms = platforms
        self.source_language = source_language
        self.extra_hashtags = tuple(extra_hashtags)

    async def caption_variants(
        self, content: Content, targets: Sequence[VariantTarget], *, plan_id: str = "default"
    ) -> list[CaptionVariant]:
        """One variant per target, in target order, pairwise distinct (caption + hashtags).

        Groups targets by (platform, language) and asks the models once per group; a group
        whose answers all fail validation uses `engine.captions.caption_for`.
        """
        groups: dict[tuple[str, str], list[int]] = {}
        for i, target in enumerate(targets):
            groups.setdefault((target.account.platform.lower(), target.lang), []).append(i)
        results: list[CaptionVariant | None] = [None] * len(targets)
        jobs = [self._group(content, [targets[i] for i in idx], plan_id) for idx in groups.values()]
        for idx, variants in zip(groups.values(), await asyncio.gather(*jobs), strict=True):
            for i, variant in zip(idx, variants, strict=True):
                results[i] = variant
        return self._make_distinct(content, targets, [r for r in results if r is not None])

    async def _group(
        self, content: Content, targets: list[VariantTarget], plan_id: str
    ) -> list[CaptionVariant]:
        platform, language = targets[0].account.platform.lower(), targets[0].lang
        rules = self.platforms[platform]
        if self.gateway is not None:
            chosen = await self._ask_variants(content, targets, rules, language, plan_id)
            if chosen is not None:
                items = chosen.value.variants
                return [
                    CaptionVariant(
                        t.account.id,
                        platform,
                        language,
                        item.caption.strip(),
                        tuple(_tag(h) for h in item.hashtags),
                        variant_id(item.caption.strip(), tuple(_tag(h) for h in item.hashtags)),
                        f"model:{chosen.model}",
                    )
                    for t, item in zip(targets, items, strict=True)
                ]
        return [
            self._builtin(content, t, rules, language, index) for index, t in enumerate(targets)
        ]

    def _builtin(
        self,
        content: Content,
        target: VariantTarget,
        rules: PlatformRules,
        language: str,
        index: int,
    ) -> CaptionVariant:
        caption, tags, vid = caption_for(
            content, target.account, rules, language=language, variant_index=index
        )
        return CaptionVariant(
            target.account.id, rules.name, language, caption, tags, vid, "builtin"
        )

    async def _ask_variants(
        self,
        content: Content,
        targets: list[VariantTarget],
        rules: PlatformRules,
        language: str,
        plan_id: str,
    ) -> ModelAnswer[VariantSet] | None:
        assert self.gateway is not None
        source = caption_text(content, language)
        allowed = [*content.hashtags, *self.extra_hashtags]
        data = {
            "source_caption": source,
            "source_language": language
            if language in content.translations
            else self.source_language,
            "target_language": language,
            "platform": rules.name,
            "caption_limit": rules.caption_limit,
            "hashtag_limit": rules.hashtag_limit,
            "allowed_hashtags": allowed,
            "variants_wanted": len(targets),
        }

        def check(answer: VariantSet) -> None:
            if len(answer.variants) != len(targets):
                raise LLMInvalidAnswer(f"{len(answer.variants)} variants, {len(targets)} wanted")
            keys = set()
            for item in answer.variants:
                check_caption(
                    item.caption,
                    item.hashtags,
                    source=source,
                    language=language,
                    rules=rules,
                    allowed_hashtags=allowed,
                    source_hashtags=content.hashtags,
                )
                keys.add(_key(item.caption, item.hashtags))
            if len(keys) != len(answer.variants):
                raise LLMInvalidAnswer("two variants are identical")

        call = make_call(
            VARIANTS_INSTRUCTIONS, data, VariantSet, max_tokens=400 + 200 * len(targets)
        )
        try:
            result = await self.gateway.ask(call, VariantSet, plan_id=plan_id, check=check)
        except LLMBudgetExceeded as exc:
            log.info("caption variants from the built-in writer: %s", exc)
            return None
        if not result.answers:
            return None
        return max(result.answers, key=lambda a: a.weight)

    def _make_distinct(
        self, content: Content, targets: Sequence[VariantTarget], variants: list[CaptionVariant]
    ) -> list[CaptionVariant]:
        # Distinct across groups too: identical posts from different accounts look automated.
        seen: set[tuple[str, tuple[str, ...]]] = set()
        out = []
        for target, variant in zip(targets, variants, strict=True):
            key = _key(variant.caption, variant.hashtags)
            index = 1
            while key in seen and index < 50:
                rules = self.platforms[variant.platform]
                variant = self._builtin(content, target, rules, variant.language, index)
                key = _key(variant.caption, variant.hashtags)
                index += 1
            seen.add(key)
            out.append(variant)
        return out

    async def translate(
        self, content: Content, languages: Sequence[str], *, plan_id: str = "default"
    ) -> list[LanguageVariant]:
        """The caption in each language: a given translation, else a validated model
        translation with its agreement score, else the source caption marked untranslated."""
        jobs = [self._translate_one(content, lang.lower(), plan_id) for lang in languages]
        return list(await asyncio.gather(*jobs))

    async def _translate_one(
        self, content: Content, language: str, plan_id: str
    ) -> LanguageVariant:
        rtl = is_rtl(language)
        if language in content.translations:
            return LanguageVariant(
                language, content.translations[language], "provided", True, 1.0, rtl=rtl
            )
        if language == self.source_language:
            return LanguageVariant(language, content.caption, "source", False, 1.0, rtl=rtl)
        if self.gateway is not None:
            source = content.caption

            def check(answer: TranslationAnswer) -> None:
                rules = PlatformRules(
                    "translation", 1, timedelta(0), (), (), (), 10_000, 30, 0.0
                )  # only the content checks matter here, not a platform's limits
                check_caption(
                    answer.caption,
                    (),
                    source=source,
                    language=language,
                    rules=rules,
                    allowed_hashtags=content.hashtags,
                    source_hashtags=content.hashtags,
                    translated=True,
                )

            data = {
                "source_caption": source,
                "source_language": self.source_language,
                "target_language": language,
            }
            call = make_call(TRANSLATE_INSTRUCTIONS, data, TranslationAnswer, max_tokens=1200)
            try:
                result = await self.gateway.ask(
                    call, TranslationAnswer, plan_id=plan_id, check=check
                )
            except LLMBudgetExceeded:
                result = None
            if result is not None and result.answers:
                ranked = sorted(result.answers, key=lambda a: -a.weight)
                best = ranked[0].value
                back = similarity(source, best.back_translation)
                others = [similarity(best.caption, a.value.caption) for a in ranked[1:]]
                score = sum(others) / len(others) if others else back
                return LanguageVariant(
                    language,
                    best.caption,
                    f"model:{ranked[0].model}",
                    True,
                    round(score, 3),
                    best.back_translation,
                    rtl,
                )
        return LanguageVariant(language, content.caption, "untranslated", False, None, rtl=rtl)
