"""The load table: one shared-memory slot per worker, written by that worker, read by every process.

The acceptor reads it to hand each connection to the least-loaded worker, the supervisor to judge
health (a stale heartbeat means a stuck worker) and for /health and /metrics. Workers update their
counters on every request, so a field is one int64 in a ``memoryview.cast("q")`` over the segment and
an update is one indexed load and store (``Slot.words``): about 50 ns, no struct packing, no lock.

No lock is needed because every field has one writer at a time: the supervisor sets ``generation``,
zeroes the counters and sets ``state = STARTING`` before it starts a worker (and marks the slot
``EMPTY`` after reaping it); from then on the worker writes its own slot, ``pid``, ``cpu`` and
``started_ns`` first. CPython stores an int64 item
with one 8-byte copy, an aligned store, which x86-64 makes atomic: a reader never sees a torn value,
only a possibly stale one. Fields read one after another are not a consistent snapshot, which is fine
for balancing and reporting.

Times are ``time.monotonic_ns()``: CLOCK_MONOTONIC is one clock for every process on the machine.
"""

from multiprocessing.shared_memory import SharedMemory
from typing import Self

from mocopr.ipc import shm

# Field offsets within a slot, in int64 words.
PID = 0
GENERATION = 1  # bumped by the supervisor each time it starts a worker in this slot
STATE = 2  # EMPTY, STARTING, READY or DRAINING
CPU = 3  # the CPU the worker is pinned to, or -1
STARTED_NS = 4
HEARTBEAT_NS = 5  # the worker's loop stores monotonic_ns() here periodically; stale means stuck
LIVE_CONNECTIONS = 6
INFLIGHT = 7  # requests being handled now
TOTAL_CONNECTIONS = 8  # connections adopted since the worker started
TOTAL_REQUESTS = 9
REJECTED_INFLIGHT = 10  # requests refused (503) at the per-worker in-flight limit
REJECTED_CONNECTIONS = 11  # connections refused at the per-worker connection limit
EVICTABLE = 12  # connections with no request in progress, as of the worker's last clock tick

FIELDS = (
    "pid",
    "generation",
    "state",
    "cpu",
    "started_ns",
    "heartbeat_ns",
    "live_connections",
    "inflight",
    "total_connections",
    "total_requests",
    "rejected_inflight",
    "rejected_connections",
    "evictable",
)  # names in offset order, as in snapshot()

# 16 words = 128 bytes, two whole cache lines, so workers that write their own slots on every request
# never write the same cache line (no false sharing), with room for three more fields.
SLOT_WORDS = 16
SLOT_BYTES = SLOT_WORDS * 8

# Slot states.
EMPTY = 0
STARTING = 1
READY = 2  # accepting connections
DRAINING = 3  # finishing in-flight requests; gets no new connections
#: The states of a worker that is serving (its connections and sessions are live).
SERVING = (READY, DRAINING)


def _field(offset: int, doc: str) -> property:
    def get(self: "Slot") -> int:
        return self.words[offset]

    def set(self: "Slot", value: int) -> None:
        self.words[offset] = value

    return property(get, set, doc=doc)


