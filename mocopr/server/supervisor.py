"""The supervisor: owns the listening sockets, the load table and the
configuration; spawns the acceptor and the pinned workers; watches their
exits and heartbeats; replaces what dies or hangs; drains on SIGTERM and
replaces workers one by one on SIGHUP.

Shaped after gunicorn's Arbiter: signal handlers only enqueue, one table of
workers, short verbs (``spawn_worker``, ``reap``, ``murder_stuck_workers``),
every policy number a named setting. As in granian, a replacement worker is
ready before the one it replaces starts to drain, and a crash loop stops the
server with a clear message instead of spinning.
"""

import collections
import contextlib
import itertools
import json
import logging
import math
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from mocopr.config import Bind, Config, ConfigError, load_config, parse_bind
from mocopr.ipc import control, shm, signals
from mocopr.ipc.control import ControlChannel
from mocopr.ipc.load_table import EMPTY, READY, STARTING, LoadTable
from mocopr.ipc.metrics_table import MetricsTable
from mocopr.ipc.ring import Ring
from mocopr.server import systemd
from mocopr.server.admin import AdminListener, worker_report
from mocopr.server.metrics import RuntimeCollector

log = logging.getLogger("mocopr.supervisor")

#: How often the supervisor looks at heartbeats and boot progress.
TICK = 0.25
#: Seconds allowed, past the graceful timeout, for children to exit before they are killed.
KILL_MARGIN = 5.0
#: Seconds the acceptor has, on SIGTERM, to hand over its backlog and close the listening
#: sockets before the workers are told to drain anyway.
ACCEPTOR_STOP_TIMEOUT = 5.0


class CrashLoop(Exception):
    """Children keep dying: the server stops rather than spin."""


@dataclass(eq=False)
class Child:
    """One child process, as the supervisor's table of workers knows it."""

    role: str
    process: trio.Process
    channel: ControlChannel
    slot: int = -1
    generation: int = 0
    cpu: int | None = None
    #: The acceptor's end of a worker's socketpair, kept to hand to a restarted acceptor.
    acceptor_end: socket.socket | None = None
    started: float = field(default_factory=time.monotonic)
    expected_exit: bool = False

    @property
    def name(self) -> str:
        return "acceptor" if self.role == "acceptor" else f"worker {self.slot}"


