"""Shared-memory rings: records across real processes in order and intact, wrap-around, backpressure,
wake-ups from either side, and the wrap-around arithmetic against a model."""

import collections
import hashlib
import os
import random
import socket
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from mocopr.ipc import shm
from mocopr.ipc.control import ControlChannel, socketpair
from mocopr.ipc.ring import HEADER_BYTES, RECORD_HEADER, Ring, RingCorrupted

TESTS = Path(__file__).resolve().parent
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}


def child(function: str, *args: object) -> list[str]:
    """The command that runs ``function(*args)`` of this module in a fresh interpreter."""
    return [sys.executable, "-c", f"import test_ipc_ring as t; t.{function}(*{args!r})"]


def slot_size(record: bytes) -> int:
    return RECORD_HEADER + (len(record) + 3) // 4 * 4


def records(count: int, capacity: int, seed: int) -> Iterator[bytes]:
    """A reproducible mix: mostly small, some large, and some of (nearly) the largest size that fits."""
    rng = random.Random(seed)
    largest = capacity - RECORD_HEADER
    for _ in range(count):
        roll = rng.random()
        if roll < 0.01:
            size = largest - rng.randrange(8)
        elif roll < 0.1:
            size = rng.randrange(256, capacity // 2)
        else:
            size = rng.randrange(256)
        yield rng.randbytes(size)


@pytest.fixture
def ring() -> Iterator[Ring]:
    ring = Ring.create(64)
    yield ring
    ring.close()
    ring.unlink()


# In a child process ------------------------------------------------------------------------------------


def produce(name: str, data_fd: int, space_fd: int, count: int, capacity: int, seed: int) -> None:
    async def main() -> None:
        ring = Ring.attach(name, data_fd, space_fd)
        for record in records(count, capacity, seed):
            await ring.put(record)
        ring.close()

    trio.run(main)


def consume_over_control(control_fd: int) -> None:
    """Receive a ring's name and eventfds over a control channel, consume ``count`` records, and answer
    with the SHA-256 of them all."""

    async def main() -> None:
        channel = ControlChannel(socket.socket(fileno=control_fd))
        message, (data_fd, space_fd) = await channel.receive()
        ring = Ring.attach(message["ring"], data_fd, space_fd)
        digest = hashlib.sha256()
        for _ in range(message["count"]):
            record = await ring.get()
            digest.update(len(record).to_bytes(4, "little") + record)
        ring.close()
        await channel.send({"sha256": digest.hexdigest()})
        channel.close()

    trio.run(main)


# Across processes --------------------------------------------------------------------------------------


async def test_100k_records_from_a_child_arrive_intact_and_in_order() -> None:
    count, capacity, seed = 100_000, 8192, 7
    ring = Ring.create(capacity)
    command = child("produce", ring.name, ring.data_fd, ring.space_fd, count, capacity, seed)
    try:
        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    partial(trio.run_process, command, pass_fds=(ring.data_fd, ring.space_fd), env=CHILD_ENV)
                )
                wrapped = 0
                position = 0
                for index, expected in enumerate(records(count, capacity, seed)):
                    record = ring.try_get()
                    if record is None:
                        record = await ring.get()
                    assert record == expected, f"record {index}"
                    wrapped += position % capacity + slot_size(expected) > capacity
                    position += slot_size(expected)
            assert ring.try_get() is None
            assert wrapped > 1000  # records split across the end of the data area were covered
    finally:
        ring.close()
        ring.unlink()


async def test_a_full_ring_holds_the_producer_until_a_child_consumer_drains_it() -> None:
    capacity, count = 4096, 5000
    ring = Ring.create(capacity)
    ours, theirs = socketpair()
    channel = ControlChannel(ours)
    sent = list(records(count, capacity, seed=3))
    put = 0
    while ring.try_put(sent[put]):
        put += 1

    async def put_the_rest() -> None:
        nonlocal put
        for record in sent[put:]:
            await ring.put(record)
            put += 1

    try:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(put_the_rest)
                await trio.testing.wait_all_tasks_blocked()
                prefilled = put
                await trio.testing.wait_all_tasks_blocked()
                assert put == prefilled  # the producer is waiting, and stays waiting
                command = child("consume_over_control", theirs.fileno())
                nursery.start_soon(
                    partial(trio.run_process, command, pass_fds=(theirs.fileno(),), env=CHILD_ENV)
                )
                await channel.send({"ring": ring.name, "count": count}, [ring.data_fd, ring.space_fd])
                answer, _ = await channel.receive()
            assert put == count
            digest = hashlib.sha256()
            for record in sent:
                digest.update(len(record).to_bytes(4, "little") + record)
            assert answer == {"sha256": digest.hexdigest()}
    finally:
        channel.close()
        theirs.close()
        ring.close()
        ring.unlink()


# In one process ----------------------------------------------------------------------------------------


async def test_get_waits_for_a_put(ring: Ring) -> None:
    received: list[bytes] = []

    async def get() -> None:
        received.append(await ring.get())

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(get)
            await trio.testing.wait_all_tasks_blocked()
            assert received == []
            assert ring.try_put(b"wake up")
    assert received == [b"wake up"]


async def test_put_waits_for_space_and_resumes_when_the_consumer_drains(ring: Ring) -> None:
    assert ring.try_put(b"a" * 20)
    assert ring.try_put(b"b" * 20)  # 2 x 28 of 64 bytes: 8 left, too few for another
    assert not ring.try_put(b"c" * 20)
    done = trio.Event()

    async def put() -> None:
        await ring.put(b"c" * 20)
        done.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(put)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            assert ring.try_get() == b"a" * 20
            await done.wait()
    assert [ring.try_get(), ring.try_get(), ring.try_get()] == [b"b" * 20, b"c" * 20, None]


