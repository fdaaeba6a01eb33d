"""Fuzzes the whole server over Streamable HTTP with the demo app, from the bytes of a connection
to the answers: every request gets a status short of 500, every JSON-RPC message answered (a JSON
body, or an SSE event's data) is well formed and no internal error, and the server logs no
exception. Headers, bodies, session ids and ``Last-Event-ID`` values all come from the input.

Input: what a client sends on one connection. A ``Mcp-Session-Id`` of ``@`` stands for the id of
the last session the server created, which no fuzzer would guess.
"""

from typing import Any

import atheris
import harness
import trio

with atheris.instrument_imports(include=["mocopr"]):
    from examples.everything import app
    from mocopr.loadtest import wire
    from mocopr.transport.http1 import Http1Connection, HttpError
    from mocopr.transport.http_server import Headers, Responder, limits_of
    from mocopr.transport.http_settings import HttpSettings
    from mocopr.transport.streamable_http import StreamableHttpEndpoint

SETTINGS = HttpSettings(max_sessions=4, session_event_buffer=8)
#: Virtual seconds a request may run: then its client goes away (a stream, a wait for an answer).
PATIENCE = 60
LAST_SESSION = "@"


class Recorder(Responder):
    """Takes an answer as the connection would write it, checking what it says."""

    def __init__(self) -> None:
        self.keep_alive = True
        self.streaming = False
        self.done = False
        self.session_id: str | None = None

    async def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self._status(status, headers)
        self.done = True
        if (b"content-type", b"application/json") in headers and body:
            harness.check_message(body)

    async def start_stream(self, status: int, headers: Headers) -> None:
        self._status(status, headers)
        self.streaming = True

    async def send_chunk(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if line.startswith(b"data: "):
                harness.check_message(line[6:])

    async def end_stream(self) -> None:
        self.done = True

    async def write(self, data: bytes) -> None:
        raise AssertionError("raw bytes written outside a response")

    async def guard(self, handler: Any) -> Any:
        return await handler()

    def _status(self, status: int, headers: Headers) -> None:
        assert not self.done and not self.streaming, "answered twice"
        assert 200 <= status < 500 or status == 503, status
        for name, value in headers:
            if name == b"mcp-session-id":
                self.session_id = value.decode()


async def serve(data: bytes) -> None:
    endpoint = StreamableHttpEndpoint(app, SETTINGS)
    try:
        requests = Http1Connection(limits_of(SETTINGS)).feed(data)
    except HttpError as error:
        requests = error.requests
    session_id = "none"
    for request in requests:
        if request.headers.get("mcp-session-id") == LAST_SESSION:
            request.headers["mcp-session-id"] = session_id
        recorder = Recorder()
        with trio.move_on_after(PATIENCE) as patience:
            await endpoint.handle(request, recorder)
        assert recorder.done or patience.cancelled_caught, "no answer"
        session_id = recorder.session_id or session_id
    endpoint.sessions.close_all()


def test_one_input(data: bytes) -> None:
    harness.run_trio(serve, data)
    harness.TRACEBACKS.check()


def seeds() -> list[bytes]:
    """Legacy sessions and modern requests as clients send them, with resumption and the end."""
    target = wire.Target.parse("http://127.0.0.1:8000/mcp")
    legacy = wire.Session(LAST_SESSION, "2025-11-25")
    meta = wire.modern_meta()

    def call(id_: int, method: str, **params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}

    def modern(message: dict[str, Any]) -> bytes:
        message["params"]["_meta"] = meta
        return wire.one_request(target, "modern", message)

    def session(*messages: dict[str, Any]) -> bytes:
        return b"".join(wire.one_request(target, "legacy", m, legacy) for m in messages)

    opening = wire.one_request(target, "legacy", wire.initialize_message()) + session(
        wire.initialized_message()
    )
    resume = wire.http_head(
        target, "GET", {"Mcp-Session-Id": LAST_SESSION, "Accept": "text/event-stream", "Last-Event-ID": "1:1"}
    )
    return [
        opening
        + session(
            call(2, "tools/call", name="test_tool_with_progress", arguments={}),
            call(3, "tools/call", name="add", arguments={"a": 1, "b": 2}),
            call(4, "resources/subscribe", uri="test://watched-resource"),
        )
        + resume
        + wire.delete_session(target, legacy),
        modern(call(1, "tools/call", name="test_x_mcp_header", arguments={"region": "eu"})).replace(
            b"Mcp-Name: test_x_mcp_header\r\n", b"Mcp-Name: test_x_mcp_header\r\nMcp-Param-Region: eu\r\n"
        ),
        modern(call(2, "tools/call", name="test_input_required_result_elicitation", arguments={}))
        + modern(call(3, "resources/read", uri="test://template/1/data"))
        + modern(call(4, "prompts/get", name="test_simple_prompt"))
        + modern(call(5, "server/discover")),
        modern(call(6, "subscriptions/listen", notifications={"toolsListChanged": True})),
        opening + resume.replace(b"1:1", b"0:\xb2") + resume.replace(b"1:1", b"0:" + b"9" * 5000),
    ]


TOKENS = [
    b"Mcp-Session-Id: @\r\n", b"MCP-Protocol-Version: 2026-07-28\r\n", b"MCP-Protocol-Version: 2025-03-26",
    b"Mcp-Method: ", b"Mcp-Name: ", b"Mcp-Param-Region: ", b"Last-Event-ID: ", b"=?base64?", b"?=",
    b"Accept: text/event-stream\r\n", b"Accept: application/json\r\n", b"Origin: http://evil\r\n",
    b"GET ", b"DELETE ", b"Content-Length: ", b'"jsonrpc":"2.0"', b'"_meta":', b"\r\n\r\n",
]  # fmt: skip

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
