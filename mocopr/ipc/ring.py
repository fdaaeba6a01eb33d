"""Single-producer single-consumer byte rings in shared memory, with eventfd wake-ups that trio waits on.

A ring carries records (byte strings; msgpack is the caller's business) one way between two processes:
a request forwarded to the worker that owns its session, the answer coming back, a broadcast. It is
bounded: a producer that finds it full waits (``put``) or is told so (``try_put``), never queues.

Layout of the segment (native byte order: both ends are on one machine)::

    word 0   head      bytes ever consumed     written by the consumer   } one cache line
    word 1   consumer_waiting  (0 or 1)        written by the consumer   }
    word 8   tail      bytes ever produced     written by the producer   } another
    word 9   producer_waiting  (0 or 1)        written by the producer   }
    word 16  capacity                          written once, by the creator
    byte 192 data area of ``capacity`` bytes

``head`` and ``tail`` only grow (a uint64 lasts centuries), ``tail - head`` is the bytes in use and a
counter's position in the data area is ``counter % capacity``. A record is a uint32 payload length, a
uint32 check word, and the payload, padded to a multiple of 4 bytes. The capacity being a multiple of 4
too, a word never straddles the end of the data area (the check word of a record that starts in the
last word is the first); a payload that reaches the end continues at the start (split copies, not a
padding marker, so that any record that fits in the empty ring fits whenever enough bytes are free,
wherever the counters happen to be).

Damage: the check word is the length bound to the record's place in the stream (its ``tail`` when it
was put), and each end keeps its own count, using the shared one only to tell the other end how far it
may go. So whatever one header word holds (a length or counter overwritten, a record left from an
earlier lap where a counter now points), the consumer never hands out a record that was not put there,
nor one twice: it raises :class:`RingCorrupted` instead.

Memory ordering: the producer copies the payload, then its length and check word, then stores ``tail``;
the consumer loads ``tail``, then the record, then stores ``head``. On x86-64 (total store order) stores
are seen in program order and loads are not reordered with older loads or younger stores, so this is
all the publication a record needs, and the C calls around each store keep the compiler from
reordering them. This module assumes x86-64; a weakly ordered CPU (arm64) would need barriers that
Python cannot express.

Wake-ups: each direction has an eventfd (``data_fd``: records are available; ``space_fd``: bytes were
freed). A waiter stores its flag (``consumer_waiting``/``producer_waiting``), then checks the ring again,
and only then waits on the eventfd; the other side, after publishing a change, checks the flag and
writes the eventfd only when it is set. So a consumer that is keeping up costs no system call per
record. No wake-up is lost:

- Store-then-load on both sides (the waiter stores its flag and loads the counter, the other side stores
  the counter and loads the flag) is the one reordering x86-64 allows, so both sides put a full fence
  between the two: an uncontended lock acquire and release, atomic read-modify-writes, which x86-64
  executes with a LOCK prefix. That costs about 80 ns from Python, against about 350 ns for the eventfd
  write it saves and the wake-up (an epoll round, a read) that write would cost the consumer. Then at
  least one side sees the other: the waiter finds the change, or the other side finds the flag.
- An eventfd is a counter, not an edge: a write that lands between the waiter's last check and its
  wait leaves the counter non-zero, and the wait returns at once. The waiter empties the counter only
  after waking and before checking again, so a write is never consumed without a check after it.

A surplus write (the flag was seen just before the waiter found the change itself) only makes a later
wait return early for nothing; the waiter checks, finds nothing, and waits again.

Processes come and go: a record is visible only once whole, so a producer that dies mid-record leaves
no trace, and a flag left set by a dead process only costs the survivor spurious writes.
"""

import contextlib
import os
import threading
from multiprocessing.shared_memory import SharedMemory
from typing import Self

import trio

from mocopr.ipc import shm
from mocopr.ipc.fds import forget

