"""Counting what became of each request, inside a load process, and the reports it sends home.

The ``Recorder`` is on the hot path: one call per request, no allocation unless a request fails.
What it counts goes two ways: per operation, for the requests of the measured window (after the
ramp-up), and per second of the whole run, for the time series; a second's counts leave for the
parent process as an ``IntervalReport`` when the second ends, the totals as a ``ProcessReport`` at
the end. Both are plain picklable data, histograms in hdrh's encoded form.

A request belongs to the measured window by when it was due (open loop) or sent (closed loop):
its latency and its fate are the window's even if its answer comes after the end. Throughput is
the other way round: the answers that *completed* inside the window, whenever they were due, so
that a server which falls behind cannot be credited with requests it answers after the end.
"""

from collections import Counter
from dataclasses import dataclass, field

from mocopr.loadtest.histogram import LatencyHistogram, bucket_of, clamp_us
from mocopr.loadtest.replies import INVALID, OK, TOOL_ERROR, Outcome


@dataclass
class ErrorCounts:
    """Failed requests, by how they failed."""

    #: No HTTP answer: by kind (refused, reset, closed, timeout, malformed, connect, session).
    transport: Counter[str] = field(default_factory=Counter)
    #: A non-2xx answer, by status.
    http: Counter[int] = field(default_factory=Counter)
    #: A JSON-RPC error object, by code.
    jsonrpc: Counter[int] = field(default_factory=Counter)
    #: A tool result with ``isError: true``.
    tool: int = 0
    #: A 2xx answer that holds no JSON-RPC response.
    invalid: int = 0

    @property
    def total(self) -> int:
        return self.transport.total() + self.http.total() + self.jsonrpc.total() + self.tool + self.invalid

    def add(self, other: "ErrorCounts") -> None:
        self.transport.update(other.transport)
        self.http.update(other.http)
        self.jsonrpc.update(other.jsonrpc)
        self.tool += other.tool
        self.invalid += other.invalid


@dataclass
class OperationReport:
    """What one load process measured of one operation in the measured window.

    ``histogram`` holds the latency of every answered request (any HTTP status), ``answered`` of
    them; ``latency_total_us`` and ``latency_max_us`` give the exact mean and max.
    """

    method: str
    histogram: bytes
    answered: int
    ok: int
    latency_total_us: int
    latency_max_us: int
    errors: ErrorCounts
    #: Answers (any HTTP status) that completed inside the window: the throughput's numerator.
    completed: int
    #: Open loop: requests due in the window that were never sent, because every client was still
    #: waiting on the server when the window ended.
    unsent: int


@dataclass
class IntervalReport:
    """One second of one load process, by completion time: sent to the parent as the second ends."""

    process: int
    second: int
    answered: int
    errors: int
    histogram: bytes
    latency_total_us: int
    latency_max_us: int


@dataclass
class ProcessReport:
    """All that one load process measured, and why it stopped early if it did."""

    process: int
    operations: list[OperationReport]
    #: Why the process stopped before the end (the target went away, a session could not be
    #: opened, the parent said stop); None when it ran its course.
    stopped: str | None = None
    #: Seconds from the start at which it stopped sending.
    ended_at: float = 0.0


class _Tally:
    __slots__ = ("completed", "errors", "latency", "ok")

    def __init__(self) -> None:
        self.latency = LatencyHistogram()
        self.ok = 0
        self.completed = 0
        self.errors = ErrorCounts()


class Recorder:
    """The counts of one load process; ``op`` arguments are indexes into the scenario's operations."""

    def __init__(self, methods: tuple[str, ...]) -> None:
        self.methods = methods
        self.tallies = [_Tally() for _ in methods]
        self.second = LatencyHistogram()
        self.second_errors = 0

    def answered(self, op: int, outcome: Outcome, seconds: float, measured: bool, completed: bool) -> None:
        """A 2xx answer, classified, that took ``seconds``; ``measured``: the request belongs to
        the window; ``completed``: the answer came inside it."""
        tally = self._timed(op, seconds, outcome is not OK, measured, completed)
        if tally is not None:
            if outcome is OK:
                tally.ok += 1
            elif outcome is TOOL_ERROR:
                tally.errors.tool += 1
            elif outcome is INVALID:
                tally.errors.invalid += 1
            else:
                tally.errors.jsonrpc[outcome] += 1

    def http_error(self, op: int, status: int, seconds: float, measured: bool, completed: bool) -> None:
        tally = self._timed(op, seconds, True, measured, completed)
        if tally is not None:
            tally.errors.http[status] += 1

    def _timed(self, op: int, seconds: float, failed: bool, measured: bool, completed: bool) -> _Tally | None:
        """Count an answer that took ``seconds`` in this second and, if ``completed``, as completed in
        the window; the operation's tally if the request is ``measured``, for its outcome."""
        value = clamp_us(seconds)
        index = bucket_of(value)
        self.second.record(value, index)
        if failed:
            self.second_errors += 1
        tally = self.tallies[op]
        if completed:
            tally.completed += 1
        if not measured:
            return None
        tally.latency.record(value, index)
        return tally

    def transport_error(self, op: int, kind: str, measured: bool) -> None:
        self.second_errors += 1
        if measured:
            self.tallies[op].errors.transport[kind] += 1

    def flush_second(self, process: int, second: int) -> IntervalReport:
        """The counts since the last flush, as second ``second``; counting starts afresh."""
        latency, errors = self.second, self.second_errors
        self.second, self.second_errors = LatencyHistogram(), 0
        return IntervalReport(
            process, second, latency.count, errors, latency.encode(), latency.total_us, latency.max_us
        )

    def requests(self, op: int) -> int:
        """Requests of operation ``op`` in the window that were sent: answered, or failed in transport."""
        tally = self.tallies[op]
        return tally.latency.count + tally.errors.transport.total()

    def report(self, process: int, stopped: str | None, ended_at: float, unsent: list[int]) -> ProcessReport:
        """The totals; ``unsent`` per operation, as the load process worked it out from its schedule."""
        operations = [
            OperationReport(
                method,
                tally.latency.encode(),
                tally.latency.count,
                tally.ok,
                tally.latency.total_us,
                tally.latency.max_us,
                tally.errors,
                tally.completed,
                missed,
            )
            for method, tally, missed in zip(self.methods, self.tallies, unsent, strict=True)
        ]
        return ProcessReport(process, operations, stopped, ended_at)
