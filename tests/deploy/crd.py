"""What JSON Schema validation of a custom resource misses: fields its CRD does not know.

A structural CRD schema does not forbid unknown fields; the API server silently prunes them,
so a misspelt ``intervall`` would vanish without a word. This walks the object beside its
schema and names every field the schema does not declare (and does not keep open with
``x-kubernetes-preserve-unknown-fields`` or ``additionalProperties``).
"""

from __future__ import annotations

from typing import Any


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    if isinstance(value, dict):
        return _object(value, schema, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [
            problem
            for index, item in enumerate(value)
            for problem in unknown_fields(item, schema["items"], f"{path}[{index}]")
        ]
    return []


def _object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    if path == ".metadata" or (not properties and extra is None):
        return []  # metadata is checked by the API server's ObjectMeta, not by the CRD
    problems = []
    for key, item in value.items():
        where = f"{path}.{key}"
        if key in properties:
            problems += unknown_fields(item, properties[key], where)
        elif isinstance(extra, dict):
            problems += unknown_fields(item, extra, where)
        else:
            problems.append(f"{where}: not a field of this resource")
    return problems
