"""The records workers send each other over the rings, as a worker reads them.

Found by fuzzing (tests/fuzz/fuzz_forwarding.py): a record that was not msgpack, or not of its
kind's shape, raised out of the reader of the ring and took the worker down with it; and a session
id from a client's header made ``session_owner`` raise."""

from collections.abc import Iterator

import msgpack
import pytest
import trio
import trio.testing

from mocopr.app.changes import ChangeFeed
from mocopr.ipc.ring import Ring
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import Responder
from mocopr.transport.http_sessions import SessionTable
from mocopr.workers.forwarding import Router, session_owner

pack = msgpack.Packer(use_bin_type=True).pack
PEER = 1


@pytest.mark.parametrize(
    ("session_id", "owner"),
    [("3.abc", 3), ("\xb2.abc", None), ("9" * 5000 + ".abc", None), ("abc", None), (".abc", None)],
)
def test_session_owner(session_id: str, owner: int | None) -> None:
    assert session_owner(session_id) == owner


@pytest.fixture
def rings() -> Iterator[tuple[Ring, Ring]]:
    inbound, outbound = Ring.create(4096), Ring.create(4096)
    yield inbound, outbound
    for ring in (inbound, outbound):
        ring.close()
        ring.unlink()


async def test_malformed_records_are_dropped_and_the_reader_goes_on(rings: tuple[Ring, Ring]) -> None:
    inbound, outbound = rings
    handled: list[Request] = []
    touched: list[str] = []

    async def handle(request: Request, responder: Responder) -> None:
        handled.append(request)

    feed = ChangeFeed()
    sessions = SessionTable(4, 60.0, 4, feed)
    router = Router(
        0, 1, {PEER: outbound}, {PEER: inbound}, handle, feed,
        alive=lambda slot: True, present=lambda slot: True, generation_of=lambda slot: 1,
        touch=touched.append, take_in=sessions.take_in, own_sessions=sessions.states, idle_timeout=60.0,
    )  # fmt: skip
    request = ("req", PEER, 7, True, "POST", "/mcp", "", {"host": "h"}, b"{}")
    malformed = [
        b"\xc1",  # no msgpack at all
        pack(["touch"]),  # too short
        pack(("touch", ["not", "a", "str"])),
        pack(("change", "not a kind", None)),
        pack(("req", PEER, 7, True, "POST", "/mcp", "", {"host": 1}, b"{}")),
        pack(("req", 5, *request[2:])),  # answered to a worker other than the sender
        pack(("no such kind",)),
    ]
    for record in [*malformed, pack(request), pack(("touch", "0.abc"))]:
        assert inbound.try_put(record)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(router.run)
        with trio.fail_after(5):
            while not touched:
                await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert touched == ["0.abc"]
    assert [(r.method, r.headers) for r in handled] == [("POST", {"host": "h"})]
