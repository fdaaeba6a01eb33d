"""Registered resources (fixed URIs) and resource templates (RFC 6570 URIs),
and the conversion of what their handlers return into resource contents."""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from mocopr.app.content import BlobResourceContents, TextResourceContents
from mocopr.app.handler import Handled, invoke
from mocopr.app.signature import Signature
from mocopr.app.uri_template import UriTemplate


@dataclass(eq=False)
class Resource(Handled):
    """A resource at a fixed URI, or a template of URIs when ``template`` has variables."""

    uri: str
    name: str
    fn: Callable[..., Any]
    signature: Signature
    template: UriTemplate
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    blocking: bool = False

    def describe(self) -> dict[str, Any]:
        key = "uriTemplate" if self.template.is_template else "uri"
        entry: dict[str, Any] = {key: self.uri, "name": self.name}
        if self.title:
            entry["title"] = self.title
        description = self.description or self.signature.description
        if description:
            entry["description"] = description
        if self.mime_type:
            entry["mimeType"] = self.mime_type
        if self.size is not None and not self.template.is_template:
            entry["size"] = self.size
        if self.annotations:
            entry["annotations"] = self.annotations
        if self.icons:
            entry["icons"] = self.icons
        if self.meta:
            entry["_meta"] = self.meta
        return entry

    async def read(self, uri: str, variables: dict[str, str], context: Any) -> list[Any]:
        arguments: dict[str, Any] = msgspec.convert(variables, self.signature.arguments_type, strict=False)
        value = await invoke(self.fn, self.signature, arguments, context, blocking=self.blocking)
        return to_contents(value, uri, self.mime_type)


def to_contents(value: Any, uri: str, mime_type: str | None) -> list[Any]:
    """Strings become text contents, bytes become base64 blobs, contents pass through."""
    if isinstance(value, (TextResourceContents, BlobResourceContents)):
        return [value]
    if isinstance(value, (list, tuple)):
        contents: list[Any] = []
        for item in value:
            contents.extend(to_contents(item, uri, mime_type))
        return contents
    if isinstance(value, (bytes, bytearray, memoryview)):
        blob = base64.b64encode(value).decode("ascii")
        return [BlobResourceContents(uri=uri, blob=blob, mimeType=mime_type or "application/octet-stream")]
    if isinstance(value, str):
        return [TextResourceContents(uri=uri, text=value, mimeType=mime_type or "text/plain")]
    text = msgspec.json.encode(value).decode()
    return [TextResourceContents(uri=uri, text=text, mimeType=mime_type or "application/json")]
