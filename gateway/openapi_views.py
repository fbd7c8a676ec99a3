"""Typed views: a view field that passes a service's answer through carries that answer's schema.

The views (client overview, business report) are built from what the services answer, unchanged.
Their fields say where the data comes from (``x-crm-answer-of``: a method and a public path, and
whether the field holds the page's ``items`` or one property of the answer), and after the merge the
field's bare ``object`` is replaced by a reference to the schema the service publishes for that
answer. Generated clients then get the services' own classes. A service missing from the merge
leaves its fields as they were (``object``), so the document stays valid.
"""

from __future__ import annotations

from typing import Any

MARK = "x-crm-answer-of"
REF_PREFIX = "#/components/schemas/"


def answer_of(method: str, path: str, *, part: str | None = None, items: bool = False) -> dict[str, Any]:
    """``json_schema_extra`` for a view field holding the answer of ``method path``.

    ``part`` takes one property of that answer; ``items`` takes the element of its (page's) list.
    """
    return {MARK: {"method": method.lower(), "path": path, "part": part, "items": items}}


def type_views(document: dict[str, Any]) -> None:
    """Replace every marked field's schema with the referenced answer schema, in place."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for schema in schemas.values():
        for name, field in list(schema.get("properties", {}).items()):
            source = field.get(MARK)
            if source is None:
                continue
            typed = _answer_schema(document, schemas, source)
            if typed is not None:
                schema["properties"][name] = _like(field, typed)


def _answer_schema(document: dict[str, Any], schemas: dict[str, Any], source: dict[str, Any]) -> Any:
    operation = document.get("paths", {}).get(source["path"], {}).get(source["method"])
    if operation is None:
        return None
    ok = operation.get("responses", {}).get("200", {})
    found: Any = ok.get("content", {}).get("application/json", {}).get("schema")
    for step in (source.get("part"), "items" if source.get("items") else None):
        if step is None or found is None:
            continue
        found = _property(schemas, found, step)
    if source.get("items") and found is not None:
        found = found.get("items") if found.get("type") == "array" else None
    return found


def _property(schemas: dict[str, Any], schema: dict[str, Any], name: str) -> Any:
    ref = schema.get("$ref", "")
    if ref.startswith(REF_PREFIX):
        schema = schemas.get(ref.removeprefix(REF_PREFIX), {})
    return schema.get("properties", {}).get(name)


def _like(field: dict[str, Any], typed: Any) -> dict[str, Any]:
    """The typed schema with the field's shape kept: a list stays a list, null stays allowed."""
    kept = {k: v for k, v in field.items() if k in ("title", "description", "default")}
    variants = field.get("anyOf", [field])
    nullable = any(v.get("type") == "null" for v in variants)
    listed = any(v.get("type") == "array" for v in variants)
    wrap = listed and typed.get("type") != "array"
    shaped = {"type": "array", "items": typed} if wrap else typed
    if nullable:
        return {**kept, "anyOf": [shaped, {"type": "null"}]}
    return {**kept, **shaped} if "$ref" not in shaped else {**kept, "allOf": [shaped]}
