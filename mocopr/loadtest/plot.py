"""A picture of a run: throughput and latency percentiles, second by second.

matplotlib's object interface with its Agg canvas: no display, no pyplot global state, so that
it works on a server and from a library call alike.
"""

from pathlib import Path

from matplotlib.figure import Figure

from mocopr.loadtest.result import LoadResult

#: The latency lines drawn, by label of ``LatencySummary.to_dict``.
_PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")


def plot(result: LoadResult, path: str | Path) -> None:
    """Write a PNG with throughput (and errors, and the target) above latency on a log scale."""
    seconds = [point.second + point.span for point in result.series]
    figure = Figure(figsize=(10, 7), layout="constrained")
    throughput, latency = figure.subplots(2, 1, sharex=True)
    throughput.plot(seconds, [point.throughput_rps for point in result.series], label="answered/s")
    if any(point.errors for point in result.series):
        throughput.plot(seconds, [point.errors_per_second for point in result.series], label="errors/s")
    if result.target_rps is not None:
        throughput.axhline(result.target_rps, linestyle="--", color="grey", label="target")
    throughput.set_ylabel("requests/s")
    throughput.set_ylim(bottom=0)
    latencies = [point.latency.to_dict() for point in result.series]
    for label in _PERCENTILES:
        latency.plot(seconds, [values[label] for values in latencies], label=label)
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms)")
    latency.set_xlabel("seconds since the start")
    for axes in (throughput, latency):
        if result.ramp_up:
            axes.axvline(result.ramp_up, linestyle=":", color="grey")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper left", fontsize="small")
    figure.suptitle(f"{result.url}: {result.era} era, {result.loop}, {result.clients} clients")
    figure.savefig(path, dpi=100)
