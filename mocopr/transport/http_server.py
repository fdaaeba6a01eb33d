"""The HTTP/1.1 server loop on trio: one task per connection, requests read
with the sans-I/O parser of :mod:`http1` and answered in order (keep-alive and
pipelining), with deadlines that keep slow clients from holding a connection.

This is the part the multiprocess runtime's workers reuse per adopted socket:
:func:`serve_connection` is all a worker needs; :func:`serve_listeners` serves
a process's own listening sockets.
"""

import contextlib
import functools
import logging
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from mocopr.transport import http1
from mocopr.transport.http1 import HttpError, Request
from mocopr.transport.http_settings import HttpSettings

log = logging.getLogger("mocopr.http")

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
RECEIVE_SIZE = 65536
#: Writes without a wait in between before a forced checkpoint, so one busy pipelining client
#: cannot starve the rest.
FAIRNESS_INTERVAL = 8
Headers = list[tuple[bytes, bytes]]
T = TypeVar("T")


class ClientGone(Exception):
    """The client closed the connection while its request was being answered."""


class Responder:
    """How a handler answers one request: a whole response, or a chunked stream.

    A stream's writes that fail because the client left raise
    :class:`ClientGone`; :meth:`guard` runs a handler so that the client
    leaving also cancels it, which the modern era defines as cancellation.
    """

    #: The connection the answer goes to; a subclass that answers elsewhere (over a ring, for
    #: another worker) has none here.
    _connection: "Connection | None" = None

    def __init__(self, connection: "Connection", keep_alive: bool) -> None:
        self._connection = connection
        self.keep_alive = keep_alive
        self.streaming = False
        self.done = False

    @property
    def peer(self) -> str | None:
        """The address at the other end of the connection (a proxy's, behind one); None if unknown."""
        return None if self._connection is None else self._connection.peer

    async def write(self, data: bytes) -> None:
        """Raw bytes of the response to the client."""
        await self._connection.write(data)

    async def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self.done = True
        await self.write(http1.render_response(status, headers, body, keep_alive=self.keep_alive))

    async def start_stream(self, status: int, headers: Headers) -> None:
        self.streaming = True
        await self.write(http1.render_stream_head(status, headers, keep_alive=self.keep_alive))

    async def send_chunk(self, data: bytes) -> None:
        await self.write(http1.render_chunk(data))

    async def end_stream(self) -> None:
        self.done = True
        await self.write(http1.LAST_CHUNK)

    async def guard(self, handler: Callable[[], Awaitable[T]]) -> T | None:
        """Run ``handler``, cancelled if the client disconnects first (then None)."""
        result: T | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._connection.watch_for_close, nursery.cancel_scope)
            result = await handler()
            nursery.cancel_scope.cancel()
        return result


