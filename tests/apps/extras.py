"""An app for the end-to-end tests of what the demo app does not show: resource
links, object output schemas, request metadata, a tool that writes to stdout and
logs, a resource whose handler fails, and completions past the 100-value cap."""

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

import msgspec

from mocopr import Context, McpServer, ResourceLink

app = McpServer("extras", version="0.0.1")

log = logging.getLogger("tests.apps.extras")

#: More completion values than one answer may carry.
WORDS = [f"word{index:03}" for index in range(150)]
FILES = ["notes.txt", "news.md", "readme.md"]


@dataclass
class Point:
    x: int
    y: int


class Forecast(TypedDict):
    city: str
    celsius: float


class Release(msgspec.Struct):
    major: int
    minor: int
    tags: list[str]


@app.tool()
def point(x: int, y: int) -> Point:
    """A dataclass result."""
    return Point(x, y)


@app.tool()
def forecast(city: str) -> Forecast:
    """A TypedDict result."""
    return {"city": city, "celsius": 21.5}


@app.tool()
def release() -> Release:
    """A msgspec Struct result."""
    return Release(1, 2, ["stable"])


@app.tool()
def link(name: str) -> ResourceLink:
    """Points at a file instead of embedding it."""
    return ResourceLink(
        uri=f"extras://files/{name}", name=name, title=f"The file {name}", mimeType="text/plain", size=12
    )


@app.tool()
def noisy() -> str:
    """Prints and logs, as handlers do; neither may reach the protocol stream."""
    print("printed by a tool", flush=True)
    log.warning("logged by a tool")
    return "noisy"


@app.tool()
def request_facts(ctx: Context) -> dict[str, Any]:
    """What the Context says about the request it serves."""
    return {
        "requestId": ctx.request_id,
        "protocolVersion": ctx.protocol_version,
        "era": ctx.era.value,
        "clientInfo": ctx.client_info,
        "sessionId": ctx.session_id,
    }


@app.resource("extras://files/{name}", mime_type="text/plain")
def file(name: str) -> str:
    return f"contents of {name}"


@app.resource("extras://broken")
def broken() -> str:
    raise RuntimeError("the disk is on fire")


@app.prompt()
def spell(word: str) -> str:
    """Spell a word."""
    return f"Spell {word}"


@app.completion()
def complete(ref: Any, argument: Any, context: dict[str, str]) -> list[str]:
    """File names for the file template, words for the prompt."""
    choices = FILES if ref.type == "ref/resource" else WORDS
    return [choice for choice in choices if choice.startswith(argument.value)]
