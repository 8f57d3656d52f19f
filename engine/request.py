"""The distribution request: one vocabulary for JSON, inline `key=value`, the modal and any API.

Canonical JSON fields (the `herald plan` contract) are `spread_hours`, `min_gap_minutes`,
`max_gap_minutes`, `duplicate_gap_minutes`, `account_count`; the short names `window`,
`min_gap`, `max_gap`, `duplicate_gap`, `accounts` are accepted everywhere too, and any
duration may carry a unit (`window=6h`, `min_gap=90s`, `max_gap=15m`, `days=7d`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.durations import parse_duration
from engine.errors import InvalidRequest


class Content(BaseModel):
    """What is distributed. `translations` maps a language code to a translated caption."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    caption: str = Field(min_length=1, max_length=10_000)
    hashtags: list[str] = Field(default_factory=list)
    type: str = "video"
    translations: dict[str, str] = Field(default_factory=dict)
    media_url: str | None = None
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
            if not clean or any(ch.isspace() for ch in clean):
                raise ValueError(f"{tag!r} is not a hashtag")
            if clean not in seen:
                seen.append(clean)
        return seen


def _duration_in(unit_seconds: float) -> Any:
    """A before-validator turning `90s`/`6h`/numbers into a float in the field's unit."""

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            default = {60.0: "m", 3600.0: "h", 86400.0: "d"}[unit_seconds]
            return parse_duration(value, default_unit=default).total_seconds() / unit_seconds
        return value

    return convert


class DistributionRequest(BaseModel):
    """Everything needed to plan a distribution. Defaults follow the seeds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(default="distribution", min_length=1, max_length=80)
    content: Content
    platforms: list[str] = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    mode: Literal["window", "calendar"] = "window"
    start: datetime
    spread_hours: float = Field(
        default=6.0, gt=0, le=24 * 31, validation_alias=AliasChoices("spread_hours", "window")
    )
    min_gap_minutes: float = Field(
        default=2.0, ge=0, validation_alias=AliasChoices("min_gap_minutes", "min_gap")
    )
    max_gap_minutes: float = Field(
        default=15.0, gt=0, validation_alias=AliasChoices("max_gap_minutes", "max_gap")
    )
    duplicate_gap_minutes: float = Field(
        default=5.0,
        ge=0,
        validation_alias=AliasChoices("duplicate_gap_minutes", "duplicate_gap"),
    )
    account_count: int | None = Field(
        default=None, ge=1, validation_alias=AliasChoices("account_count", "accounts")
    )
    days: int = Field(default=7, ge=1, le=31)
    velocity: float = Field(default=1.0, gt=0, le=10)
    trend_weighted: bool = False
    seed: int = 0

    _spread = field_validator("spread_hours", mode="before")(
        classmethod(lambda cls, v: _duration_in(3600.0)(v))
    )
    _gaps = field_validator(
        "min_gap_minutes", "max_gap_minutes", "duplicate_gap_minutes", mode="before"
    )(classmethod(lambda cls, v: _duration_in(60.0)(v)))

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
            return value.astimezone(UTC)
        return value

    @model_validator(mode="after")
    def _gaps_ordered(self) -> DistributionRequest:
        if self.min_gap_minutes > self.max_gap_minutes:
            raise ValueError(
                f"min_gap ({self.min_gap_minutes:g} min) is larger than "
                f"max_gap ({self.max_gap_minutes:g} min)"
            )
        return self

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
            offset = timedelta(0) if value == "now" else parse_duration(value[1:])
            data[key] = (now + offset).astimezone(UTC).replace(microsecond=0)
        else:
            data[key] = value
    if translations:
        content["translations"] = translations
    if content:
        content.setdefault("id", str(data.get("name", "content")))
        data["content"] = content
    return parse_request(data)


def _as_invalid_request(exc: ValidationError) -> InvalidRequest:
    error = exc.errors()[0]
    loc = [str(part) for part in error.get("loc", ())]
    field = ".".join(loc) or "request"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        message = "is required"
    elif error.get("type") == "extra_forbidden":
        message = "is not a field Herald knows"
    return InvalidRequest(field, message)
