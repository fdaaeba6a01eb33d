"""The load table: fields and counters, a slot written by a child and read by the parent, the choice of
the least-loaded worker, and segments that outlive the processes that attach to them."""

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import pytest
import trio

from mocopr.ipc import shm
from mocopr.ipc.load_table import (
    DRAINING,
    FIELDS,
    INFLIGHT,
    READY,
    SLOT_BYTES,
    STARTING,
    TOTAL_REQUESTS,
    LoadTable,
    Slot,
)

TESTS = Path(__file__).resolve().parent
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
SECOND = 1_000_000_000


def child(function: str, *args: object) -> list[str]:
    """The command that runs ``function(*args)`` of this module in a fresh interpreter."""
    return [sys.executable, "-c", f"import test_ipc_load_table as t; t.{function}(*{args!r})"]


def exists(name: str) -> bool:
    return os.path.exists(f"/dev/shm/{name}")


@pytest.fixture
def table() -> Iterator[LoadTable]:
    table = LoadTable.create(4)
    yield table
    table.close()
    table.unlink()


# In a child process ------------------------------------------------------------------------------------


def work_in_slot(name: str, slots: int, index: int, requests: int) -> None:
    """Be the worker of slot ``index``: announce, count ``requests`` requests, and exit."""
    table = LoadTable.attach(name, slots)
    slot = table.slot(index)
    slot.pid = os.getpid()
    slot.state = READY
    slot.heartbeat_ns = time.monotonic_ns()
    slot.live_connections = 3
    words = slot.words
    for _ in range(requests):
        words[INFLIGHT] += 1
        slot.incr(TOTAL_REQUESTS)
        slot.decr(INFLIGHT)
    table.close()


def own_a_table_while_children_attach() -> None:
    """The supervisor's side: create a table, let children of every kind attach, write and exit, then
    read what they wrote and unlink it. Prints what it saw; the test reads it and this stderr."""
    table = LoadTable.create(3)
    subprocess.run(child("work_in_slot", table.name, 3, 0, 10), env=CHILD_ENV, check=True, timeout=60)
    for index, method in [(1, "fork"), (2, "spawn")]:
        process = multiprocessing.get_context(method).Process(
            target=work_in_slot, args=(table.name, 3, index, 10)
        )
        process.start()
        process.join(60)
        assert process.exitcode == 0, (method, process.exitcode)
    seen = {"exists": exists(table.name), "requests": [row["total_requests"] for row in table.snapshot()]}
    table.close()
    table.unlink()
    print(json.dumps({"name": table.name, **seen}))


def attach_the_plain_way(name: str) -> None:
    SharedMemory(name).close()


# Across processes --------------------------------------------------------------------------------------


async def test_a_slot_written_by_a_child_is_read_by_the_parent(table: LoadTable) -> None:
    requests = 200_000
    seen: list[int] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            worker = await nursery.start(
                partial(trio.run_process, child("work_in_slot", table.name, 4, 2, requests), env=CHILD_ENV)
            )
            while worker.returncode is None:  # read while the child writes
                seen.append(table.slot(2).total_requests)
                await trio.lowlevel.checkpoint()
    assert seen == sorted(seen)  # never a torn or stale-then-newer-then-older value
    slot = table.slot(2)
    assert (slot.pid, slot.state, slot.live_connections) == (worker.pid, READY, 3)
    assert (slot.total_requests, slot.inflight) == (requests, 0)
    assert table.least_loaded(time.monotonic_ns(), 60 * SECOND) == 2
    assert [row["state"] for row in table.snapshot()] == [0, 0, READY, 0]


def test_only_the_creator_unlinks_whoever_attaches_and_exits() -> None:
    """Children started by subprocess (no tracker of the owner's) and by multiprocessing's fork and spawn
    (which share the owner's tracker) attach and exit; the segment stays until the owner unlinks it, and
    no tracker complains (no leak warning, no KeyError) on stderr."""
    owner = subprocess.run(
        child("own_a_table_while_children_attach"), env=CHILD_ENV, capture_output=True, text=True, timeout=120
    )
    assert owner.returncode == 0, owner.stderr
    assert owner.stderr == ""
    seen = json.loads(owner.stdout)
    assert seen["exists"]
    assert seen["requests"] == [10, 10, 10]
    assert not exists(seen["name"])