async def test_a_cancelled_get_stops_asking_for_wake_ups(ring: Ring) -> None:
    with trio.move_on_after(0.05):  # a deadline to cancel on, not a synchronisation
        await ring.get()
    assert ring.try_put(b"nobody is waiting")
    with pytest.raises(BlockingIOError):
        os.eventfd_read(ring.data_fd)  # so the producer made no system call


async def test_closing_wakes_a_waiting_get() -> None:
    ring = Ring.create(64)
    try:
        with trio.fail_after(5), pytest.RaisesGroup(trio.ClosedResourceError):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ring.get)
                await trio.testing.wait_all_tasks_blocked()
                ring.close()
    finally:
        ring.unlink()


async def test_records_that_can_never_fit_are_refused(ring: Ring) -> None:
    largest = b"x" * (ring.capacity - RECORD_HEADER)
    with pytest.raises(ValueError, match="never fit"):
        ring.try_put(largest + b"x")
    with pytest.raises(ValueError, match="never fit"):
        await ring.put(largest + b"x")
    assert ring.try_put(b"")
    assert not ring.try_put(largest)  # fits, but not now
    assert ring.try_get() == b""
    await ring.put(largest)
    assert await ring.get() == largest


@pytest.mark.parametrize("capacity", [0, 2, 4, 6, 2**32 + 4])
def test_capacity_must_be_a_multiple_of_4_within_bounds(capacity: int) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        Ring.create(capacity)


def test_attach_sees_the_creators_ring(ring: Ring) -> None:
    other = Ring.attach(ring.name, os.dup(ring.data_fd), os.dup(ring.space_fd))
    try:
        assert other.capacity == ring.capacity
        assert ring.try_put(b"across mappings")
        assert other.try_get() == b"across mappings"
    finally:
        other.close()


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(2, 40).map(lambda words: 4 * words),
    operations=st.lists(st.one_of(st.none(), st.binary(max_size=170)), max_size=120),
)
def test_wrap_around_matches_a_queue_model(capacity: int, operations: list[bytes | None]) -> None:
    """``None`` is a get, bytes a put; the producer and the consumer use separate mappings."""
    producer = Ring.create(capacity)
    consumer = Ring.attach(producer.name, os.dup(producer.data_fd), os.dup(producer.space_fd))
    model: collections.deque[bytes] = collections.deque()
    used = 0
    try:
        for record in operations:
            if record is None:
                expected = model.popleft() if model else None
                used -= slot_size(expected) if expected is not None else 0
                assert consumer.try_get() == expected
            elif slot_size(record) > capacity:
                with pytest.raises(ValueError):
                    producer.try_put(record)
            else:
                fits = used + slot_size(record) <= capacity
                assert producer.try_put(record) == fits
                if fits:
                    model.append(record)
                    used += slot_size(record)
        while model:
            assert consumer.try_get() == model.popleft()
        assert consumer.try_get() is None
    finally:
        consumer.close()
        producer.close()
        producer.unlink()


# Damage -------------------------------------------------------------------------------------------------
# Found by fuzzing (tests/fuzz/fuzz_ring.py): one damaged header byte made the consumer hand out a record
# that was never put, and a head moved past the tail let the producer take a record larger than the ring.

HEAD_WORD, TAIL_WORD = 0, 8


@pytest.fixture
def stray(ring: Ring) -> Iterator[memoryview]:
    """The ring's segment as another mapping sees it: a stray writer's view."""
    segment = shm.attach(ring.name)
    view = segment.buf
    yield view
    view.release()
    segment.close()


def test_a_damaged_length_is_refused_not_handed_out(ring: Ring, stray: memoryview) -> None:
    assert ring.try_put(b"a" * 10) and ring.try_put(b"b" * 10)
    stray[HEADER_BYTES] ^= 0x04  # the first record's length: 10 becomes 14, within the bytes in use
    with pytest.raises(RingCorrupted):
        ring.try_get()


def test_a_tail_moved_over_an_earlier_lap_is_refused(ring: Ring, stray: memoryview) -> None:
    for _ in range(4):  # 4 x 32 bytes: two laps of the 64-byte ring
        assert ring.try_put(b"x" * 24)
        assert ring.try_get() == b"x" * 24
    counters = stray[:HEADER_BYTES].cast("Q")
    counters[TAIL_WORD] += 32  # where the last lap left a whole record
    counters.release()
    with pytest.raises(RingCorrupted):
        ring.try_get()


def test_a_head_moved_back_replays_nothing(ring: Ring, stray: memoryview) -> None:
    assert ring.try_put(b"first") and ring.try_put(b"second")
    assert ring.try_get() == b"first"
    counters = stray[:HEADER_BYTES].cast("Q")
    counters[HEAD_WORD] = 0  # as if "first" were still to be read
    counters.release()
    assert [ring.try_get(), ring.try_get()] == [b"second", None]


def test_a_head_moved_past_the_tail_gives_the_producer_no_room(ring: Ring, stray: memoryview) -> None:
    counters = stray[:HEADER_BYTES].cast("Q")
    counters[HEAD_WORD] = 1 << 20
    counters.release()
    assert not ring.try_put(b"")
    with pytest.raises(ValueError, match="never fit"):
        ring.try_put(b"x" * ring.capacity)
