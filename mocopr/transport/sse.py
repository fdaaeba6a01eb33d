"""Server-Sent Events: framing, and streams that keep their recent events so a
legacy client can resume one with ``Last-Event-ID``.

An event id is ``<stream>:<sequence>``, so a resumption names both the stream
and the point to go on from.
"""

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import trio

KEEP_ALIVE = b":\n\n"


def frame(data: bytes, event_id: str | None = None) -> bytes:
    """One ``message`` event; ``data`` is a single line of JSON."""
    if event_id is None:
        return b"data: " + data + b"\n\n"
    return b"id: " + event_id.encode() + b"\ndata: " + data + b"\n\n"


def parse_event_id(value: str) -> tuple[str, int] | None:
    """The stream and sequence number a ``Last-Event-ID`` names; None for a value that is not an
    event id (ASCII digits only: ``str.isdigit`` takes "²" too; and few enough for ``int``)."""
    stream, _, sequence = value.rpartition(":")
    if not stream or not (sequence.isascii() and sequence.isdigit()) or len(sequence) > _MAX_DIGITS:
        return None
    return stream, int(sequence)


_MAX_DIGITS = 20  # of a sequence number: a uint64's, more than any stream counts to


class EventStream:
    """The events of one stream, the last ``capacity`` of them kept for replay.

    The server appends; any number of readers follow from a position. When
    the stream closes, readers drain what is left and stop.
    """

    def __init__(self, stream_id: str, capacity: int) -> None:
        self.id = stream_id
        self._events: deque[tuple[int, bytes]] = deque(maxlen=capacity)
        self._sequence = 0
        self._changed = trio.Event()
        self.closed = False

    @property
    def sequence(self) -> int:
        """The sequence number of the last event appended."""
        return self._sequence

    def append(self, data: bytes) -> bytes:
        """Keep an event; returns it framed, with its id."""
        self._sequence += 1
        event = frame(data, f"{self.id}:{self._sequence}")
        if not self.closed:
            self._events.append((self._sequence, event))
            self._wake()
        return event

    def carry_over(self) -> tuple[int, list[tuple[int, bytes]]]:
        """The sequence and the kept events: what another process needs to go on with this
        stream where it stops, so that a reader resuming with ``Last-Event-ID`` misses nothing."""
        return self._sequence, list(self._events)

    def go_on_from(self, sequence: int, events: Iterable[Sequence[Any]]) -> None:
        """Continue a stream another process carried over (see :meth:`carry_over`); the
        events may come as lists, as msgpack decodes tuples."""
        self._sequence = sequence
        self._events.extend((number, event) for number, event in events)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def next_after(self, after: int) -> tuple[int, bytes] | None:
        """The framed events with a sequence above ``after``, joined, and the sequence they reach,
        once there are any; None once the stream is closed with none left.

        A coroutine rather than an async generator: a reader that stops waiting (to send a
        keep-alive) loses nothing, where a cancelled generator would be finished for good.
        """
        while True:
            pending = [event for sequence, event in self._events if sequence > after]
            if pending:
                return self._sequence, b"".join(pending)
            if self.closed:
                return None
            await self._changed.wait()