_HEAD = 0
_CONSUMER_WAITING = 1
_TAIL = 8
_PRODUCER_WAITING = 9
_CAPACITY = 16
HEADER_BYTES = 192  # three cache lines: the consumer's, the producer's, the constant one
RECORD_HEADER = 8  # the uint32 payload length and the uint32 check word before each payload

_fence = threading.Lock()  # acquire + release = one LOCK-prefixed instruction each: a full fence on x86-64


class RingCorrupted(Exception):
    """The ring holds what its producer did not put there: the consumer can no longer tell which of
    its bytes are records, so the ring is of no further use."""


def _check(length: int, counter: int) -> int:
    """The check word of a record of ``length`` bytes put at ``counter``: the counter folded to 32
    bits (rings of 2**32 bytes lap in the high half) and inverted, so that zeroed memory fails too."""
    return ~(length ^ counter ^ counter >> 32) & 0xFFFFFFFF


class Ring:
    """One end (or both) of a ring; which end is a matter of which methods a process calls.

    There is one producer and one consumer, each one task in one process: ``try_put``/``put`` from the
    first only, ``try_get``/``get`` from the second only.
    """

    def __init__(self, segment: SharedMemory, data_fd: int, space_fd: int) -> None:
        """Use ``create`` or ``attach``."""
        self._segment = segment
        self._header = segment.buf[:HEADER_BYTES].cast("Q")
        capacity = self._header[_CAPACITY]
        if segment.size < HEADER_BYTES + capacity:
            self._header.release()
            segment.close()
            raise ValueError(f"segment {segment.name!r} is too small for a ring of {capacity} bytes")
        self._data = segment.buf[HEADER_BYTES : HEADER_BYTES + capacity]
        self._words = self._data.cast("I")  # record headers: a record starts on a multiple of 4
        self._last_word = capacity // 4 - 1
        #: This end's own counts: the shared ones are told to the other end, never read back.
        self._head = self._header[_HEAD]
        self._tail = self._header[_TAIL]
        self.name = segment.name
        self.capacity = capacity
        self.data_fd = data_fd
        self.space_fd = space_fd
        self._closed = False  # after close() a woken waiter must not touch the released header

    @classmethod
    def create(cls, capacity: int) -> Self:
        """Create an empty ring of ``capacity`` data bytes (a multiple of 4) and its two eventfds.

        The creator alone unlinks it. A record of ``n`` bytes takes ``8 + n`` rounded up to 4.
        """
        if capacity < RECORD_HEADER or capacity % 4 or capacity > 2**32:
            raise ValueError(f"ring capacity must be a multiple of 4 in [8, 2**32], not {capacity}")
        segment = shm.create(HEADER_BYTES + capacity)
        header = segment.buf[:HEADER_BYTES].cast("Q")
        header[_CAPACITY] = capacity
        header.release()
        flags = os.EFD_NONBLOCK | os.EFD_CLOEXEC
        return cls(segment, os.eventfd(0, flags), os.eventfd(0, flags))

    @classmethod
    def attach(cls, name: str, data_fd: int, space_fd: int) -> Self:
        """Open the ring ``name``, whose eventfds this process inherited or received.

        The ring owns the descriptors from then on and closes them in ``close``; if ``attach`` raises,
        they are still the caller's.
        """
        return cls(shm.attach(name), data_fd, space_fd)

    def try_put(self, record: bytes) -> bool:
        """Append ``record`` if it fits now; False if not. ``ValueError`` if it can never fit."""
        n = len(record)
        size = RECORD_HEADER + ((n + 3) & -4)
        capacity = self.capacity
        header = self._header
        if size > capacity:
            raise ValueError(f"a record of {n} bytes can never fit in a ring of {capacity} bytes")
        tail = self._tail
        if not 0 <= tail - header[_HEAD] <= capacity - size:  # no room now, or a head never written
            return False
        position = tail % capacity
        start = (position + RECORD_HEADER) % capacity
        end = start + n
        if end <= capacity:
            self._data[start:end] = record
        else:
            first = capacity - start
            self._data[start:capacity] = record[:first]
            self._data[: n - first] = record[first:]
        word = position >> 2
        self._words[word] = n
        self._words[word + 1 if word < self._last_word else 0] = _check(n, tail)
        self._tail = tail = tail + size
        header[_TAIL] = tail  # publishes the record
        _fence.acquire()
        _fence.release()
        if header[_CONSUMER_WAITING]:
            os.eventfd_write(self.data_fd, 1)
        return True

    def try_get(self) -> bytes | None:
        """Remove and return the oldest record, or None if the ring is empty; :class:`RingCorrupted`
        if what the ring holds is not what was put in it."""
        header = self._header
        head = self._head
        used = header[_TAIL] - head
        if not used:
            return None
        capacity = self.capacity
        if not RECORD_HEADER <= used <= capacity:
            raise RingCorrupted(f"ring {self.name}: {used} bytes in use of {capacity}")
        position = head % capacity
        word = position >> 2
        n = self._words[word]
        size = RECORD_HEADER + ((n + 3) & -4)
        if size > used or self._words[word + 1 if word < self._last_word else 0] != _check(n, head):
            raise RingCorrupted(f"ring {self.name}: the record at {head} has a damaged header")
        start = (position + RECORD_HEADER) % capacity
        end = start + n
        if end <= capacity:
            record = bytes(self._data[start:end])
        else:
            record = bytes(self._data[start:capacity]) + bytes(self._data[: end - capacity])
        self._head = head = head + size
        header[_HEAD] = head  # frees the bytes
        _fence.acquire()
        _fence.release()
        if header[_PRODUCER_WAITING]:
            os.eventfd_write(self.space_fd, 1)
        return record

    async def put(self, record: bytes) -> None:
        """Append ``record``, waiting while the ring is too full for it (backpressure).

        A checkpoint, like trio's own I/O; ``ValueError`` at once if it can never fit.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.try_put(record):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        self._header[_PRODUCER_WAITING] = 1
        try:
            while True:
                _fence.acquire()
                _fence.release()
                if self.try_put(record):
                    break
                await trio.lowlevel.wait_readable(self.space_fd)
                _drain(self.space_fd)
        finally:
            if not self._closed:
                self._header[_PRODUCER_WAITING] = 0
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def get(self) -> bytes:
        """Remove and return the oldest record, waiting while the ring is empty.

        A checkpoint, like trio's own I/O. A consumer that wants to go fast takes what is there with
        ``try_get`` and awaits ``get`` only when that returns None: each ``get`` yields to the scheduler.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        record = self.try_get()
        if record is None:
            self._header[_CONSUMER_WAITING] = 1
            try:
                while True:
                    _fence.acquire()
                    _fence.release()
                    record = self.try_get()
                    if record is not None:
                        break
                    await trio.lowlevel.wait_readable(self.data_fd)
                    _drain(self.data_fd)
            finally:
                if not self._closed:
                    self._header[_CONSUMER_WAITING] = 0
        await trio.lowlevel.cancel_shielded_checkpoint()
        return record

    def close(self) -> None:
        """Unmap the ring and close this process's eventfds.

        A task of this process waiting in ``get`` or ``put`` gets ``trio.ClosedResourceError``.
        """
        self._closed = True
        for fd in (self.data_fd, self.space_fd):
            forget(fd)
            os.close(fd)
        self._words.release()
        self._data.release()
        self._header.release()
        self._segment.close()

    def unlink(self) -> None:
        """Remove the segment's name (the creator's job, once no process will attach again)."""
        self._segment.unlink()


def _drain(eventfd: int) -> None:
    """Reset the eventfd's counter to zero, so the next wait waits for a new write."""
    with contextlib.suppress(BlockingIOError):  # already zero: the wake-up was a surplus one
        os.eventfd_read(eventfd)
