"""Newline-delimited framing over a trio receive stream, with a size limit that
holds without buffering an oversized message: its bytes are dropped as they
arrive, up to the newline that ends it."""

from collections.abc import AsyncIterator

import trio

CHUNK = 65536


class Oversized:
    """Stands in for a line that exceeded the limit; only its size so far is kept."""

    def __init__(self, size: int) -> None:
        self.size = size


async def read_lines(stream: trio.abc.ReceiveStream, max_size: int) -> AsyncIterator[bytes | Oversized]:
    """Yield each complete line (without its newline; a trailing CR is stripped),
    or one :class:`Oversized` for each line longer than ``max_size`` bytes.
    Blank lines are skipped. A last line without a newline is yielded at EOF."""
    buffer = bytearray()
    start = 0  # where the unconsumed data begins; compacted when a read comes in
    scanned = 0  # how far past ``start`` no newline was found
    discarding = False
    while True:
        newline = buffer.find(b"\n", start + scanned)
        if newline >= 0:
            end = newline - 1 if newline > start and buffer[newline - 1] == 13 else newline
            if discarding:
                discarding = False
            elif end - start > max_size:
                yield Oversized(end - start)
            elif end > start:
                yield bytes(buffer[start:end])
            start, scanned = newline + 1, 0
            continue
        pending = len(buffer) - start
        if pending > max_size:
            if not discarding:
                discarding = True
                yield Oversized(pending)
            del buffer[:]
            start = scanned = 0
        else:
            scanned = pending
        data = await stream.receive_some(CHUNK)
        if not data:
            if not discarding and len(buffer) > start:
                yield bytes(buffer[start:]).rstrip(b"\r")
            return
        if start:
            del buffer[:start]
            start = 0
        buffer += data
