"""Real small media files for tests, made with PyAV and Pillow (no fixtures checked in)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image


def make_video(
    path: Path, *, width: int = 72, height: int = 128, seconds: float = 2.0, fps: int = 10
) -> Path:
    """An H.264 (MPEG-4 part 2 when x264 is missing) video of `seconds` at width x height."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(round(seconds * fps)):
            image = Image.new("RGB", (width, height), (i * 7 % 255, 80, 160))
            frame = av.VideoFrame.from_image(image)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_image(path: Path, *, width: int = 800, height: int = 1000, fmt: str = "JPEG") -> Path:
    """A solid image of width x height in `fmt` (JPEG, PNG, ...)."""
    Image.new("RGB", (width, height), (200, 40, 40)).save(path, fmt)
    return path
