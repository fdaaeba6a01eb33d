"""A worker process: one trio loop, pinned to one CPU, serving the connections
the acceptor hands it over its socketpair, until the supervisor tells it to drain.

The data path of a request never leaves this process: adopt the socket, parse
HTTP, dispatch, answer. The worker keeps its own load-table slot current
(heartbeat, connections, requests in flight) for the acceptor and supervisor.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass

import trio

from mocopr.config import Config
from mocopr.ipc import signals
from mocopr.ipc.control import ControlChannel
from mocopr.ipc.load_table import DRAINING, EMPTY, READY, SERVING, LoadTable, Slot
from mocopr.ipc.metrics_table import STATUS_REASONS, MetricsTable
from mocopr.ipc.ring import Ring
from mocopr.ipc.signals import cancel_on_signal
from mocopr.loader import load_app
from mocopr.transport.http_server import ConnectionTracker, limits_of, serve_connection
from mocopr.transport.streamable_http import StreamableHttpEndpoint
from mocopr.workers.forwarding import Router
from mocopr.workers.limits import InflightLimiter

log = logging.getLogger("mocopr.worker")


@dataclass(frozen=True)
class WorkerSpec:
    """What the supervisor tells a worker when it starts it."""

    slot: int
    generation: int
    cpu: int | None
    acceptor_fd: int
    supervisor_fd: int
    table_name: str
    table_slots: int
    metrics_name: str
    #: (source slot, target slot, name, data eventfd, space eventfd) of each ring to or from this worker.
    rings: list[tuple[int, int, str, int, int]]


class Worker:
    def __init__(self, spec: WorkerSpec, config: Config) -> None:
        self.spec = spec
        self.config = config
        self.table = LoadTable.attach(spec.table_name, spec.table_slots)
        self.slot: Slot = self.table.slot(spec.slot)
        self.metrics = MetricsTable.attach(spec.metrics_name, spec.table_slots)
        self.recorder = self.metrics.recorder(spec.slot)
        app = load_app(config.app)
        if config.server.state_key:
            app.use_state_key(bytes.fromhex(config.server.state_key))
        self.settings = config.http_settings()
        self.tracker = ConnectionTracker(self.settings)
        self.endpoint = StreamableHttpEndpoint(app, self.settings)
        self.endpoint.dispatcher.observer = self.recorder.observe
        self.endpoint.on_reject = self.recorder.reject
        self.handler = InflightLimiter(
            self.endpoint.handle,
            self.slot,
            self.recorder,
            config.server.max_inflight_per_worker,
            self.settings.retry_after,
        )
        self.limits = limits_of(self.settings)
        rings = {
            (source, target): Ring.attach(name, data_fd, space_fd)
            for source, target, name, data_fd, space_fd in spec.rings
        }
        self.rings = list(rings.values())
        self.router = Router(
            spec.slot,
            spec.generation,
            outbound={target: ring for (source, target), ring in rings.items() if source == spec.slot},
            inbound={source: ring for (source, target), ring in rings.items() if target == spec.slot},
            handle=self.handler,
            changes=app.changes,
            alive=self._alive,
            present=lambda slot: self.table.slot(slot).state != EMPTY,
            generation_of=lambda slot: self.table.slot(slot).generation,
            touch=self.endpoint.sessions.touch,
            take_in=self.endpoint.sessions.take_in,
            own_sessions=self.endpoint.sessions.states,
            idle_timeout=self.settings.session_idle_timeout,
        )
        self.endpoint.router = self.router
        self.endpoint.sessions.on_open = self.router.session_opened
        self.endpoint.sessions.on_close = self.router.session_closed
        self.endpoint.dispatcher.lifecycle.session_prefix = self.router.session_prefix

    async def run(self) -> None:
        slot, spec = self.slot, self.spec
        slot.pid = os.getpid()  # the supervisor set the generation before it started this process
        slot.cpu = -1 if spec.cpu is None else spec.cpu
        slot.started_ns = time.monotonic_ns()
        slot.heartbeat_ns = time.monotonic_ns()
        self.endpoint.app.start_serving()
        acceptor = ControlChannel(socket.socket(fileno=spec.acceptor_fd))
        supervisor = ControlChannel(socket.socket(fileno=spec.supervisor_fd))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._heartbeat)
            nursery.start_soon(self.tracker.enforce_deadlines)
            nursery.start_soon(self.router.run)
            nursery.start_soon(self.endpoint.sessions.reap_forever)
            handed_over = trio.Event()
            await self.router.sync()
            nursery.start_soon(self._adopt_connections, acceptor, nursery, handed_over)
            slot.state = READY
            log.info("worker %d (pid %d) ready on cpu %s", spec.slot, os.getpid(), spec.cpu)
            successor = await self._wait_for_drain(supervisor)
            slot.state = DRAINING
            if successor is not None:
                await self.router.carry_over(self.endpoint.sessions.carry_over(), successor)
            await self._drain(handed_over)
            nursery.cancel_scope.cancel()
        acceptor.close()
        supervisor.close()
        for ring in self.rings:
            ring.close()
        self.table.close()
        self.metrics.close()

    async def _adopt_connections(
        self, channel: ControlChannel, nursery: trio.Nursery, handed_over: trio.Event
    ) -> None:
        """Serve every connection the acceptor sends, until it closes its end (it has
        forgotten this worker): a connection already on its way is never dropped."""
        try:
            while True:
                try:
                    message, fds = await channel.receive()
                except EOFError:
                    return
                if message.get("evict"):
                    evicted = self.tracker.evict()
                    if evicted is not None:
                        self.recorder.reject(f"evicted_{evicted}")
                for fd in fds:
                    nursery.start_soon(self._serve, adopt(fd))
        finally:
            handed_over.set()

    async def _serve(self, sock: trio.socket.SocketType) -> None:
        slot = self.slot
        slot.live_connections += 1
        slot.total_connections += 1
        try:
            await serve_connection(
                sock, self.handler, self.settings, self.limits, self.tracker, self._refused
            )
        finally:
            slot.live_connections -= 1

    def _refused(self, status: int) -> None:
        self.recorder.reject(STATUS_REASONS.get(status, "bad_request"))

    def _alive(self, slot: int) -> bool:
        """Whether a worker is serving in ``slot`` (sessions of a dead one are gone)."""
        return self.table.slot(slot).state in SERVING

    async def _heartbeat(self) -> None:
        interval = self.config.server.heartbeat_interval
        while True:
            self.slot.evictable = self.tracker.evictable
            self.slot.heartbeat_ns = time.monotonic_ns()
            await trio.sleep(interval)

    async def _wait_for_drain(self, supervisor: ControlChannel) -> int | None:
        """Until the supervisor says drain or stop, goes away, or SIGTERM arrives; the slot
        of the worker that replaces this one (a reload), which takes its sessions over."""
        successor = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancel_on_signal, nursery.cancel_scope)
            while True:
                try:
                    message, _ = await supervisor.receive()
                except EOFError:
                    log.warning("worker %d: supervisor went away; draining", self.spec.slot)
                    break
                if message.get("op") in ("drain", "stop"):
                    successor = message.get("successor")
                    break
            nursery.cancel_scope.cancel()
        return successor

    async def _drain(self, handed_over: trio.Event) -> None:
        """Finish what is in flight within the grace period: the connections the acceptor
        had already sent (it stops once it sees this worker draining), then the open ones."""
        self.tracker.drain()
        self.endpoint.dispatcher.close()
        with trio.move_on_after(self.config.server.graceful_timeout) as grace:
            await handed_over.wait()
            await self.tracker.wait_empty()
        if grace.cancelled_caught:
            log.warning(
                "worker %d: %d connections still open after the grace period",
                self.spec.slot,
                len(self.tracker),
            )
        self.endpoint.sessions.close_all()


def adopt(fd: int) -> trio.socket.SocketType:
    """A connection the acceptor handed over, as a trio socket, with Nagle's algorithm off.

    ``trio.SocketStream`` turns it off for the connections it wraps; a handed-over socket is
    used raw, so it is done here. With it on, the second small write of a streamed answer
    (an SSE event after the head) could wait for the client's delayed ACK, tens of milliseconds.
    """
    sock = socket.socket(fileno=fd)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return trio.socket.from_stdlib_socket(sock)


def run_worker(spec: WorkerSpec, config: Config) -> None:
    """The worker process's main: pin, ignore the signals the supervisor handles, serve."""
    if spec.cpu is not None and config.server.pin_workers:
        os.sched_setaffinity(0, {spec.cpu})
    signals.leave_commands_to_supervisor()
    trio.run(Worker(spec, config).run)
