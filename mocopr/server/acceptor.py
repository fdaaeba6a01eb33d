"""The acceptor process: accept connections, pick the least-loaded live worker,
hand the socket over (SCM_RIGHTS on that worker's socketpair), close its copy.

It holds no connection longer than the hand-over, so it can die and come back
without losing one: the listening sockets belong to the supervisor, and a
connection not yet accepted waits in the kernel's backlog. At the global
connection limit it stops accepting (or, if so configured, answers 503).
"""

import contextlib
import logging
import socket
import time
from dataclasses import dataclass

import trio

from mocopr.config import Config
from mocopr.ipc import signals
from mocopr.ipc.control import ControlChannel
from mocopr.ipc.load_table import READY, LoadTable
from mocopr.ipc.signals import cancel_on_signal
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.transport import http1

log = logging.getLogger("mocopr.acceptor")

#: How often to look again at the load table while at the connection limit.
LIMIT_POLL = 0.005
#: Seconds to write a 503 to a connection that no worker will take.
REFUSE_TIMEOUT = 1.0
_FULL = messages.encode_error(None, McpError(errors.SERVER_OVERLOADED, "Too many connections; retry later"))


@dataclass(eq=False)
class WorkerLink:
    """The acceptor's end of one worker's socketpair, and what it sent down it."""

    slot: int
    generation: int
    channel: ControlChannel
    #: Connections sent since this acceptor learnt of the worker, and the worker's
    #: adoption count then: their difference with its count now is what is in transit.
    sent: int = 0
    adopted_at_start: int = 0
    dead: bool = False
    #: Evictions asked of the worker since its heartbeat last reported what it could evict.
    evictions_asked: int = 0
    evictions_heartbeat: int = 0

    def eviction_budget(self, evictable: int, heartbeat_ns: int) -> int:
        """What the worker could still evict, as far as the acceptor can tell between reports."""
        if heartbeat_ns != self.evictions_heartbeat:
            self.evictions_heartbeat, self.evictions_asked = heartbeat_ns, 0
        return evictable - self.evictions_asked


