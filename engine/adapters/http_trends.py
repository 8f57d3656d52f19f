"""`HttpTrendSource`: trend data from a Trends service over HTTP (seed 001's port 5060).

POSTs `{"platforms": [...]}` to the configured URL and reads a JSON list of trends, or
`{"trends": [...]}`, in the same shape as the trends file (see `engine.trends`).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from engine.errors import NetworkError
from engine.ports import Trend
from engine.trends import parse_trends


class HttpTrendSource:
    """A `TrendSource` over HTTP with an explicit timeout; trends are data, never prompts."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, max_bytes: int = 1_000_000) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    async def trends(self, platforms: Sequence[str]) -> list[Trend]:
        """Trends for `platforms`. Raises NetworkError (connection, timeout, non-2xx status)
        and InvalidInput (a body that is not a list of valid trends)."""
        wanted = [p.lower() for p in platforms]
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.url, json={"platforms": wanted}) as response,
            ):
                if response.status >= 300:
                    raise NetworkError(f"trends service answered HTTP {response.status}")
                body = await response.content.read(self.max_bytes + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NetworkError(f"trends service unreachable: {type(exc).__name__}") from None
        if len(body) > self.max_bytes:
            raise NetworkError(f"trends answer larger than {self.max_bytes} bytes")
        text = body.decode("utf-8", errors="replace")
        keep = set(wanted)
        return [t for t in parse_trends(text, source="trends service") if t.platform in keep]
