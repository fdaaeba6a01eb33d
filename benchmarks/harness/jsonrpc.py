"""The MCP messages the harness writes and reads itself, outside the load: the legacy era's handshake,
and the shape of a ``tools/call`` answer with its strict check (the right id, the expected value as
the one text block and as ``structuredContent``, not a tool error, and in the modern era
``resultType: "complete"``), so that no benchmark counts a wrong answer as throughput."""

from typing import Any, Generic, TypeVar

import msgspec

#: The protocol version of each era: legacy sessions (``initialize`` first), modern stateless requests.
ERAS = {"modern": "2026-07-28", "legacy": "2025-11-25"}
CLIENT_INFO = {"name": "mocopr-bench", "version": "1.0"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}

Value = TypeVar("Value")


class TextBlock(msgspec.Struct):
    type: str
    text: str


class CallResult(msgspec.Struct, Generic[Value]):
    content: list[TextBlock]
    isError: bool = False
    structuredContent: dict[str, Value] | None = None
    resultType: str | None = None


class Reply(msgspec.Struct, Generic[Value]):
    """A JSON-RPC response to a ``tools/call`` whose tool returns a ``Value``."""

    id: int | str | None = None
    result: CallResult[Value] | None = None
    error: dict[str, Any] | None = None


def initialize(request_id: int | str) -> dict[str, Any]:
    """The legacy era's ``initialize`` request."""
    params = {"protocolVersion": ERAS["legacy"], "capabilities": {}, "clientInfo": CLIENT_INFO}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


def is_correct(reply: Reply[Value], request_id: int | str, value: Value, modern: bool) -> bool:
    """Whether ``reply`` answers request ``request_id`` with the tool's ``value``."""
    result = reply.result
    return (
        reply.id == request_id
        and result is not None
        and not result.isError
        and [(block.type, block.text) for block in result.content] == [("text", str(value))]
        and result.structuredContent == {"result": value}
        and (not modern or result.resultType == "complete")
    )
