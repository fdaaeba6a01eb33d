"""The feed of changes that clients may have asked to hear about: a list of
tools, prompts or resources changed, or one resource was updated.

Every listener (a legacy session, a modern ``subscriptions/listen`` stream) has
its own bounded queue. A listener that does not keep up loses events rather
than growing without bound; list changes are hints to re-fetch, so a lost one
is recovered by the next.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

import trio

log = logging.getLogger("mocopr.changes")

TOOLS = "tools"
PROMPTS = "prompts"
RESOURCES = "resources"
UPDATED = "updated"


class Change(NamedTuple):
    kind: str
    uri: str | None = None


class Listener:
    def __init__(self, capacity: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Change](capacity)
        self.dropped = 0

    def offer(self, change: Change) -> None:
        try:
            self._send.send_nowait(change)
        except trio.WouldBlock:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("a change listener is not keeping up; dropping changes")


class ChangeFeed:
    """Fans each published change out to every listener.

    ``publish`` must be called from the server's trio thread (from a handler, say).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._listeners: set[Listener] = set()
        self._capacity = capacity

    def publish(self, change: Change) -> None:
        for listener in tuple(self._listeners):
            listener.offer(change)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[trio.MemoryReceiveChannel[Change]]:
        listener = Listener(self._capacity)
        self._listeners.add(listener)
        try:
            yield listener.receive
        finally:
            self._listeners.discard(listener)
