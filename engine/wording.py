"""Words people read: "a" or "an", and platforms by their own names ("TikTok", "X").

Pure helpers shared by the engine's messages and every adapter's (Slack, CLI).
"""

from __future__ import annotations

PLATFORM_NAMES = {
    "tiktok": "TikTok",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "twitter": "X",
    "x": "X",
    "facebook": "Facebook",
    "linkedin": "LinkedIn",
    "threads": "Threads",
    "pinterest": "Pinterest",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "reddit": "Reddit",
    "snapchat": "Snapchat",
}
# Words starting with a vowel letter but a consonant sound, and the reverse.
_CONSONANT_SOUND = ("uni", "use", "usu", "eu", "one", "once", "ubiq")
_VOWEL_SOUND = ("hour", "honest", "honou", "heir")
# Single letters (and all-caps abbreviations) read by their letter name.
_VOWEL_LETTERS = set("AEFHILMNORSX")


def platform_name(platform: str) -> str:
    """How a platform spells itself: `tiktok` -> "TikTok"; unknown ones capitalised."""
    key = platform.strip().lower()
    return PLATFORM_NAMES.get(key) or (platform[:1].upper() + platform[1:])


def a_or_an(word: str) -> str:
    """The indefinite article for `word`: "an operator", "a viewer", "an X post"."""
    w = word.strip().lstrip("*_`")
    if not w:
        return "a"
    if (len(w) == 1 or w.isupper()) and w[0].isalpha():
        return "an" if w[0].upper() in _VOWEL_LETTERS else "a"
    lower = w.lower()
    if lower.startswith(_VOWEL_SOUND):
        return "an"
    if lower.startswith(_CONSONANT_SOUND):
        return "a"
    return "an" if lower[0] in "aeiou" else "a"


def with_article(word: str, *, capital: bool = False) -> str:
    """`word` after its article: "an Instagram", or "An Instagram" with `capital`."""
    article = a_or_an(word)
    return f"{article.capitalize() if capital else article} {word}"
