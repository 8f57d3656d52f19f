"""The OpenAPI document is a valid 3.1 document covering every route the app serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from bot.api.openapi import openapi_document
from tests.api.conftest import Api


class TestOpenApi:
    async def test_served_document_is_valid_openapi_31(self, api: Api) -> None:
        """GET /api/v1/openapi.json (no token needed) validates as OpenAPI 3.1."""
        status, document, _ = await api.call("GET", "/openapi.json", who=None)
        assert status == 200 and document["openapi"].startswith("3.1")
        validate(document)

    async def test_every_route_is_documented(self, api: Api) -> None:
        """Each method+path registered under /api/v1 appears in the document, with its scope,
        and the create's body is the request model of `herald plan`."""
        document = openapi_document()
        served = set()
        for resource in api.runner.app.router.resources():
            sub = getattr(resource, "_app", None)
            if sub is None:
                continue
            for r in sub.router.routes():
                path = r.resource.canonical if r.resource is not None else ""
                path = re.sub(r"^/api/v1", "", path)
                if r.method != "HEAD" and path != "/openapi.json":
                    served.add((r.method.lower(), path))
        documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
        assert served and served == documented
        for ops in document["paths"].values():
            for op in ops.values():
                assert op["x-herald-scope"] in {"read", "operate", "approve"}
                assert "422" in op["responses"]
        create = document["paths"]["/distributions"]["post"]
        ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/DistributionRequest")
