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
bytes), ``end``, ``cancel``, ``change``, for replicas ``session``,
``ended`` and ``touch``, ``adopt`` for a session carried over to a successor,
and ``hello`` and ``synced``, with which a new worker hears of every session
before it takes a connection.

A reload replaces each worker by a new one, which takes over the old one's
sessions whole (what ``initialize`` settled, the log level, subscriptions, the
GET stream's events): the ids keep naming the old slot, so every worker keeps a
table of sessions that live elsewhere than their id says, learnt from the new
owner's announcements.
"""

import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgpack
import msgspec
import trio

from mocopr.app.changes import Change, ChangeFeed
from mocopr.app.session import LegacySession
from mocopr.ipc.ring import Ring, RingCorrupted
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
#: Seconds a new worker waits, at most, to hear every live worker's sessions before it takes
#: connections; a busy machine may be slow to answer, and a worker that took connections
#: knowing too little would answer 404 for a session that lives elsewhere.
SYNC_TIMEOUT = 10.0


def session_owner(session_id: str) -> int | None:
    """The slot a session id names, or None for an id no worker made (a client sends any id:
    ``str.isdigit`` takes "²" too, and ``int`` refuses more than 4300 digits)."""
    slot, dot, _ = session_id.partition(".")
    return int(slot) if dot and slot.isascii() and slot.isdigit() and len(slot) < 10 else None


#: The fields of each kind of record, kind first. What arrives is held to them before it is acted
#: on: records come from this program's workers, so a record of another shape is a bug, but it
#: must cost that record, not the reader of the ring (and with it every forwarded request).
_SHAPES: dict[str, Any] = {
    "req": tuple[str, int, int, bool, str, str, str, dict[str, str], bytes],
    "out": tuple[str, int, bytes],
    "end": tuple[str, int, bytes],
    "cancel": tuple[str, int, int],
    "change": tuple[str, Literal["tools", "prompts", "resources", "updated"], str | None],
    "session": tuple[str, int, str, str, dict[str, Any], dict[str, Any]],
    "hello": tuple[str],
    "synced": tuple[str],
    "adopt": tuple[
        str, str, str, dict[str, Any], dict[str, Any], bool, str, list[str], int, list[tuple[int, bytes]]
    ],
    "ended": tuple[str, str],
    "forgot": tuple[str, str],
    "touch": tuple[str, str],
}


#: Kinds whose second field is the slot of the worker that sent them, which must be the ring's
#: source: else an answer, or a cancellation, would reach another worker's request.
_FROM_SENDER = {"req", "cancel"}


def _unpack(data: bytes, source: int) -> tuple[Any, ...] | None:
    """A record from worker ``source`` as its kind's shape gives it, or None for bytes that are
    not one."""
    try:
        record = msgpack.unpackb(data, raw=False)
    except (ValueError, msgpack.UnpackException):  # not msgpack, or not UTF-8 where a str is
        return None
    if not (isinstance(record, list) and record and isinstance(record[0], str)):
        return None
    shape = _SHAPES.get(record[0])
    try:
        record = None if shape is None else msgspec.convert(record, shape)
    except msgspec.ValidationError:
        return None
    return None if record is None or (record[0] in _FROM_SENDER and record[1] != source) else record


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
        present: Callable[[int], bool],
        generation_of: Callable[[int], int],
        touch: Callable[[str], None],
        take_in: Callable[[tuple[Any, ...]], object],
        own_sessions: Callable[[], list[LegacySession]],
        idle_timeout: float,
    ) -> None:
        self.slot = slot
        self.generation = generation
        self._generation_of = generation_of
        self._touch = touch
        self._take_in = take_in
        self._own_sessions = own_sessions
        #: The workers yet to tell this new one of their sessions, and the event that all have.
        self._unsynced: set[int] = set()
        self._synced = trio.Event()
        self._touch_interval = min(TOUCH_INTERVAL, idle_timeout / 4)
        #: What this worker knows of sessions other workers own: what ``initialize`` settled.
        self._replicas: dict[str, LegacySession] = {}
        #: The generation each other slot's sessions were last announced by: every replica of
        #: that slot's sessions is of that generation, as a new one's first announcement drops
        #: its predecessor's. A replacement in the slot never knew them.
        self._owner_generations: dict[int | None, int] = {}
        #: Sessions owned by another worker than the one their id names: a reload carried
        #: them over to a successor. This worker's own taken-in sessions name its slot here.
        self._moved: dict[str, int] = {}
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
        #: Whether a worker is in a slot at all, starting included: it is told of sessions too,
        #: lest one that began after it asked for them (see :meth:`sync`) never reach it.
        self._present = present
        changes.subscribe(self._broadcast)

    @property
    def session_prefix(self) -> str:
        return f"{self.slot}."

    def home_of(self, session_id: str) -> int | None:
        """The slot of the worker that owns a session, as far as this worker has heard."""
        return self._moved.get(session_id, session_owner(session_id))

    def owner_of(self, session_id: str) -> int | None:
        """The other worker that owns this session, or None if it is ours or nobody's."""
        owner = self.home_of(session_id)
        if owner is None or owner == self.slot or owner not in self.outbound or not self._alive(owner):
            return None
        return owner

    # -- replicas ----------------------------------------------------------------------------

    def _announcement(self, state: LegacySession) -> bytes:
        return _pack((
            "session", self.generation, state.id, state.protocol_version,
            state.client_capabilities, state.client_info,
        ))  # fmt: skip

    def session_opened(self, state: LegacySession) -> None:
        """Announce a session of ours to every other worker."""
        self._announcements.send_nowait(self._announcement(state))

    async def sync(self) -> None:
        """Before this new worker takes connections: hear every live worker's sessions (for
        :data:`SYNC_TIMEOUT` at most), so that it knows where each lives, also those a
        reload carried to another worker than their id names, and never takes one for its own."""
        self._unsynced = {slot for slot in self.outbound if self._alive(slot)}
        for slot in list(self._unsynced):
            if not self.outbound[slot].try_put(_pack(("hello",))):
                self._unsynced.discard(slot)
        if self._unsynced:
            with trio.move_on_after(SYNC_TIMEOUT):
                await self._synced.wait()
            if self._unsynced:
                log.warning(
                    "worker %d: workers %s did not say what sessions they have", self.slot, self._unsynced
                )

    async def _introduce(self, newcomer: int) -> None:
        """Tell a new worker of every session of ours, then that this is all."""
        ring = self.outbound[newcomer]
        for state in self._own_sessions():
            await ring.put(self._announcement(state))
        await ring.put(_pack(("synced",)))

    def _heard_all_from(self, slot: int) -> None:
        self._unsynced.discard(slot)
        if not self._unsynced:
            self._synced.set()

    def session_closed(self, session_id: str) -> None:
        self._moved.pop(session_id, None)
        self._announcements.send_nowait(_pack(("ended", session_id)))

    async def carry_over(self, sessions: list[tuple[Any, ...]], successor: int) -> None:
        """Give sessions of ours (as ``SessionTable.carry_over`` let go of them) to the worker
        that replaces this one; from now on requests for them go there, forwarded by this
        worker if they still reach it. The records go down the same ring as any request
        forwarded after them, so the successor has each session before its next request."""
        ring = self.outbound[successor]
        for carried in sessions:
            self._moved[carried[0]] = successor
            await ring.put(_pack(("adopt", *carried)))
        if sessions:
            log.info("worker %d: %d sessions carried over to worker %d", self.slot, len(sessions), successor)

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
        self, owner: int, generation: int, session_id: str, version: str, capabilities: Any, info: Any
    ) -> None:
        if self._owner_generations.get(owner) != generation:
            # A new worker in that slot: the replicas of its predecessor's sessions died with it.
            self._owner_generations[owner] = generation
            for key in [key for key in self._replicas if self.home_of(key) == owner]:
                self._forget(key)
        self._replicas[session_id] = LegacySession(session_id, version, capabilities, info)
        self._settle_home(session_id, owner)

    def _settle_home(self, session_id: str, owner: int) -> None:
        """Record that ``owner`` has the session: an exception to its id only where they differ
        (a session carried back to a worker in the slot its id names needs none)."""
        if session_owner(session_id) == owner:
            self._moved.pop(session_id, None)
        else:
            self._moved[session_id] = owner

    def _forget(self, session_id: str) -> None:
        self._replicas.pop(session_id, None)
        self._moved.pop(session_id, None)
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
                if not self._present(slot) or ring.try_put(record):
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
            try:
                data = await ring.get()
            except RingCorrupted:
                log.exception("the ring from worker %d is no longer read", source)
                return
            record = _unpack(data, source)
            if record is None:
                log.error("a malformed record from worker %d was dropped: %r", source, data[:64])
                continue
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
                self._replicate(source, *record[1:])
            elif kind == "hello":
                nursery.start_soon(self._introduce, source)
            elif kind == "synced":
                self._heard_all_from(source)
            elif kind == "adopt":
                self._settle_home(record[1], self.slot)
                self._take_in(tuple(record[1:]))
            elif kind == "ended":
                self._forget(record[1])
                self.outbound[source].try_put(_pack(("forgot", record[1])))
            elif kind == "forgot":
                self._forgot(source, record[1])
            elif kind == "touch":
                self._touch(record[1])

    async def _serve(self, record: tuple[Any, ...]) -> None:
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
