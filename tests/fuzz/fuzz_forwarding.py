"""Fuzzes the records that workers send each other over the rings: whatever bytes a record holds,
the reader of the ring drops it or acts on it, and goes on to the next; a forwarded request
reaches the handler with the types a request has.

Input: records, each a u16-prefixed chunk, put on the ring from worker 1 in turn. After them the
ring carries one more, a change that shows the reader got through all of them.
"""

import atheris
import harness
import msgpack
import trio
import trio.testing

with atheris.instrument_imports(include=["mocopr"]):
    from mocopr.app.changes import Change, ChangeFeed
    from mocopr.ipc.ring import Ring
    from mocopr.transport.http1 import Request
    from mocopr.transport.http_server import Responder
    from mocopr.transport.http_sessions import SessionTable
    from mocopr.workers.forwarding import Router

PEER = 1
LAST = Change("updated", "fuzz://last")
_pack = msgpack.Packer(use_bin_type=True).pack


async def handle(request: Request, responder: Responder) -> None:
    """A handler that holds a forwarded request to the types ``Request`` declares."""
    assert (
        isinstance(request.method, str) and isinstance(request.path, str) and isinstance(request.query, str)
    )
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in request.headers.items())
    assert isinstance(request.body, bytes) and isinstance(request.keep_alive, bool)
    await responder.respond(200, [], b"answered")


async def read(records: list[bytes], inbound: Ring, outbound: Ring) -> None:
    feed = ChangeFeed()
    heard: list[Change] = []
    feed.subscribe(heard.append)
    sessions = SessionTable(16, 3600.0, 8, feed)
    router = Router(
        0, 1, {PEER: outbound}, {PEER: inbound}, handle, feed,
        alive=lambda slot: True, present=lambda slot: True, generation_of=lambda slot: 1,
        touch=sessions.touch, take_in=sessions.take_in, own_sessions=sessions.states, idle_timeout=60.0,
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        nursery.start_soon(router.run)
        for record in [*records, _pack(("change", *LAST))]:
            while not inbound.try_put(record):
                await trio.testing.wait_all_tasks_blocked()
                while outbound.try_get() is not None:  # what the router sends back: room for more
                    pass
        await trio.testing.wait_all_tasks_blocked()
        assert heard[-1:] == [LAST], "the reader stopped before the last record"
        nursery.cancel_scope.cancel()


def test_one_input(data: bytes) -> None:
    reader = harness.Reader(data)
    records = []
    while not reader.exhausted:
        records.append(reader.chunk()[: CAPACITY // 2])
    inbound, outbound = Ring.create(CAPACITY), Ring.create(CAPACITY)
    try:
        harness.run_trio(read, records, inbound, outbound)
        harness.TRACEBACKS.check()
    finally:
        for ring in (inbound, outbound):
            ring.close()
            ring.unlink()


CAPACITY = 1 << 16


def seeds() -> list[bytes]:
    """Every kind of record as the workers write them, and bytes that are barely msgpack."""
    headers = {"host": "127.0.0.1", "mcp-session-id": "1.abc", "content-length": "2"}
    carried = (
        "1.abc",
        "2025-11-25",
        {},
        {"name": "c"},
        True,
        "info",
        ["test://x"],
        3,
        [(3, b"data: {}\n\n")],
    )
    records = [
        ("req", PEER, 7, True, "POST", "/mcp", "", headers, b"{}"),
        ("out", 7, b"HTTP/1.1 200 OK\r\n"),
        ("end", 7, b""),
        ("cancel", PEER, 7),
        ("change", "tools", None),
        ("change", "updated", "test://x"),
        ("session", 1, "1.abc", "2025-11-25", {"sampling": {}}, {"name": "c"}),
        ("hello",),
        ("synced",),
        ("adopt", *carried),
        ("ended", "1.abc"),
        ("forgot", "0.abc"),
        ("touch", "0.abc"),
    ]
    packed = [_pack(record) for record in records]
    odd = [b"", b"\xc1", b"\x91\x01", b"\x92\xa3req\xc0", b"\x93\xa3out\x07\xd4\x01\x00", b"\x91" * 2000]
    together = b"".join(map(harness.chunk, packed))
    return [together] + [harness.chunk(record) + harness.chunk(bad) for record in packed for bad in odd]


TOKENS = [b"\xa3req", b"\xa3out", b"\xa3end", b"\xa5adopt", b"\xa7session", b"\xa5touch", b"\xc0", b"\xc3"]

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
