"""Every operation documents its errors as RFC 9457 problems, so clients (and schemathesis) can
rely on the document: 422 is a problem (not FastAPI's ``HTTPValidationError``), and a ``default``
problem response covers the statuses every operation may answer (401, 403, 404, 409, 412, 413,
428, 429, 503...)."""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

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
                    # Optional in the signature only so that a missing header answers 428, not 422;
                    # a plain required string, so generated clients cannot send "no value".
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "title": "If-Match", "examples": ['"3"']}
            if method == "post" and not (
                operation.get("x-mints-credentials") or operation.get("x-never-replayed")
            ):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem("Validation failed: `errors` lists each field and why")
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    response["content"] = {PROBLEM_JSON: {"schema": _problem_schema(response)}}
            responses.setdefault("default", _problem("An error, as an RFC 9457 problem"))
    restore_example_nulls(schemas)
    name_twins(document)
    name_operations(document)
    add_creation_links(document)
    return document


def restore_example_nulls(schemas: dict[str, Any]) -> None:
    """Put back the nulls of the models' examples: FastAPI encodes the document with
    ``exclude_none``, which drops ``"notes": null`` from an example and makes it invalid against its
    own schema (the field is required). A schema gets its model's examples back only when they are
    the same examples without their nulls, so two models of one name cannot be confused."""
    for model in _models(BaseModel):
        extra = model.model_config.get("json_schema_extra")
        if not isinstance(extra, dict) or "examples" not in extra:
            continue
        schema = schemas.get(model.__name__)
        if schema is not None and schema.get("examples") == _without_nulls(extra["examples"]):
            schema["examples"] = copy.deepcopy(extra["examples"])


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for sub in root.__subclasses__():
        found += [sub, *_models(sub)]
    return found


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): a retry with the same key and body within a day answers"
    " the first response again (`Idempotent-Replayed: true`) and stores nothing twice"
    " (crmkit/idempotency.py).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "examples": ["3f1c9a2e-client-create-1"]},
}
"""Every POST honours it (``IdempotencyMiddleware``), except those that mint a credential (400)."""

_TWIN = re.compile(r"^(?P<base>.+)-(?P<side>Input|Output)$")


def name_twins(document: dict[str, Any]) -> None:
    """FastAPI names a model that reads differently from how it writes ``X-Input`` and ``X-Output``,
    both titled ``X``: generators refuse the second. What a client reads keeps the name ``X``, what
    it writes becomes ``XInput``; and every schema's title is its own name, so titles stay unique."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name in schemas:
        twin = _TWIN.match(name)
        if twin is not None:
            renames[name] = twin["base"] + ("Input" if twin["side"] == "Input" else "")
    if renames:
        renamed = rewrite_refs(document, renames)
        document.clear()
        document.update(renamed)
        schemas = document["components"]["schemas"]
        document["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        schema["title"] = name


REF_PREFIX = "#/components/schemas/"


def _renamed_ref(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(REF_PREFIX):
        name = value[len(REF_PREFIX) :]
        return REF_PREFIX + renames.get(name, name)
    return value


def _all_strings(mapping: dict[Any, Any]) -> bool:
    return all(isinstance(v, str) for v in mapping.values())


def rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    """A copy of ``node`` with ``$ref``s (and a discriminator's ``mapping``) to renamed schemas
    pointing at their new names."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref":
                out[key] = _renamed_ref(value, renames)
            elif key == "mapping" and isinstance(value, dict) and _all_strings(value):
                out[key] = {k: _renamed_ref(v, renames) for k, v in value.items()}
            else:
                out[key] = rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [rewrite_refs(item, renames) for item in node]
    return node


# Routers every service mounts under /api/v1/{service}: their operations are named for the service.
_SHARED_TAGS = frozenset({"events", "sync", "exports", "reports", "operations"})
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def name_operations(document: dict[str, Any]) -> None:
    """Short, stable operationIds in one scheme, ``{resource}_{action}`` (``clients_list``,
    ``applications_submit``): the resource is the operation's tag (or, for the routers every
    service shares, the service), the action is the handler's name without the resource's words.
    Generated clients name their functions after them (FastAPI's own ids ran to 110 characters)."""
    taken: set[str] = set()
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            handler = _handler_name(operation.get("operationId", ""), path, method)
            tag = (operation.get("tags") or ["api"])[0]
            segments = path.strip("/").split("/")
            if tag in _SHARED_TAGS and len(segments) > 2 and segments[:2] == ["api", "v1"]:
                resource = segments[2].replace("-", "_")
            else:
                resource = re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_")
            nouns = {_singular(word) for word in resource.split("_")}
            action = [word for word in handler.split("_") if _singular(word) not in nouns]
            candidate = f"{resource}_{'_'.join(action or [handler])}"
            if candidate in taken:
                candidate = f"{resource}_{handler}"
            taken.add(candidate)
            operation["operationId"] = candidate


def _handler_name(operation_id: str, path: str, method: str) -> str:
    """FastAPI's default id is ``{handler}{path with _}_{method}``: the handler's name back."""
    suffix = re.sub(r"\W", "_", path) + f"_{method}"
    return operation_id[: -len(suffix)] if operation_id.endswith(suffix) else operation_id


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
