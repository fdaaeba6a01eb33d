"""Fuzzes the whole server over stdio, transport and dispatcher, with the demo app: whatever lines
a client sends, every line the server writes back is JSON-RPC, none is an internal error, and the
server logs no exception.

Input: what the client writes to the server's stdin; then it closes it.
"""

import atheris
import harness
import msgspec
import trio
import trio.testing

with atheris.instrument_imports(include=["mocopr"]):
    from examples.everything import app
    from mocopr.transport.stdio import StdioServer

#: Longer than any line the seeds hold: a longer one is answered as too large.
MAX_MESSAGE_SIZE = 4096


async def serve(data: bytes) -> bytes:
    stdin, stdout = trio.testing.MemoryReceiveStream(), trio.testing.MemorySendStream()
    stdin.put_data(data)
    stdin.put_eof()
    await StdioServer(app, stdin, stdout, max_message_size=MAX_MESSAGE_SIZE).serve()
    try:
        return stdout.get_data_nowait()
    except trio.WouldBlock:
        return b""  # the server wrote nothing


def test_one_input(data: bytes) -> None:
    written = harness.run_trio(serve, data)
    for line in written.split(b"\n"):
        if line:
            harness.check_message(line)
    harness.TRACEBACKS.check()


def line(message: object) -> bytes:
    return msgspec.json.encode(message) + b"\n"


def seeds() -> list[bytes]:
    """Sessions of each era that call every kind of method, batches, and answers to the server."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }

    def request(id_: int, method: str, **params: object) -> dict[str, object]:
        return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}

    def initialize(version: str) -> bytes:
        capabilities = {"sampling": {}, "elicitation": {}, "roots": {}}
        hello = request(0, "initialize", protocolVersion=version, capabilities=capabilities, clientInfo={})
        return line(hello) + line({"jsonrpc": "2.0", "method": "notifications/initialized"})

    calls = [
        request(1, "tools/call", name="add", arguments={"a": 1, "b": 2}),
        request(2, "tools/call", name="test_tool_with_progress", arguments={}, _meta={"progressToken": "p"}),
        request(3, "tools/call", name="test_sampling", arguments={"prompt": "hi"}),
        request(4, "resources/read", uri="test://template/7/data"),
        request(5, "prompts/get", name="test_prompt_with_arguments", arguments={"arg1": "a", "arg2": "b"}),
        request(6, "completion/complete", ref={"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                argument={"name": "arg1", "value": "p"}),
        request(7, "logging/setLevel", level="error"),
        request(8, "resources/subscribe", uri="test://watched-resource"),
        request(9, "tools/list", cursor="bzox"),
        request(10, "tools/call", name="test_trigger_resource_update", arguments={}),
    ]  # fmt: skip
    modern = [
        request(11, "server/discover", _meta=meta),
        request(12, "tools/call", name="test_input_required_result_elicitation", arguments={}, _meta=meta),
        request(13, "tools/call", name="json_schema_2020_12_tool", arguments={"x": [[1]]}, _meta=meta),
        request(14, "subscriptions/listen", notifications={"toolsListChanged": True}, _meta=meta),
    ]
    deep = request(15, "tools/call", name="json_schema_2020_12_tool", _meta=meta)
    deep_line = line(deep).replace(b'"_meta"', b'"arguments":{"x":' + b"[" * 850 + b"]" * 850 + b'},"_meta"')
    answer = {
        "jsonrpc": "2.0",
        "id": 0,
        "result": {"role": "assistant", "content": {"type": "text", "text": "x"}},
    }
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
    return [
        initialize("2025-11-25") + b"".join(map(line, calls)) + line(answer) + line(cancel),
        initialize("2025-03-26") + line(calls[:3]) + line([]) + line(calls[3:6]),
        b"".join(map(line, modern)) + deep_line,
        initialize("2024-11-05")
        + b"not json\n"
        + b"[" * 200
        + b"\n"
        + b'{"jsonrpc":"2.0","id":'
        + b"9" * 300
        + b"}\n",
    ]


TOKENS = [b'"jsonrpc":"2.0"', b'"id":', b'"method":', b'"params":', b'"arguments":', b'"_meta":', b"\n"]

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
