"""One load process: asyncio clients that replay prebuilt requests, closed or open loop.

Closed loop: each client sends its next request as soon as the last one is answered, from its
start (spread over the ramp-up) to the end. Open loop: the process owns a schedule of due times
(``pacing.OpenLoopSchedule``) and any free client takes the next due request, whose operation is
fixed by its place in the schedule. If none is free because the server is slow or stalled,
requests fall behind schedule, and their latency counts from the time they were *due*: waiting
for the server to answer earlier requests is the server's latency, so a stall cannot hide behind
the clients it blocked (coordinated omission). A client that is early sleeps until the due time;
the lateness of that wake-up is the tester's timer, not the server, so latency then counts from
the actual send.

Both loops stop sending when the run's time is up. An open loop that fell behind does not work
off its backlog after the end: the requests due but never sent are counted as unsent, so a
server that answers half the target rate shows as half, and the run ends on time.

``generate_load`` is what ``aiomultiprocess`` runs in each process.
"""

import asyncio
import contextlib
import itertools
import math
import multiprocessing.queues
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import signal
from dataclasses import dataclass
from time import monotonic

from mocopr.loadtest.connection import HttpConnection, Response, TransportError, answer, open_connection
from mocopr.loadtest.handshake import TargetError, end_session, open_session, transport_failure
from mocopr.loadtest.pacing import OpenLoopSchedule, client_start
from mocopr.loadtest.replies import classify
from mocopr.loadtest.scenario import LoadScenario
from mocopr.loadtest.stats import ProcessReport, Recorder
from mocopr.loadtest.wire import FIRST_ID, RequestTemplate, Session, Target, request_templates

#: How often the watchdog looks for timed-out requests and for the parent's stop.
TICK = 0.05
#: Connections refused for this long, with nothing answered meanwhile: the server has gone.
GONE_AFTER = 1.0
#: A client whose connection attempt failed waits this long before the next, so that a target
#: that is down is not hammered with connection attempts that would drown the other counts.
RECONNECT_PAUSE = 0.01
#: How long a process waits for the parent's go once it is ready.
GO_TIMEOUT = 120.0


@dataclass(frozen=True)
class Plan:
    """The whole run, as every load process gets it; each works out its own share."""

    target: Target
    scenario: LoadScenario
    clients: int
    #: Requests per second over all processes; None for a closed loop at full speed.
    rps: float | None
    duration: float
    ramp_up: float
    timeout: float
    processes: int

    def clients_of(self, process: int) -> int:
        return self.clients // self.processes + (process < self.clients % self.processes)

    def rate_of(self, process: int) -> float | None:
        """A process's share of the rate, in proportion to its clients."""
        return None if self.rps is None else self.rps * self.clients_of(process) / self.clients


@dataclass(frozen=True)
class Ready:
    """A load process is set up (sessions open) and waits for the go; ``error`` if it could not."""

    process: int
    error: str | None


@dataclass(frozen=True)
class Halted:
    """A load process stops early; the parent stops the others."""

    process: int
    reason: str


async def sleep_until(deadline: float) -> None:
    """Sleep until ``monotonic()`` reaches ``deadline``: uvloop's timers have millisecond
    granularity and may fire up to a millisecond early, which would send a request before it is
    due, or count a client's first request as before the start."""
    while (now := monotonic()) < deadline:
        await asyncio.sleep(deadline - now)


