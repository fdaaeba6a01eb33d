"""A small check of tool arguments against an input schema given verbatim.

A schema written by hand may say more than type hints can, but a JSON Schema
engine is too slow for the hot path. So only the mistakes a call most often
makes are caught: a missing ``required`` property, a property of the wrong JSON
``type``, and an unknown property where ``additionalProperties`` is false. Every
other keyword (``$ref``, ``allOf``, ``if``, ``enum``, formats, bounds, nested
objects) is advertised to clients but not enforced.
"""

from collections.abc import Callable
from typing import Any

import msgspec

ArgumentCheck = Callable[[dict[str, Any]], None]

_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "number": (int, float),
}


def _is_a(value: Any, json_type: str) -> bool:
    """Whether a decoded JSON value is of a JSON Schema type (unknown names match anything)."""
    if json_type == "integer":
        return type(value) is int or (type(value) is float and value.is_integer())
    expected = _PYTHON_TYPES.get(json_type)
    if expected is None:
        return True
    return isinstance(value, expected) and not (type(value) is bool and json_type == "number")


def _json_type_of(value: Any) -> str:
    for json_type in ("boolean", "integer", "number", "string", "array", "object"):
        if _is_a(value, json_type):
            return json_type
    return "null"


def _declared_types(schema: Any) -> tuple[str, ...]:
    """The JSON types a property schema allows, or () when it does not say."""
    declared = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(declared, str):
        return (declared,)
    if isinstance(declared, list) and all(isinstance(item, str) for item in declared):
        return tuple(declared)
    return ()


def argument_check(schema: dict[str, Any]) -> ArgumentCheck | None:
    """A function that raises :class:`msgspec.ValidationError` for arguments the
    schema refuses (as a decode by type hints would); None if it constrains nothing
    this module checks."""
    required = [name for name in schema.get("required", ()) if isinstance(name, str)]
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    types = {name: declared for name, prop in properties.items() if (declared := _declared_types(prop))}
    closed = schema.get("additionalProperties") is False
    if not (required or types or closed):
        return None

    def check(arguments: dict[str, Any]) -> None:
        for name in required:
            if name not in arguments:
                raise msgspec.ValidationError(f"Object missing required field `{name}`")
        for name, value in arguments.items():
            expected = types.get(name)
            if expected and not any(_is_a(value, json_type) for json_type in expected):
                raise msgspec.ValidationError(
                    f"Expected `{' | '.join(expected)}`, got `{_json_type_of(value)}` - at `$.{name}`"
                )
            if closed and name not in properties:
                raise msgspec.ValidationError(f"Object contains unknown field `{name}`")

    return check
