"""URLs shown without what may be a secret in them.

Webhook and service URLs often carry their credential in the URL itself: a Slack incoming
webhook's path (`/services/T…/B…/<secret>`), a Zapier hook id, `?token=…`, `user:pass@`. So
everything except the one answer that creates it (which the user typed) shows the
redacted form: scheme, host and port, the last four characters of the path (enough to tell
two hooks apart), query keys with their values masked, no user info and no fragment.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

MASK = "…"
_TAIL = 4
_SHORT = 8  # a path this short is masked whole: its last four would be most of it
# Up to whitespace or a quote, and not the sentence's punctuation after it.
_URL = re.compile(r"https?://[^\s\"'<>]*[^\s\"'<>.,;:!?)\]]", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` fit for logs, Slack, the API and the audit log, e.g.
    `https://hooks.slack.com/services/T0/B0/XyZ123abcd` -> `https://hooks.slack.com/…abcd`.
    A value without a scheme (a mistyped setting) keeps its host: `hooks.x.com/…`."""
    schemeless = "://" not in url
    try:
        parts = urlsplit("//" + url if schemeless else url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid URL>"
    if not host:
        return "<invalid URL>"  # no host to show: it may be all secret
    shown = f"{host}/" if schemeless else f"{parts.scheme}://{host}/"
    path = parts.path.strip("/")
    if path:
        shown += MASK + path[-_TAIL:] if len(path) > _SHORT else MASK
    if parts.query:
        keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
        shown += "?" + ("&".join(f"{key}={MASK}" for key in keys) if keys else MASK)
    return shown


def redact_urls(text: str) -> str:
    """`text` with every http(s) URL in it redacted (error messages that quote a URL)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)
