"""What the server keeps about one client: the legacy session (after
``initialize``) and the requests in flight on a connection."""

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import trio

from mocopr.protocol import messages
from mocopr.protocol.errors import INTERNAL_ERROR, McpError

Send = Callable[[bytes], Awaitable[None]]

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
LOG_RANK = {name: rank for rank, name in enumerate(LOG_LEVELS)}


class _PendingReply:
    """A server-to-client request waiting for the client's response."""

    __slots__ = ("error", "event", "result")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.result: Any = None
        self.error: McpError | None = None


@dataclass(eq=False)
class LegacySession:
    """A legacy-era session: created by ``initialize``, lives until the client
    goes away (stdio) or ends it or it expires (HTTP)."""

    id: str
    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any]
    initialized: bool = False
    #: Minimum level of log notifications; before ``logging/setLevel`` every level is sent.
    log_level: str = "debug"
    subscriptions: set[str] = field(default_factory=set)
    #: Where session-wide notifications (list changes, resource updates) go.
    notify: Send | None = None
    _pending: dict[int, _PendingReply] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    def wants_log(self, level: str) -> bool:
        return LOG_RANK.get(level, 0) >= LOG_RANK.get(self.log_level, 0)

    async def request(self, method: str, params: Any, send: Send) -> Any:
        """Send a request to the client and wait for its answer (sampling, elicitation, roots)."""
        request_id = next(self._ids)
        pending = self._pending[request_id] = _PendingReply()
        try:
            await send(messages.encode_request(request_id, method, params))
            await pending.event.wait()
        finally:
            self._pending.pop(request_id, None)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def deliver(self, message: messages.Envelope) -> bool:
        """Hand a client's response to the request waiting for it; False if none is."""
        pending = self._pending.get(message.id) if isinstance(message.id, int) else None
        if pending is None:
            return False
        if message.error is not messages.UNSET:
            try:
                error = msgspec.json.decode(message.error, type=messages.ErrorObject)
                pending.error = McpError(error.code, error.message, error.data)
            except msgspec.DecodeError:
                pending.error = McpError(INTERNAL_ERROR, "The client sent a malformed error")
        else:
            pending.result = msgspec.json.decode(message.result)
        pending.event.set()
        return True


@dataclass(eq=False)
class Peer:
    """One client as a transport sees it: where its messages go, its legacy
    session once it has one, and its requests in flight (for cancellation)."""

    send: Send
    session: LegacySession | None = None
    inflight: dict[Any, trio.CancelScope] = field(default_factory=dict)

    def cancel(self, request_id: Any) -> None:
        scope = self.inflight.get(request_id)
        if scope is not None:
            scope.cancel()
