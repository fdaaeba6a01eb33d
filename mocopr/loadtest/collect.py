"""Merging what the load processes report into one ``LoadResult``.

HDR histograms add exactly, so the percentiles over all processes are those of all requests, not
an average of per-process percentiles. Per-second histograms are kept encoded (compressed) until
the end, so that a long run's time series costs kilobytes a second, not a histogram's 180 KB.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from mocopr.loadtest.generator import Plan
from mocopr.loadtest.histogram import merge, percentiles_us
from mocopr.loadtest.result import LatencySummary, LoadResult, OperationResult, SeriesPoint
from mocopr.loadtest.stats import ErrorCounts, IntervalReport, OperationReport, ProcessReport


def summarize(hdr: HdrHistogram, total_us: int, max_us: int) -> LatencySummary:
    """Percentiles from the merged histogram; the mean and max from the exact sums beside it."""
    count = hdr.get_total_count()
    return LatencySummary(
        mean=round(total_us / count / 1000, 3) if count else 0.0,
        max=max_us / 1000,
        **{name: value / 1000 for name, value in percentiles_us(hdr).items()},
    )


@dataclass
class _Second:
    histograms: list[bytes] = field(default_factory=list)
    processes: set[int] = field(default_factory=set)
    answered: int = 0
    errors: int = 0
    total_us: int = 0
    max_us: int = 0


class SeriesCollector:
    """The per-second reports of all processes, merged by second."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.seconds: dict[int, _Second] = defaultdict(_Second)
        self.errors = 0

    def add(self, report: IntervalReport) -> SeriesPoint | None:
        """Take a report; return the second's point once every process has reported it (for the
        live progress), None otherwise."""
        second = self.seconds[report.second]
        second.histograms.append(report.histogram)
        second.processes.add(report.process)
        second.answered += report.answered
        second.errors += report.errors
        second.total_us += report.latency_total_us
        second.max_us = max(second.max_us, report.latency_max_us)
        self.errors += report.errors
        if len(second.processes) == self.processes and len(second.histograms) == self.processes:
            return self._point(report.second, second, 1.0)
        return None

    def points(self, run_length: float) -> list[SeriesPoint]:
        """Every second of a run that lasted ``run_length`` seconds; a last partial second's
        rate is over the part that ran."""
        return [
            self._point(index, self.seconds[index], max(min(1.0, run_length - index), 0.001))
            for index in sorted(self.seconds)
        ]

    @staticmethod
    def _point(index: int, second: _Second, span: float) -> SeriesPoint:
        latency = summarize(merge(second.histograms), second.total_us, second.max_us)
        return SeriesPoint(index, span, second.answered, second.errors, latency)


def build_result(
    plan: Plan, reports: list[ProcessReport], series: SeriesCollector, error: str | None
) -> LoadResult:
    """One result from the processes' reports; ``error`` says why the run ended early, if it did."""
    if error is None:
        measured = plan.duration
    else:
        ended = max((report.ended_at for report in reports), default=0.0)
        measured = max(0.0, min(plan.duration, ended - plan.ramp_up))
    operations = {
        method: _operation(method, [report.operations[index] for report in reports], measured)
        for index, method in enumerate(plan.scenario.methods)
    }
    overall = _operation("all", [op for report in reports for op in report.operations], measured)
    return LoadResult(
        url=plan.target.url,
        era=plan.scenario.era,
        mix=plan.scenario.describe(),
        clients=plan.clients,
        processes=plan.processes,
        target_rps=plan.rps,
        duration=plan.duration,
        ramp_up=plan.ramp_up,
        timeout=plan.timeout,
        measured=measured,
        overall=overall,
        operations=operations,
        series=series.points(plan.ramp_up + measured),
        error=error,
    )


def _operation(method: str, parts: list[OperationReport], measured: float) -> OperationResult:
    errors = ErrorCounts()
    for part in parts:
        errors.add(part.errors)
    answered = sum(part.answered for part in parts)
    latency = summarize(
        merge([part.histogram for part in parts]),
        sum(part.latency_total_us for part in parts),
        max((part.latency_max_us for part in parts), default=0),
    )
    completed = sum(part.completed for part in parts)
    return OperationResult(
        method=method,
        requests=answered + errors.transport.total(),
        answered=answered,
        ok=sum(part.ok for part in parts),
        unsent=sum(part.unsent for part in parts),
        throughput_rps=completed / measured if measured else 0.0,
        latency=latency,
        errors=errors,
    )
