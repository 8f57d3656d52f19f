"""Real small media files for tests, made with PyAV and Pillow (no fixtures checked in)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image


def make_video(
    path: Path,
    *,
    width: int = 72,
    height: int = 128,
    seconds: float = 2.0,
    fps: int = 10,
    rotation: int = 0,
    rotate_tag: str | None = None,
) -> Path:
    """An H.264 (MPEG-4 part 2 when x264 is missing) video of `seconds`, stored at
    width x height. `rotation`: a display matrix turning it by that many degrees (what
    phones write in MP4/MOV); `rotate_tag`: the older `rotate` metadata tag instead (kept
    by Matroska, so give a .mkv path)."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if rotation:
            stream.set_display_rotation(rotation)
        if rotate_tag is not None:
            stream.metadata["rotate"] = rotate_tag
        for i in range(round(seconds * fps)):
            image = Image.new("RGB", (width, height), (i * 7 % 255, 80, 160))
            frame = av.VideoFrame.from_image(image)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_image(
    path: Path, *, width: int = 800, height: int = 1000, fmt: str = "JPEG", orientation: int = 1
) -> Path:
    """A solid image stored at width x height in `fmt` (JPEG, PNG, ...); `orientation` is
    the EXIF orientation tag a camera writes (6: turn 90° clockwise to display)."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(path, fmt, exif=exif)
    else:
        image.save(path, fmt)
    return path
