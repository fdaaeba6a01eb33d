"""The columns of a table of wrk runs, each row the repeats of one case at one load: correct answers per
second (the median and every run), wrk's latencies, the mean latency by Little's law, errors by kind,
and CPU time over wall time during the measured run (100% = one core). Figures are medians over the
repeats; errors are summed over them."""

from collections.abc import Callable, Sequence

from .cases import WrkRun
from .markdown import Column, each_run
from .stats import median

Runs = Sequence[WrkRun]


def _latency_ms(key: str, digits: int) -> Callable[[Runs], str]:
    return lambda runs: f"{median(run.wrk.fields[key] for run in runs) / 1000:.{digits}f}"


def _cpu_share(of: Callable[[WrkRun], float]) -> Callable[[Runs], str]:
    """CPU seconds per second of the run."""
    return lambda runs: f"{median(of(run) / run.wrk.seconds for run in runs):.0%}"


def _little_ms(runs: Runs) -> str:
    """Connections x duration / answers: the true mean latency when every connection is kept busy."""
    mean_s = median(run.load.connections * run.wrk.seconds / run.wrk.fields["requests"] for run in runs)
    return f"{1000 * mean_s:.2f}"


def _errors(runs: Runs) -> str:
    non2xx, bad_body = (sum(run.wrk.fields[key] for run in runs) for key in ("non2xx", "bad_body"))
    return f"{non2xx} / {bad_body} / {sum(run.wrk.socket_errors for run in runs)}"


def _wrk_share(runs: Runs) -> str:
    """wrk's CPU time over wrk's and the server's together."""
    return f"{median(run.wrk.cpu_s / (run.wrk.cpu_s + run.server_cpu_s) for run in runs):.0%}"


def rates(what: str) -> list[Column[Runs]]:
    """Correct ``what`` per second: the median, and each run's."""
    return [
        Column(f"{what}/s (median)", lambda runs: f"{median(run.wrk.ok_per_s for run in runs):,.0f}"),
        Column(f"{what}/s (runs)", lambda runs: each_run(run.wrk.ok_per_s for run in runs)),
    ]


CASE = Column[Runs]("case", lambda runs: runs[0].case.name)
LOAD = Column[Runs]("wrk", lambda runs: str(runs[0].load))
LATENCIES = [
    Column("p50 ms", _latency_ms("p50_us", 2)),
    Column("p99 ms", _latency_ms("p99_us", 2)),
    Column("max ms", _latency_ms("max_us", 1)),
    Column("mean ms (Little)", _little_ms),
]
NON2XX_RATE = Column[Runs](
    "non-2xx/s", lambda runs: f"{median(r.wrk.fields['non2xx'] / r.wrk.seconds for r in runs):,.0f}"
)
ERRORS = Column[Runs]("errors (non-2xx / bad body / socket)", _errors)
SERVER_AND_WRK_CPU = [
    Column("server CPU", _cpu_share(lambda run: run.server_cpu_s)),
    Column("wrk CPU", _cpu_share(lambda run: run.wrk.cpu_s)),
    Column("wrk share of CPU", _wrk_share),
]
HARNESS_CPU = Column[Runs]("this script", _cpu_share(lambda run: run.harness_cpu_s))
OTHER_CPU = Column[Runs]("other CPU", _cpu_share(lambda run: run.other_cpu_s))