class Acceptor:
    def __init__(self, config: Config, listen_fds: list[int], supervisor_fd: int, table: LoadTable) -> None:
        self.config = config
        self.table = table
        #: The listening sockets, as the standard library's (non-blocking once trio has them) and trio's.
        self.listen_sockets = [socket.socket(fileno=fd) for fd in listen_fds]
        self.listeners = [trio.socket.from_stdlib_socket(sock) for sock in self.listen_sockets]
        #: Told to stop for good (SIGTERM, not a reload): close the listening sockets once the
        #: backlog is handed over, so that later clients are refused before they send anything.
        self.final = False
        self.supervisor = ControlChannel(socket.socket(fileno=supervisor_fd))
        self.workers: dict[int, WorkerLink] = {}
        self.stale_ns = int(config.server.heartbeat_timeout * 1e9)
        self._retry_after = str(config.http.retry_after).encode()
        #: Told to stop: take no new connection, but finish handing over the ones taken.
        self.stopping = False

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            for listener in self.listeners:
                nursery.start_soon(self._accept_forever, listener)
            nursery.start_soon(cancel_on_signal, nursery.cancel_scope)
            await self._obey_supervisor()
            nursery.cancel_scope.cancel()
        if self.final:
            await self._close_listeners()
        self.supervisor.close()
        for link in self.workers.values():
            link.channel.close()

    async def _obey_supervisor(self) -> None:
        """Learn workers as they come and go; return when told to stop (or orphaned)."""
        while True:
            try:
                message, fds = await self.supervisor.receive()
            except EOFError:
                return
            op = message.get("op")
            if op == "worker" and fds:
                self._learn(message["slot"], message["generation"], fds[0])
            elif op == "forget":
                self._forget(message["slot"])
            elif op == "stop":
                self.stopping = True
                self.final = bool(message.get("final"))
                return

    async def _close_listeners(self) -> None:
        """Hand over every connection the kernel has completed, then close the listening
        sockets: a connection still in the backlog when the last copy closes would be reset
        after its client may have sent a request; one made after is refused."""
        for listener in self.listen_sockets:
            while True:
                try:
                    sock, _ = listener.accept()  # non-blocking: only what is queued
                except OSError:
                    break
                deadline = trio.current_time() + self.config.server.worker_boot_timeout
                with trio.socket.from_stdlib_socket(sock) as connection:
                    link, _ = self.scan()
                    await self._hand_over(connection, deadline, link)
            listener.close()

    def _learn(self, slot: int, generation: int, fd: int) -> None:
        self._forget(slot)
        record = self.table.slot(slot)
        adopted = record.total_connections if record.generation == generation else 0
        channel = ControlChannel(socket.socket(fileno=fd))
        self.workers[slot] = WorkerLink(slot, generation, channel, adopted_at_start=adopted)

    def _forget(self, slot: int) -> None:
        link = self.workers.pop(slot, None)
        if link is not None:
            link.channel.close()

    def scan(self) -> tuple[WorkerLink | None, int]:
        """One pass over the workers: the one to give the next connection to, if any (the
        live, ready worker with the fewest connections, ties to the fewest handed over,
        below the per-worker limit), and the connections open on all of them, counting
        those handed over but not yet adopted."""
        now = time.monotonic_ns()
        per_worker = self.config.server.max_connections_per_worker
        best: WorkerLink | None = None
        best_load = (0, 0)
        total = 0
        for link in self.workers.values():
            record = self.table.slot(link.slot)
            current = record.generation == link.generation
            adopted = record.total_connections - link.adopted_at_start if current else 0
            connections = record.live_connections + max(0, link.sent - adopted)
            total += connections
            if link.dead or not current or record.state != READY:
                continue
            if now - record.heartbeat_ns > self.stale_ns or connections >= per_worker:
                continue
            load = (connections, link.sent)
            if best is None or load < best_load:
                best, best_load = link, load
        return best, total

    async def _accept_forever(self, listener: trio.socket.SocketType) -> None:
        limit = self.config.server.max_connections
        reject = self.config.server.accept_overflow == "reject"
        while True:
            # With no worker ready (starting, or all replaced at once) connections wait in the
            # backlog; so they do at the limit, unless a worker can close an idle one for them.
            link, evict, full = self.admit(limit)
            while link is None and not (full and reject):
                await trio.sleep(LIMIT_POLL)
                link, evict, full = self.admit(limit)
            sock, _ = await listener.accept()
            # A connection once accepted is this process's to deliver: stopping (a reload
            # replaces the acceptor under load) must not cancel its hand-over halfway.
            deadline = trio.current_time() + self.config.server.worker_boot_timeout
            with sock, trio.CancelScope(shield=True, deadline=deadline):
                link, evict, full = self.admit(limit)
                if link is None and full and reject:
                    await self._refuse(sock)
                else:
                    await self._hand_over(sock, deadline, link, evict)

    def admit(self, limit: int) -> tuple[WorkerLink | None, bool, bool]:
        """Where the next connection goes; whether that worker must first close one that costs
        least to lose (at the global or its own connection limit: the worker with the most such
        connections); and whether the limit is reached with every connection busy (then no
        worker is named, as when none is ready)."""
        link, live = self.scan()
        if link is not None and live < limit:
            return link, False, False
        best, budget = None, 0
        for candidate in self.workers.values():
            record = self.table.slot(candidate.slot)
            if candidate.dead or record.generation != candidate.generation or record.state != READY:
                continue
            spare = candidate.eviction_budget(record.evictable, record.heartbeat_ns)
            if spare > budget:
                best, budget = candidate, spare
        if best is None:
            ready = any(self.table.slot(c.slot).state == READY for c in self.workers.values())
            return None, False, ready
        best.evictions_asked += 1
        return best, True, True

    async def _hand_over(
        self, sock: trio.socket.SocketType, deadline: float, link: WorkerLink | None, evict: bool = False
    ) -> None:
        """Give the connection to ``link`` (as :meth:`scan` chose it); if that one turns out
        dead, or there was none, to another, waiting (until ``deadline``: as long as a worker
        takes to boot) for one if none is left, unless this acceptor is stopping."""
        while True:
            if link is None:
                if self.stopping or trio.current_time() > deadline - REFUSE_TIMEOUT:
                    await self._refuse(sock)
                    return
                await trio.sleep(LIMIT_POLL)
                link, _ = self.scan()
                continue
            try:
                await link.channel.send({"op": "conn", "evict": evict}, [sock.fileno()])
            except OSError:
                link.dead = True
                link, _ = self.scan()
                continue
            link.sent += 1
            return

    async def _refuse(self, sock: trio.socket.SocketType) -> None:
        """Answer 503 and close: over the limit in reject mode, or with no live worker."""
        headers = [(b"retry-after", self._retry_after), (b"content-type", b"application/json")]
        response = http1.render_response(503, headers, _FULL, keep_alive=False)
        with trio.move_on_after(REFUSE_TIMEOUT), contextlib.suppress(OSError):
            await sock.send(response)


def run_acceptor(
    config: Config, listen_fds: list[int], supervisor_fd: int, table_name: str, slots: int
) -> None:
    """The acceptor process's main."""
    signals.leave_commands_to_supervisor()
    table = LoadTable.attach(table_name, slots)
    try:
        trio.run(Acceptor(config, listen_fds, supervisor_fd, table).run)
    finally:
        table.close()