def test_attaching_with_plain_shared_memory_would_unlink_the_segment(table: LoadTable) -> None:
    """Why ``shm.attach`` exists: a plain attach in a child that then exits removes the owner's segment."""
    # The child's resource tracker unlinks after the child has exited; it holds the child's stderr open
    # until then, so reading stderr to its end waits for it.
    command = child("attach_the_plain_way", table.name)
    done = subprocess.run(command, env=CHILD_ENV, capture_output=True, text=True, check=True, timeout=60)
    assert "leaked shared_memory" in done.stderr
    assert not exists(table.name)
    SharedMemory(table.name, create=True, size=4 * SLOT_BYTES).close()  # for the fixture to unlink


# In one process ----------------------------------------------------------------------------------------


def test_a_new_table_is_zeroed(table: LoadTable) -> None:
    assert table.slots == 4
    assert exists(table.name)
    assert table.snapshot() == [{"slot": index, **dict.fromkeys(FIELDS, 0)} for index in range(4)]


def test_fields_are_properties_and_counters_move(table: LoadTable) -> None:
    slot = table.slot(1)
    for value, field in enumerate(FIELDS, start=100):
        setattr(slot, field, value)
    assert [getattr(slot, field) for field in FIELDS] == list(range(100, 100 + len(FIELDS)))
    slot.incr(INFLIGHT)
    slot.incr(INFLIGHT, 4)
    slot.decr(INFLIGHT, 2)
    slot.words[INFLIGHT] += 10  # the hot path's spelling
    assert slot.inflight == 100 + FIELDS.index("inflight") + 13
    assert table.slot(1) is slot
    assert table.snapshot()[1]["inflight"] == slot.inflight
    assert [table.snapshot()[index] for index in (0, 2)] == [
        {"slot": index, **dict.fromkeys(FIELDS, 0)} for index in (0, 2)
    ]
    slot.clear()
    assert table.snapshot()[1] == {"slot": 1, **dict.fromkeys(FIELDS, 0)}


def test_slots_are_independent_and_bounded(table: LoadTable) -> None:
    table.slot(3).total_requests = -1
    assert [row["total_requests"] for row in table.snapshot()] == [0, 0, 0, -1]
    with pytest.raises(IndexError):
        table.slot(4)
    with pytest.raises(IndexError):
        table.slot(-1)


def test_least_loaded_prefers_fresh_ready_workers_with_fewest_connections(table: LoadTable) -> None:
    now = 1000 * SECOND
    stale_after = 5 * SECOND

    def set_slot(slot: Slot, state: int, heartbeat_ns: int, live: int, total: int) -> None:
        slot.state, slot.heartbeat_ns, slot.live_connections, slot.total_connections = (
            state,
            heartbeat_ns,
            live,
            total,
        )

    assert table.least_loaded(now, stale_after) is None  # all EMPTY
    set_slot(table.slot(0), READY, now, 5, 50)
    set_slot(table.slot(1), READY, now - SECOND, 2, 90)
    set_slot(table.slot(2), READY, now, 2, 40)
    set_slot(table.slot(3), STARTING, now, 0, 0)
    assert table.least_loaded(now, stale_after) == 2  # ties on live connections: fewer in total
    table.slot(2).heartbeat_ns = now - 6 * SECOND  # stuck
    assert table.least_loaded(now, stale_after) == 1
    table.slot(1).state = DRAINING
    assert table.least_loaded(now, stale_after) == 0
    table.slot(0).heartbeat_ns = now - stale_after  # exactly at the limit: still fresh
    assert table.least_loaded(now, stale_after) == 0
    assert table.least_loaded(now + 1, stale_after) is None


def test_attach_checks_the_segment_size(table: LoadTable) -> None:
    with pytest.raises(ValueError, match="too small"):
        LoadTable.attach(table.name, 5)
    with pytest.raises(ValueError, match="at least one slot"):
        LoadTable.create(0)


def test_slots_stop_working_once_the_table_is_closed() -> None:
    table = LoadTable.create(1)
    slot = table.slot(0)
    table.close()
    table.unlink()
    with pytest.raises(ValueError):
        slot.inflight = 1


def test_sweep_removes_only_segments_whose_creator_is_gone(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(gone.stdout)
    names = {
        "dead": f"mocopr_{dead_pid}_00ff",
        "alive": f"mocopr_{os.getpid()}_00ff",
        "no pid": "mocopr_00ff00ff00ff00ff",
        "not ours": f"other_{dead_pid}_00ff",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    assert shm.sweep_stale(tmp_path) == [names["dead"]]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        name for key, name in names.items() if key != "dead"
    )
