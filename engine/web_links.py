"""A content link as Herald accepts it: an absolute http(s) URL with a host."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Characters no URL carries unencoded that would end it early or break Slack's markup.
_NOT_IN_URL = re.compile(r'[\s<>"]')


def link_problem(link: str) -> str | None:
    """Why `link` is not an absolute http(s) URL with a host (None when it is): it is posted
    to every platform and shown in Slack, so `javascript:`, `data:`, `ftp://` and a bare
    `www.x.com` (which platforms would not link) are refused where they come in."""
    shown = repr(link[:80])
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        return (
            f"{shown} is not a web address: give an absolute http(s) URL (https://example.com/page)"
        )
    found = _NOT_IN_URL.search(link)
    if found:
        where = found.start() + 1
        return f"{shown} contains {found.group()!r} at position {where} (percent-encode it)"
    return None
