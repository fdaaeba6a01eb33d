"""What a 2xx answer says: a result, a tool result with ``isError``, a JSON-RPC error, or nothing
that MCP would send.

The body is decoded into small msgspec structs that name only the fields that decide this, so
msgspec skips the rest (the content of a large result) in C without building Python objects.
"""

from collections.abc import Iterator
from typing import Any

import msgspec

#: Outcomes other than a JSON-RPC error, which is its error code (an int).
OK = "ok"
TOOL_ERROR = "tool_error"
INVALID = "invalid"

Outcome = str | int


class _Error(msgspec.Struct):
    code: int = 0


class _Result(msgspec.Struct):
    isError: bool | None = None


class _Message(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None
    result: _Result | None = None
    error: _Error | None = None


_decode_message = msgspec.json.Decoder(_Message).decode


def classify(content_type: bytes, body: bytes) -> Outcome:
    """The outcome of a 2xx answer to a request, JSON or an SSE stream."""
    try:
        if content_type.startswith(b"text/event-stream"):
            message = _response_in_stream(body)
            if message is None:
                return INVALID
        else:
            message = _decode_message(body)
    except (msgspec.DecodeError, RecursionError):  # not JSON; nested deeper than the stack
        return INVALID
    return _outcome(message)


def _outcome(message: _Message) -> Outcome:
    if message.error is not None:
        return message.error.code
    if message.result is None:
        return INVALID
    return TOOL_ERROR if message.result.isError else OK


def _response_in_stream(body: bytes) -> _Message | None:
    """The JSON-RPC response among the events of a stream (progress notifications and log
    messages may come first)."""
    for data in _stream_data(body):
        message = _decode_message(data)
        if message.method is None and message.id is not None:
            return message
    return None


def _stream_data(body: bytes) -> Iterator[bytes]:
    for line in body.split(b"\n"):
        if line.startswith(b"data:"):
            data = line[5:].strip()
            if data:
                yield data


def response_message(content_type: bytes, body: bytes) -> dict[str, Any] | None:
    """The JSON-RPC response of an answer in full, for the handshake and the probe, which need
    more than the outcome; None if the answer holds none."""
    try:
        if not content_type.startswith(b"text/event-stream"):
            message = msgspec.json.decode(body)
            return message if isinstance(message, dict) and "jsonrpc" in message else None
        for data in _stream_data(body):
            message = msgspec.json.decode(data)
            if isinstance(message, dict) and "method" not in message and "id" in message:
                return message
    except (msgspec.DecodeError, RecursionError):
        return None
    return None
