"""Fuzzes Server-Sent Events where they are parsed: a client's reading of an answer (JSON or an
event stream, as the load tester classifies it) and the server's reading of ``Last-Event-ID`` on
resumption: any input gives an outcome, never an exception. What the server writes reads back:
each event's data and id, and the response among the events.

Input: a ``Last-Event-ID`` value (a u16-prefixed chunk, read as latin-1), then a body, which is
also, when it is a JSON array, the messages written as events.
"""

from typing import Any

import atheris
import harness
import msgspec

with atheris.instrument_imports(include=["mocopr"]):
    from mocopr.loadtest import replies
    from mocopr.transport import sse

EVENT_STREAM = b"text/event-stream"
JSON = b"application/json"


def check_event_id(value: str) -> None:
    position = sse.parse_event_id(value)
    if position is not None:
        stream, sequence = position
        assert isinstance(stream, str) and isinstance(sequence, int) and sequence >= 0
        assert sse.parse_event_id(f"{stream}:{sequence}") == position


def check_round_trip(values: list[Any]) -> None:
    """The messages written as a stream's events, with keep-alives between, read back."""
    stream = sse.EventStream("7", capacity=len(values) + 1)
    events = []
    for value in values:
        event = stream.append(msgspec.json.encode(value))
        first, _, _ = event.partition(b"\n")
        assert first.startswith(b"id: ")
        assert sse.parse_event_id(first[4:].decode()) == (stream.id, stream.sequence)
        events += (event, sse.KEEP_ALIVE)
    body = b"".join(events)
    responses = [v for v in values if isinstance(v, dict) and "method" not in v and "id" in v]
    assert replies.response_message(EVENT_STREAM, body) == (responses[0] if responses else None)


def test_one_input(data: bytes) -> None:
    reader = harness.Reader(data)
    check_event_id(reader.chunk().decode("latin-1"))
    body = reader.rest()
    for content_type in (EVENT_STREAM, JSON):
        outcome = replies.classify(content_type, body)
        assert isinstance(outcome, int) or outcome in (replies.OK, replies.TOOL_ERROR, replies.INVALID)
        message = replies.response_message(content_type, body)
        assert message is None or isinstance(message, dict)
    try:
        values = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return
    if isinstance(values, list):
        check_round_trip(values)


def seeds() -> list[bytes]:
    """Streams as the server writes them, lists of messages to write, and the weak spots."""
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
    result = {"jsonrpc": "2.0", "id": 3, "result": {"content": [], "isError": False}}
    error = {"jsonrpc": "2.0", "id": "x", "error": {"code": -32602, "message": "bad"}}
    stream = sse.EventStream("1", 8)
    written = b"".join(stream.append(msgspec.json.encode(m)) for m in (progress, result)) + sse.KEEP_ALIVE
    bodies = [
        written,
        msgspec.json.encode([progress, result]),
        msgspec.json.encode([error]),
        b"event: message\r\ndata:" + msgspec.json.encode(error) + b"\r\n\r\n",
        b"data: " + b"[" * 2000 + b"]" * 2000 + b"\n\n",
    ]
    ids = [b"0:1", b"12:345", b":1", b"a:b:3", b"0:\xb2", b"0:" + b"9" * 5000, b"0:-1", b"0: 1"]
    return [harness.chunk(i) + body for i in ids for body in bodies[:2]] + [
        harness.chunk(b"0:1") + body for body in bodies
    ]


TOKENS = [b"data:", b"data: ", b"id: ", b"event: ", b"retry: ", b"\n\n", b"\r\n", b":\n\n", b'"id":']

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
