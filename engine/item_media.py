"""Media per content item: a calendar queue's items each carry their own files.

`engine.media_check.with_media_checks` checks every slot against one list of files; here
each slot is checked against the files of the item it posts (`content_id`), and the issue
names the item when several items carry media.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from engine.media import AccountLimits, MediaAsset, MediaIssue
from engine.media_check import media_issues, with_media_checks
from engine.models import PlanResult
from engine.platforms import PlatformTable


def with_item_media_checks(
    result: PlanResult,
    assets: Mapping[str, Sequence[MediaAsset]],
    platforms: PlatformTable,
    *,
    limits: Mapping[str, AccountLimits] | None = None,
    names: Mapping[str, str] | None = None,
    own_api: Collection[str] = (),
) -> PlanResult:
    """`result` with the media issues of each item's slots against that item's files
    (`assets`: item id -> its files; items without files are not checked, as content
    without media is not), and the private-only notes. Issue slot indexes are plan indexes.
    `limits` are accounts' own limits read live (per-account issues, named by `names`);
    `own_api`: the accounts posting through their platform's own client (private-only notes)."""
    with_files = {item: files for item, files in assets.items() if files}
    if len(with_files) == 1 and {s.content_id for s in result.slots} <= set(with_files):
        # Every slot posts the one item with files: exactly the single-content checks.
        files = next(iter(with_files.values()))
        return with_media_checks(
            result, files, platforms, limits=limits, names=names, own_api=own_api
        )
    checked = with_media_checks(result, [], platforms, own_api=own_api)  # the notes, no issues
    issues: list[MediaIssue] = []
    for item, files in with_files.items():
        indexes = [i for i, s in enumerate(result.slots) if s.content_id == item]
        issues.extend(
            replace(
                issue,
                reason=f"item {item}: {issue.reason}",
                slots=tuple(indexes[j] for j in issue.slots),
            )
            for issue in media_issues(
                [result.slots[i] for i in indexes], files, platforms, limits=limits, names=names
            )
        )
    warnings = [*(i.text() for i in issues), *checked.warnings]
    return replace(checked, media_issues=issues, warnings=warnings)
