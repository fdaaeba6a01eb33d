"""The feed of changes that clients may have asked to hear about: a list of
tools, prompts or resources changed, or one resource was updated.

Subscribers are plain callbacks, run synchronously by ``publish``, so a legacy
session can log its notifications without a task of its own. ``listen`` wraps
a subscription in a bounded queue for a task to iterate; a listener that does
not keep up loses events rather than growing without bound (list changes are
hints to re-fetch, so a lost one is recovered by the next).
"""

import logging
from collections.abc import AsyncIterator, Callable
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


Subscriber = Callable[[Change], None]


class ChangeFeed:
    """Fans each published change out to every subscriber.

    ``publish`` must be called from the server's trio thread (from a handler, say).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._subscribers: dict[int, Subscriber] = {}
        self._next = 0
        self._capacity = capacity

    def publish(self, change: Change) -> None:
        for subscriber in tuple(self._subscribers.values()):
            subscriber(change)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every change until the returned function is called."""
        key = self._next
        self._next += 1
        self._subscribers[key] = subscriber

        def unsubscribe() -> None:
            self._subscribers.pop(key, None)

        return unsubscribe

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[trio.MemoryReceiveChannel[Change]]:
        send, receive = trio.open_memory_channel[Change](self._capacity)
        dropped = 0

        def offer(change: Change) -> None:
            nonlocal dropped
            try:
                send.send_nowait(change)
            except trio.WouldBlock:
                dropped += 1
                if dropped == 1:
                    log.warning("a change listener is not keeping up; dropping changes")

        unsubscribe = self.subscribe(offer)
        try:
            yield receive
        finally:
            unsubscribe()
