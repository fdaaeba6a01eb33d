"""Fuzzes the shared-memory ring's framing: puts and gets of any size (records that wrap, that fill
the ring, that can never fit) come out whole and in order, as a queue gives them; and after one
byte of a header word is damaged (a counter, a flag, a record's length or check word), every record
the consumer hands out is still the next one put, until it says ``RingCorrupted``.

Input: the capacity in words (u8), then operations (u8 each): put (with a u16 size), get, or
damage (a u16 choosing the byte, a u8 to flip it with; only the first damage counts).
"""

import collections
import os

import atheris
import harness

with atheris.instrument_imports(include=["mocopr"]):
    from mocopr.ipc import shm
    from mocopr.ipc.ring import HEADER_BYTES, RECORD_HEADER, Ring, RingCorrupted

PUT, GET, DAMAGE = 0, 2, 3  # 1 is a put too: puts are what fill and wrap a ring
#: The shared words: head and consumer_waiting, tail and producer_waiting, capacity.
HEADER_WORDS = [0, 8, 64, 72, 128]


def payload(index: int, size: int) -> bytes:
    """Record ``index``'s bytes: its number in every word, so that records differ and none can pass
    for a header (that would need a check word the counter never makes)."""
    return (index.to_bytes(4, "little") * (size // 4 + 1))[:size]


def slot_size(size: int) -> int:
    return RECORD_HEADER + (size + 3) // 4 * 4


class Queue:
    """The records in the ring, as a queue holds them, and where each one's header is."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: collections.deque[tuple[int, bytes]] = collections.deque()  # (start, record)
        self.head = self.tail = 0

    def put(self, record: bytes) -> None:
        self.records.append((self.tail, record))
        self.tail += slot_size(len(record))

    def get(self) -> bytes | None:
        if not self.records:
            return None
        start, record = self.records.popleft()
        self.head = start + slot_size(len(record))
        return record

    def fits(self, size: int) -> bool:
        return self.tail - self.head + slot_size(size) <= self.capacity

    def header_bytes(self) -> list[int]:
        """Where, in the segment, the header words and the unread records' headers are."""
        where = [word + i for word in HEADER_WORDS for i in range(8)]
        for start, _ in self.records:
            for i in range(RECORD_HEADER):
                where.append(HEADER_BYTES + (start + i) % self.capacity)
        return where


def test_one_input(data: bytes) -> None:
    reader = harness.Reader(data)
    capacity = 4 * (2 + reader.u8() % 64)
    producer = Ring.create(capacity)
    consumer = Ring.attach(producer.name, os.dup(producer.data_fd), os.dup(producer.space_fd))
    damaged = broken = False
    queue, puts = Queue(capacity), 0
    try:
        while not reader.exhausted:
            op = reader.u8() % 4
            if op == DAMAGE:
                where, flip = reader.u16(), reader.u8() | 1
                if not damaged:
                    damaged = True
                    memory = shm.attach(producer.name)  # as a stray writer would
                    offsets = queue.header_bytes()
                    memory.buf[offsets[where % len(offsets)]] ^= flip
                    memory.close()
            elif op == GET:
                if not broken:
                    broken = get(consumer, queue, damaged)
            else:
                size = reader.u16() % (capacity + 8)
                record = payload(puts, size)
                if slot_size(size) > capacity:
                    try:
                        producer.try_put(record)
                    except ValueError:
                        continue
                    raise AssertionError("a record larger than the ring was taken")
                put = producer.try_put(record)
                assert damaged or put == queue.fits(size)
                if put:
                    queue.put(record)
                    puts += 1
        for _ in range(len(queue.records) + 1):  # the rest, then nothing: more would be a record not put
            if broken:
                break
            broken = get(consumer, queue, damaged)
    finally:
        consumer.close()
        producer.close()
        producer.unlink()


def get(consumer: Ring, queue: Queue, damaged: bool) -> bool:
    """Take a record and check it is the one the queue says is next; True if the ring is broken."""
    try:
        record = consumer.try_get()
    except RingCorrupted:
        assert damaged, "corrupted without damage"
        return True
    if record is None:
        assert damaged or not queue.records, "a record went missing"
        return False
    assert record == queue.get(), "a wrong record"
    return False


def seeds() -> list[bytes]:
    """Fills and drains that wrap, largest and empty records, and damage between them."""
    put, get_ = harness.u8(PUT), harness.u8(GET)

    def puts(*sizes: int) -> bytes:
        return b"".join(put + harness.u16(size) for size in sizes)

    def damage(where: int) -> bytes:
        return harness.u8(DAMAGE) + harness.u16(where) + harness.u8(0x10)

    return [
        harness.u8(6) + puts(0, 5, 12) + get_ * 2 + puts(20, 3) + get_ * 3,  # 32 bytes: wraps
        harness.u8(14) + puts(56) + get_ + puts(56, 0) + get_ * 2,  # the largest, then the empty one
        harness.u8(0) + puts(1, 0, 9) + get_,  # 8 bytes: room for an empty record only
        harness.u8(30) + puts(10, 30, 7) + damage(48) + get_ * 3,  # the second record's length
        harness.u8(30) + puts(10, 30) + get_ + damage(2) + puts(4) + get_ * 3,  # the shared head
        harness.u8(30) + puts(10, 30) + damage(18) + get_ * 3 + puts(8) + get_,  # the shared tail
    ]


if __name__ == "__main__":
    harness.main(test_one_input, seeds())
