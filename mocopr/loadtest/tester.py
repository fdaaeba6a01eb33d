"""``LoadTester``: check the target, fan the load out over processes, gather one result.

The load runs in ``processes`` processes (aiomultiprocess, each an asyncio loop, uvloop where
installed) because one Python process is not enough load for a multi-core server. They start
together: each sets up (legacy sessions), says it is ready, and waits; the parent then gives one
start time on the shared monotonic clock. During the run each process sends a small report per
second, which feeds the live progress and the time series, and at the end its totals.
"""

import asyncio
import contextlib
import os
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiomultiprocess
from aiomultiprocess.core import get_context

from mocopr.loadtest.collect import SeriesCollector, build_result
from mocopr.loadtest.generator import Halted, Plan, Ready, generate_load, ignore_interrupts
from mocopr.loadtest.handshake import TargetError, probe
from mocopr.loadtest.result import LoadResult
from mocopr.loadtest.scenario import LoadScenario
from mocopr.loadtest.stats import IntervalReport, ProcessReport
from mocopr.loadtest.wire import Target

#: From the go to the first request: time for every process to see the go.
START_DELAY = 0.1
#: Longest wait for the processes to start and set up (spawning, imports, legacy sessions).
SETUP_TIMEOUT = 60.0
#: How long a load process may take past the end of the run and its last requests' timeout
#: (and, in the legacy era, the timeout of ending its sessions) to send its report before it is
#: killed.
EXIT_GRACE = 5.0


@dataclass(frozen=True)
class Progress:
    """What the live progress shows: the run's clock and its latest complete second."""

    elapsed: float
    total: float
    throughput_rps: float
    p99_ms: float
    errors: int


class LoadTester:
    """Puts a Streamable HTTP MCP server under load and measures it.

    ``clients`` connections (in the legacy era, sessions) in all, spread over ``processes``
    (default: the usable CPUs, never more than the clients). ``rps`` sets an open loop at that
    rate over all clients; without it each client sends as fast as it is answered. The rate, or
    the number of busy clients, rises linearly over ``ramp_up`` seconds, then ``duration``
    seconds are measured. ``timeout`` bounds each request.

    ``run()`` returns a ``LoadResult``; if the target is not usable or goes away, the result's
    ``error`` says why in one line and it holds what was measured until then.
    """

    def __init__(
        self,
        url: str,
        scenario: LoadScenario | None = None,
        *,
        clients: int = 32,
        rps: float | None = None,
        duration: float = 10.0,
        ramp_up: float = 0.0,
        processes: int | None = None,
        timeout: float = 10.0,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        if clients < 1:
            raise ValueError("clients must be at least 1")
        if rps is not None and not rps > 0:
            raise ValueError("rps must be positive")
        if not duration > 0 or ramp_up < 0 or not timeout > 0:
            raise ValueError("duration and timeout must be positive, ramp_up not negative")
        if processes is not None and processes < 1:
            raise ValueError("processes must be at least 1")
        processes = min(processes or len(os.sched_getaffinity(0)), clients)
        self.plan = Plan(
            Target.parse(url),
            scenario or LoadScenario.build(),
            clients,
            rps,
            duration,
            ramp_up,
            timeout,
            processes,
        )
        self.on_progress = on_progress

    def run(self) -> LoadResult:
        return asyncio.run(self.run_async())

    async def run_async(self) -> LoadResult:
        plan = self.plan
        series = SeriesCollector(plan.processes)
        try:
            await probe(plan.target, plan.scenario.era, plan.timeout)
        except TargetError as exc:
            return build_result(plan, [], series, str(exc))
        return await _Run(plan, series, self.on_progress).run()


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's where it is installed (not on Windows): about three times the requests per second
    of the standard loop for the same client code, measured here; else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class _Run:
    """One run's load processes and the channels to them."""

    def __init__(
        self, plan: Plan, series: SeriesCollector, on_progress: Callable[[Progress], None] | None
    ) -> None:
        self.plan = plan
        self.series = series
        self.on_progress = on_progress
        context = get_context()
        self.channel = context.Queue()
        self.go = context.Event()
        self.stop = context.Event()
        self.start_at = context.Value("d", 0.0)
        self.error: str | None = None
        self.started = 0.0
        self.processes = [
            aiomultiprocess.Process(
                target=generate_load,
                args=(plan, index, self.channel, self.go, self.stop, self.start_at),
                initializer=ignore_interrupts,
                loop_initializer=_event_loop_factory(),
            )
            for index in range(plan.processes)
        ]

    async def run(self) -> LoadResult:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self.interrupt)
        reports: list[ProcessReport] = []
        try:
            for process in self.processes:
                process.start()
            await self.wait_until_ready()
            self.start_at.value = self.started = time.monotonic() + START_DELAY
            self.go.set()
            reports = await self.follow()
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
            self.go.set()
            self.stop.set()
            for process in self.processes:
                if process.is_alive():
                    process.kill()
                if process.pid is not None:
                    await process.join()
        if len(reports) < len(self.processes):
            self.error = self.error or "a load process died; its requests are not counted"
        self.error = self.error or next((report.stopped for report in reports if report.stopped), None)
        return build_result(self.plan, reports, self.series, self.error)

    def interrupt(self) -> None:
        self.error = self.error or "interrupted"
        self.stop.set()

    async def wait_until_ready(self) -> None:
        ready = 0
        deadline = time.monotonic() + SETUP_TIMEOUT
        while ready < len(self.processes) and self.error is None:
            message = await self.receive(deadline - time.monotonic())
            if message is None:
                if time.monotonic() >= deadline or not all(process.is_alive() for process in self.processes):
                    self.error = "the load processes did not start"
            elif isinstance(message, Ready):
                ready += 1
                self.error = message.error
        if self.error is not None:
            self.stop.set()

    async def follow(self) -> list[ProcessReport]:
        """Take the processes' messages until each has sent its report, died, or overstayed."""
        reports: dict[int, ProcessReport] = {}
        plan = self.plan
        closing = plan.timeout if plan.scenario.era == "legacy" else 0.0  # the sessions' DELETE
        deadline = self.started + plan.ramp_up + plan.duration + plan.timeout + closing + EXIT_GRACE
        wait = 0.1  # then 0: take what is left without waiting, and stop
        while len(reports) < len(self.processes):
            message = await self.receive(wait)
            if isinstance(message, ProcessReport):
                reports[message.process] = message
            elif message is not None:
                self.take(message)
            elif wait == 0:
                break
            elif time.monotonic() > deadline or not any(process.is_alive() for process in self.processes):
                wait = 0
        return [reports[index] for index in sorted(reports)]

    def take(self, message: object) -> None:
        if isinstance(message, IntervalReport):
            point = self.series.add(message)
            if point is not None and self.on_progress is not None:
                self.on_progress(
                    Progress(
                        elapsed=time.monotonic() - self.started,
                        total=self.plan.ramp_up + self.plan.duration,
                        throughput_rps=point.throughput_rps,
                        p99_ms=point.latency.p99,
                        errors=self.series.errors,
                    )
                )
        elif isinstance(message, Halted):
            self.error = self.error or message.reason
            self.stop.set()

    async def receive(self, timeout: float) -> object | None:
        """The next message from the processes, or None after ``timeout`` seconds."""
        if timeout <= 0:
            try:
                return self.channel.get_nowait()
            except queue.Empty:
                return None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self.channel.get, True, timeout)
        except queue.Empty:
            return None
