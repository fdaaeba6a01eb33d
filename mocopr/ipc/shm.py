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
"""

import secrets
import sys
import threading
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

_PREFIX = "mocopr_"  # so a leaked segment in /dev/shm says whose it is

_attaching = threading.Lock()  # the filter is process-wide: one attach at a time installs it


def create(size: int) -> SharedMemory:
    """Create a zero-filled segment of ``size`` bytes under a fresh random name (``.name``)."""
    return SharedMemory(f"{_PREFIX}{secrets.token_hex(8)}", create=True, size=size)


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
