"""Parsers of raw values: each checks one value from a source and returns it
typed, or raises ValueError with the reason, which the loader turns into a line
naming the key and the source."""

import math
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

from mocopr.config.bind import parse_bind
from mocopr.config.errors import show
from mocopr.transport.forwarded import parse_network

#: Checks one raw value and returns it typed, or raises ValueError with the reason.
#: ``textual`` is true for environment variables and flags, whose values may be strings
#: standing for numbers, booleans and lists; TOML values must already have the right type.
Parser = Callable[[Any, bool], Any]


def _expected(what: str, value: object) -> ValueError:
    return ValueError(f"expected {what}, got {show(value)}")


def _from_text(convert: Callable[[str], Any], value: Any, textual: bool) -> Any:
    """``convert(value)`` for a textual string, else ``value`` unchanged for the type check."""
    if textual and isinstance(value, str):
        try:
            return convert(value.strip())
        except ValueError:
            return value
    return value


def integer(minimum: int) -> Parser:
    expected = f"an integer >= {minimum}"

    def parse(value: Any, textual: bool) -> int:
        number = _from_text(int, value, textual)
        if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
            raise _expected(expected, value)
        return number

    return parse


def number(minimum: float, *, inclusive: bool) -> Parser:
    expected = f"a number {'>=' if inclusive else '>'} {minimum:g}"

    def parse(value: Any, textual: bool) -> float:
        number = _from_text(float, value, textual)
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
            or number < minimum
            or (number == minimum and not inclusive)
        ):
            raise _expected(expected, value)
        return float(number)

    return parse


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def boolean(value: Any, textual: bool) -> bool:
    if textual and isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def choice(options: tuple[str, ...]) -> Parser:
    expected = "one of " + ", ".join(show(option) for option in options)

    def parse(value: Any, textual: bool) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise _expected(expected, value)
        return value.strip().lower()

    return parse


def string(value: Any, textual: bool) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def strings(value: Any, textual: bool) -> tuple[str, ...]:
    """A list of strings; a single string is split on commas, as environment variables must be."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _expected("a list of strings", value)


def binds(value: Any, textual: bool) -> tuple[str, ...]:
    try:
        texts = strings(value, textual)
    except ValueError:
        raise _expected("an address or a list of them (HOST:PORT, [IPv6]:PORT, fd://N)", value) from None
    if not texts:
        raise _expected("at least one address", value)
    binds = tuple(str(parse_bind(text)) for text in texts)
    for bind in binds:
        if binds.count(bind) > 1:
            raise ValueError(f"{bind} is listed twice")
    return binds


def networks(value: Any, textual: bool) -> tuple[str, ...]:
    """IP addresses and CIDR networks, kept as written once each is known to parse."""
    try:
        texts = strings(value, textual)
    except ValueError:
        raise _expected("a list of IP addresses or CIDR networks (10.0.0.0/8, ::1)", value) from None
    for text in texts:
        parse_network(text)
    return texts


def address_or_off(value: Any, textual: bool) -> str:
    text = string(value, textual).strip()
    return str(parse_bind(text)) if text else ""


def hex_key(value: Any, textual: bool) -> str:
    expected = 'hex digits of a key of at least 16 bytes (or "" for a new key each start)'
    text = string(value, textual).strip().lower()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"expected {expected}, got a value that is not hex") from None
    if text and len(key) < 16:
        raise ValueError(f"expected {expected}, got a {len(key)}-byte key")
    return text


def app_spec(value: Any, textual: bool) -> str:
    text = string(value, textual).strip()
    target, _, attribute = text.rpartition(":")
    if text and (not target or not attribute):
        raise _expected("module:attribute or path/to/file.py:attribute", value)
    return text


def endpoint(value: Any, textual: bool) -> str:
    text = string(value, textual)
    if not text.startswith("/"):
        raise _expected("a path starting with /", value)
    return text


def parser_for(annotation: Any) -> Parser:
    """By type: counts and sizes are at least 1, durations more than 0."""
    if annotation is bool:
        return boolean
    if annotation is int:
        return integer(1)
    if annotation is float:
        return number(0, inclusive=False)
    if annotation is str:
        return string
    if get_origin(annotation) is Literal:
        return choice(get_args(annotation))
    if annotation == tuple[str, ...]:
        return strings
    raise TypeError(f"no configuration parser for the type {annotation!r}")
