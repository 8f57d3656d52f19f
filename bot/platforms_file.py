"""Load the platform rules table, with the user's overrides from `HERALD_PLATFORMS_FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable


def load_platforms(path: Path | None) -> PlatformTable:
    """The default table, overridden by a JSON or YAML mapping of platform -> fields.

    Raises InvalidInput naming the variable and the file when it is missing or malformed.
    """
    if path is None:
        return DEFAULT_PLATFORMS
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"HERALD_PLATFORMS_FILE={path}: {exc.strerror or exc}") from None
    data: Any
    try:
        if Path(path).suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml  # type: ignore[import-untyped]

            data = yaml.safe_load(text)
    except Exception as exc:  # JSONDecodeError, YAMLError: both mean "malformed"
        where = " ".join(str(exc).split())  # YAML's message spans lines: one line here
        raise InvalidInput(f"HERALD_PLATFORMS_FILE={path}: not valid JSON/YAML ({where})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidInput(
            f"HERALD_PLATFORMS_FILE={path}: expected a mapping of platform -> fields"
        )
    try:
        return DEFAULT_PLATFORMS.with_overrides(data)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"HERALD_PLATFORMS_FILE={path}: {exc}") from None


def with_audit_state(
    table: PlatformTable, *, tiktok_audited: bool, youtube_audited: bool
) -> PlatformTable:
    """The table with TikTok/YouTube marked private-only until Herald's client passes their
    audit (HERALD_TIKTOK_AUDITED, HERALD_YOUTUBE_AUDITED): plan cards say so before approval."""
    audited = {"tiktok": tiktok_audited, "youtube": youtube_audited}
    overrides = {name: {"private_only": not ok} for name, ok in audited.items() if name in table}
    return table.with_overrides(overrides)
