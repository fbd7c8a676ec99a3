"""Every string the API accepts fits the column it lands in (issue 14, finding 8).

A documented ``maxLength`` larger than the column answered 500 (a complaint summary of 2,001-4,000
characters, an insurer's name of 101-200). This test walks the merged OpenAPI document and every
table's columns: a request property of a service is matched by name with the varchar columns of
that service's schema (the gateway's with ``identity``), and must document a limit no larger than
the longest of them (a name may stand for columns of several lengths in different tables)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Stack

SCHEMA_OF_PREFIX = {
    "/api/v1/clients": "clients",
    "/api/v1/policies": "policies",
    "/api/v1/claims": "claims",
    "/api/v1/devices": "devices",
    "/api/v1/tasks": "tasks",
}
# Properties that are not stored in a column of the same name (they are parsed or sealed first).
NOT_STORED_AS_TEXT = frozenset(
    {
        "password",  # hashed
        "resident_id",  # encrypted + keyed hash
        "phone",  # normalised, encrypted
        "bank_account",  # encrypted
        "cursor",
        "key",
        "refresh_token",
        "device_token",
        "secret",
        "email",  # validated at 254 by the email rule
    }
)


def _schema_of(path: str) -> str:
    for prefix, schema in SCHEMA_OF_PREFIX.items():
        if path.startswith(prefix):
            return schema
    return "identity"


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _string_properties(
    document: dict[str, Any], node: dict[str, Any], seen: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(name, schema) of every string property reachable in a request body schema."""
    found: list[tuple[str, dict[str, Any]]] = []
    ref = node.get("$ref")
    if ref is not None:
        if ref in seen:
            return found
        seen = seen | {ref}
    node = _resolve(document, node)
    for variant in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
        found += _string_properties(document, variant, seen)
    if node.get("type") == "array" and "items" in node:
        found += _string_properties(document, node["items"], seen)
    for name, prop in node.get("properties", {}).items():
        resolved = _resolve(document, prop)
        options = resolved.get("anyOf", [resolved])
        for option in options:
            option = _resolve(document, option)
            if option.get("type") == "string" and "enum" not in option and "format" not in option:
                found.append((name, option))
            elif option.get("type") in ("object", "array") or "properties" in option:
                found += _string_properties(document, option, seen)
    return found


async def test_no_documented_limit_exceeds_its_column(api: httpx.AsyncClient, stack: Stack) -> None:
    document = (await api.get("/openapi.json")).json()
    rows = await stack.fetch(
        "SELECT table_schema, column_name, max(character_maximum_length) AS n"
        " FROM information_schema.columns WHERE data_type = 'character varying'"
        " AND table_schema IN ('clients', 'policies', 'claims', 'devices', 'identity')"
        " GROUP BY table_schema, column_name"
    )
    limits = {(r["table_schema"], r["column_name"]): int(r["n"]) for r in rows}
    too_long, unlimited = set(), set()
    for path, item in document["paths"].items():
        schema = _schema_of(path)
        for method, operation in item.items():
            if method not in ("post", "put", "patch") or "requestBody" not in operation:
                continue
            for media in operation["requestBody"]["content"].values():
                for name, prop in _string_properties(document, media.get("schema", {}), set()):
                    column = limits.get((schema, name))
                    if column is None or name in NOT_STORED_AS_TEXT:
                        continue
                    documented = prop.get("maxLength")
                    if documented is None and "pattern" not in prop:
                        unlimited.add(f"{method.upper()} {path}: {name} (column {column})")
                    elif documented is not None and documented > column:
                        too_long.add(
                            f"{method.upper()} {path}: {name} maxLength {documented} > column {column}"
                        )

    assert sorted(too_long) == [], "\n".join(sorted(too_long))
    assert sorted(unlimited) == [], "\n".join(sorted(unlimited))
