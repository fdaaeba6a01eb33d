"""JSON-RPC and MCP error codes, and the exception that carries one to the wire."""

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

#: Legacy (2025-11-25 and earlier): the resource named by ``resources/read`` does not exist.
RESOURCE_NOT_FOUND = -32002
#: 2025-11-25 only: a tool needs a URL-mode elicitation to go on.
URL_ELICITATION_REQUIRED = -32042

#: Modern (2026-07-28): HTTP headers disagree with the body, or are missing.
HEADER_MISMATCH = -32020
#: Modern: the request needs a client capability the client did not declare.
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
#: Modern: the request's protocol version is not one this server speaks.
UNSUPPORTED_PROTOCOL_VERSION = -32022

#: Implementation-defined (-32000..-32019): the request was refused because a limit was hit.
SERVER_OVERLOADED = -32000
#: Implementation-defined: a legacy request arrived before ``initialize``.
NOT_INITIALIZED = -32001


class McpError(Exception):
    """An error answered to the client as a JSON-RPC error object.

    Raise it from a handler to fail the request with a specific code; any other
    exception from a tool becomes a tool result with ``isError: true``.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def __repr__(self) -> str:
        return f"McpError({self.code}, {self.message!r})"


def invalid_params(message: str, data: Any = None) -> McpError:
    return McpError(INVALID_PARAMS, message, data)
