"""CSV text as spreadsheets write it: the one reader behind every import (accounts, content).

A UTF-8 byte-order mark is dropped and Windows or old Mac line endings become `\\n`. The
delimiter is whichever of `,` `;` and tab splits the header into the most known column
names (spreadsheets in many locales save `;`). Quoting is strict: a quote left open is an
error on its row instead of silently swallowing the rest of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

DELIMITERS = (",", ";", "\t")

# (the line a row starts on, its values or what is wrong with it)
CsvRow = tuple[int, list[str] | str]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A CSV's header (stripped, lower case) and its non-blank rows in file order (read
    once, as iterated)."""

    header: list[str]
    rows: Iterator[CsvRow]
    delimiter: str


class NoHeader(ValueError):
    """The first line is missing or names no known column; the message says which. Callers
    report it as line 1's problem, so the message does not name the line again."""


def read_csv(text: str, *, known: Callable[[str], bool], expected: str) -> CsvTable:
    """Split `text` into a header and rows. `known(column)` says which header names the
    caller reads; `expected` lists them for the message. Raises NoHeader."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    if not first.strip():
        problem = "the file is empty" if not text.strip() else "blank line"
        raise NoHeader(f"{problem} (expected a header row)")
    delimiter = max(
        DELIMITERS,
        key=lambda d: (sum(known(c.strip().strip('"').lower()) for c in first.split(d)), d == ","),
    )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise NoHeader(f"not a CSV header ({exc})") from None
    if not any(known(h) for h in header):
        shown = delimiter.join(header)
        raise NoHeader(f"not a header row: expected column names ({expected}), got {shown[:80]!r}")
    return CsvTable(header, _rows(reader), delimiter)


def _rows(reader: Any) -> Iterator[CsvRow]:
    """The non-blank rows, read as the caller goes: a 200 000-row import never holds every
    row's values at once."""
    end = reader.line_num
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (start, f"not a CSV row ({_csv_problem(exc)})")
            end = reader.line_num
            continue
        end = reader.line_num
        if any(v.strip() for v in values):
            yield (start, values)


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field is never closed"
    return text
