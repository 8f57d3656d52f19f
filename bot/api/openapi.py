"""The OpenAPI 3.1 document, generated from the route table and its pydantic models (pydantic
writes JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect)."""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api.core import ROUTES, Route

REF = "#/components/schemas/{model}"
ERRORS = {
    "401": "no token, or an unknown, revoked or expired one",
    "403": "the token's scope, the user's role, or the safety rules forbid it",
    "404": "no such distribution, slot, content item or webhook",
    "409": "the state does not allow it, or someone changed it first",
    "422": "bad JSON or a bad field (named in `field`); nothing changed",
    "429": "the token is over its rate limit (see Retry-After)",
}
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "the request field at fault"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}


def _models(spec: Route) -> list[type[BaseModel]]:
    found = [m for m in (spec.body, spec.query) if m is not None]
    answer = spec.response
    found += [
        arg
        for arg in (answer, *typing.get_args(answer))
        if isinstance(arg, type) and issubclass(arg, BaseModel)
    ]
    return found


def _schema_of(answer: Any) -> dict[str, Any]:
    if typing.get_origin(answer) is list:
        (item,) = typing.get_args(answer)
        return {"type": "array", "items": {"$ref": REF.format(model=item.__name__)}}
    return {"$ref": REF.format(model=answer.__name__)}


def _operation(spec: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    name = re.sub(r"\W+", "_", f"{spec.method.lower()}{spec.path}").strip("_")
    op: dict[str, Any] = {
        "operationId": name,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "security": [{"bearer": []}],
        "x-herald-scope": spec.scope,
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"{(\w+)}", spec.path)
        ],
    }
    if spec.query is not None:
        props = schemas[spec.query.__name__].get("properties", {})
        required = set(schemas[spec.query.__name__].get("required", []))
        for field, schema in props.items():
            op["parameters"].append(
                {"name": field, "in": "query", "required": field in required, "schema": schema}
            )
    if spec.stream:
        op["parameters"].append(
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            }
        )
    if spec.idempotent:
        op["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "same key + same body -> the same answer for 24 h",
                "schema": {"type": "string", "maxLength": 200},
            }
        )
    if spec.raw_body is not None:
        op["requestBody"] = {"required": True, "content": spec.raw_body}
    elif spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_of(spec.body)}},
        }
    if spec.stream:
        ok = {"description": "server-sent events", "content": {"text/event-stream": {}}}
    else:
        ok = {
            "description": "OK",
            "content": {"application/json": {"schema": _schema_of(spec.response)}},
        }
    op["responses"] = {str(spec.status): ok} | {
        code: {
            "description": text,
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
        for code, text in ERRORS.items()
    }
    return op


def openapi_document() -> dict[str, Any]:
    """The whole document for every declared route."""
    models = {m for spec in ROUTES for m in _models(spec)}
    ordered = sorted(models, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Problem"] = PROBLEM
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Plan, approve and run content distributions (docs/api.md).",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
