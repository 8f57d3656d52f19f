"""What a caption variant must keep of its source: links, @mentions, numbers, disclosures.

Tokens are matched whole (`#ad` is not in `#adventure`, `sponsored` not in `unsponsored`).
A variant keeps every protected token of its source and adds no link, mention or number.
Rewording is allowed within a tolerance: no more sentences than the source and at most 30%
(+10 characters) longer. Why this tolerance: a faithful rewrite rarely needs another
sentence, and refusing one only costs the fallback to the built-in variant, while
accepting an invented claim ("Limited stock!") costs the operator's trust.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# A link ends before trailing punctuation ("see https://x.example/a." keeps the period out).
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]»”']", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w.@])@[\w.]*\w")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]+|[^.!?。！？]+$")
# Hashtag disclosures (matched as whole hashtags) and disclosure words (whole words).
DISCLOSURE_TAGS = frozenset(
    {"ad", "ads", "sponsored", "partner", "paidpartnership", "affiliate", "anuncio"}
    | {"publicidad", "patrocinado", "إعلان", "werbung", "anzeige", "publicité", "pub"}
)
DISCLOSURE_WORDS = (
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
_TAG = re.compile(r"(?<![\w&#])#(\w+)")
_WORDS = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(w) for w in DISCLOSURE_WORDS) + r")(?!\w)", re.IGNORECASE
)
LENGTH_TOLERANCE = 1.3
LENGTH_SLACK = 10


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


def links(text: str) -> list[str]:
    """Links, whole, without trailing punctuation."""
    return list(_URL.findall(text))


def mentions(text: str) -> set[str]:
    return {m.lower() for m in _MENTION.findall(_URL.sub(" ", text))}


def numbers(text: str) -> set[str]:
    """Numbers outside links, with any script's digits as ASCII (`$99.99` gives `99.99`)."""
    bare = _MENTION.sub(" ", _URL.sub(" ", _digits(text)))
    bare = _TAG.sub(" ", bare)
    return {n.rstrip(".,") for n in _NUMBER.findall(bare)}


def disclosure_tags(text: str, hashtags: Sequence[str] = ()) -> set[str]:
    """Disclosure hashtags, whole (`#ad`, not `#adventure`), inline or in `hashtags`."""
    found = {t.lower() for t in _TAG.findall(_URL.sub(" ", text))}
    found |= {t.strip().lstrip("#").lower() for t in hashtags}
    return found & DISCLOSURE_TAGS


def has_disclosure(text: str, hashtags: Sequence[str] = ()) -> bool:
    return bool(disclosure_tags(text, hashtags) or _WORDS.search(_URL.sub(" ", text)))


def sentences(text: str) -> int:
    """Sentences with words in them (hashtags and mentions alone are not a sentence)."""
    bare = _TAG.sub(" ", _MENTION.sub(" ", _URL.sub("x", text)))
    return sum(1 for s in _SENTENCE.findall(bare) if re.search(r"\w", s))


def protected(text: str, hashtags: Sequence[str] = ()) -> set[str]:
    """Every token a variant must keep: links, mentions, numbers, disclosure hashtags."""
    tags = {"#" + t for t in disclosure_tags(text, hashtags)}
    return set(links(text)) | mentions(text) | numbers(text) | tags


def faithfulness_problems(
    caption: str,
    hashtags: Sequence[str],
    *,
    source: str,
    source_hashtags: Sequence[str] = (),
    translated: bool = False,
) -> list[str]:
    """Why `caption` is not a faithful variant of `source` (empty when it is).

    A translation may change the disclosure word (`sponsored` -> `patrocinado`) and the
    sentence count, but not links, mentions or numbers.
    """
    out: list[str] = []
    missing_links = sorted(set(links(source)) - set(links(caption)))
    if missing_links:
        out.append(f"source links missing: {missing_links}")
    added_links = sorted(set(links(caption)) - set(links(source)))
    if added_links:
        out.append(f"links not in the source: {added_links}")
    if mentions(source) - mentions(caption):
        out.append(f"source @mentions missing: {sorted(mentions(source) - mentions(caption))}")
    if mentions(caption) - mentions(source):
        out.append(f"@mentions not in the source: {sorted(mentions(caption) - mentions(source))}")
    if numbers(source) - numbers(caption):
        out.append(f"numbers of the source missing: {sorted(numbers(source) - numbers(caption))}")
    if numbers(caption) - numbers(source):
        out.append(f"numbers not in the source: {sorted(numbers(caption) - numbers(source))}")
    source_tags = disclosure_tags(source, source_hashtags)
    if source_tags and not translated:
        lost = source_tags - disclosure_tags(caption, hashtags)
        if lost:
            out.append(f"the source's disclosure {sorted('#' + t for t in lost)} is missing")
    if has_disclosure(source, source_hashtags) and not has_disclosure(caption, hashtags):
        out.append("the source's disclosure (ad / sponsored) is missing")
    if not translated:
        if sentences(caption) > max(1, sentences(source)):
            out.append(
                f"a sentence not in the source ({sentences(caption)} vs {sentences(source)})"
            )
        if len(caption) > len(source) * LENGTH_TOLERANCE + LENGTH_SLACK:
            out.append(f"{len(caption)} characters for a {len(source)}-character source")
    return out
