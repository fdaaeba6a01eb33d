"""The results of a load test: what a user reads, saves as JSON, and plots.

All latencies are milliseconds. Counts and latency cover the requests of the measured window
(after the ramp-up): those due in it (open loop) or sent in it (closed loop). Throughput is the
answers completed inside the window over its length. The time series covers the whole run, by
second of completion.
"""

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mocopr.loadtest.stats import ErrorCounts


@dataclass
class LatencySummary:
    """Latency of the answered requests: the mean and max exact, percentiles from an HDR histogram
    (3 significant figures)."""

    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    p99_9: float = 0.0
    max: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """By label (``p99_9`` is ``p99.9``), in field order: the report's columns, the JSON keys."""
        return {f.name.replace("_", "."): getattr(self, f.name) for f in fields(self)}


@dataclass
class OperationResult:
    """One operation (or ``all`` of them) over the measured window."""

    method: str
    #: Requests sent: each was answered (``answered``, any HTTP status) or failed in transport.
    requests: int
    answered: int
    #: Answered with a JSON-RPC result that is not a tool error.
    ok: int
    #: Open loop: due in the window but never sent, the server being too far behind by the end.
    #: Not in ``requests``: what was due is ``requests + unsent``.
    unsent: int
    #: Answers (any HTTP status) completed inside the window, per second of it.
    throughput_rps: float
    latency: LatencySummary
    errors: ErrorCounts

    @property
    def error_rate(self) -> float:
        return (self.requests - self.ok) / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        errors = self.errors
        return {
            "requests": self.requests,
            "answered": self.answered,
            "ok": self.ok,
            "unsent": self.unsent,
            "throughput_rps": round(self.throughput_rps, 3),
            "error_rate": round(self.error_rate, 6),
            "latency_ms": self.latency.to_dict(),
            "errors": {
                "total": errors.total,
                "transport": {"total": errors.transport.total(), "by_kind": dict(errors.transport)},
                "http": {"total": errors.http.total(), "by_status": _keyed(errors.http)},
                "jsonrpc": {"total": errors.jsonrpc.total(), "by_code": _keyed(errors.jsonrpc)},
                "tool": errors.tool,
                "invalid": errors.invalid,
            },
        }


@dataclass
class SeriesPoint:
    """One second of the run, by completion time (all operations, ramp-up included)."""

    second: int
    #: The seconds this point covers: 1, less for the last second of a run that ended early.
    span: float
    answered: int
    errors: int
    latency: LatencySummary

    @property
    def throughput_rps(self) -> float:
        return self.answered / self.span

    @property
    def errors_per_second(self) -> float:
        return self.errors / self.span

    def to_dict(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "span_s": round(self.span, 3),
            "answered": self.answered,
            "errors": self.errors,
            "throughput_rps": round(self.throughput_rps, 3),
            "latency_ms": self.latency.to_dict(),
        }


@dataclass
class LoadResult:
    """What a load test measured, and, if it ended early, why (``error``: one line)."""

    url: str
    era: str
    mix: str
    clients: int
    processes: int
    #: The target rate in requests/s; None for a closed loop at full speed.
    target_rps: float | None
    duration: float
    ramp_up: float
    timeout: float
    #: Seconds of the measured window that actually ran (less than ``duration`` if it ended early).
    measured: float
    overall: OperationResult
    operations: dict[str, OperationResult]
    series: list[SeriesPoint] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.error is None

    @property
    def mode(self) -> str:
        return "closed" if self.target_rps is None else "open"

    @property
    def loop(self) -> str:
        """The loop in words, for the report and the plot's title."""
        return "closed loop" if self.target_rps is None else f"open loop at {self.target_rps:g} req/s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "era": self.era,
            "mix": self.mix,
            "mode": self.mode,
            "clients": self.clients,
            "processes": self.processes,
            "target_rps": self.target_rps,
            "duration_s": self.duration,
            "ramp_up_s": self.ramp_up,
            "timeout_s": self.timeout,
            "measured_s": round(self.measured, 3),
            "complete": self.complete,
            "error": self.error,
            "overall": self.overall.to_dict(),
            "operations": {method: result.to_dict() for method, result in self.operations.items()},
            "series": [point.to_dict() for point in self.series],
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def format_text(self) -> str:
        """The report a terminal shows: a table per operation, then the errors by kind."""
        ramp = f" after {self.ramp_up:g} s of ramp-up" if self.ramp_up else ""
        open_loop = self.target_rps is not None
        unsent_column = f"{'unsent':>8}" if open_loop else ""
        lines = [
            f"{self.url}: {self.era} era, {self.loop}, "
            f"{_counted(self.clients, 'client')} in {_counted(self.processes, 'process')}",
            f"mix: {self.mix}; measured {self.measured:.1f} s of {self.duration:g} s{ramp}",
            "",
            f"{'operation':<16}{'requests':>10}{unsent_column}{'req/s':>11}{'errors':>8}"
            + "".join(f"{name:>9}" for name in LatencySummary().to_dict())
            + "  (ms)",
        ]
        rows = [*self.operations.values(), self.overall] if len(self.operations) > 1 else [self.overall]
        for result in rows:
            latency = result.latency.to_dict()
            unsent = f"{result.unsent:>8}" if open_loop else ""
            lines.append(
                f"{result.method:<16}{result.requests:>10}{unsent}{result.throughput_rps:>11.1f}"
                f"{result.requests - result.ok:>8}" + "".join(f"{value:>9.3f}" for value in latency.values())
            )
        if open_loop:
            lines.append(
                f"target {self.target_rps:g} req/s, achieved {self.overall.throughput_rps:.1f} req/s; "
                f"{self.overall.unsent} of {self.overall.requests + self.overall.unsent} due unsent"
            )
        failed = [(method, _describe_errors(result.errors)) for method, result in self.operations.items()]
        if any(text for _, text in failed):
            lines += ["", "errors:"] + [f"  {method}: {text}" for method, text in failed if text]
        return "\n".join(lines)


def _describe_errors(errors: ErrorCounts) -> str:
    parts = [f"transport {kind} x{count}" for kind, count in sorted(errors.transport.items())]
    parts += [f"HTTP {status} x{count}" for status, count in sorted(errors.http.items())]
    parts += [f"JSON-RPC {code} x{count}" for code, count in sorted(errors.jsonrpc.items())]
    if errors.tool:
        parts.append(f"tool isError x{errors.tool}")
    if errors.invalid:
        parts.append(f"not JSON-RPC x{errors.invalid}")
    return ", ".join(parts)


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


def _keyed(counts: dict[int, int]) -> dict[str, int]:
    """JSON object keys are strings; sorted so that reports diff well."""
    return {str(key): counts[key] for key in sorted(counts)}
