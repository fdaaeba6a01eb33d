"""The stdio transport: newline-delimited JSON-RPC on stdin and stdout.

Each request runs in its own task, so a slow tool never holds up a ``ping``;
``notifications/cancelled`` cancels the task. Writes to stdout are serialized
by a lock, so messages never interleave. On stdin EOF or SIGTERM the server
stops taking requests, gives the ones in flight a short grace period, and exits.
"""

import functools
import logging
import os
import signal
from typing import Any

import trio

from mocopr.app import notifications
from mocopr.app.dispatch import Dispatcher
from mocopr.app.server import McpServer
from mocopr.app.session import Peer
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.transport.lines import Oversized, read_lines

log = logging.getLogger("mocopr.stdio")

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
DEFAULT_SHUTDOWN_GRACE = 5.0


class StdioServer:
    """Serves one client over a pair of byte streams (normally stdin and stdout)."""

    def __init__(
        self,
        app: McpServer,
        receive: trio.abc.ReceiveStream,
        send: trio.abc.SendStream,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE,
    ) -> None:
        self.app = app
        self.dispatcher = Dispatcher(app)
        self._receive = receive
        self._send = send
        self._write_lock = trio.StrictFIFOLock()
        #: The descriptor behind ``send`` when it has one, for writes that need no wait.
        self._fd: int | None = send.fileno() if isinstance(send, trio.lowlevel.FdStream) else None
        self.max_message_size = max_message_size
        self.shutdown_grace = shutdown_grace
        self.peer = Peer(send=self.write)
        self._idle = trio.Event()
        self._running = 0

    async def write(self, data: bytes) -> None:
        """Write one message. When no other write is under way and the pipe has
        room, that is one non-blocking ``write`` with no wait; else the lock
        keeps messages whole and in order."""
        data += b"\n"
        if self._fd is not None and not self._write_lock.locked():
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
            # Nothing awaited since the check, so the lock is still free: take it before the
            # rest goes out, so no other message can slip into the middle of this one.
            self._write_lock.acquire_nowait()
            try:
                await self._send.send_all(data)
            finally:
                self._write_lock.release()
            return
        async with self._write_lock:
            await self._send.send_all(data)

    async def serve(self, *, handle_signals: bool = False) -> None:
        self.app.start_serving()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._forward_changes)
            if handle_signals:
                nursery.start_soon(self._stop_on_signal, nursery.cancel_scope)
            await self._read_messages(nursery)
            await self._drain()
            nursery.cancel_scope.cancel()

    async def _read_messages(self, nursery: trio.Nursery) -> None:
        async for line in read_lines(self._receive, self.max_message_size):
            if isinstance(line, Oversized):
                await self.write(
                    messages.encode_error(
                        None,
                        McpError(
                            errors.INVALID_REQUEST,
                            f"Message exceeds the maximum size of {self.max_message_size} bytes",
                        ),
                    )
                )
                continue
            try:
                message = messages.decode_message(line)
            except McpError as error:
                await self.write(messages.encode_error(None, error))
                continue
            if isinstance(message, list):
                self._start(nursery, self.dispatcher.dispatch_batch, message)
            elif message.is_request and self.dispatcher.targets.may_wait_message(message):
                # A handler that may wait runs in a task of its own, so it holds up nothing.
                self._start(nursery, functools.partial(self.dispatcher.dispatch, may_wait=True), message)
            else:
                answer = await self.dispatcher.dispatch(message, self.peer, may_wait=False)
                if answer is not None:
                    await self.write(answer)

    def _start(self, nursery: trio.Nursery, handler: Any, message: Any) -> None:
        self._running += 1
        nursery.start_soon(self._run, handler, message)

    async def _run(self, handler: Any, message: Any) -> None:
        try:
            answer = await handler(message, self.peer)
            if answer is not None:
                await self.write(answer)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()
                self._idle = trio.Event()

    async def _drain(self) -> None:
        """Let requests in flight finish, for at most the grace period."""
        self.dispatcher.close()
        with trio.move_on_after(self.shutdown_grace):
            while self._running:
                await self._idle.wait()

    async def _forward_changes(self) -> None:
        async with self.app.changes.listen() as changes:
            async for change in changes:
                session = self.peer.session
                data = notifications.for_session(session, change) if session else None
                if data is not None:
                    await self.write(data)

    async def _stop_on_signal(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                log.info("signal received; shutting down")
                await self._drain()
                scope.cancel()
                return


async def serve_stdio(app: McpServer, **options: Any) -> None:
    """Serve ``app`` on this process's stdin and stdout until EOF or SIGTERM.

    The protocol keeps its own copy of stdout; file descriptor 1 is pointed at
    stderr, so a stray ``print`` in a handler cannot corrupt the message stream.
    """
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    receive = trio.lowlevel.FdStream(os.dup(0))
    send = trio.lowlevel.FdStream(protocol_out)
    async with receive, send:
        await StdioServer(app, receive, send, **options).serve(handle_signals=True)