class Client:
    """One connection (and, in the legacy era, one session) making one request at a time."""

    def __init__(self, load: "LoadProcess", number: int) -> None:
        self.load = load
        self.connection: HttpConnection | None = None
        self.session: Session | None = None
        #: The requests of this client; None while a legacy session is to be opened.
        self.templates: list[RequestTemplate] | None = load.templates
        self.next_id = FIRST_ID
        #: The closed loop's operations, each client starting at its own place in the sequence.
        offset = number * 97 % len(load.sequence)
        self.operations = itertools.cycle(load.sequence[offset:] + load.sequence[:offset])

    async def run_closed(self, begin: float) -> None:
        load = self.load
        await sleep_until(begin)
        while not load.stopping:
            now = monotonic()
            if now >= load.end:
                return
            await self.exchange(next(self.operations), now, now >= load.window_start)

    async def run_open(self, schedule: OpenLoopSchedule) -> None:
        load = self.load
        while not load.stopping:
            slot = load.next_slot
            load.next_slot += 1
            offset = schedule.due(slot)
            due = load.start + offset
            now = monotonic()
            if offset >= load.horizon or now >= load.end:
                return
            if due > now:
                await sleep_until(due)
                if load.stopping:
                    return
                started = monotonic()
            else:
                started = due
            await self.exchange(load.operation_of(slot), started, offset >= load.plan.ramp_up)

    async def exchange(self, op: int, started: float, measured: bool) -> None:
        """Send one request of operation ``op`` and count what became of it."""
        load = self.load
        recorder = load.recorder
        templates = self.templates
        try:
            if templates is None:
                templates = await self.open_session()
            self.next_id += 1
            response = await self.roundtrip(templates[op].render(self.next_id))
        except TransportError as exc:
            recorder.transport_error(op, exc.kind, measured)
            return
        except TargetError:
            recorder.transport_error(op, "session", measured)
            return
        finished = monotonic()
        elapsed = finished - started
        completed = load.window_start <= finished < load.end
        load.refused_since = None
        status = response.status
        if 200 <= status < 300:
            outcome = classify(response.content_type, response.body)
            recorder.answered(op, outcome, elapsed, measured, completed)
        else:
            recorder.http_error(op, status, elapsed, measured, completed)
            if status == 404 and self.session is not None and self.session.id is not None:
                # The server forgot the session (expiry, restart): open a new one, as clients must.
                self.session = self.templates = None

    async def roundtrip(self, data: bytes) -> Response:
        """One request on the kept-alive connection, connecting first if there is none.

        A reused connection that the server closed before answering (its idle timeout raced our
        request) is retried once on a new one, as HTTP clients do; any other failure counts.
        """
        reused = self.connection is not None and not self.connection.closed
        connection = await self._open()
        try:
            response = await connection.request(data, monotonic())
        except TransportError as exc:
            self.connection = None
            if not reused or connection.answering or exc.kind in ("timeout", "malformed"):
                raise
            connection = await self.connect()
            try:
                response = await connection.request(data, monotonic())
            except TransportError:
                self.connection = None
                raise
        return self._kept(connection, response)

    async def _open(self) -> HttpConnection:
        """The kept-alive connection, or a new one if there is none (or it closed)."""
        if self.connection is None or self.connection.closed:
            return await self.connect()
        return self.connection

    def _kept(self, connection: HttpConnection, response: Response) -> Response:
        """Forget the connection if the server will not keep it alive after ``response``."""
        if not response.keep_alive:
            connection.close()
            self.connection = None
        return response

    async def connect(self) -> HttpConnection:
        try:
            self.connection = await open_connection(self.load.plan.target, self.load.plan.timeout)
        except TransportError as exc:
            if exc.kind == "refused":
                self.load.refused(exc)
            await asyncio.sleep(RECONNECT_PAUSE)
            raise
        return self.connection

    async def send_with_deadline(self, data: bytes) -> Response:
        """A request outside the measured load (a handshake step), with its own deadline."""
        connection = await self._open()
        try:
            response = await answer(connection, data, self.load.plan.timeout)
        except TransportError:
            self.connection = None
            raise
        return self._kept(connection, response)

    async def open_session(self) -> list[RequestTemplate]:
        plan = self.load.plan
        self.session = await open_session(self.send_with_deadline, plan.target)
        self.templates = request_templates(plan.target, plan.scenario, self.session)
        return self.templates

    async def close(self) -> None:
        """End the session (best effort: the run is over) and the connection."""
        if self.session is not None:
            with contextlib.suppress(TransportError, TargetError):
                await end_session(self.send_with_deadline, self.load.plan.target, self.session)
        if self.connection is not None:
            self.connection.close()


