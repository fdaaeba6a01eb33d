"""Requests for a legacy session that lives on another worker, and changes every
worker must hear of, carried over the shared-memory rings between workers.

A legacy session lives on the worker that created it, and its id starts with
that worker's slot (``<slot>.<token>``). A request for it that lands elsewhere
is forwarded whole to the owner; the owner answers it as if the connection
were its own, and the rendered HTTP bytes (a JSON answer, or an SSE stream
however long) come back record by record and are written to the client
unchanged. A client that goes away cancels the request on the owner.

Most requests on a session only read what ``initialize`` settled (a tool call
that neither waits nor takes a Context, a listing, a ping): the owner
announces each session it opens and ends, every worker keeps a replica of
those facts, and answers such requests itself, telling the owner (at most once
a second per session, or four times per idle timeout where that is shorter)
that the session is in use so it does not expire. A
session of one busy client is then served by every worker, not just its owner.
Replicas are as fresh as the rings: for the moment an announcement takes to
cross, a new session's requests are forwarded, and an ended one's answered.

Records are msgpack arrays, first element the kind: ``req``, ``out`` (response
bytes), ``end``, ``cancel``, ``change``, and for replicas ``session``,
``ended`` and ``touch``.
"""

import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import trio

from mocopr.app.changes import Change, ChangeFeed
from mocopr.app.session import LegacySession
from mocopr.ipc.ring import Ring
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import ClientGone, Responder

log = logging.getLogger("mocopr.forwarding")

_pack = msgpack.Packer(use_bin_type=True).pack
#: Response chunks waiting for a forwarding connection to write them; beyond it the owner waits.
STREAM_BUFFER = 64
#: Seconds between two ``touch`` records for one session, at most: its owner's idle clock needs
#: no more (and a quarter of the idle timeout, where that is shorter).
TOUCH_INTERVAL = 1.0
#: Seconds an announcement may wait for room in a full ring before it is dropped.
ANNOUNCE_TIMEOUT = 1.0


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
        generation: int,
        outbound: dict[int, Ring],
        inbound: dict[int, Ring],
        handle: Callable[[Request, Responder], Awaitable[None]],
        changes: ChangeFeed,
        alive: Callable[[int], bool],
        generation_of: Callable[[int], int],
        touch: Callable[[str], None],
        idle_timeout: float,
    ) -> None:
        self.slot = slot
        self.generation = generation
        self._generation_of = generation_of
        self._touch = touch
        self._touch_interval = min(TOUCH_INTERVAL, idle_timeout / 4)
        #: What this worker knows of sessions other workers own: what ``initialize`` settled.
        self._replicas: dict[str, LegacySession] = {}
        #: The generation each other slot's sessions were last announced by: every replica of
        #: that slot's sessions is of that generation, as a new one's first announcement drops
        #: its predecessor's. A replacement in the slot never knew them.
        self._owner_generations: dict[int | None, int] = {}
        #: When each replicated session was last reported in use to its owner.
        self._touched: dict[str, float] = {}
        #: Sessions of ours being ended everywhere: the workers yet to forget each, and the
        #: event that they all have.
        self._forgetting: dict[str, tuple[set[int], trio.Event]] = {}
        self._announcements, self._to_announce = trio.open_memory_channel[bytes](math.inf)
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

    # -- replicas ----------------------------------------------------------------------------

    def session_opened(self, state: LegacySession) -> None:
        """Announce a session of ours to every other worker."""
        record = (
            "session", self.generation, state.id, state.protocol_version,
            state.client_capabilities, state.client_info,
        )  # fmt: skip
        self._announcements.send_nowait(_pack(record))

    def session_closed(self, session_id: str) -> None:
        self._announcements.send_nowait(_pack(("ended", session_id)))

    async def end_everywhere(self, session_id: str, end: Callable[[], None]) -> None:
        """Run ``end``, which ends a session of ours (and so announces it), then wait (for
        :data:`ANNOUNCE_TIMEOUT` at most) until every other live worker has forgotten its
        replica: once a DELETE is answered, no worker answers for the session any more."""
        pending = {slot for slot in self.outbound if self._alive(slot)}
        forgotten = trio.Event()
        self._forgetting[session_id] = (pending, forgotten)
        try:
            end()
            if pending:
                with trio.move_on_after(ANNOUNCE_TIMEOUT):
                    await forgotten.wait()
        finally:
            del self._forgetting[session_id]

    def replica_of(self, session_id: str, owner: int) -> LegacySession | None:
        """The settled facts of a live session of ``owner`` (as :meth:`owner_of` found it),
        if this worker has heard of it from the worker serving in that slot now."""
        replica = self._replicas.get(session_id)
        if replica is None:
            return None
        if self._generation_of(owner) != self._owner_generations.get(owner):
            self._forget(session_id)
            return None
        return replica

    def touch(self, session_id: str, owner: int) -> None:
        """Tell a session's owner that it is in use here, well within its idle timeout."""
        now = time.monotonic()
        if now - self._touched.get(session_id, -math.inf) < self._touch_interval:
            return
        self._touched[session_id] = now
        self.outbound[owner].try_put(_pack(("touch", session_id)))

    def _replicate(
        self, generation: int, session_id: str, version: str, capabilities: Any, info: Any
    ) -> None:
        owner = session_owner(session_id)
        if self._owner_generations.get(owner) != generation:
            # A new worker in that slot: the replicas of its predecessor's sessions died with it.
            self._owner_generations[owner] = generation
            for key in [key for key in self._replicas if session_owner(key) == owner]:
                self._forget(key)
        self._replicas[session_id] = LegacySession(session_id, version, capabilities, info)

    def _forget(self, session_id: str) -> None:
        self._replicas.pop(session_id, None)
        self._touched.pop(session_id, None)

    def _forgot(self, slot: int, session_id: str) -> None:
        """Worker ``slot`` has forgotten a session of ours (acks of expired ones go unheard)."""
        waiting = self._forgetting.get(session_id)
        if waiting is not None:
            pending, forgotten = waiting
            pending.discard(slot)
            if not pending:
                forgotten.set()

    async def _announce(self) -> None:
        """Send announcements to every live worker, in order, waiting a little for room."""
        async for record in self._to_announce:
            for slot, ring in self.outbound.items():
                if not self._alive(slot) or ring.try_put(record):
                    continue
                with trio.move_on_after(ANNOUNCE_TIMEOUT) as late:
                    await ring.put(record)
                if late.cancelled_caught:
                    log.warning("ring to worker %d is full; a session announcement was dropped", slot)

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

            await responder.guard(relay)
            if not responder.done:
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
            nursery.start_soon(self._announce)
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
            elif kind == "session":
                self._replicate(*record[1:])
            elif kind == "ended":
                self._forget(record[1])
                self.outbound[source].try_put(_pack(("forgot", record[1])))
            elif kind == "forgot":
                self._forgot(source, record[1])
            elif kind == "touch":
                self._touch(record[1])

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
