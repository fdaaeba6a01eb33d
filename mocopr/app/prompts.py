"""Registered prompts, and the conversion of what their handlers return into messages."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from mocopr.app.content import to_content
from mocopr.app.handler import Handled, invoke
from mocopr.app.signature import Signature
from mocopr.protocol.errors import INVALID_PARAMS, McpError


class PromptMessage(msgspec.Struct):
    role: str
    content: Any


def UserMessage(content: Any) -> PromptMessage:
    """A message in the user's voice; ``content`` is text or any content block."""
    return PromptMessage("user", _single_block(content))


def AssistantMessage(content: Any) -> PromptMessage:
    """A message in the assistant's voice; ``content`` is text or any content block."""
    return PromptMessage("assistant", _single_block(content))


def _single_block(content: Any) -> Any:
    blocks = to_content(content)
    if len(blocks) != 1:
        raise ValueError("a prompt message holds exactly one content block")
    return blocks[0]


@dataclass(eq=False)
class Prompt(Handled):
    name: str
    fn: Callable[..., Any]
    signature: Signature
    title: str | None = None
    description: str | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    blocking: bool = False

    def describe(self) -> dict[str, Any]:
        prompt: dict[str, Any] = {"name": self.name}
        if self.title:
            prompt["title"] = self.title
        description = self.description or self.signature.description
        if description:
            prompt["description"] = description
        required = self.signature.required_names
        docs = self.signature.parameter_descriptions
        arguments = []
        for name in self.signature.parameter_names:
            argument: dict[str, Any] = {"name": name, "required": name in required}
            if name in docs:
                argument["description"] = docs[name]
            arguments.append(argument)
        if arguments:
            prompt["arguments"] = arguments
        if self.icons:
            prompt["icons"] = self.icons
        if self.meta:
            prompt["_meta"] = self.meta
        return prompt

    async def render(self, arguments: dict[str, str], context: Any) -> dict[str, Any]:
        missing = [name for name in self.signature.required_names if name not in arguments]
        if missing:
            raise McpError(INVALID_PARAMS, f"Missing required arguments: {', '.join(missing)}")
        try:
            kwargs: dict[str, Any] = msgspec.convert(
                {k: v for k, v in arguments.items() if k in self.signature.parameter_names},
                self.signature.arguments_type,
                strict=False,
            )
        except msgspec.ValidationError as exc:
            raise McpError(INVALID_PARAMS, f"Invalid arguments: {exc}") from None
        value = await invoke(self.fn, self.signature, kwargs, context, blocking=self.blocking)
        result: dict[str, Any] = {"messages": to_messages(value)}
        description = self.description or self.signature.description
        if description:
            result["description"] = description
        return result


def to_messages(value: Any) -> list[Any]:
    """A string is one user message; a list holds messages, dicts or strings."""
    if isinstance(value, (str, PromptMessage, dict)):
        value = [value]
    messages: list[Any] = []
    for item in value:
        if isinstance(item, PromptMessage | dict):
            messages.append(item)
        else:
            messages.append(UserMessage(item))
    return messages
