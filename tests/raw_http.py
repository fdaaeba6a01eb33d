"""A small raw HTTP/1.1 client for tests that must send what real clients never
would, and read streamed answers event by event."""

from dataclasses import dataclass, field

import httptools
import msgspec
import trio

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
ACCEPT_BOTH = "application/json, text/event-stream"


@dataclass
class Response:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    complete: bool = False

    def json(self):
        return msgspec.json.decode(self.body)

    def events(self) -> list[dict]:
        """The JSON messages of an SSE body."""
        return [
            msgspec.json.decode(line[5:].strip())
            for line in self.body.split(b"\n")
            if line.startswith(b"data:") and line[5:].strip()
        ]


class _Collector:
    """httptools callbacks: completed responses queue up, so pipelined answers stay apart."""

    def __init__(self) -> None:
        self.current = Response()
        self.completed: list[Response] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_message_complete(self) -> None:
        self.current.complete = True
        self.completed.append(self.current)
        self.current = Response()


class RawConnection:
    """One keep-alive connection; send requests and read responses in order."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._collector = _Collector()
        self._parser = httptools.HttpResponseParser(self._collector)
        self._collector.parser = self._parser

    @classmethod
    async def open(cls, port: int) -> "RawConnection":
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def request(
        self,
        method: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        path: str = "/mcp",
        port: int = 0,
    ) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}" if port else "Host: localhost"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def read_response(self, until_complete: bool = True) -> Response:
        """The next response: complete, or (if not ``until_complete``) as soon as
        some of its body arrived; what the connection had when it closed otherwise."""
        collector = self._collector
        while not collector.completed and (until_complete or not collector.current.body):
            data = await self.stream.receive_some(65536)
            if not data:
                break
            self._parser.feed_data(data)
        if collector.completed:
            return collector.completed.pop(0)
        return collector.current

    async def aclose(self) -> None:
        await self.stream.aclose()


def mcp_post(
    message: dict | list, *, modern: bool = False, session: str | None = None, **extra: str
) -> tuple[dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
    if modern and isinstance(message, list):
        headers["MCP-Protocol-Version"] = "2026-07-28"
    elif modern:
        headers["MCP-Protocol-Version"] = "2026-07-28"
        headers["Mcp-Method"] = message["method"]
        params = message.get("params", {})
        if "name" in params or "uri" in params:
            headers["Mcp-Name"] = params.get("name", params.get("uri"))
    if session:
        headers["Mcp-Session-Id"] = session
    headers.update(extra)
    return headers, msgspec.json.encode(message)


def post_head(*extra: str, host: str = "localhost") -> bytes:
    """The head of an MCP POST, with ``extra`` header lines, up to the blank line."""
    lines = [
        "POST /mcp HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Accept: {ACCEPT_BOTH}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
