"""mocopr: a Model Context Protocol server framework and runtime, built for throughput."""

__version__ = "0.1.0"

from mocopr.app.content import (
    Audio,
    AudioContent,
    BlobResourceContents,
    EmbeddedResource,
    Image,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolResult,
)
from mocopr.app.context import Context
from mocopr.app.prompts import AssistantMessage, UserMessage
from mocopr.app.server import McpServer
from mocopr.protocol.errors import McpError

__all__ = [
    "AssistantMessage",
    "Audio",
    "AudioContent",
    "BlobResourceContents",
    "Context",
    "EmbeddedResource",
    "Image",
    "ImageContent",
    "McpError",
    "McpServer",
    "ResourceLink",
    "TextContent",
    "TextResourceContents",
    "ToolResult",
    "UserMessage",
    "__version__",
]
