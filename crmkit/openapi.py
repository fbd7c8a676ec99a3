"""Every operation documents its errors as RFC 9457 problems, so clients (and schemathesis) can
rely on the document: 422 is a problem (not FastAPI's ``HTTPValidationError``), and a ``default``
problem response covers the statuses every operation may answer (401, 403, 404, 409, 412, 413,
428, 429, 503...)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from crmkit.problems import PROBLEM_JSON, FieldError, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def _problem_schema(response: dict[str, Any]) -> dict[str, Any]:
    """A route's own problem model (``IllegalTransitionProblem``) where it declared one, else ``Problem``."""
    for media in response.get("content", {}).values():
        schema = media.get("schema", {})
        refs = [s.get("$ref", "") for s in schema.get("anyOf", [schema])]
        if all(ref.endswith("Problem") for ref in refs) and refs != [_PROBLEM_REF["$ref"]]:
            return {"anyOf": schema["anyOf"]} if "anyOf" in schema else {"$ref": refs[0]}
    return _PROBLEM_REF


def problem_document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"].pop("$defs", None)
    schemas["FieldError"] = FieldError.model_json_schema()
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
                    # Optional in the signature only so that a missing header answers 428, not 422.
                    parameter["required"] = True
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem("Validation failed: `errors` lists each field and why")
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    response["content"] = {PROBLEM_JSON: {"schema": _problem_schema(response)}}
            responses.setdefault("default", _problem("An error, as an RFC 9457 problem"))
    add_creation_links(document)
    return document


_PARAMETER = re.compile(r"^\{([^}/:]+)(?::[^}]*)?\}$")


def _has_id(document: dict[str, Any], response: dict[str, Any]) -> bool:
    for media in response.get("content", {}).values():
        schema = media.get("schema", {})
        while "$ref" in schema:
            schema = document["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[1], {})
        if "id" in schema.get("properties", {}):
            return True
    return False


def add_creation_links(document: dict[str, Any]) -> None:
    """OpenAPI links from each creating ``POST {collection}`` (201 with an ``id``) to every operation
    under ``{collection}/{x_id}``: the new record's id is that parameter, the collection's own path
    parameters are passed on. Generators show them as follow-ups, and schemathesis's stateful phase
    walks real records (create → read, change, move) instead of guessing ids."""
    paths: dict[str, Any] = document.get("paths", {})
    for collection, item in paths.items():
        create = item.get("post")
        created = (create or {}).get("responses", {}).get("201")
        if created is None or not _has_id(document, created):
            continue
        own = re.findall(r"\{([^}/:]+)", collection)
        links: dict[str, Any] = {}
        for path, target in paths.items():
            rest = path[len(collection) + 1 :].split("/") if path.startswith(collection + "/") else []
            match = _PARAMETER.match(rest[0]) if rest else None
            if match is None:
                continue
            parameters = {name: f"$request.path.{name}" for name in own}
            parameters[match.group(1)] = "$response.body#/id"
            for method in _METHODS:
                operation = target.get(method)
                if operation is not None and "operationId" in operation:
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": parameters,
                    }
        if links:
            created["links"] = links


def install_problem_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the problem-aware document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
