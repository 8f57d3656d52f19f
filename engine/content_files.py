"""Content library import files: CSV and JSON rows to `Content`, every bad row by line.

CSV: a header with `id` and `caption`, optionally the other content fields and
`translation_<lang>` columns (`engine.csv_text` reads spreadsheets' dialects). JSON: one list
of content objects, strictly (a missing `]`, a missing comma or text after the list is an
error where it is). A library id is one word, so `queue=a,b` can name it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine.csv_text import NoHeader, read_csv
from engine.errors import InvalidCsvRow, InvalidInput, InvalidRequest
from engine.request import Content

CSV_COLUMNS = (
    "id",
    "caption",
    "hashtags",
    "type",
    "translations",
    "media_url",
    "media",
    "link",
    "tags",
)


def content_from_fields(data: dict[str, Any]) -> Content:
    """Validate one item given as request-style content fields; raise InvalidRequest."""
    try:
        return Content.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ())) or "content"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a content field (known: " + ", ".join(CSV_COLUMNS) + ")"
        raise InvalidRequest(field, message) from None


def library_id_problem(item_id: str) -> str | None:
    """Why `item_id` cannot be a library id (None when it can): queues and commands name
    items as `queue=a,b` and `/herald content show <id>`, so an id is one word."""
    if any(ch.isspace() or ch == "," for ch in item_id):
        return f"{item_id[:60]!r} is not a library id: no spaces or commas (queue=a,b names items)"
    return None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One good row of an import file: where it is (line; index in a JSON list) and the item."""

    line: int
    index: int | None
    content: Content


def parse_content_file(text: str, *, name: str) -> tuple[list[ImportRow], list[InvalidCsvRow]]:
    """Items of a `.csv` or `.json` file with their lines, and one InvalidCsvRow per bad
    row (by line; JSON rows also by index, and the field at fault when there is one).
    A repeated id is an error on its later line."""
    source = f"content file {name}"
    rows: Iterable[Row]
    if name.lower().endswith(".json"):
        rows = _json_rows(text.lstrip("\ufeff"), source)
    elif name.lower().endswith(".csv"):
        rows = _csv_rows(text, source)
    else:
        raise InvalidInput(f"{source}: expected a .csv or .json file")
    items: list[ImportRow] = []
    errors: list[InvalidCsvRow] = []
    first: dict[str, int] = {}
    for line, index, data in rows:
        if isinstance(data, InvalidCsvRow):
            errors.append(data)
            continue
        try:
            content = content_from_fields(data)
        except InvalidRequest as exc:
            errors.append(
                InvalidCsvRow(line, str(exc), source=source, index=index, field=exc.field)
            )
            continue
        problem = library_id_problem(content.id)
        if problem is None and content.id in first:
            problem = f"duplicate id {content.id!r} (first on line {first[content.id]})"
        if problem is not None:
            errors.append(InvalidCsvRow(line, problem, source=source, index=index, field="id"))
            continue
        first[content.id] = line
        items.append(ImportRow(line, index, content))
    return items, errors


# (line, index in a JSON list or None, the row's fields or what is wrong with it)
Row = tuple[int, int | None, dict[str, Any] | InvalidCsvRow]


def _known_column(name: str) -> bool:
    return name in CSV_COLUMNS or name.startswith("translation_")


def _csv_rows(text: str, source: str) -> Iterator[Row]:
    """Each row as it is read (a row's fields become its item before the next is read)."""
    try:
        table = read_csv(text, known=_known_column, expected="id, caption, ...")
    except NoHeader as exc:
        yield (1, None, InvalidCsvRow(1, str(exc), source=source))
        return
    header = table.header
    unknown = [h for h in header if not _known_column(h)]
    missing = [h for h in ("id", "caption") if h not in header]
    repeated = [h for h in dict.fromkeys(header) if header.count(h) > 1]
    if missing or unknown or repeated:
        problem = "; ".join(
            ([f"header lacks column(s): {', '.join(missing)}"] if missing else [])
            + ([f"unknown column(s): {', '.join(unknown)}"] if unknown else [])
            + ([f"column(s) given twice: {', '.join(repeated)}"] if repeated else [])
        )
        known = ", ".join(CSV_COLUMNS) + ", translation_<lang>"
        yield (1, None, InvalidCsvRow(1, f"{problem} (known: {known})", source=source))
        return
    for line, values in table.rows:
        if isinstance(values, str):
            yield (line, None, InvalidCsvRow(line, values, source=source))
        elif len(values) != len(header):
            problem = f"has {len(values)} fields; the header has {len(header)}"
            yield (line, None, InvalidCsvRow(line, problem, source=source))
        else:
            yield (line, None, _csv_fields(header, values, line, source))


def _csv_fields(
    header: list[str], values: list[str], line: int, source: str
) -> dict[str, Any] | InvalidCsvRow:
    data: dict[str, Any] = {}
    translations: dict[str, str] = {}
    for column, raw in zip(header, values, strict=True):
        value = raw.strip()
        if not value:
            continue
        if column.startswith("translation_"):
            translations[column.removeprefix("translation_")] = value
        elif column == "translations":
            try:
                given = json.loads(value)
            except json.JSONDecodeError:
                given = None
            if not isinstance(given, dict):
                problem = "translations is not a JSON object (or use translation_<lang>)"
                return InvalidCsvRow(line, problem, source=source, field="translations")
            translations.update(given)
        else:
            data[column] = value
    if translations:
        data["translations"] = translations
    return data


def _json_rows(text: str, source: str) -> list[Row]:
    """Each element of the top-level list with the line it starts on and its index."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        return [(1, None, InvalidCsvRow(1, _not_a_list(text), source=source))]
    pos += 1
    rows: list[Row] = []
    index = 0

    def bad(at: int, problem: str) -> Row:
        line = text.count("\n", 0, at) + 1
        return (line, index, InvalidCsvRow(line, problem, source=source, index=index))

    while True:
        pos = _skip_space(text, pos)
        if pos >= len(text):
            rows.append(bad(pos, "the list is never closed (no `]` at the end)"))
            return rows
        if text[pos] == "]":
            if index == 0:
                break
            rows.append(bad(pos, "a `,` right before `]` (JSON allows no trailing comma)"))
            return rows
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            rows.append(bad(exc.pos, f"not JSON ({exc.msg})"))
            return rows
        if isinstance(value, dict):
            rows.append((line, index, value))
        else:
            rows.append(bad(pos - 1, f"expected a JSON object, got {_kind(value)}"))
        index += 1
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "]":
            break
        if pos >= len(text):
            rows.append(bad(pos, "the list is never closed (no `]` at the end)"))
        else:
            rows.append(bad(pos, "expected `,` or `]` after the item"))
        return rows
    rest = _skip_space(text, pos + 1)
    if rest < len(text):
        rows.append(bad(rest, "text after the list's closing `]`"))
    return rows


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "true/false" if isinstance(value, bool) else "a number"


def _not_a_list(text: str) -> str:
    """What the top level is instead of a list, and how to fix it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    expected = "expected a JSON list of content objects"
    if isinstance(value, dict):
        lists = [k for k, v in value.items() if isinstance(v, list)]
        if len(lists) == 1:
            return f"{expected}, got an object: import the list in its {lists[0]!r} key"
        return f"{expected}, got one object: put it in a list, [{{...}}]"
    return f"{expected}, got {_kind(value)}"