class Connection:
    """One client connection: its socket, parser, pending pipelined requests, deadlines.

    The socket is used directly rather than through ``trio.SocketStream``, and the
    current deadline (a request's, or keep-alive's while idle) is a number that the
    :class:`ConnectionTracker`'s clock watches: both save work on every request.
    """

    def __init__(
        self,
        sock: trio.socket.SocketType,
        settings: HttpSettings,
        limits: http1.Limits,
        refused: Callable[[int], None] | None = None,
    ) -> None:
        self.sock = sock
        self._refused = refused
        self.fd = sock.fileno()
        #: Answers written since the task last waited for the socket (and so let others run).
        self._writes_unbroken = 0
        self.settings = settings
        self.parser = http1.Http1Connection(limits)
        self.pending: deque[Request] = deque()
        self.closed = False
        #: Between requests, with none of the next one received.
        self.idle = True
        #: Closed by the tracker to admit another connection at the connection limit.
        self.evicted = False
        self.served = 0
        #: Seconds to wait for the next request on a kept-alive connection; shortened by a drain.
        self.idle_timeout = settings.keep_alive_timeout
        #: Cancelled by the tracker's clock once ``deadline`` passes.
        self.timer = trio.CancelScope()
        #: When (``time.monotonic()``, cheaper than trio's clock) the current wait for the client
        #: gives up; infinite while the server has the turn.
        self.deadline = math.inf
        #: When a write stalled on a client that does not read gives up; infinite while none is.
        self.write_deadline = math.inf
        #: Whether bytes may be waiting unread: at the start, and after a read that filled the buffer.
        #: Otherwise (the client is waiting for an answer) reading would only fail, so wait first.
        self._read_first = True
        self._error: HttpError | None = None
        self._request_deadline = 0.0
        self._accepted = time.monotonic()

    @functools.cached_property
    def peer(self) -> str | None:
        """The peer's IP address, asked of the socket only when something needs it (a log line):
        most connections never pay for it. None once the client is gone."""
        try:
            return self.sock.getpeername()[0]
        except OSError:
            return None

    async def write(self, data: bytes) -> None:
        """Send it all; the common case is one non-blocking write with no wait."""
        try:
            try:
                sent = os.write(self.fd, data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                await self._write_rest(memoryview(data)[sent:])
        except OSError:
            self.closed = True
            raise ClientGone from None
        self._writes_unbroken += 1
        if self._writes_unbroken == FAIRNESS_INTERVAL:
            self._writes_unbroken = 0
            await trio.lowlevel.checkpoint()

    async def _write_rest(self, view: memoryview) -> None:
        """The part of a write the socket had no room for, as room is made, within the
        write timeout (the tracker's clock watches ``write_deadline``)."""
        self.write_deadline = time.monotonic() + self.settings.write_timeout
        try:
            while view:
                await trio.lowlevel.wait_writable(self.sock)
                self._writes_unbroken = 0
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(self.fd, view) :]
        finally:
            self.write_deadline = math.inf

    async def _receive(self, deadline: float) -> bytes:
        """The next bytes from the client, waiting for them until ``deadline`` at most.

        The deadline is a plain attribute that the tracker's clock checks, not the
        cancel scope's own deadline: setting and clearing that on every request cost
        more than the rest of the wait.
        """
        self.deadline = deadline
        try:
            if not self._read_first:
                await trio.lowlevel.wait_readable(self.sock)
                self._writes_unbroken = 0
            while True:
                try:
                    data = os.read(self.fd, RECEIVE_SIZE)
                    break
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(self.sock)
                    self._writes_unbroken = 0
        except OSError:
            return b""
        finally:
            self.deadline = math.inf
        self._read_first = len(data) == RECEIVE_SIZE
        return data

    def _feed(self, data: bytes) -> None:
        was_idle = not self.parser.in_request
        try:
            self.pending.extend(self.parser.feed(data))
        except HttpError as error:
            # Requests completed before the bad bytes are answered first, then the error.
            self.pending.extend(error.requests)
            self._error = error
        if was_idle and self.parser.in_request:
            self._request_deadline = time.monotonic() + self.settings.request_timeout

    async def watch_for_close(self, scope: trio.CancelScope) -> None:
        """Read while a handler runs: EOF cancels it; pipelined bytes are kept for later."""
        data = await self._receive(math.inf)
        if data:
            self._feed(data)
            return
        self.closed = True
        scope.cancel()

    async def next_request(self) -> Request | None:
        """The next complete request, or None when the connection should close."""
        while not self.pending:
            if self._error is not None:
                await self._refuse(self._error)
                return None
            if self.closed:
                return None
            if self.parser.take_continue():
                await self.write(CONTINUE)
            if self.parser.in_request:
                deadline = self._request_deadline
            elif self.served:
                deadline = time.monotonic() + self.idle_timeout
            else:  # a new connection has request_timeout from accept to send its request, not more
                deadline = self._accepted + self.settings.request_timeout
            data = await self._receive(deadline)
            if not data:
                return None
            self._feed(data)
        return self.pending.popleft()

    def take_late_bytes(self) -> bool:
        """Whether bytes of a new request arrived just as the connection's idle deadline
        passed (read now, without waiting): then it is answered rather than closed."""
        if self.parser.in_request or self._error is not None or self.closed:
            return False
        try:
            data = os.read(self.fd, RECEIVE_SIZE)
        except OSError:  # BlockingIOError: nothing came; any other: the client is gone
            return False
        if not data:
            return False
        self._feed(data)
        return True

    async def timed_out(self) -> None:
        """The connection's deadline passed: a request in progress gets 408."""
        if self.parser.in_request:
            await self._refuse(HttpError(408, "Request timeout"))

    async def _refuse(self, error: HttpError) -> None:
        if self._refused is not None:
            self._refused(error.status)
        body = error.message.encode() + b"\n"
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        with contextlib.suppress(ClientGone):
            await self.write(http1.render_response(error.status, headers, body, keep_alive=False))


Handler = Callable[[Request, Responder], Awaitable[None]]