class Supervisor:
    def __init__(
        self, config: Config, config_path: str | None = None, flags: dict[str, Any] | None = None
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.flags = dict(flags or {})
        self.workers: dict[int, Child] = {}
        self.acceptor: Child | None = None
        self.listeners: list[socket.socket] = []
        self.restarts: collections.deque[float] = collections.deque()
        self._generations = itertools.count(1)
        self._events_in, self._events = trio.open_memory_channel[tuple[str, Any]](1024)
        self._rundir = tempfile.mkdtemp(prefix="mocopr-")
        self._config_file = os.path.join(self._rundir, "effective.toml")
        self._cpus = sorted(os.sched_getaffinity(0))
        self.stopping = False
        self.exit_code = 0
        self.state = "starting"
        #: Replacements per slot, for /health; their sum is the restarts metric.
        self.replacements: collections.Counter[int] = collections.Counter()

    # -- the run ---------------------------------------------------------------------------

    async def run(self, on_ready: Callable[[list[str], str | None], None] | None = None) -> int:
        """Serve until SIGTERM (exit code 0) or a crash loop (1); ``on_ready`` hears the
        MCP URLs and the admin listener's URL."""
        self.listeners = self._open_listeners()
        self.config = self._settle_config(self.config)
        stale = shm.sweep_stale()
        if stale:
            log.info("removed %d shared-memory segments left by processes that are gone", len(stale))
        self.table = LoadTable.create(2 * self.config.server.workers)
        self.metrics = MetricsTable.create(self.table.slots)
        self.rings = {
            (source, target): Ring.create(self.config.server.ring_capacity)
            for source in range(self.table.slots)
            for target in range(self.table.slots)
            if source != target
        }
        self._write_config()
        self._write_pid_file()
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._enqueue_signals)
                # Health answers "starting" before any worker can answer an MCP request.
                admin_url = await self._start_admin(nursery)
                await self.spawn_acceptor()
                for _ in range(self.config.server.workers):
                    worker = await self.spawn_worker()
                    await self._wait_ready(worker)
                urls = self.urls()
                for url in urls:
                    log.info("serving %s at %s", self.config.app, url)
                self.state = "running"
                if on_ready is not None:
                    on_ready(urls, admin_url)
                systemd.ready(f"serving {self.config.app} with {len(self.workers)} workers")
                nursery.start_soon(self._tick)
                await self._handle_events()
                nursery.cancel_scope.cancel()
        except* CrashLoop as group:
            log.critical("%s", group.exceptions[0])
            self.exit_code = 1
        finally:
            self._cleanup()
        return self.exit_code

    async def _start_admin(self, nursery: trio.Nursery) -> str | None:
        if not self.config.server.admin:
            return None
        bind = parse_bind(self.config.server.admin)
        collector = RuntimeCollector(self.metrics, self.table, lambda: sum(self.replacements.values()))
        admin = AdminListener(self.health, collector)
        port = await nursery.start(admin.serve, bind.host, bind.port)
        url = f"http://{Bind(bind.host, port)}"
        log.info("admin listener at %s (/health, /metrics)", url)
        return url

    def health(self) -> dict[str, Any]:
        now = time.monotonic_ns()
        slots = self.table.snapshot()
        workers = [
            worker_report(slots[child.slot], self.replacements[child.slot], now)
            for child in sorted(self.workers.values(), key=lambda c: c.slot)
        ]
        acceptor = self.acceptor
        return {
            "state": self.state,
            "pid": os.getpid(),
            "app": self.config.app,
            "workers": workers,
            "acceptor": {
                "pid": acceptor.process.pid if acceptor else None,
                "alive": bool(acceptor and acceptor.process.returncode is None),
            },
            "restarts": sum(self.replacements.values()),
        }

    def urls(self) -> list[str]:
        return [f"http://{Bind.of_socket(sock)}{self.config.http.endpoint}" for sock in self.listeners]

    def _open_listeners(self) -> list[socket.socket]:
        """Socket activation's sockets, or sockets bound as configured (``fd://N``: inherited)."""
        inherited = systemd.listen_fds()
        if inherited:
            log.info("using %d sockets from socket activation", len(inherited))
            return inherited
        listeners = []
        for bind in self.config.server.binds:
            if bind.fd is not None:
                listeners.append(socket.socket(fileno=bind.fd))
                continue
            family = socket.AF_INET6 if ":" in bind.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((bind.host, bind.port))
            sock.listen(self.config.server.backlog)
            listeners.append(sock)
        return listeners

    def _settle_config(self, config: Config) -> Config:
        """What children must share: the actual addresses (not fds only we hold) and one state key."""
        addresses = tuple(str(Bind.of_socket(sock)) for sock in self.listeners)
        state_key = config.server.state_key or self.config.server.state_key or secrets.token_hex(32)
        return config.with_server(bind=addresses, state_key=state_key)

    def _write_config(self) -> None:
        """The effective configuration, for children to load: what was validated is what they run."""
        temporary = self._config_file + ".new"
        with open(temporary, "w") as file:
            file.write(self.config.to_toml())
        os.replace(temporary, self._config_file)

    def _write_pid_file(self) -> None:
        if self.config.server.pid_file:
            with open(self.config.server.pid_file, "w") as file:
                file.write(f"{os.getpid()}\n")

    def _cleanup(self) -> None:
        for child in self._children():
            if child.process.returncode is None:
                child.process.kill()
        for sock in self.listeners:
            sock.close()
        for ring in self.rings.values():
            ring.close()
            ring.unlink()
        for segment in (self.table, self.metrics):
            segment.close()
            segment.unlink()
        shutil.rmtree(self._rundir, ignore_errors=True)
        if self.config.server.pid_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.config.server.pid_file)

    def _children(self) -> list[Child]:
        return [*self.workers.values(), *([self.acceptor] if self.acceptor else [])]

    # -- spawning ------------------------------------------------------------------------

    async def _start(self, spec: dict[str, Any], pass_fds: list[int]) -> trio.Process:
        spec = {
            **spec, "config": self._config_file, "table": self.table.name, "metrics": self.metrics.name,
            "slots": self.table.slots,
        }  # fmt: skip
        command = [sys.executable, "-m", "mocopr.server.child", json.dumps(spec)]
        return await trio.lowlevel.open_process(command, pass_fds=pass_fds)

    async def spawn_worker(self, slot: int | None = None) -> Child:
        if slot is None:
            slot = next(i for i in range(self.table.slots) if i not in self.workers)
        generation = next(self._generations)
        cpu = (
            self._cpus[slot % self.config.server.workers % len(self._cpus)]
            if self.config.server.pin_workers
            else None
        )
        record = self.table.slot(slot)
        record.state = STARTING
        record.generation = generation
        record.live_connections = record.inflight = record.total_connections = record.total_requests = 0
        mine, theirs = control.socketpair()
        acceptor_end, worker_end = control.socketpair()
        mine_rings = [(pair, ring) for pair, ring in self.rings.items() if slot in pair]
        rings = [[*pair, ring.name, ring.data_fd, ring.space_fd] for pair, ring in mine_rings]
        spec = {
            "role": "worker", "slot": slot, "generation": generation, "cpu": cpu,
            "acceptor_fd": worker_end.fileno(), "supervisor_fd": theirs.fileno(), "rings": rings,
        }  # fmt: skip
        ring_fds = [fd for _, ring in mine_rings for fd in (ring.data_fd, ring.space_fd)]
        process = await self._start(spec, [worker_end.fileno(), theirs.fileno(), *ring_fds])
        worker_end.close()
        theirs.close()
        child = Child("worker", process, ControlChannel(mine), slot, generation, cpu, acceptor_end)
        self.workers[slot] = child
        self.nursery.start_soon(self._watch, child)
        log.info("worker %d spawned: pid %d, cpu %s, generation %d", slot, process.pid, cpu, generation)
        await self._introduce(child)
        return child

    async def _introduce(self, worker: Child) -> None:
        """Give the acceptor its end of a worker's socketpair."""
        if self.acceptor is None or worker.acceptor_end is None:
            return
        message = {"op": "worker", "slot": worker.slot, "generation": worker.generation}
        try:
            await self.acceptor.channel.send(message, [worker.acceptor_end.fileno()])
        except OSError:
            log.warning("could not reach the acceptor to introduce worker %d", worker.slot)

    async def spawn_acceptor(self) -> Child:
        mine, theirs = control.socketpair()
        listen_fds = [sock.fileno() for sock in self.listeners]
        spec = {"role": "acceptor", "listen_fds": listen_fds, "supervisor_fd": theirs.fileno()}
        process = await self._start(spec, [*listen_fds, theirs.fileno()])
        theirs.close()
        child = Child("acceptor", process, ControlChannel(mine))
        self.acceptor = child
        self.nursery.start_soon(self._watch, child)
        log.info("acceptor spawned: pid %d", process.pid)
        for worker in self.workers.values():
            await self._introduce(worker)
        return child

    async def _wait_ready(self, worker: Child) -> None:
        record = self.table.slot(worker.slot)
        with trio.move_on_after(self.config.server.worker_boot_timeout) as waiting:
            while record.state != READY or record.generation != worker.generation:
                if worker.process.returncode is not None:
                    raise CrashLoop(
                        f"worker {worker.slot} exited with code {worker.process.returncode} while starting"
                    )
                await trio.sleep(0.01)
        if waiting.cancelled_caught:
            worker.process.kill()
            raise CrashLoop(
                f"worker {worker.slot} did not become ready within {self.config.server.worker_boot_timeout} s"
            )

    async def _watch(self, child: Child) -> None:
        await child.process.wait()
        await self._events_in.send(("exit", child))

    # -- events --------------------------------------------------------------------------

    async def _enqueue_signals(self) -> None:
        with trio.open_signal_receiver(*signals.COMMANDS) as received:
            async for signum in received:
                await self._events_in.send(("signal", signum))

    async def _handle_events(self) -> None:
        async for kind, value in self._events:
            if kind == "signal" and value in signals.STOP:
                await self.handle_term(value)
                return
            if kind == "signal" and value == signals.RELOAD:
                await self.handle_hup()
            elif kind == "exit":
                await self.reap(value)

    async def handle_term(self, signum: int) -> None:
        """Drain: stop accepting, let workers finish what is in flight, then exit."""
        log.info("%s: draining", signal.Signals(signum).name)
        systemd.stopping()
        self.stopping = True
        self.state = "stopping"
        acceptor = self.acceptor
        if acceptor is not None:
            # It hands over the backlog and closes the listening sockets while the workers still
            # take connections; then a client is refused before it sends, never cut off after.
            acceptor.expected_exit = True
            await self._tell(acceptor, {"op": "stop", "final": True})
        for sock in self.listeners:
            sock.close()
        if acceptor is not None:
            with trio.move_on_after(ACCEPTOR_STOP_TIMEOUT):
                await acceptor.process.wait()
        for worker in list(self.workers.values()):
            await self.drain(worker)
        with trio.move_on_after(self.config.server.graceful_timeout + KILL_MARGIN):
            while self._children_alive():
                kind, value = await self._events.receive()
                if kind == "exit":
                    await self.reap(value)
        for child in self._children():
            if child.process.returncode is None:
                log.warning("%s did not exit in time; killing it", child.name)
                child.process.kill()

    def _children_alive(self) -> bool:
        return any(child.process.returncode is None for child in self._children())

    async def handle_hup(self) -> None:
        """Reload the configuration and replace the workers one by one, each new one
        ready before the old one drains; then replace the acceptor the same way."""
        log.info("SIGHUP: reloading")
        systemd.reloading()
        self.state = "reloading"
        try:
            config = load_config(self.config_path, env=os.environ, flags=self.flags)
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            systemd.ready("reload refused: bad configuration")
            self.state = "running"
            return
        if config.server.workers != self.config.server.workers:
            log.warning("server.workers takes effect on restart, not reload")
            config = config.with_server(workers=self.config.server.workers)
        self.config = self._settle_config(config)
        self._write_config()
        for old in list(self.workers.values()):
            if old.expected_exit:
                continue
            await self._wait_for_free_slot()
            new = await self.spawn_worker()
            await self._wait_ready(new)
            await self.drain(old, successor=new)
            await self._tell_acceptor({"op": "forget", "slot": old.slot})
        old_acceptor = self.acceptor
        if old_acceptor is not None:
            old_acceptor.expected_exit = True
        await self.spawn_acceptor()
        if old_acceptor is not None:
            await self._tell(old_acceptor, {"op": "stop"})
        self.state = "running"
        systemd.ready(f"reloaded; serving {self.config.app} with {self.config.server.workers} workers")

    async def _wait_for_free_slot(self) -> None:
        """A reload's new worker needs a slot while the old ones drain. When reloads come
        faster than workers drain, reap exits until one is free (signals that come
        meanwhile wait their turn); a worker still draining past its grace is killed."""
        postponed: list[tuple[str, Any]] = []
        deadline = trio.current_time() + self.config.server.graceful_timeout + KILL_MARGIN
        while len(self.workers) >= self.table.slots:
            with trio.move_on_at(deadline) as late:
                kind, value = await self._events.receive()
            if late.cancelled_caught:
                oldest = min(self.workers.values(), key=lambda worker: worker.generation)
                log.warning("%s did not drain in time; killing it", oldest.name)
                oldest.process.kill()
                deadline = math.inf
            elif kind == "exit":
                await self.reap(value)
            else:
                postponed.append((kind, value))
        for event in postponed:
            await self._events_in.send(event)

    async def drain(self, worker: Child, successor: Child | None = None) -> None:
        """Tell a worker to drain (handing its sessions to ``successor``, on a reload), and
        let go of its socketpair's acceptor end: once the acceptor closes its own copy too,
        the worker sees EOF and knows no connection is still on its way to it."""
        worker.expected_exit = True
        message: dict[str, Any] = {"op": "drain"}
        if successor is not None:
            message["successor"] = successor.slot
        await self._tell(worker, message)
        if worker.acceptor_end is not None:
            worker.acceptor_end.close()
            worker.acceptor_end = None

    async def _tell(self, child: Child, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            await child.channel.send(message)

    async def _tell_acceptor(self, message: dict[str, Any]) -> None:
        if self.acceptor is not None:
            await self._tell(self.acceptor, message)

    async def reap(self, child: Child) -> None:
        """A child exited: forget it, and replace it unless it was meant to go."""
        code = child.process.returncode
        child.channel.close()
        if child.role == "acceptor":
            if self.acceptor is child:
                self.acceptor = None
        else:
            if self.workers.get(child.slot) is child:
                del self.workers[child.slot]
                self.table.slot(child.slot).state = EMPTY
                self.metrics.retire(child.slot)
                await self._tell_acceptor({"op": "forget", "slot": child.slot})
            if child.acceptor_end is not None:
                child.acceptor_end.close()
        if child.expected_exit or self.stopping:
            log.info("%s (pid %d) exited with code %s", child.name, child.process.pid, code)
            return
        log.error("%s (pid %d) died with code %s; replacing it", child.name, child.process.pid, code)
        self._count_restart(child, code)
        if child.role == "acceptor":
            await self.spawn_acceptor()
        else:
            self.replacements[child.slot] += 1
            await self.spawn_worker(child.slot)

    def _count_restart(self, child: Child, code: int | None) -> None:
        now = time.monotonic()
        self.restarts.append(now)
        window = self.config.server.crash_loop_window
        while self.restarts and self.restarts[0] < now - window:
            self.restarts.popleft()
        if len(self.restarts) > self.config.server.crash_loop_restarts:
            raise CrashLoop(
                f"crash loop: {len(self.restarts)} restarts within {window:g} s "
                f"(last: {child.name} exited with code {code}); stopping. Check the app and the logs above."
            )

    # -- watching ------------------------------------------------------------------------

    async def _tick(self) -> None:
        watchdog = systemd.watchdog_interval()
        last_ping = 0.0
        while True:
            fresh = self.murder_stuck_workers()
            now = time.monotonic()
            if watchdog is not None and fresh and now - last_ping >= watchdog:
                systemd.watchdog()
                last_ping = now
            await trio.sleep(min(TICK, watchdog) if watchdog else TICK)

    def murder_stuck_workers(self) -> bool:
        """Kill workers whose heartbeat stopped (they are replaced when reaped).
        Returns whether every worker is fresh, the condition for a watchdog ping."""
        now = time.monotonic_ns()
        timeout = int(self.config.server.heartbeat_timeout * 1e9)
        fresh = self.acceptor is not None and self.acceptor.process.returncode is None
        for worker in self.workers.values():
            record = self.table.slot(worker.slot)
            if worker.expected_exit or record.generation != worker.generation or record.state != READY:
                continue
            if now - record.heartbeat_ns > timeout:
                log.error(
                    "worker %d (pid %d) stopped heartbeating; killing it", worker.slot, worker.process.pid
                )
                worker.process.kill()
                fresh = False
        return fresh