class LoadProcess:
    """The clients of one process, their shared schedule, counts and watchdog."""

    def __init__(
        self,
        plan: Plan,
        index: int,
        channel: multiprocessing.queues.Queue,
        stop: multiprocessing.synchronize.Event,
    ) -> None:
        self.plan = plan
        self.index = index
        self.channel = channel
        self.stop_event = stop
        self.recorder = Recorder(plan.scenario.methods)
        self.sequence = plan.scenario.sequence(seed=index)
        self.templates = (
            request_templates(plan.target, plan.scenario) if plan.scenario.era == "modern" else None
        )
        self.clients = [Client(self, number) for number in range(plan.clients_of(index))]
        rate = plan.rate_of(index)
        self.schedule = None if rate is None else OpenLoopSchedule(rate, plan.ramp_up, index / plan.processes)
        #: Seconds from the start to the end of the run: what the schedule's due times are compared
        #: with, so that the requests sent and those counted due agree to the last one.
        self.horizon = plan.ramp_up + plan.duration
        #: The start, the end of the ramp-up and the end, on the clock; set when the run starts.
        self.start = self.window_start = self.end = 0.0
        self.next_slot = 0
        #: Why this process stopped early; None while it runs.
        self.stopped: str | None = None
        self.ended_at = 0.0
        self.refused_since: float | None = None
        self._seconds_flushed = 0

    async def prepare(self) -> None:
        """Open the legacy sessions before the clock starts: the handshake is not the load.

        Every attempt runs to its end (each has a deadline) before the first failure is raised,
        so that none is left running behind the report.
        """
        if self.plan.scenario.era == "legacy":
            outcomes = await asyncio.gather(
                *(client.open_session() for client in self.clients), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def run(self, start: float) -> None:
        self.start = start
        self.window_start = start + self.plan.ramp_up
        self.end = start + self.horizon
        watchdog = asyncio.create_task(self.watch())
        try:
            if self.schedule is None:
                begins = [start + self.client_start(number) for number in range(len(self.clients))]
                await asyncio.gather(*map(Client.run_closed, self.clients, begins))
            else:
                await asyncio.gather(*(client.run_open(self.schedule) for client in self.clients))
        finally:
            watchdog.cancel()
        if self.stopped is None:
            self.ended_at = self.horizon
        last = math.ceil(self.horizon) - 1
        self.channel.put(self.recorder.flush_second(self.index, min(self._seconds_flushed, last)))
        if self.stopped is None:
            # After an early stop the server may be gone or stalled: its sessions expire there.
            await asyncio.gather(*(client.close() for client in self.clients))

    def operation_of(self, slot: int) -> int:
        """The operation of the open loop's request ``slot``: the schedule, not the client that
        happens to be free, decides it, so that what was not sent can be told by operation."""
        return self.sequence[slot % len(self.sequence)]

    def unsent(self) -> list[int]:
        """Per operation: the open loop's requests due in the measured window (up to an early
        stop) less those that were sent. Clients take requests in the order they are due and
        none is sent after the end, so the difference is the backlog the server left unserved."""
        operations = range(len(self.plan.scenario.methods))
        if self.schedule is None:
            return [0 for _ in operations]
        first = self.schedule.slots_before(self.plan.ramp_up)
        last = max(first, self.schedule.slots_before(self.ended_at))
        cycles, rest = divmod(last - first, len(self.sequence))
        due = [cycles * self.sequence.count(op) for op in operations]
        for slot in range(first, first + rest):
            due[self.operation_of(slot)] += 1
        return [due[op] - self.recorder.requests(op) for op in operations]

    def client_start(self, number: int) -> float:
        """When client ``number`` of this process starts, numbering clients across processes."""
        plan = self.plan
        return client_start(number * plan.processes + self.index, plan.clients, plan.ramp_up)

    async def watch(self) -> None:
        """Every tick: fail requests past the timeout, heed the parent's stop, and send each
        second's counts home as the second ends."""
        timeout = self.plan.timeout
        while True:
            boundary = self.start + self._seconds_flushed + 1
            now = monotonic()
            await asyncio.sleep(min(boundary, now + TICK) - now)
            now = monotonic()
            for client in self.clients:
                connection = client.connection
                if connection is not None and connection.sent_at and now - connection.sent_at > timeout:
                    connection.expire(timeout)
            if self.stop_event.is_set():
                self.halt("stopped")
            if boundary <= now and boundary <= self.end:
                self.channel.put(self.recorder.flush_second(self.index, self._seconds_flushed))
                self._seconds_flushed += 1

    def refused(self, error: TransportError) -> None:
        """A connection was refused: if nothing has worked for ``GONE_AFTER``, the server is gone."""
        now = monotonic()
        if self.refused_since is None:
            self.refused_since = now
        elif now - self.refused_since >= GONE_AFTER and not self.stopping:
            reason = f"the server went away {now - self.start:.1f} s into the run: "
            reason += transport_failure(self.plan.target, error)
            self.halt(reason)
            self.channel.put(Halted(self.index, reason))

    @property
    def stopping(self) -> bool:
        return self.stopped is not None

    def halt(self, reason: str) -> None:
        """Stop early; ``ended_at`` is when, within the run (0 if it never started)."""
        if not self.stopping:
            self.stopped = reason
            self.ended_at = min(monotonic() - self.start, self.horizon) if self.start else 0.0

    def report(self) -> ProcessReport:
        return self.recorder.report(self.index, self.stopped, self.ended_at, self.unsent())


async def generate_load(
    plan: Plan,
    index: int,
    channel: multiprocessing.queues.Queue,
    go: multiprocessing.synchronize.Event,
    stop: multiprocessing.synchronize.Event,
    start_at: multiprocessing.sharedctypes.Synchronized,
) -> None:
    """Set up, say so, wait for the go, generate load until the end, and send the report home.

    The report travels on ``channel`` like every other message, not as aiomultiprocess's
    return value, which goes through a manager process: a Ctrl-C in the terminal reaches that
    process too and would lose the reports of an interrupted run. Nothing escapes as an
    exception: a failure becomes the report's ``stopped`` reason, one line for the user.
    """
    load = LoadProcess(plan, index, channel, stop)
    try:
        await _generate(load, go, start_at)
    except Exception as exc:  # reported as one line, never as a traceback
        reason = f"the load process failed: {exc!r}"
        load.halt(reason)
        channel.put(Halted(index, reason))
    channel.put(load.report())


async def _generate(
    load: LoadProcess,
    go: multiprocessing.synchronize.Event,
    start_at: multiprocessing.sharedctypes.Synchronized,
) -> None:
    try:
        await load.prepare()
    except (TargetError, TransportError) as exc:
        message = str(exc) if isinstance(exc, TargetError) else transport_failure(load.plan.target, exc)
        load.halt(f"could not open a legacy session: {message}")
        load.channel.put(Ready(load.index, load.stopped))
        return
    load.channel.put(Ready(load.index, None))
    started = await asyncio.get_running_loop().run_in_executor(None, go.wait, GO_TIMEOUT)
    if not started or load.stop_event.is_set():
        load.halt("stopped before the start")
        return
    await load.run(start_at.value)


def ignore_interrupts() -> None:
    """In a load process: Ctrl-C is the parent's to handle; it stops the processes in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
