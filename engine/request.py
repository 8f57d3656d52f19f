"""The distribution request: one vocabulary for JSON, inline `key=value`, the modal and any API.

Canonical JSON fields (the `herald plan` contract) are `spread_hours`, `min_gap_minutes`,
`max_gap_minutes`, `duplicate_gap_minutes`, `account_count`; the short names `window`,
`min_gap`, `max_gap`, `duplicate_gap`, `accounts` are accepted everywhere too, and any
duration may carry a unit (`window=6h`, `min_gap=90s`, `max_gap=15m`, `days=7d`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from engine.durations import parse_duration
from engine.errors import InvalidRequest
from engine.web_links import link_problem

# Bounds at the edge: every number a user can type is finite and inside these, so nothing
# downstream (datetime arithmetic, SQL integers, the planner's loops) can overflow.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_START = datetime(2100, 1, 1, tzinfo=UTC)
MAX_GAP_MINUTES = 31 * 24 * 60.0
MAX_ACCOUNTS = 1_000_000
MAX_SEED = 2**63 - 1

# The validation context of rows read back from the database: checks added after a row
# was stored (a link's scheme) hold at intake only, so an old row never becomes unloadable.
STORED = MappingProxyType({"stored": True})


class Content(BaseModel):
    """What is distributed. `translations` maps a language code to a translated caption."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    caption: str = Field(min_length=1, max_length=10_000)
    hashtags: list[str] = Field(default_factory=list, max_length=100)
    type: str = Field(default="video", min_length=1, max_length=40)
    translations: dict[str, str] = Field(default_factory=dict, max_length=100)
    media_url: str | None = Field(default=None, max_length=2000)

    @field_validator("translations")
    @classmethod
    def _translations_bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for language, caption in value.items():
            if not 1 <= len(language) <= 20 or not 1 <= len(caption) <= 10_000:
                raise ValueError(
                    f"translation {language[:20]!r}: 1-20 character code, 1-10000 character caption"
                )
            if not caption.strip() or not language.strip():
                raise ValueError(f"translation {language[:20]!r}: is blank")
        return value

    @field_validator("id", "caption")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Only spaces would post an empty caption, or name an item nobody can type.
        if not value.strip():
            raise ValueError("is blank")
        return value

    link: str | None = Field(default=None, max_length=2_000)
    # Library tags (for `queue_tag`), never posted; unlike hashtags.
    tags: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(normalise_tag(tag) for tag in value if tag.strip()))

    @field_validator("id", "caption", "type", "link", "media_url", "hashtags", "tags")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            _refuse_control_characters(text)
        return value

    @field_validator("translations")
    @classmethod
    def _printable_translations(cls, value: dict[str, str]) -> dict[str, str]:
        for language, caption in value.items():
            _refuse_control_characters(language)
            _refuse_control_characters(caption, f"translation {language[:20]!r}")
        return value

    @field_validator("link")
    @classmethod
    def _web_link(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or (info.context or {}).get("stored"):
            return value
        if not value.strip():
            return None  # an empty optional form field or CSV cell: no link
        problem = link_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    # Media ids (`m-…`), or references resolved to ids when the distribution is created:
    # an http(s) URL (downloaded), a local path (CLI and `herald plan` only), a Slack file
    # (`slack:F…`). Several images make a carousel / multi-image post; a video goes alone.
    media: list[str] = Field(default_factory=list, max_length=35)

    @field_validator("media", mode="before")
    @classmethod
    def _split_media(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("media")
    @classmethod
    def _check_media(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not ref.strip() or len(ref) > 2000:
                raise ValueError(f"{ref[:40]!r} is not a media id, URL or path")
        return [ref.strip() for ref in value]

    @field_validator("hashtags", mode="before")
    @classmethod
    def _split_hashtags(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("hashtags")
    @classmethod
    def _normalise_hashtags(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for tag in value:
            clean = tag.strip().lstrip("#")
            if not clean or any(ch.isspace() for ch in clean) or len(clean) > 100:
                raise ValueError(f"{tag[:40]!r} is not a hashtag")
            if clean not in seen:
                seen.append(clean)
        return seen


# C0 control characters other than tab and line breaks, and DEL: a NUL cannot even be
# stored in PostgreSQL text, and none of them is meant to be posted.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _refuse_control_characters(text: str | None, what: str = "") -> None:
    found = _CONTROL.search(text or "")
    if found:
        where = f"{what}: " if what else ""
        raise ValueError(
            f"{where}contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start() + 1} (save the text without it)"
        )


def normalise_tag(tag: str) -> str:
    """A library tag as stored and matched: one word, lower case. Raises ValueError for a
    tag with spaces or commas (a text field splits on them; one list entry is one tag)."""
    clean = tag.strip().lower()
    if not clean or any(ch.isspace() or ch == "," for ch in clean):
        raise ValueError(
            f"{tag[:40]!r} is not a tag: one word each (spaces and commas separate tags)"
        )
    if len(clean) > 100:
        raise ValueError(f"tag {clean[:40]!r}...: at most 100 characters")
    return clean


# The short names every surface accepts for the canonical JSON fields.
SHORT_NAMES = {
    "window": "spread_hours",
    "min_gap": "min_gap_minutes",
    "max_gap": "max_gap_minutes",
    "duplicate_gap": "duplicate_gap_minutes",
    "accounts": "account_count",
}
UNRESOLVED = "(a content library item, resolved when the distribution is created)"


def _duration_in(unit_seconds: float) -> Any:
    """A before-validator turning `90s`/`6h`/numbers into a float in the field's unit."""

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            default = {60.0: "m", 3600.0: "h", 86400.0: "d"}[unit_seconds]
            return parse_duration(value, default_unit=default).total_seconds() / unit_seconds
        return value

    return convert


class NumbersAreNumbers(BaseModel):
    """A model whose number fields refuse JSON `true`/`false` (pydantic reads them as 1/0):
    a typo must not plan one day or one account. Every int/float field, under its name
    and its aliases, including fields added later."""

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            keys = _number_keys(cls)
            for key, value in data.items():
                if isinstance(value, bool) and key in keys:
                    raise InvalidRequest(str(key), "must be a number, not true/false")
        return data


@cache
def _number_keys(model: type[BaseModel]) -> frozenset[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        if not {info.annotation, *get_args(info.annotation)} & {int, float}:
            continue
        keys.add(name)
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            keys.update(c for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, str):
            keys.add(alias)
    return frozenset(keys)


class DistributionRequest(NumbersAreNumbers):
    """Everything needed to plan a distribution. Defaults follow the seeds."""

    # Non-finite numbers (JSON `Infinity`, `NaN`) are refused everywhere, as out of range.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    name: str = Field(default="distribution", min_length=1, max_length=80)
    content: Content
    platforms: list[str] = Field(min_length=1, max_length=50)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1, max_length=50)
    mode: Literal["window", "calendar"] = "window"
    start: datetime
    spread_hours: float = Field(
        default=6.0, gt=0, le=24 * 31, validation_alias=AliasChoices("spread_hours", "window")
    )
    min_gap_minutes: float = Field(
        default=2.0,
        ge=0,
        le=MAX_GAP_MINUTES,
        validation_alias=AliasChoices("min_gap_minutes", "min_gap"),
    )
    max_gap_minutes: float = Field(
        default=15.0,
        gt=0,
        le=MAX_GAP_MINUTES,
        validation_alias=AliasChoices("max_gap_minutes", "max_gap"),
    )
    duplicate_gap_minutes: float = Field(
        default=5.0,
        ge=0,
        le=MAX_GAP_MINUTES,
        validation_alias=AliasChoices("duplicate_gap_minutes", "duplicate_gap"),
    )
    account_count: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ACCOUNTS,
        validation_alias=AliasChoices("account_count", "accounts"),
    )
    days: int = Field(default=7, ge=1, le=31)
    velocity: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="calendar mode: posts per account per day, capped by the platform's daily "
        "maximum (the one definition: docs/planner.md)",
    )
    trend_weighted: bool = False
    seed: int = Field(default=0, ge=-MAX_SEED, le=MAX_SEED)

    # The content library (docs/content.md): a calendar queue of items, inline or by id,
    # or every active item with a tag; `content_ref` is window mode's `content=<id>`.
    # Ids and tags are resolved by the service before anything is stored or planned.
    queue: list[Content | str] = Field(default_factory=list, max_length=500)
    queue_tag: str | None = Field(default=None, min_length=1, max_length=100)
    content_ref: str | None = Field(default=None, min_length=1, max_length=200)
    max_per_account: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_field(cls, data: Any) -> Any:
        # Otherwise pydantic takes one and calls the other "not a field", which it is.
        if isinstance(data, dict):
            for short, canonical in SHORT_NAMES.items():
                if short in data and canonical in data:
                    raise InvalidRequest(
                        short, f"given twice, as {short} and as {canonical}: keep one"
                    )
        return data

    @model_validator(mode="before")
    @classmethod
    def _content_from_queue(cls, data: Any) -> Any:
        # A queue (or a library reference) stands in for `content`: the first inline item,
        # else a placeholder the service replaces when it resolves the library.
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            # `"content": "w1"` in JSON is the inline grammar's `content=w1`: a library item.
            ref = data["content"]
            if data.get("content_ref") not in (None, ref):
                raise ValueError("give content (a library id) or content_ref, not both")
            data = {k: v for k, v in data.items() if k != "content"} | {"content_ref": ref}
        if isinstance(data, dict) and isinstance(data.get("content"), dict):
            # As `/herald create caption=...` does: an inline content's id defaults to the
            # distribution's name (one vocabulary: only the caption is required everywhere).
            content = data["content"]
            if content.get("id") is None:
                name = data.get("name")
                label = name if isinstance(name, str) and name.strip() else "distribution"
                data = {**data, "content": {**content, "id": label[:200]}}
        if isinstance(data, dict) and isinstance(data.get("queue"), str):
            parts = data["queue"].replace(" ", ",").split(",")
            data = {**data, "queue": [part for part in parts if part]}
        if isinstance(data, dict) and "content" not in data:
            queue = data.get("queue") or []
            first = next((q for q in queue if isinstance(q, dict | Content)), None)
            ref = data.get("content_ref") or next((q for q in queue if isinstance(q, str)), None)
            if first is not None:
                data = {**data, "content": first}
            elif ref or data.get("queue_tag"):
                label = ref or f"tag:{data['queue_tag']}"
                data = {**data, "content": {"id": str(label)[:200], "caption": UNRESOLVED}}
        return data

    _spread = field_validator("spread_hours", mode="before")(
        classmethod(lambda cls, v: _duration_in(3600.0)(v))
    )
    _gaps = field_validator(
        "min_gap_minutes", "max_gap_minutes", "duplicate_gap_minutes", mode="before"
    )(classmethod(lambda cls, v: _duration_in(60.0)(v)))

    @field_validator("queue_tag")
    @classmethod
    def _one_tag(cls, value: str | None) -> str | None:
        return None if value is None else normalise_tag(value)

    @field_validator("trend_weighted", mode="before")
    @classmethod
    def _strict_flag(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError("must be true or false, not a number")
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isdigit():
            return int(parse_duration(value, default_unit="d") / timedelta(days=1))
        return value

    @field_validator("platforms", "languages", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(" ", ",").split(",") if part]
        return value

    @field_validator("platforms", "languages")
    @classmethod
    def _lower_unique(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for item in value:
            clean = item.strip().lower()
            if not clean:
                raise ValueError("empty name in list")
            if clean not in out:
                out.append(clean)
        return out

    @field_validator("start", mode="before")
    @classmethod
    def _start_utc(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"{text!r} is not an ISO-8601 time (write e.g. 2026-12-01T14:00Z)"
                ) from None
            value = parsed
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise ValueError(
                    f"{value.isoformat()} is not UTC (end it with Z, e.g. 2026-12-01T14:00Z)"
                )
            if not EARLIEST_START <= value <= LATEST_START:
                raise ValueError(f"{value:%Y-%m-%dT%H:%MZ} is out of range (between 2000 and 2100)")
            return value.astimezone(UTC)
        return value

    @model_validator(mode="after")
    def _one_item_in_window(self) -> DistributionRequest:
        if self.mode == "window" and (len(self.queue) > 1 or self.queue_tag is not None):
            raise InvalidRequest(
                "queue_tag" if self.queue_tag is not None else "queue",
                "window mode takes one item (`content=<id>`); a queue or tag is for calendars",
            )
        return self

    @model_validator(mode="after")
    def _queue_items_once(self) -> DistributionRequest:
        check_queue_ids([q.id if isinstance(q, Content) else q for q in self.queue])
        return self

    @model_validator(mode="after")
    def _gaps_ordered(self) -> DistributionRequest:
        if self.min_gap_minutes > self.max_gap_minutes:
            raise ValueError(
                f"min_gap ({self.min_gap_minutes:g} min) is larger than "
                f"max_gap ({self.max_gap_minutes:g} min)"
            )
        return self

    @property
    def unresolved(self) -> bool:
        """True while the request still names library items instead of carrying them."""
        return (
            self.content_ref is not None
            or self.queue_tag is not None
            or any(isinstance(q, str) for q in self.queue)
        )

    @property
    def items(self) -> list[Content]:
        """What is distributed: the queue's items, else the one content."""
        inline = [q for q in self.queue if isinstance(q, Content)]
        return inline or [self.content]

    def with_items(self, replaced: Mapping[str, Content]) -> DistributionRequest:
        """A copy whose items (queue and content) with an id in `replaced` are replaced
        (model translations, stored media ids); not validated again."""
        if not replaced:
            return self
        queue = [replaced.get(q.id, q) if isinstance(q, Content) else q for q in self.queue]
        content = replaced.get(self.content.id, self.content)
        return self.model_copy(update={"content": content, "queue": queue})

    def item(self, content_id: str) -> Content:
        """The item a slot posts, by the slot's `content_id`; the one content when no
        item has that id (slots planned before queues carried ids)."""
        for item in self.items:
            if item.id == content_id:
                return item
        return self.content

    @property
    def spread(self) -> timedelta:
        return timedelta(hours=self.spread_hours)

    @property
    def min_gap(self) -> timedelta:
        return timedelta(minutes=self.min_gap_minutes)

    @property
    def max_gap(self) -> timedelta:
        return timedelta(minutes=self.max_gap_minutes)

    @property
    def duplicate_gap(self) -> timedelta:
        return timedelta(minutes=self.duplicate_gap_minutes)

    @property
    def end(self) -> datetime:
        """The end of the window (window mode) or of the calendar (calendar mode)."""
        if self.mode == "calendar":
            return self.start + timedelta(days=self.days)
        return self.start + self.spread


def check_queue_ids(ids: list[str]) -> None:
    """Raise InvalidRequest("queue", ...) when an item is queued twice: each account posts
    each item at most `max_per_account` times, and a repeat would double that."""
    repeated = [i for i in dict.fromkeys(ids) if ids.count(i) > 1]
    if repeated:
        names = ", ".join(repr(i) for i in repeated[:10])
        raise InvalidRequest(
            "queue",
            f"{names} queued more than once (raise max_per_account to post an item "
            "more than once per account)",
        )


# Flat keys (inline grammar, modal fields) that belong inside `content`.
_CONTENT_KEYS = {
    "content": "id",
    "content_id": "id",
    "caption": "caption",
    "hashtags": "hashtags",
    "type": "type",
    "content_type": "type",
    "media_url": "media_url",
    "media": "media",
    "link": "link",
}


def parse_request(data: Mapping[str, Any]) -> DistributionRequest:
    """Validate a request given as JSON-like data; raise `InvalidRequest` naming the field."""
    try:
        return DistributionRequest.model_validate(dict(data))
    except ValidationError as exc:
        raise _as_invalid_request(exc) from None


def request_from_fields(
    fields: Mapping[str, str], *, now: datetime | None = None
) -> DistributionRequest:
    """Build a request from flat `key=value` fields (the inline grammar and the modal).

    Content fields may be given flat (`caption=...`, `hashtags=a,b`, `content=ID`,
    `translation_es=...`). `start` accepts `now` or `+30m` relative to `now`.
    """
    data: dict[str, Any] = {}
    content: dict[str, Any] = {}
    translations: dict[str, str] = {}
    for raw_key, value in fields.items():
        key = raw_key.strip().lower().replace("-", "_")
        if key in _CONTENT_KEYS:
            content[_CONTENT_KEYS[key]] = value
        elif key.startswith("translation_"):
            translations[key.removeprefix("translation_")] = value
        elif key == "trend_weighted":
            data[key] = value.strip().lower() in {"1", "true", "yes", "on", "y"}
        elif key == "start" and now is not None and (value == "now" or value.startswith("+")):
            try:
                offset = timedelta(0) if value == "now" else parse_duration(value[1:])
            except ValueError as exc:
                raise InvalidRequest("start", str(exc)) from None
            data[key] = (now + offset).astimezone(UTC).replace(microsecond=0)
        else:
            data[key] = value
    if translations:
        content["translations"] = translations
    if set(content) == {"id"}:
        # `content=<id>` alone names a library item.
        data["content_ref"] = content.pop("id")
    if content:
        content.setdefault("id", str(data.get("name", "content")))
        data["content"] = content
    return parse_request(data)


def _as_invalid_request(exc: ValidationError) -> InvalidRequest:
    error = exc.errors()[0]
    # `queue` is `list[Content | str]`: pydantic names the union member (`queue.1.Content.link`).
    loc = [str(part) for part in error.get("loc", ()) if part != "Content"]
    field = ".".join(loc) or "request"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        message = "is required"
    elif error.get("type") == "extra_forbidden":
        message = "is not a field Herald knows"
    return InvalidRequest(field, message)
