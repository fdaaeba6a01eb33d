"""A registered tool: its description and how a call runs it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from mocopr.app.argument_check import ArgumentCheck
from mocopr.app.content import TextContent, ToolResult, to_content
from mocopr.app.handler import Handled, call_inline, invoke
from mocopr.app.signature import Signature


@dataclass(eq=False)
class Tool(Handled):
    name: str
    fn: Callable[..., Any]
    signature: Signature
    title: str | None = None
    description: str | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    #: Run a sync handler in a worker thread because it may block the event loop.
    blocking: bool = False

    def __post_init__(self) -> None:
        decode = msgspec.json.Decoder(self.signature.arguments_type).decode
        check = self.signature.argument_check
        self._decode_arguments = decode if check is None else _checked(decode, check)

    def describe(self) -> dict[str, Any]:
        tool: dict[str, Any] = {"name": self.name, "inputSchema": self.signature.input_schema}
        if self.title:
            tool["title"] = self.title
        description = self.description or self.signature.description
        if description:
            tool["description"] = description
        if self.signature.output_schema is not None:
            tool["outputSchema"] = self.signature.output_schema
        if self.annotations:
            tool["annotations"] = self.annotations
        if self.icons:
            tool["icons"] = self.icons
        if self.meta:
            tool["_meta"] = self.meta
        return tool

    def decode_arguments(self, raw: bytes) -> dict[str, Any]:
        """Decode and validate the arguments in one pass; raises msgspec.ValidationError."""
        return self._decode_arguments(raw)

    async def run(self, arguments: dict[str, Any], context: Any) -> Any:
        return await invoke(self.fn, self.signature, arguments, context, blocking=self.blocking)

    def call(self, arguments: dict[str, Any], context: Any) -> Any:
        """Run a tool that does not :attr:`waits`, without awaiting anything."""
        return call_inline(self.fn, self.signature, arguments, context)

    def result(self, value: Any) -> Any:
        """Shape a handler's return value as a ``CallToolResult``."""
        if isinstance(value, ToolResult):
            return _explicit_result(value)
        result: dict[str, Any] = {"content": to_content(value)}
        if self.signature.output_schema is not None:
            result["structuredContent"] = {"result": value} if self.signature.wraps_output else value
        return result


def _checked(
    decode: Callable[[bytes], dict[str, Any]], check: ArgumentCheck
) -> Callable[[bytes], dict[str, Any]]:
    """Decode, then check what the type alone cannot (an explicit input schema)."""

    def decode_and_check(raw: bytes) -> dict[str, Any]:
        arguments = decode(raw)
        check(arguments)
        return arguments

    return decode_and_check


def error_result(message: str) -> dict[str, Any]:
    """A tool execution error the model can read and correct itself from."""
    return {"content": [TextContent(text=message)], "isError": True}


def _explicit_result(value: ToolResult) -> dict[str, Any]:
    result: dict[str, Any] = {"content": to_content(value.content)}
    if value.structuredContent is not msgspec.UNSET:
        result["structuredContent"] = value.structuredContent
    if value.isError:
        result["isError"] = True
    if value.meta is not msgspec.UNSET:
        result["_meta"] = value.meta
    return result