class ConnectionTracker:
    """The connections a process serves: it enforces their deadlines, and drains them.

    A drain closes no connection under a client that may be sending on it. A request
    that has arrived, even in part, is read and answered with ``Connection: close``;
    so is one that arrives on a kept-alive connection within ``drain_idle_timeout``
    of its last answer, which is when a client in a request loop sends its next one.
    Only a connection idle for longer is closed, and bytes that arrive just as it is
    are still answered (see :meth:`Connection.take_late_bytes`).

    Deadlines are checked by one clock for all connections, as nginx's timers are,
    every tenth of the shortest timeout (between 10 ms and 0.5 s): a deadline passes
    at most that late, and a request pays two attribute writes for its deadlines.
    """

    def __init__(self, settings: HttpSettings) -> None:
        #: In the order they came (a dict keeps it), so that the oldest is found first.
        self.connections: dict[Connection, None] = {}
        #: Connections with no request in progress, as of the clock's last tick: what
        #: :meth:`evict` could close. The clock counts them as it checks deadlines anyway.
        self.evictable = 0
        self.draining = False
        self._keep_alive_timeout = settings.keep_alive_timeout
        self._drain_idle_timeout = min(settings.drain_idle_timeout, settings.keep_alive_timeout)
        self._empty = trio.Event()
        shorter = min(settings.request_timeout, settings.keep_alive_timeout, settings.write_timeout)
        self.resolution = min(max(shorter / 10, 0.01), 0.5)

    def __len__(self) -> int:
        return len(self.connections)

    def add(self, connection: Connection) -> None:
        self.connections[connection] = None
        if self.draining:
            connection.idle_timeout = self._drain_idle_timeout

    def discard(self, connection: Connection) -> None:
        self.connections.pop(connection, None)
        if not self.connections:
            self._empty.set()
            self._empty = trio.Event()

    def drain(self) -> None:
        """Answer what is on every connection with ``Connection: close``; give kept-alive
        ones that are idle ``drain_idle_timeout`` from their last answer to send another."""
        self.draining = True
        shortening = self._keep_alive_timeout - self._drain_idle_timeout
        for connection in self.connections:
            connection.idle_timeout = self._drain_idle_timeout
            waiting = connection.idle and not connection.parser.in_request
            if waiting and connection.served and connection.deadline != math.inf:
                connection.deadline -= shortening

    def evict(self) -> str | None:
        """Close the connection that costs least to lose, to admit another at the connection
        limit, as nginx reuses kept-alive connections: the oldest that has sent nothing, else
        the longest idle kept-alive one; never one with a request in progress. Returns which
        kind it closed (``unused`` or ``idle``), or None if every connection is busy."""
        oldest_idle: Connection | None = None
        for connection in self.connections:
            if connection.evicted or not connection.idle or connection.parser.in_request:
                continue
            if not connection.served:
                return self._close(connection, "unused")
            if oldest_idle is None or connection.deadline < oldest_idle.deadline:
                oldest_idle = connection
        return None if oldest_idle is None else self._close(oldest_idle, "idle")

    def _close(self, connection: Connection, kind: str) -> str:
        connection.evicted = True
        connection.timer.cancel()
        self.evictable -= 1
        return kind

    async def wait_empty(self) -> None:
        while self.connections:
            await self._empty.wait()

    async def enforce_deadlines(self) -> None:
        """Run for as long as connections are served: cancel each whose deadline has passed."""
        while True:
            await trio.sleep(self.resolution)
            now = time.monotonic()
            evictable = 0
            for connection in self.connections:
                if connection.deadline <= now or connection.write_deadline <= now:
                    connection.timer.cancel()
                elif connection.idle and not connection.evicted and not connection.parser.in_request:
                    evictable += 1
            self.evictable = evictable


async def serve_connection(
    sock: trio.socket.SocketType,
    handler: Handler,
    settings: HttpSettings,
    limits: http1.Limits,
    tracker: ConnectionTracker,
    refused: Callable[[int], None] | None = None,
) -> None:
    """Serve requests on one connection until either side closes it or a deadline passes.
    ``refused`` hears the status of every request the connection layer turns away."""
    connection = Connection(sock, settings, limits, refused)
    tracker.add(connection)
    try:
        while True:
            with connection.timer:
                await _serve_requests(connection, handler, tracker)
                return
            if not (tracker.draining and connection.take_late_bytes()):
                break
            connection.timer = trio.CancelScope()
        with trio.move_on_after(1):
            await connection.timed_out()
    except ClientGone:
        return
    finally:
        tracker.discard(connection)
        sock.close()


async def _serve_requests(connection: Connection, handler: Handler, tracker: ConnectionTracker) -> None:
    """Answer requests in order until one is the last (either side said so) or the client
    leaves. Once the tracker drains, the next answer says ``Connection: close``."""
    while True:
        request = await connection.next_request()
        if request is None:
            return
        connection.idle = False
        responder = Responder(connection, request.keep_alive and not tracker.draining)
        await handler(request, responder)
        if not responder.done or not responder.keep_alive or connection.closed:
            return
        connection.idle = True
        connection.served += 1


async def serve_listeners(
    listeners: list[trio.SocketListener],
    handler: Handler,
    settings: HttpSettings,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve every connection the listeners accept, in one process, until cancelled."""
    tracker = ConnectionTracker(settings)
    limits = limits_of(settings)

    async def serve_stream(stream: trio.SocketStream) -> None:
        await serve_connection(stream.socket, handler, settings, limits, tracker)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tracker.enforce_deadlines)
        await nursery.start(trio.serve_listeners, serve_stream, listeners)
        task_status.started()


def limits_of(settings: HttpSettings) -> http1.Limits:
    return http1.Limits(
        max_body_size=settings.max_body_size,
        max_header_size=settings.max_header_size,
        max_header_count=settings.max_header_count,
    )
