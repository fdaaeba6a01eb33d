"""One keep-alive HTTP/1.1 client connection, one request at a time, on asyncio's protocol layer.

Why not aiohttp or httpx: a load generator must be faster than what it measures. Measured on this
project's 2-core machine against nginx returning a fixed answer, 32 connections in one process
made about 4,500 requests/s with aiohttp (on uvloop) and about 43,000 with this: a ``Protocol``
feeding httptools' C parser (llhttp, already mocopr's server-side parser), writing prebuilt bytes.
The client needs little of HTTP: POST, keep-alive, Content-Length or chunked answers, three headers.
"""

import asyncio
from dataclasses import dataclass
from typing import cast

import httptools

from mocopr.loadtest.wire import Target


class TransportError(Exception):
    """A request that got no HTTP answer; ``kind`` is how it failed, for the error counts."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(slots=True)
class Response:
    status: int
    content_type: bytes
    body: bytes
    session_id: str | None
    keep_alive: bool


class HttpConnection(asyncio.Protocol):
    """A connection and its response parser; ``request`` sends bytes and returns the answer's future.

    ``sent_at`` and ``expire`` let one watchdog per process enforce the request timeout, instead
    of a timer allocated and cancelled around every request.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        #: When the request in flight was written (``time.monotonic()``); 0 when none is.
        self.sent_at = 0.0
        #: Whether any byte of the current answer arrived: a reused connection that the server
        #: closed before answering may be retried, one that broke mid-answer may not.
        self.answering = False
        self.closed = False
        self._chunks: list[bytes] = []
        self._content_type = b""
        self._session_id: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.answering = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError("malformed", f"not HTTP/1.1: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if isinstance(exc, ConnectionResetError):
            self._fail(TransportError("reset", "the server reset the connection"))
        else:
            self._fail(TransportError("closed", "the server closed the connection"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._chunks.clear()
        self._content_type = b""
        self._session_id = None

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        if key == b"content-type":
            self._content_type = value
        elif key == b"mcp-session-id":
            self._session_id = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self._fail(TransportError("malformed", "an answer to no request"))
            return
        self.waiter = None
        self.sent_at = 0.0
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        waiter.set_result(
            Response(
                self.parser.get_status_code(),
                self._content_type,
                body,
                self._session_id,
                self.parser.should_keep_alive(),
            )
        )

    # used by the client

    def request(self, data: bytes, now: float) -> "asyncio.Future[Response]":
        assert self.transport is not None and self.waiter is None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.sent_at = now
        self.answering = False
        self.transport.write(data)
        return waiter

    def expire(self, timeout: float) -> None:
        """The request in flight took too long: fail it and drop the connection, whose next
        bytes would belong to the abandoned answer."""
        self._fail(TransportError("timeout", f"no answer within {timeout:g} s"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True

    def _fail(self, error: TransportError) -> None:
        waiter, self.waiter = self.waiter, None
        self.sent_at = 0.0
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if not self.closed and self.transport is not None:
            self.transport.abort()
        self.closed = True


async def open_connection(target: Target, timeout: float) -> HttpConnection:
    """A new connection, or a ``TransportError`` saying why not (``refused`` is told apart: it is
    how a stopped server looks)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(HttpConnection, target.host, target.port)
    except ConnectionRefusedError:
        raise TransportError("refused", "connection refused") from None
    except TimeoutError:
        raise TransportError("timeout", f"no connection within {timeout:g} s") from None
    except OSError as exc:
        raise TransportError("connect", exc.strerror or str(exc)) from None
    return connection


async def answer(connection: HttpConnection, data: bytes, timeout: float) -> Response:
    """One request with its own deadline, outside the load (handshakes, probes); a timed-out
    connection is dropped, as in the load."""
    try:
        async with asyncio.timeout(timeout):
            return await connection.request(data, 0.0)  # no send time: the watchdog leaves it be
    except TimeoutError:
        connection.expire(timeout)
        raise TransportError("timeout", f"no answer within {timeout:g} s") from None


async def exchange_once(target: Target, data: bytes, timeout: float) -> Response:
    """One request on a connection of its own, closed after."""
    connection = await open_connection(target, timeout)
    try:
        return await answer(connection, data, timeout)
    finally:
        connection.close()
