"""The per-worker limit on requests in flight, kept in the worker's load-table
slot so the acceptor and the supervisor see the same numbers."""

from mocopr.ipc.load_table import INFLIGHT, REJECTED_INFLIGHT, TOTAL_REQUESTS, Slot
from mocopr.ipc.metrics_table import Recorder
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import Handler, Responder

_BUSY = messages.encode_error(None, McpError(errors.SERVER_OVERLOADED, "Server busy; retry later"))


class InflightLimiter:
    """Wraps a handler: beyond ``limit`` requests in flight, answer 503 at once."""

    def __init__(
        self, handler: Handler, slot: Slot, recorder: Recorder, limit: int, retry_after: int
    ) -> None:
        self._handler = handler
        #: The slot's words, indexed directly: this runs on every request (see ``Slot``).
        self._words = slot.words
        self._recorder = recorder
        self._limit = limit
        self._busy_headers = [
            (b"retry-after", str(retry_after).encode()),
            (b"content-type", b"application/json"),
        ]

    async def __call__(self, request: Request, responder: Responder) -> None:
        words = self._words
        if words[INFLIGHT] >= self._limit:
            words[REJECTED_INFLIGHT] += 1
            self._recorder.reject("inflight")
            await responder.respond(503, self._busy_headers, _BUSY)
            return
        words[INFLIGHT] += 1
        words[TOTAL_REQUESTS] += 1
        try:
            await self._handler(request, responder)
        finally:
            words[INFLIGHT] -= 1