class Slot:
    """One worker's slot: a read/write property per field, ``incr``/``decr`` by offset, and ``words``.

    ``words`` is the slot itself, its int64 fields indexed by the offset constants: the hot path of a
    worker keeps it and writes ``words[INFLIGHT] += 1``, an indexed load and store of about 50 ns.
    ``slot.incr(INFLIGHT)`` adds a method call to that, and ``slot.inflight += 1`` two (get, then set);
    they are for the paths where readability wins. Once the table is closed, every use raises
    ``ValueError``.
    """

    __slots__ = ("index", "words")

    def __init__(self, table: memoryview, index: int) -> None:
        self.index = index
        self.words = table[index * SLOT_WORDS : (index + 1) * SLOT_WORDS]

    pid = _field(PID, "The worker's process id; 0 when the slot is empty.")
    generation = _field(GENERATION, "How many workers the supervisor has started in this slot.")
    state = _field(STATE, "EMPTY, STARTING, READY or DRAINING.")
    cpu = _field(CPU, "The CPU the worker is pinned to, or -1.")
    started_ns = _field(STARTED_NS, "monotonic_ns() when the supervisor started the worker.")
    heartbeat_ns = _field(HEARTBEAT_NS, "monotonic_ns() of the worker's last heartbeat.")
    live_connections = _field(LIVE_CONNECTIONS, "Connections the worker holds now.")
    inflight = _field(INFLIGHT, "Requests being handled now.")
    total_connections = _field(TOTAL_CONNECTIONS, "Connections adopted since the worker started.")
    total_requests = _field(TOTAL_REQUESTS, "Requests handled since the worker started.")
    rejected_inflight = _field(REJECTED_INFLIGHT, "Requests refused at the in-flight limit.")
    rejected_connections = _field(REJECTED_CONNECTIONS, "Connections refused at the connection limit.")
    evictable = _field(EVICTABLE, "Connections that could be closed to admit another (none in progress).")

    def incr(self, field: int, n: int = 1) -> None:
        """Add ``n`` to the field at offset ``field`` (e.g. ``INFLIGHT``)."""
        self.words[field] += n

    def decr(self, field: int, n: int = 1) -> None:
        """Subtract ``n`` from the field at offset ``field``."""
        self.words[field] -= n

    def clear(self) -> None:
        """Zero every field: the supervisor's, after reaping the worker and before starting the next."""
        self.words[:] = _ZERO_SLOT


_ZERO_SLOT = memoryview(bytes(SLOT_BYTES)).cast("q")


class LoadTable:
    """``slots`` worker slots in one shared-memory segment named ``name``."""

    def __init__(self, segment: SharedMemory, slots: int) -> None:
        """Use ``create`` or ``attach``."""
        if segment.size < slots * SLOT_BYTES:
            segment.close()
            raise ValueError(f"segment {segment.name!r} is too small for {slots} load-table slots")
        self._segment = segment
        self._table = segment.buf[: slots * SLOT_BYTES].cast("q")
        self._slots = [Slot(self._table, index) for index in range(slots)]  # made once: slot() is free
        self.name = segment.name
        self.slots = slots

    @classmethod
    def create(cls, slots: int) -> Self:
        """Create a zeroed table (every slot EMPTY). The creator alone unlinks it."""
        if slots < 1:
            raise ValueError("a load table needs at least one slot")
        return cls(shm.create(slots * SLOT_BYTES), slots)

    @classmethod
    def attach(cls, name: str, slots: int) -> Self:
        """Open the table the supervisor created; exiting never removes it (see ``shm``)."""
        return cls(shm.attach(name), slots)

    def slot(self, index: int) -> Slot:
        """Slot ``index`` (always the same object for the same index)."""
        if not 0 <= index < self.slots:
            raise IndexError(f"load-table slot {index} out of range(0, {self.slots})")
        return self._slots[index]

    def least_loaded(self, now_ns: int, stale_after_ns: int) -> int | None:
        """The READY slot with the fewest live connections (then the fewest in total), or None.

        A slot whose heartbeat is older than ``stale_after_ns`` at ``now_ns`` is skipped: its worker is
        stuck or dead and must not be given connections.
        """
        table = self._table
        best = None
        best_key = (0, 0)
        for index in range(self.slots):
            base = index * SLOT_WORDS
            if table[base + STATE] != READY or now_ns - table[base + HEARTBEAT_NS] > stale_after_ns:
                continue
            key = (table[base + LIVE_CONNECTIONS], table[base + TOTAL_CONNECTIONS])
            if best is None or key < best_key:
                best, best_key = index, key
        return best

    def snapshot(self) -> list[dict[str, int]]:
        """Every slot as ``{"slot": index, field: value, ...}``, for /health and metrics."""
        table = self._table
        return [
            {"slot": index, **dict(zip(FIELDS, table[base : base + len(FIELDS)].tolist(), strict=True))}
            for index, base in enumerate(range(0, self.slots * SLOT_WORDS, SLOT_WORDS))
        ]

    def close(self) -> None:
        """Unmap the table here; slots taken from it stop working. Other processes are unaffected."""
        for slot in self._slots:
            slot.words.release()
        self._table.release()
        self._segment.close()

    def unlink(self) -> None:
        """Remove the segment's name (the creator's job, once no process will attach again)."""
        self._segment.unlink()
