"""A PNG picture of a plan's slots over time, one lane per platform, written with the stdlib.

Pillow would buy text rendering only; the lanes' legend goes in the upload's comment
instead, so a few lines of zlib + struct are enough.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import datetime

from engine.models import RiskLevel, Slot

WIDTH = 960
LANE = 36
MARGIN = 12
BACKGROUND = (255, 255, 255)
GRID = (226, 228, 232)
LANE_FILL = (246, 247, 249)
# Colour per lane, in order; a high-risk slot is drawn darker.
PALETTE = [
    (230, 57, 70),
    (29, 111, 200),
    (42, 157, 143),
    (244, 162, 97),
    (131, 56, 236),
    (106, 76, 60),
    (0, 150, 199),
    (255, 183, 3),
]
EMOJI = ["🟥", "🟦", "🟩", "🟧", "🟪", "🟫", "🔷", "🟨"]


def _png(width: int, height: int, rows: list[bytearray]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def render_timeline(slots: Sequence[Slot], *, width: int = WIDTH) -> tuple[bytes, str]:
    """The PNG bytes and a legend (lane colour -> platform, time span) for `slots`."""
    platforms = sorted({slot.platform for slot in slots}) or ["none"]
    height = MARGIN * 2 + LANE * len(platforms)
    rows = [bytearray(bytes(BACKGROUND) * width) for _ in range(height)]

    def fill(x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x0), min(width, x1)
        if x1 <= x0:
            return
        run = bytes(colour) * (x1 - x0)
        for y in range(max(0, y0), min(height, y1)):
            rows[y][3 * x0 : 3 * x1] = run

    inner = width - 2 * MARGIN
    for lane in range(len(platforms)):
        top = MARGIN + lane * LANE
        fill(MARGIN, top + 4, width - MARGIN, top + LANE - 4, LANE_FILL)
    if not slots:
        return _png(width, height, rows), "no slots"
    start: datetime = min(slot.scheduled_at for slot in slots)
    end: datetime = max(slot.scheduled_at for slot in slots)
    span = max((end - start).total_seconds(), 1.0)
    # Hour (or day) grid lines, so density reads against time.
    step = 3600.0 if span <= 2 * 86400 else 86400.0
    tick = 0.0
    while tick <= span and step * 200 > tick:
        x = MARGIN + int(inner * tick / span)
        fill(x, MARGIN, x + 1, height - MARGIN, GRID)
        tick += step
    for slot in slots:
        lane = platforms.index(slot.platform)
        colour = PALETTE[lane % len(PALETTE)]
        if slot.risk_level in (RiskLevel.HIGH, RiskLevel.CRITICAL):
            colour = tuple(c // 2 for c in colour)  # type: ignore[assignment]
        x = MARGIN + int((inner - 2) * (slot.scheduled_at - start).total_seconds() / span)
        top = MARGIN + lane * LANE
        fill(x, top + 6, x + 2, top + LANE - 6, colour)
    legend = "  ".join(f"{EMOJI[i % len(EMOJI)]} {p}" for i, p in enumerate(platforms))
    legend += (
        f"\n{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC, "
        f"{len(slots):,} slots (darker: high risk)"
    )
    return _png(width, height, rows), legend
