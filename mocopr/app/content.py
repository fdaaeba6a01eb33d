"""Content blocks and resource contents, as msgspec structs so that results
encode in one C pass; and the conversion of whatever a handler returns into them."""

import base64
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field


class Annotations(msgspec.Struct, omit_defaults=True):
    audience: list[str] | UnsetType = UNSET
    priority: float | UnsetType = UNSET
    lastModified: str | UnsetType = UNSET


class _Block(msgspec.Struct, omit_defaults=True, tag_field="type"):
    """A content block; the struct's tag is its ``type`` on the wire."""


class TextContent(_Block, tag="text"):
    text: str
    annotations: Annotations | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


class ImageContent(_Block, tag="image"):
    data: str
    mimeType: str
    annotations: Annotations | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


class AudioContent(_Block, tag="audio"):
    data: str
    mimeType: str
    annotations: Annotations | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


class ResourceLink(_Block, tag="resource_link"):
    uri: str
    name: str
    title: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    mimeType: str | UnsetType = UNSET
    size: int | UnsetType = UNSET
    annotations: Annotations | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


class TextResourceContents(msgspec.Struct, omit_defaults=True):
    uri: str
    text: str
    mimeType: str | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


class BlobResourceContents(msgspec.Struct, omit_defaults=True):
    """Binary resource contents; ``blob`` is base64 text on the wire."""

    uri: str
    blob: str
    mimeType: str | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


ResourceContents = TextResourceContents | BlobResourceContents


class EmbeddedResource(_Block, tag="resource"):
    resource: TextResourceContents | BlobResourceContents
    annotations: Annotations | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


ContentBlock = TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource
CONTENT_TYPES = (TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource)


class _Media:
    """Raw bytes (or a file) of one MIME type, turned into a base64 content block."""

    block: type[ImageContent] | type[AudioContent]
    default_mime = "application/octet-stream"

    def __init__(
        self, data: bytes | None = None, *, path: str | Path | None = None, mime_type: str = ""
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("give exactly one of data and path")
        self.data = data if data is not None else Path(path).read_bytes()  # type: ignore[arg-type]
        self.mime_type = mime_type or self.default_mime

    def to_block(self) -> ImageContent | AudioContent:
        return self.block(data=base64.b64encode(self.data).decode("ascii"), mimeType=self.mime_type)


class Image(_Media):
    """An image a tool returns: ``return Image(png_bytes, mime_type="image/png")``."""

    block = ImageContent
    default_mime = "image/png"


class Audio(_Media):
    """Audio a tool returns: ``return Audio(wav_bytes, mime_type="audio/wav")``."""

    block = AudioContent
    default_mime = "audio/wav"


class ToolResult(msgspec.Struct, omit_defaults=True):
    """A tool result under the handler's full control: content, structured
    content, the error flag and ``_meta``."""

    content: list[Any] = field(default_factory=list)
    structuredContent: Any = UNSET
    isError: bool = False
    meta: dict[str, Any] | UnsetType = field(name="_meta", default=UNSET)


_json = msgspec.json.Encoder()


def to_content(value: Any) -> list[Any]:
    """Turn what a tool or prompt returned into a list of content blocks.

    Strings become text, media helpers become base64 blocks, blocks pass
    through, sequences are flattened, and anything else is rendered as JSON text.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [TextContent(text=value)]
    if isinstance(value, CONTENT_TYPES):
        return [value]
    if isinstance(value, _Media):
        return [value.to_block()]
    if isinstance(value, (list, tuple)):
        blocks: list[Any] = []
        for item in value:
            blocks.extend(to_content(item))
        return blocks
    return [TextContent(text=_json.encode(value).decode())]
