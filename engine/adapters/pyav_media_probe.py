"""`PyAVMediaProbe`: reads a media file's facts with FFmpeg's libraries (PyAV) and Pillow.

PyAV's wheels carry FFmpeg's own libraries, so nothing is installed beside `uv sync`.
Images are read by Pillow (format, size); everything else by FFmpeg's demuxers (container,
first video stream's codec, dimensions, duration). Dimensions are as displayed: a phone
video stored 1920x1080 with a 90° display matrix (or an older `rotate` tag) is 1080x1920,
portrait, which is what the platforms' aspect-ratio rules see; likewise a JPEG's EXIF
orientation. Blocking: call it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.media import MediaKind

# Container names FFmpeg reports, to MIME types (mov and mp4 share a demuxer: the brand and
# the extension tell them apart).
_CONTAINERS = {
    "matroska": "video/x-matroska",
    "webm": "video/webm",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
    "flv": "video/x-flv",
    "mpeg": "video/mpeg",
}


@dataclass(frozen=True, slots=True)
class Probe:
    """What a file is, as read from its bytes (never from its name alone)."""

    kind: MediaKind
    mime_type: str
    width: int | None
    height: int | None
    duration_s: float | None
    codec: str | None


def probe_file(path: Path) -> Probe:
    """The facts of the image or video at `path`. Raises InvalidInput when it is neither."""
    # Imported here: FFmpeg's libraries are big, and only ingest needs them.
    import av
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt = image.format or ""
            mime = Image.MIME.get(fmt, f"image/{fmt.lower()}")
            width, height = image.size
            # EXIF orientations 5-8 turn the picture a quarter: displayed, it is the other way.
            if image.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                width, height = height, width
            return Probe(MediaKind.IMAGE, mime, width, height, None, fmt.lower() or None)
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.video
            if not streams:
                raise InvalidInput(f"{path.name}: has no video stream")
            stream = streams[0]
            # FFmpeg guesses from the extension when the bytes say nothing: any file named
            # .jpg opens as an "image2" sequence with a 0x0 stream. Pillow has already read
            # every real picture, so a still-image demuxer or a stream without a size here
            # means the bytes are not media.
            name = container.format.name
            if name in _STILL_IMAGE_DEMUXERS or name.endswith("_pipe"):
                raise InvalidInput(f"{path.name}: not an image or video Herald can read")
            if not (stream.codec_context.width and stream.codec_context.height):
                raise InvalidInput(f"{path.name}: not an image or video Herald can read")
            duration = None
            if container.duration is not None:
                duration = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            shown = (stream.codec_context.width or None, stream.codec_context.height or None)
            if _rotation(container, stream) % 180 == 90:
                shown = shown[::-1]
            return Probe(
                MediaKind.VIDEO,
                _video_mime(path, container.format.name, container.metadata),
                *shown,
                round(duration, 3) if duration is not None else None,
                stream.codec_context.name,
            )
    except av.FFmpegError:
        raise InvalidInput(f"{path.name}: not an image or video Herald can read") from None


def _rotation(container: Any, stream: Any) -> int:
    """Degrees the stream is turned when displayed (0 when unknown).

    An older `rotate` tag (Matroska keeps it as `ROTATE`) is read from the metadata; the
    display matrix phones write (MP4/QuickTime side data) is not exposed on PyAV's streams,
    but FFmpeg attaches it to decoded frames, so the first frame is decoded to read it."""
    import av

    for key, value in stream.metadata.items():
        if key.lower() == "rotate":
            try:
                return round(float(value)) % 360
            except ValueError:
                break
    try:
        for packets, packet in enumerate(container.demux(stream)):
            for frame in stream.decode(packet):
                return round(frame.rotation) % 360
            if packets >= _MAX_PACKETS_FOR_ROTATION:
                break
    except (av.FFmpegError, ValueError):
        pass  # undecodable here: the dimensions stay as stored
    return 0


_EXIF_ORIENTATION = 0x0112
_STILL_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe"})
# A decoder may need a few packets (B-frames) before its first frame; a file that gives
# none within these is read as unrotated rather than decoded whole.
_MAX_PACKETS_FOR_ROTATION = 64


def _video_mime(path: Path, format_name: str, metadata: dict[str, str]) -> str:
    names = format_name.split(",")
    if "mp4" in names or "mov" in names:
        brand = metadata.get("major_brand", "").strip().lower()
        if brand == "qt" or (not brand and path.suffix.lower() == ".mov"):
            return "video/quicktime"
        return "video/mp4"
    if "webm" in names and path.suffix.lower() == ".webm":
        return "video/webm"
    for name in names:
        if name in _CONTAINERS:
            return _CONTAINERS[name]
    return f"video/{names[0]}"
