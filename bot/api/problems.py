"""Errors as RFC 9457 problem details (`application/problem+json`), naming the field.

Every failure of an API request leaves through `problem_middleware`: Herald's own errors map
to 403/404/409/422/503, bad JSON and bad fields to 422 with `field`, and anything unexpected
to a 500 whose body says nothing about the internals (the traceback goes to the log only).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from engine.errors import (
    AmbiguousName,
    ConcurrentModification,
    HeraldError,
    IllegalTransition,
    InvalidInput,
    InvalidRequest,
    NotAllowed,
    NotFound,
    StorageError,
)

log = logging.getLogger("herald.api")
PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """An API error answer: status, a one-line detail, and the field at fault (if any)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.errors = errors

    def response(self, instance: str = "") -> web.Response:
        body: dict[str, Any] = {
            "type": f"https://herald.dev/problems/{self.status}",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": _clip(self.detail),
        }
        if instance:
            body["instance"] = _clip(instance)
        if self.field is not None:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        return web.Response(
            status=self.status,
            text=json.dumps(body),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def _clip(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters: a problem echoes what the client sent (a
    5 000-character id, a body), and must stay a short, readable answer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def from_validation(exc: ValidationError, prefix: str = "") -> Problem:
    """A 422 naming the first bad field (dotted path) and listing every one."""
    errors = []
    for error in exc.errors():
        # A queue item is `Content | str`: the union member's name is no part of the path.
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "Content")
        field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "body")
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a field Herald knows"
        errors.append({"field": field, "detail": message})
    first = errors[0] if errors else {"field": "body", "detail": "invalid"}
    return Problem(422, f"{first['field']}: {first['detail']}", field=first["field"], errors=errors)


def from_herald(exc: HeraldError) -> Problem:
    """The problem for one of Herald's own errors (its message is meant for the user)."""
    if isinstance(exc, InvalidRequest):
        return Problem(422, str(exc), field=exc.field)
    if isinstance(exc, InvalidInput):
        text = str(exc)
        head = text.split(":", 1)[0]
        field = head if ":" in text and " " not in head else None
        return Problem(422, text, field=field)
    if isinstance(exc, NotFound):
        return Problem(404, str(exc))
    if isinstance(exc, NotAllowed):
        return Problem(403, str(exc))
    if isinstance(exc, AmbiguousName | IllegalTransition | ConcurrentModification):
        return Problem(409, str(exc))
    if isinstance(exc, StorageError):
        return Problem(503, "the database is unavailable; try again", headers={"Retry-After": "5"})
    return Problem(500, str(exc))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _http_problem(request: web.Request, exc: web.HTTPException) -> Problem:
    """aiohttp's own refusals (no route, wrong method, body too large) as problems."""
    if exc.status == 404:
        return Problem(404, f"no API route {request.path}")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return Problem(
            405,
            f"{request.method} is not allowed here (allowed: {allowed})",
            headers={"Allow": allowed},
        )
    if exc.status == 413:
        limit = re.search(r"\d+", exc.text or "")  # aiohttp names its limit only there
        allowed = f"the {int(limit.group()):,} bytes allowed" if limit else "the limit"
        return Problem(413, f"body: larger than {allowed}", field="body")
    return Problem(exc.status, exc.reason)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error of an API request into a problem response."""
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response(request.path)
    except HeraldError as exc:
        return from_herald(exc).response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(request, exc).response(request.path)
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return Problem(500, "internal error (logged)").response(request.path)
