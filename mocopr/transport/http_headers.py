"""The modern era's request metadata headers: ``Mcp-Method``, ``Mcp-Name`` and
``Mcp-Param-*`` must agree with the body, values may use the Base64 sentinel
``=?base64?...?=``, and a mismatch is a 400 with ``HeaderMismatch`` (-32020)."""

import base64
import binascii
from typing import Any

from mocopr.protocol.errors import HEADER_MISMATCH, McpError

_SENTINEL_HEAD = "=?base64?"
_SENTINEL_TAIL = "?="
#: Methods whose ``Mcp-Name`` header mirrors ``params.name`` or ``params.uri``.
NAMED_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def encode_value(text: str) -> str:
    """A header value for ``text``: as it is if :func:`decode_value` reads it back unchanged
    (printable ASCII, with no space or tab around it and no look of the sentinel), else in the
    Base64 sentinel form."""
    if text.isascii() and text.isprintable() and text.strip(" \t") == text and not _is_sentinel(text):
        return text
    return f"{_SENTINEL_HEAD}{base64.b64encode(text.encode()).decode()}{_SENTINEL_TAIL}"


def _is_sentinel(value: str) -> bool:
    return (
        len(value) >= len(_SENTINEL_HEAD) + len(_SENTINEL_TAIL)
        and value.startswith(_SENTINEL_HEAD)
        and value.endswith(_SENTINEL_TAIL)
    )


def decode_value(raw: str) -> str:
    """A header value with surrounding whitespace dropped and the Base64 sentinel decoded.

    Only the exact sentinel form is decoded; a value with just the prefix or just
    the suffix is literal. Invalid Base64 inside the sentinel is a mismatch.
    """
    value = raw.strip(" \t")
    if _is_sentinel(value):
        encoded = value[len(_SENTINEL_HEAD) : -len(_SENTINEL_TAIL)]
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise McpError(HEADER_MISMATCH, "Header mismatch: invalid Base64 in a header value") from None
    if not (value.isascii() and value.isprintable()) and any(
        (ord(c) < 0x20 and c != "\t") or ord(c) > 0x7E for c in value
    ):
        raise McpError(HEADER_MISMATCH, "Header mismatch: a header value has invalid characters")
    return value


def check_method(headers: dict[str, str], method: str) -> None:
    value = headers.get("mcp-method")
    if value is None:
        raise McpError(HEADER_MISMATCH, "Header mismatch: the Mcp-Method header is required")
    if value.strip(" \t") != method:
        raise McpError(
            HEADER_MISMATCH, f"Header mismatch: Mcp-Method {value!r} does not match body method {method!r}"
        )


def check_name(headers: dict[str, str], method: str, params: Any) -> None:
    field = NAMED_METHODS.get(method)
    if field is None:
        return
    expected = getattr(params, field)
    value = headers.get("mcp-name")
    if value is None:
        raise McpError(HEADER_MISMATCH, f"Header mismatch: {method} needs the Mcp-Name header")
    if decode_value(value) != expected:
        raise McpError(HEADER_MISMATCH, f"Header mismatch: Mcp-Name does not match body {field} {expected!r}")


def _header_text(value: Any) -> str | None:
    """The header form of an argument value, as clients render it; None for no header."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)  # an int too: msgspec decodes none longer than str() renders


def mirrored_parameters(input_schema: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """The ``x-mcp-header`` annotations of a tool: (property path, header name) pairs,
    found through ``properties`` chains only, as the spec allows."""
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(schema: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, child in (schema.get("properties") or {}).items():
            if not isinstance(child, dict):
                continue
            name = child.get("x-mcp-header")
            if isinstance(name, str) and name:
                found.append(((*path, key), name))
            walk(child, (*path, key))

    walk(input_schema, ())
    return found


def check_parameters(
    headers: dict[str, str], mirrored: list[tuple[tuple[str, ...], str]], arguments: Any
) -> None:
    """Every mirrored argument present in the body must be in its header, equal after decoding."""
    for path, name in mirrored:
        value: Any = arguments
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        header = headers.get(f"mcp-param-{name.lower()}")
        expected = _header_text(value)
        if header is None:
            if expected is not None:
                raise McpError(HEADER_MISMATCH, f"Header mismatch: the Mcp-Param-{name} header is required")
            continue
        decoded = decode_value(header)
        if expected is None or not _same(decoded, expected, value):
            raise McpError(HEADER_MISMATCH, f"Header mismatch: Mcp-Param-{name} does not match the body")


def _same(header: str, expected: str, value: Any) -> bool:
    """Numbers compare by value (a client may render 3 as 3.0); an int beyond the range of a
    float, by its digits."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(header) == float(value)
        except (ValueError, OverflowError):
            return header == expected
    return header == expected
