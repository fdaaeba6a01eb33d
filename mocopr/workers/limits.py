"""The per-worker limit on requests in flight, kept in the worker's load-table
slot so the acceptor and the supervisor see the same numbers."""

from mocopr.ipc.load_table import Slot
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.server.metrics import Recorder
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import Handler, Responder

_BUSY = messages.encode_error(None, McpError(errors.SERVER_OVERLOADED, "Server busy; retry later"))


class InflightLimiter:
    """Wraps a handler: beyond ``limit`` requests in flight, answer 503 at once."""

    def __init__(
        self, handler: Handler, slot: Slot, recorder: Recorder, limit: int, retry_after: int
    ) -> None:
        self._handler = handler
        self._slot = slot
        self._recorder = recorder
        self._limit = limit
        self._busy_headers = [
            (b"retry-after", str(retry_after).encode()),
            (b"content-type", b"application/json"),
        ]

    async def __call__(self, request: Request, responder: Responder) -> None:
        slot = self._slot
        if slot.inflight >= self._limit:
            slot.rejected_inflight += 1
            self._recorder.reject("inflight")
            await responder.respond(503, self._busy_headers, _BUSY)
            return
        slot.inflight += 1
        slot.total_requests += 1
        try:
            await self._handler(request, responder)
        finally:
            slot.inflight -= 1
