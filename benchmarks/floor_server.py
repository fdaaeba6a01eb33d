"""A reference point for the stdio benchmark, not an MCP server: the least a
Python process can do to answer the benchmark's calls correctly.

It reads lines with blocking ``os.read``, decodes each with one msgspec
decoder, answers ``initialize`` and ``tools/call add`` (in either era, always
with ``resultType: "complete"``), ignores notifications and writes with
``os.write``: no event loop, no tasks, no validation beyond msgspec's types,
no other methods. Its round-trip rate is the ceiling that the machine, the
pipes and the benchmark client leave for any Python server.

    python benchmarks/floor_server.py
"""

import os
from typing import Any

import msgspec


class Arguments(msgspec.Struct, frozen=True):
    a: int = 0
    b: int = 0


class Params(msgspec.Struct, frozen=True):
    arguments: Arguments = Arguments()


class Request(msgspec.Struct, frozen=True):
    id: int | str | None = None
    method: str = ""
    params: Params = Params()


INITIALIZE_RESULT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}},
    "serverInfo": {"name": "floor", "version": "1.0.0"},
}


def answer(request: Request) -> dict[str, Any]:
    if request.method == "initialize":
        return INITIALIZE_RESULT
    total = request.params.arguments.a + request.params.arguments.b
    return {
        "content": [{"type": "text", "text": str(total)}],
        "structuredContent": {"result": total},
        "resultType": "complete",
    }


def main() -> None:
    decode = msgspec.json.Decoder(Request).decode
    encode = msgspec.json.encode
    buffer = b""
    while True:
        newline = buffer.find(b"\n")
        if newline < 0:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            buffer += chunk
            continue
        request = decode(buffer[:newline])
        buffer = buffer[newline + 1 :]
        if request.id is not None:
            reply = {"jsonrpc": "2.0", "id": request.id, "result": answer(request)}
            os.write(1, encode(reply) + b"\n")


if __name__ == "__main__":
    main()
