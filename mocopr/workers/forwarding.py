"""Requests for a legacy session that lives on another worker, and changes every
worker must hear of, carried over the shared-memory rings between workers.

A legacy session lives on the worker that created it, and its id starts with
that worker's slot (``<slot>.<token>``). A request for it that lands elsewhere
is forwarded whole to the owner; the owner answers it as if the connection
were its own, and the rendered HTTP bytes (a JSON answer, or an SSE stream
however long) come back record by record and are written to the client
unchanged. A client that goes away cancels the request on the owner.

Records are msgpack arrays, first element the kind:
``req``, ``out`` (response bytes), ``end``, ``cancel``, and ``change``.
"""

import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import trio

from mocopr.app.changes import Change, ChangeFeed
from mocopr.ipc.ring import Ring
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import ClientGone, Responder

log = logging.getLogger("mocopr.forwarding")

_pack = msgpack.Packer(use_bin_type=True).pack
#: Response chunks waiting for a forwarding connection to write them; beyond it the owner waits.
STREAM_BUFFER = 64


def session_owner(session_id: str) -> int | None:
    """The slot a session id names, or None for an id no worker made."""
    slot, dot, _ = session_id.partition(".")
    return int(slot) if dot and slot.isdigit() else None


class RingResponder(Responder):
    """Answers a forwarded request by sending the response's bytes back over a ring."""

    def __init__(self, ring: Ring, stream_id: int, keep_alive: bool) -> None:
        self._ring = ring
        self._stream_id = stream_id
        self.keep_alive = keep_alive
        self.streaming = False
        self.done = False

    async def write(self, data: bytes) -> None:
        await self._ring.put(_pack(("out", self._stream_id, data)))

    async def guard(self, handler: Callable[[], Awaitable[Any]]) -> Any:
        # Cancellation arrives as a ``cancel`` record, which cancels the whole request task.
        return await handler()


class Router:
    """One worker's view of the ring mesh: where sessions live, and the rings to reach them."""

    def __init__(
        self,
        slot: int,
        outbound: dict[int, Ring],
        inbound: dict[int, Ring],
        handle: Callable[[Request, Responder], Awaitable[None]],
        changes: ChangeFeed,
        alive: Callable[[int], bool],
    ) -> None:
        self.slot = slot
        self.outbound = outbound
        self.inbound = inbound
        self._handle = handle
        self._changes = changes
        # Random start: records for a stream of a dead predecessor in this slot must not match ours.
        self._stream_ids = itertools.count(random.getrandbits(48))
        #: Forwarded requests of ours, waiting for their answers: stream id -> bytes channel.
        self._waiting: dict[tuple[int, int], trio.MemorySendChannel[bytes | None]] = {}
        #: Requests we answer for other workers: (source slot, stream id) -> cancel scope.
        self._serving: dict[tuple[int, int], trio.CancelScope] = {}
        self._relaying = False
        self._alive = alive
        changes.subscribe(self._broadcast)

    @property
    def session_prefix(self) -> str:
        return f"{self.slot}."

    def owner_of(self, session_id: str) -> int | None:
        """The other worker that owns this session, or None if it is ours or nobody's."""
        owner = session_owner(session_id)
        if owner is None or owner == self.slot or owner not in self.outbound or not self._alive(owner):
            return None
        return owner

    # -- forwarding side -----------------------------------------------------------------

    async def forward(self, owner: int, request: Request, responder: Responder) -> None:
        """Send the request to its session's owner and relay the answer's bytes."""
        stream_id = next(self._stream_ids)
        send, receive = trio.open_memory_channel[bytes | None](STREAM_BUFFER)
        self._waiting[(owner, stream_id)] = send
        record = (
            "req", self.slot, stream_id, responder.keep_alive, request.method, request.path,
            request.query, request.headers, request.body,
        )  # fmt: skip
        try:
            await self.outbound[owner].put(_pack(record))

            async def relay() -> None:
                async for data in receive:
                    if data is None:
                        responder.done = True
                        return
                    await responder.write(data)

            finished = await responder.guard(relay)
            if finished is None and not responder.done:
                await self.outbound[owner].put(_pack(("cancel", self.slot, stream_id)))
        except ClientGone:
            await self.outbound[owner].put(_pack(("cancel", self.slot, stream_id)))
            raise
        finally:
            del self._waiting[(owner, stream_id)]

    # -- the rings in ----------------------------------------------------------------------

    async def run(self) -> None:
        """Read every inbound ring for the life of the worker."""
        async with trio.open_nursery() as nursery:
            for source, ring in self.inbound.items():
                nursery.start_soon(self._read, source, ring, nursery)

    async def _read(self, source: int, ring: Ring, nursery: trio.Nursery) -> None:
        while True:
            record = msgpack.unpackb(await ring.get(), raw=False)
            kind = record[0]
            if kind == "out" or kind == "end":
                channel = self._waiting.get((source, record[1]))
                if channel is not None:
                    await channel.send(record[2] if kind == "out" else None)
            elif kind == "req":
                nursery.start_soon(self._serve, record)
            elif kind == "cancel":
                scope = self._serving.get((record[1], record[2]))
                if scope is not None:
                    scope.cancel()
            elif kind == "change":
                self._relay_change(Change(record[1], record[2]))

    async def _serve(self, record: list[Any]) -> None:
        _, source, stream_id, keep_alive, method, path, query, headers, body = record
        request = Request(method, path, query, headers, body, keep_alive, "1.1")
        ring = self.outbound[source]
        responder = RingResponder(ring, stream_id, keep_alive)
        with trio.CancelScope() as scope:
            self._serving[(source, stream_id)] = scope
            try:
                await self._handle(request, responder)
            except Exception:
                log.exception("a forwarded request failed")
            finally:
                del self._serving[(source, stream_id)]
        await ring.put(_pack(("end", stream_id, b"")))

    # -- changes ---------------------------------------------------------------------------

    def _broadcast(self, change: Change) -> None:
        if self._relaying:
            return
        record = _pack(("change", change.kind, change.uri))
        for slot, ring in self.outbound.items():
            if self._alive(slot) and not ring.try_put(record):
                log.warning("ring to worker %d is full; a change notification was dropped", slot)

    def _relay_change(self, change: Change) -> None:
        self._relaying = True
        try:
            self._changes.publish(change)
        finally:
            self._relaying = False
