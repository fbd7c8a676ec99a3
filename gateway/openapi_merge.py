"""One OpenAPI document for the whole API: the gateway's operations plus every service's.

Each service's ``/openapi.json`` is fetched through the pooled client and the merge cached for a
minute. A service that cannot be reached is left out and named in ``info.x-unavailable-services``
(and the document is not cached, so it reappears as soon as the service is back).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI

from crmkit.openapi import rewrite_refs
from gateway.openapi_views import type_views

CACHE_SECONDS = 60.0
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
SECURITY_SCHEMES: dict[str, Any] = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from POST /api/v1/auth/token",
    },
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An integrator's API key (`crm_...`), limited to its scopes",
    },
}


def _with_api_key_option(operation: dict[str, Any]) -> None:
    security = operation.get("security")
    if isinstance(security, list) and {"HTTPBearer": []} in security and {"ApiKey": []} not in security:
        security.append({"ApiKey": []})


def _renames_for(service: str, theirs: dict[str, Any], schemas: dict[str, Any]) -> dict[str, str]:
    """A service's schema names that clash with a different schema already merged → new names.

    Renaming one schema can change those referring to it, so this runs until nothing new clashes."""
    renames: dict[str, str] = {}
    while True:
        rewritten = rewrite_refs(theirs, renames)
        clashes = {
            name: f"{service.title()}{name}"
            for name, schema in rewritten.items()
            if name not in renames and name in schemas and schemas[name] != schema
        }
        if not clashes:
            return renames
        renames.update(clashes)


def _add_schemas(schemas: dict[str, Any], theirs: dict[str, Any], renames: dict[str, str]) -> None:
    """A renamed schema's title follows its name: generators name classes after titles, and two
    classes titled ``AgendaLists`` cannot both be generated."""
    for name, schema in rewrite_refs(theirs, renames).items():
        new = renames.get(name, name)
        schemas[new] = {**schema, "title": new} if "title" in schema else schema


def _add_paths(paths: dict[str, Any], operation_ids: set[Any], service: str, theirs: dict[str, Any]) -> None:
    """A service's operations, except its operations endpoints and paths the gateway serves itself;
    an operationId already taken gets the service's name in front (and the links naming it follow)."""
    renamed: dict[str, str] = {}
    for path, item in theirs.items():
        if path in OPERATIONS_PATHS or path in paths:
            continue
        for operation in _operations(item):
            if operation.get("operationId") in operation_ids:
                renamed[operation["operationId"]] = f"{service}_{operation['operationId']}"
                operation["operationId"] = renamed[operation["operationId"]]
            operation_ids.add(operation.get("operationId"))
        paths[path] = item
    if renamed:
        for item in theirs.values():
            for operation in _operations(item):
                for response in operation.get("responses", {}).values():
                    for link in response.get("links", {}).values():
                        link["operationId"] = renamed.get(link["operationId"], link["operationId"])


def _operations(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for operation in item.values() if isinstance(operation, dict)]


def merge_documents(own: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """The gateway's document with every reachable service's paths and schemas added."""
    merged = copy.deepcopy(own)
    merged["info"] = {**merged.get("info", {}), "title": "Insurance agent CRM API"}
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    components["securitySchemes"] = {**components.get("securitySchemes", {}), **SECURITY_SCHEMES}
    operation_ids = {op.get("operationId") for item in paths.values() for op in _operations(item)}
    for service, document in services.items():
        if document is None:
            continue
        theirs: dict[str, Any] = document.get("components", {}).get("schemas", {})
        renames = _renames_for(service, theirs, schemas)
        _add_schemas(schemas, theirs, renames)
        _add_paths(paths, operation_ids, service, rewrite_refs(document.get("paths", {}), renames))
    for item in paths.values():
        for operation in _operations(item):
            _with_api_key_option(operation)
    type_views(merged)
    unavailable = [service for service, document in services.items() if document is None]
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
    return merged


class OpenApiMerger:
    """Builds and caches the merged document."""

    def __init__(
        self, app: FastAPI, client: httpx.AsyncClient, upstreams: dict[str, str], timeout: float
    ) -> None:
        self.app = app
        self.client = client
        self.upstreams = upstreams
        self.timeout = timeout
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Drop the cached document."""
        self._cached = None

    async def document(self) -> dict[str, Any]:
        """The merged document, at most a minute old."""
        cached = self._cached
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self._lock:
            cached = self._cached
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            fetched = await asyncio.gather(*(self._fetch(url) for url in self.upstreams.values()))
            services = dict(zip(self.upstreams, fetched, strict=True))
            merged = merge_documents(self.app.openapi(), services)
            if all(doc is not None for doc in fetched):
                self._cached = (time.monotonic() + CACHE_SECONDS, merged)
            return merged

    async def _fetch(self, base_url: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(f"{base_url}/openapi.json", timeout=self.timeout)
            if response.status_code != 200:
                return None
            document = json.loads(response.content)
        except (httpx.HTTPError, ValueError):
            return None
        return document if isinstance(document, dict) else None
