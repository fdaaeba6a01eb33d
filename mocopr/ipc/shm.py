"""Shared-memory segments that only their creator unlinks.

``multiprocessing.shared_memory.SharedMemory`` registers every segment it opens, created or attached,
with the opening process's resource tracker, and the tracker unlinks whatever is still registered when
that process exits (warning about a "leak"). So on Python 3.11 a worker that merely attaches to the
supervisor's load table would remove it from ``/dev/shm`` when it exits, and the next worker could no
longer attach. Python 3.13 added ``track=False``; 3.11 and 3.12 have no switch.

Unregistering right after attaching, the usual workaround, is wrong for a child started by
``multiprocessing`` (fork or spawn): it shares its parent's tracker, so the child's unregister would
cancel the creator's own registration (and the creator's later unlink then makes the tracker print a
KeyError). Elsewhere it starts a tracker process just to be told to forget. So ``attach``
never registers at all: the tracker's ``register`` is filtered for the one name while the segment is
opened. The creator stays registered, which is what cleans up after a supervisor that was killed.

Unless the tracker is killed too (``kill -9`` of the whole process group, the OOM killer): then the
segments stay in ``/dev/shm`` until reboot. Every name therefore carries its creator's pid, and
:func:`sweep_stale`, run when a supervisor starts, removes those whose creator is gone.
"""

import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import psutil

_PREFIX = "mocopr_"  # so a leaked segment in /dev/shm says whose it is
#: Where Linux keeps POSIX shared memory, one file per segment.
SHM_DIR = Path("/dev/shm")

_attaching = threading.Lock()  # the filter is process-wide: one attach at a time installs it


def create(size: int) -> SharedMemory:
    """Create a zero-filled segment of ``size`` bytes under a fresh name (``.name``):
    ``mocopr_<creator pid>_<random>``."""
    return SharedMemory(f"{_PREFIX}{os.getpid()}_{secrets.token_hex(8)}", create=True, size=size)


def sweep_stale(directory: Path = SHM_DIR) -> list[str]:
    """Remove the segments whose creating process no longer exists; returns their names.

    A name without a pid (or a pid now used by another process) is left alone: when in
    doubt, a segment is someone's.
    """
    removed = []
    for path in directory.glob(f"{_PREFIX}*"):
        pid, _, token = path.name.removeprefix(_PREFIX).partition("_")
        if not (pid.isdigit() and token) or psutil.pid_exists(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):  # another supervisor swept it first
            path.unlink()
            removed.append(path.name)
    return removed


def attach(name: str) -> SharedMemory:
    """Open the existing segment ``name`` without registering it with this process's resource tracker.

    Closing it (``close()``) is the caller's; unlinking it is the creator's alone.
    """
    if sys.version_info >= (3, 13):
        return SharedMemory(name, track=False)
    with _attaching:
        register = resource_tracker.register
        resource_tracker.register = _skipping(register, "/" + name)  # SharedMemory registers "/name"
        try:
            return SharedMemory(name)
        finally:
            resource_tracker.register = register


def _skipping(register: Callable[[str, str], None], skipped: str) -> Callable[[str, str], None]:
    """``register``, except for the shared-memory segment ``skipped`` (other resources pass through)."""

    def filtered(name: str, rtype: str) -> None:
        if not (rtype == "shared_memory" and name == skipped):
            register(name, rtype)

    return filtered
