"""File-descriptor chores shared by the control channel and the rings."""

import contextlib
import os
import socket
from collections.abc import Iterable

import trio


def close_fds(fds: Iterable[int]) -> None:
    """Close every descriptor in ``fds``, going on past ones that are already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def forget(fd: int | socket.socket) -> None:
    """Tell trio that ``fd`` is about to be closed, if trio is running in this thread.

    A task blocked in ``wait_readable``/``wait_writable`` on it then gets ``trio.ClosedResourceError``
    instead of waiting forever on a number the kernel may soon give to another file. Outside trio
    (a synchronous shutdown path) no task can be waiting, so there is nothing to tell.
    """
    with contextlib.suppress(RuntimeError):  # "must be called from async context"
        trio.lowlevel.notify_closing(fd)
