"""The multiprocess runtime under wrk: ``mocopr serve --workers 2`` against the official SDK under
``uvicorn --workers 2``, in both eras, and new connections per second through mocopr's acceptor.

What is measured, for each case, with a fresh server per case and repeat:

- Throughput: wrk keeps ``-c`` keep-alive connections busy with ``tools/call add(a=1, b=2)`` (as
  ``http_wrk.py`` does, with its Lua scripts: every answer checked, errors never counted as
  throughput) at each load of ``--loads`` (default ``-t1 -c32`` and ``-t2 -c64``), after a warm-up:
  correct answers per second, wrk's p50/p99/max latency, errors.

  - ``mocopr modern`` / ``mocopr legacy``: ``mocopr serve benchmarks/http_mocopr_app.py:app --workers 2
    --admin ...``: a supervisor, an acceptor that hands each connection to the least-loaded worker,
    two workers pinned to the two CPUs. In the legacy era one session (opened by this script) lives
    on one worker; the requests that reach the other are forwarded to it over shared-memory rings.
  - ``sdk modern``: the SDK's ``MCPServer`` app from ``http_sdk_app.py``, stateless with JSON answers,
    under ``uvicorn --workers 2`` (its supervisor and two worker processes that accept on one socket,
    the kernel choosing which).
  - ``sdk legacy JSON`` / ``sdk legacy SSE``: the SDK's stateful app under ``uvicorn --workers 2``.
    Its workers do not share sessions: the session lives in the worker that answered ``initialize``,
    and the other answers 404 to every request for it. That is what a user of ``uvicorn --workers``
    with a stateful SDK app gets; it is reported as it is (404s per second), not hidden.
  - ``mocopr 1 process modern``: ``mocopr serve --single-process``, to show what the second worker
    (and the acceptor) add on this machine.
  - ``trio floor``: ``trio_floor.py --processes 2``, two bare trio loops, each listening on the port
    with ``SO_REUSEPORT``, answering each ``recv`` with one ``send``: the ceiling for any trio server
    with two processes here.

- Spread (mocopr): while wrk runs, every second, each worker's connections, from mocopr's ``/health``
  and from the kernel (``ss``: established TCP connections on the port, for every server); and each
  worker's requests over the measured run, from ``/health`` before and after. The spread is the
  largest distance of one worker's figure from the even share, as a fraction of that share.

- New connections per second: ``wrk/close.lua`` sends each request with ``Connection: close``, so each
  connection carries one request and wrk opens a new one for the next (the script also counts the
  answers that say ``connection: close``): mocopr ``--workers 2`` (each connection goes through the
  acceptor and a SCM_RIGHTS hand-over), the SDK under ``uvicorn --workers 2``, and the trio floor.

- Resources: the CPU time of every server process (per role: supervisor, acceptor, worker n, other),
  of wrk and of this script during each measured run, the rest of the machine's CPU time (noise), and
  each process's memory after the run: peak RSS (``VmHWM``) and USS (memory unique to the process).

The cases take turns within each repeat and medians over the repeats are reported, because the
machine is small and shared. On two CPUs, wrk competes with the servers' workers for the same CPUs,
so the wrk share of CPU is shown beside every figure.

Why: the runtime's targets are at least 6x the SDK's requests per second with 2 workers, connections
spread within 10% of even, p99 under 5 ms at ``-c32``, and at least 5,000 new connections per second.
The script prints its verdict on each after the tables.

    python benchmarks/runtime_wrk.py                   # full run (about 15 minutes)
    python benchmarks/runtime_wrk.py --quick           # smoke run: 2 s, 1 repeat
    python benchmarks/runtime_wrk.py --markdown /tmp/runtime_results.md
"""

import argparse
import contextlib
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from harness import peers
from harness.cases import Case, ServerUnderTest, WrkRun, server_under_test
from harness.environment import Environment, command_line, version
from harness.errors import BenchmarkError
from harness.http_client import read_health
from harness.markdown import column_table, publish, ratio, table, verdict
from harness.options import (
    add_quick_and_markdown,
    add_run_options,
    add_uvicorn_loop,
    apply_quick,
    require_positive,
)
from harness.processes import Launch, Server
from harness.stats import group_by, median, medians_by
from harness.turns import OnFailure, take_turns
from harness.usage import CpuMeter, failing_if_server_dies, peak_rss
from harness.wrk import Load
from harness.wrk_columns import (
    CASE,
    ERRORS,
    HARNESS_CPU,
    LATENCIES,
    LOAD,
    NON2XX_RATE,
    OTHER_CPU,
    SERVER_AND_WRK_CPU,
    rates,
)

MOCOPR, SINGLE, FLOOR = peers.MOCOPR, peers.SINGLE, peers.FLOOR
FIRST_CHECK_ATTEMPTS = 10  # a new connection to uvicorn may land on the worker without the session
SAMPLE_INTERVAL = 1.0  # seconds between samples of connections per worker
SAMPLE_MARGIN = 0.5  # no sample this close to the end of wrk's run, when it may be closing connections
TARGET_RATIO = 6.0
TARGET_SPREAD = 0.10
TARGET_P99_MS = 5.0
TARGET_NEW_CONNECTIONS = 5000.0
SS_INODE = re.compile(r"\bino:(\d+)")

CASES = (
    Case("mocopr modern", MOCOPR, "modern"),
    Case("sdk modern", "stateless-json", "modern"),
    Case("mocopr legacy", MOCOPR, "legacy"),
    Case("sdk legacy JSON", "stateful-json", "legacy"),
    Case("sdk legacy SSE", "stateful-sse", "legacy"),
    Case("mocopr 1 process modern", SINGLE, "modern"),
    Case("trio floor", FLOOR, "modern"),
)
CONNECT_CASES = (
    Case("mocopr new connections", MOCOPR, "modern", "close"),
    Case("sdk new connections", "stateless-json", "modern", "close"),
    Case("trio floor new connections", FLOOR, "modern", "close"),
)
# (label, numerator, denominator)
RATIOS = (
    ("mocopr / SDK, modern", "mocopr modern", "sdk modern"),
    ("mocopr / SDK, legacy (SDK answers as JSON)", "mocopr legacy", "sdk legacy JSON"),
    ("mocopr / SDK, legacy (SDK answers as SSE, its default)", "mocopr legacy", "sdk legacy SSE"),
    ("mocopr 2 workers / 1 process, modern", "mocopr modern", "mocopr 1 process modern"),
    ("mocopr / trio floor (2 processes), modern", "mocopr modern", "trio floor"),
    ("mocopr / SDK, new connections", "mocopr new connections", "sdk new connections"),
    ("mocopr / trio floor, new connections", "mocopr new connections", "trio floor new connections"),
)
#: One case and the loads it is measured at, on one fresh server.
Planned = tuple[Case, list[Load]]


@dataclass(frozen=True)
class Usage:
    """One process's share of a measured run: CPU seconds, and memory after the run."""

    cpu_s: float
    peak_rss: int  # VmHWM, bytes
    uss: int  # bytes


@dataclass(frozen=True)
class RuntimeRun(WrkRun):
    """One measured wrk run against one server, with each of its processes' share and the spread of the
    load over its workers."""

    usage: dict[str, Usage]  # by role, as process_roles names them
    first_check_tries: int
    kernel_connections: list[tuple[int, ...]] = field(default_factory=list)  # per worker, each sample
    health_connections: list[tuple[int, ...]] = field(default_factory=list)  # mocopr's /health
    worker_requests: tuple[int, ...] = ()  # mocopr's /health, over the measured run

    @property
    def workers(self) -> list[str]:
        return sorted(role for role in self.usage if role.startswith("worker"))


def spread(counts: Iterable[int]) -> float:
    """The largest distance of one count from the even share, as a fraction of that share."""
    values = list(counts)
    mean = sum(values) / len(values) if values else 0
    return max(abs(value - mean) for value in values) / mean if mean else 0.0


def launch(kind: str, options: argparse.Namespace) -> Launch:
    """How a server of one kind is started with ``options.workers`` processes (``SINGLE``: one)."""
    if kind == MOCOPR:
        return peers.mocopr_workers(options.workers)
    if kind == SINGLE:
        return peers.mocopr_single_process()
    if kind == FLOOR:
        return peers.trio_floor(options.workers)
    return peers.sdk_uvicorn(kind, options.workers, options.uvicorn_loop)


def process_roles(kind: str, server: Server, workers: int) -> dict[str, psutil.Process]:
    """The server's process tree by role: ``supervisor``, ``acceptor``, ``worker N``, ``resource tracker``
    (multiprocessing's), ``other N``."""
    root = psutil.Process(server.pid)
    tree = root.children(recursive=True)
    if kind == SINGLE:
        roles = {"worker 0": root}
    elif kind == MOCOPR:
        health = read_health(server.admin_url)
        by_pid = {process.pid: process for process in tree}
        roles = {"supervisor": root, "acceptor": by_pid[health["acceptor"]["pid"]]}
        roles |= {f"worker {w['slot']}": by_pid[w["pid"]] for w in health["workers"]}
    else:
        roles = {"supervisor": root}
        children = [p for p in tree if "resource_tracker" not in " ".join(p.cmdline())]
        roles |= {f"worker {n}": process for n, process in enumerate(sorted(children, key=lambda p: p.pid))}
    found = sum(role.startswith("worker") for role in roles)
    if found != (1 if kind == SINGLE else workers):
        raise BenchmarkError(f"{kind}: {found} worker processes, expected {workers}")
    known = {process.pid for process in roles.values()}
    for n, process in enumerate(p for p in tree if p.pid not in known):
        roles["resource tracker" if "resource_tracker" in " ".join(process.cmdline()) else f"other {n}"] = (
            process
        )
    return roles


def established(processes: list[psutil.Process], port: int) -> tuple[int, ...]:
    """Each process's established TCP connections on the server's port.

    The kernel lists the port's established sockets (``ss``, filtered in the kernel: psutil's
    ``net_connections`` parses every socket of the machine, and after a run of new connections there
    are some 100,000 in TIME_WAIT, which made this script take a tenth of a CPU), and each process's
    descriptors are matched to them by inode."""
    listing = subprocess.run(
        ["ss", "-Htne", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    inodes = {f"socket:[{inode}]" for inode in SS_INODE.findall(listing)}
    counts = []
    for process in processes:
        fd_dir = Path(f"/proc/{process.pid}/fd")
        count = 0
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd) in inodes
        counts.append(count)
    return tuple(counts)


class Sampler:
    """Samples connections per worker every ``SAMPLE_INTERVAL`` seconds on a thread, while wrk runs
    (until ``SAMPLE_MARGIN`` before its end): from the kernel, and for mocopr from ``/health``."""

    def __init__(self, workers: list[psutil.Process], port: int, admin_url: str, seconds: float) -> None:
        self.workers, self.port, self.admin_url = workers, port, admin_url
        self.deadline = time.monotonic() + seconds - SAMPLE_MARGIN
        self.kernel_samples: list[tuple[int, ...]] = []
        self.health_samples: list[tuple[int, ...]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL) and time.monotonic() < self.deadline:
            try:
                self.kernel_samples.append(established(self.workers, self.port))
                if self.admin_url:
                    workers = read_health(self.admin_url)["workers"]
                    self.health_samples.append(tuple(w["connections"] for w in workers))
            except (psutil.Error, OSError, ValueError, subprocess.SubprocessError):
                continue


def worker_requests(admin_url: str) -> tuple[int, ...]:
    return tuple(w["requests"] for w in read_health(admin_url)["workers"]) if admin_url else ()


def measure_load(
    under_test: ServerUnderTest, load: Load, roles: dict[str, psutil.Process], seconds: int
) -> RuntimeRun:
    """One measured wrk run, with the CPU time, memory and spread around it."""
    case, server = under_test.case, under_test.server
    steady = case.script_name != "close"
    workers = [roles[role] for role in sorted(roles) if role.startswith("worker")]
    port = urlsplit(server.url).port or 0
    with failing_if_server_dies(case.name):
        requests_before = worker_requests(server.admin_url)
        # With one request per connection there is no steady count of connections to sample.
        with (
            CpuMeter(roles) as cpu,
            Sampler(workers, port, server.admin_url, seconds if steady else 0) as sampler,
        ):
            report = under_test.run_wrk(load, seconds)
        usage = {
            role: Usage(cpu.by_role[role], peak_rss(process.pid), process.memory_full_info().uss)
            for role, process in roles.items()
        }
        requests_after = worker_requests(server.admin_url)
    return RuntimeRun(
        case=case,
        load=load,
        wrk=report,
        server_cpu_s=cpu.server_s,
        harness_cpu_s=cpu.harness_s,
        other_cpu_s=cpu.others_s(report.cpu_s),
        usage=usage,
        first_check_tries=under_test.first_check_tries,
        kernel_connections=sampler.kernel_samples,
        health_connections=sampler.health_samples,
        worker_requests=tuple(a - b for a, b in zip(requests_after, requests_before, strict=True)),
    )


def measure_case(
    planned: Planned, options: argparse.Namespace, log_dir: Path, environment: Environment
) -> list[RuntimeRun]:
    """A fresh server for one case: check one answer strictly, then warm up and measure each load."""
    case, loads = planned
    log = log_dir / f"{case.name.replace(' ', '_')}.log"
    launched = launch(case.server, options)
    with server_under_test(case, launched, log, attempts=FIRST_CHECK_ATTEMPTS) as under_test:
        environment.add_banner(case.server, under_test.server.banner)
        roles = process_roles(case.server, under_test.server, options.workers)
        runs = []
        for load in loads:
            under_test.warm_up(load, options.warmup)
            runs.append(measure_load(under_test, load, roles, options.duration))
    return runs


def describe(run: RuntimeRun) -> str:
    f = run.wrk.fields
    seconds = run.wrk.seconds
    workers = " / ".join(f"{run.usage[w].cpu_s / seconds:.0%}" for w in run.workers)
    text = (
        f"{run.case.name} {run.load}: {run.wrk.ok_per_s:,.0f} answers/s, p50 {f['p50_us'] / 1000:.2f} ms,"
        f" p99 {f['p99_us'] / 1000:.2f} ms, errors {run.wrk.errors} (non-2xx {f['non2xx']}),"
        f" CPU server {run.server_cpu_s / seconds:.0%} (workers {workers}),"
        f" wrk {run.wrk.cpu_s / seconds:.0%}, others {run.other_cpu_s / seconds:.0%}"
    )
    if run.worker_requests:
        text += f", requests per worker {run.worker_requests}"
    if run.kernel_connections:
        text += f", connections per worker {run.kernel_connections[len(run.kernel_connections) // 2]}"
    return text


def rows_of(runs: list[RuntimeRun], cases: Sequence[Case]) -> list[list[RuntimeRun]]:
    """The runs grouped by case and load, in the cases' order, then the loads'."""
    groups = group_by(runs, lambda run: (run.case, run.load))
    return [groups[case, load] for case in cases for load in sorted(load for c, load in groups if c == case)]


def throughput_table(runs: list[RuntimeRun], cases: Sequence[Case], what: str) -> list[str]:
    columns = [
        CASE, LOAD, *rates(what), *LATENCIES, NON2XX_RATE, ERRORS, *SERVER_AND_WRK_CPU, HARNESS_CPU, OTHER_CPU
    ]  # fmt: skip
    return column_table(columns, rows_of(runs, cases), labels=2)


def process_table(runs: list[RuntimeRun], cases: Sequence[Case]) -> list[str]:
    headings = [
        "case", "wrk", "CPU per worker", "other processes' CPU", "peak RSS MiB per worker",
        "USS MiB per worker", "peak RSS MiB, other processes", "connections per worker (kernel)",
        "connections per worker (/health)", "spread of connections (worst sample)",
        "requests per worker (/health, each run)", "spread of requests (worst run)",
    ]  # fmt: skip
    return table(headings, map(process_row, rows_of(runs, cases)), labels=2)


def process_row(own: list[RuntimeRun]) -> list[str]:
    """Each worker's CPU, memory, connections and requests (and the other processes'), over the repeats."""
    workers = own[0].workers
    others = [role for role in own[0].usage if role not in workers]

    def cpu(role: str) -> str:
        return f"{median(run.usage[role].cpu_s / run.wrk.seconds for run in own):.0%}"

    def rss(role: str) -> str:
        return f"{max(run.usage[role].peak_rss for run in own) / 2**20:.1f}"

    def uss(role: str) -> str:
        return f"{median(run.usage[role].uss for run in own) / 2**20:.1f}"

    kernel = [sample for run in own for sample in run.kernel_connections]
    health = [sample for run in own for sample in run.health_connections]
    requests = [run.worker_requests for run in own if run.worker_requests]
    several = len(workers) > 1
    connections_spread = max(spread(s) for s in health or kernel) if several and (health or kernel) else None
    requests_spread = max(spread(r) for r in requests) if several and requests else None
    return [
        own[0].case.name,
        str(own[0].load),
        " / ".join(map(cpu, workers)),
        ", ".join(f"{role} {cpu(role)}" for role in others) or "-",
        " / ".join(map(rss, workers)),
        " / ".join(map(uss, workers)),
        ", ".join(f"{role} {rss(role)}" for role in others) or "-",
        typical(kernel),
        typical(health),
        "-" if connections_spread is None else f"{connections_spread:.0%}",
        " ; ".join(" / ".join(f"{n:,}" for n in r) for r in requests) or "-",
        "-" if requests_spread is None else f"{requests_spread:.1%}",
    ]


def typical(samples: list[tuple[int, ...]]) -> str:
    """The most common sample, and the range of the others if they differ."""
    if not samples:
        return "-"
    common = max(set(samples), key=samples.count)
    text = " / ".join(str(n) for n in common)
    if len(set(samples)) > 1:
        text += f" ({samples.count(common)} of {len(samples)} samples)"
    return text


def medians_of(runs: list[RuntimeRun]) -> dict[tuple[str, Load], float]:
    """Median correct answers per second by case name and load."""
    return medians_by(runs, lambda run: (run.case.name, run.load), lambda run: run.wrk.ok_per_s)


def loads_of(medians: dict[tuple[str, Load], float], name: str) -> list[Load]:
    return sorted(load for case, load in medians if case == name)


def ratio_lines(runs: list[RuntimeRun]) -> list[str]:
    medians = medians_of(runs)
    return [
        f"- {label}, wrk {load}: {ratio(medians[mine, load], medians[theirs, load], ' answers/s')}"
        for label, mine, theirs in RATIOS
        for load in loads_of(medians, mine)
        if medians.get((theirs, load))
    ]


def target_lines(runs: list[RuntimeRun]) -> list[str]:
    """The runtime's targets, judged from the medians."""
    medians = medians_of(runs)
    lines = []
    for mine, theirs in (("mocopr modern", "sdk modern"), ("mocopr legacy", "sdk legacy JSON")):
        for load in loads_of(medians, mine):
            if (theirs, load) in medians:
                times = medians[mine, load] / medians[theirs, load]
                lines.append(
                    f"- >= {TARGET_RATIO:.0f}x the SDK's requests/s with 2 workers, {mine} against {theirs},"
                    f" wrk {load}: {times:.1f}x, {verdict(times >= TARGET_RATIO)}"
                )
    for own in rows_of(runs, CASES):
        case, load = own[0].case, own[0].load
        if case.server != MOCOPR:
            continue
        connections = max((spread(s) for run in own for s in run.health_connections), default=0.0)
        requests = max((spread(run.worker_requests) for run in own if run.worker_requests), default=0.0)
        lines.append(
            f"- spread within {TARGET_SPREAD:.0%} of even, {case.name}, wrk {load}: connections"
            f" (/health, worst sample) {connections:.0%}, requests (worst run) {requests:.1%},"
            f" {verdict(max(connections, requests) <= TARGET_SPREAD)}"
        )
        if load.connections == 32:
            p99_ms = median(run.wrk.fields["p99_us"] for run in own) / 1000
            lines.append(
                f"- p99 < {TARGET_P99_MS:.0f} ms at -c32, {case.name}, wrk {load}: {p99_ms:.2f} ms,"
                f" {verdict(p99_ms < TARGET_P99_MS)}"
            )
    for own in rows_of(runs, CONNECT_CASES):
        if own[0].case.server == MOCOPR:
            rate = median(run.wrk.ok_per_s for run in own)
            lines.append(
                f"- >= {TARGET_NEW_CONNECTIONS:,.0f} new connections/s, wrk {own[0].load}: {rate:,.0f},"
                f" {verdict(rate >= TARGET_NEW_CONNECTIONS)}"
            )
    return lines


def closed_lines(runs: list[RuntimeRun]) -> list[str]:
    """How many answers of the new-connection runs said ``connection: close``."""
    lines = []
    for own in rows_of(runs, CONNECT_CASES):
        closed = sum(run.wrk.fields["extra"].get("closed", 0) for run in own)
        answered = sum(run.wrk.fields["requests"] for run in own)
        lines.append(f"- {own[0].case.name}: {closed:,} of {answered:,} answers said `connection: close`")
    return lines


def report(runs: list[RuntimeRun], options: argparse.Namespace, environment: Environment) -> list[str]:
    kinds = sorted({case.server for case in (*CASES, *CONNECT_CASES)})
    first_tries = sorted({run.first_check_tries for run in runs if run.first_check_tries > 1})
    lines = [
        "# The multiprocess runtime under wrk: mocopr --workers 2, the SDK under uvicorn --workers 2",
        "",
        command_line(),
        "",
        f"{options.workers} worker processes per server; wrk {', '.join(str(load) for load in options.loads)}"
        f" (new connections: {options.connect_load}), {options.duration} s per run after a {options.warmup} s"
        f" warm-up; {options.repeats} repeat(s), the cases taking turns; a fresh server per case and repeat.",
        "",
        *environment.facts,
        *environment.changes(),
        *(f"- {kind}: `{shlex.join(launch(kind, options).argv)}`" for kind in kinds),
        *environment.banner_lines(),
        environment.load_average_line(),
        "",
        "## Throughput (keep-alive connections)",
        "",
        *throughput_table(runs, CASES, "answers"),
        "",
        "## Processes: CPU, memory, spread over the workers",
        "",
        *process_table(runs, CASES),
        "",
        "## New connections per second (one request per connection)",
        "",
        *throughput_table(runs, CONNECT_CASES, "connections"),
        "",
        *process_table(runs, CONNECT_CASES),
        "",
        *closed_lines(runs),
        "",
        "## Ratios",
        "",
        *ratio_lines(runs),
        "",
        "## Targets",
        "",
        *target_lines(runs),
        "",
        "answers/s counts only correct answers (HTTP 2xx with add's result 3, not a tool error); non-2xx/s is"
        " the median rate of other statuses (the SDK's workers answer 404 for a session that another worker"
        " holds); errors are summed over the repeats. Latencies are wrk's (corrected for coordinated"
        " omission), medians over the repeats; mean ms (Little) is connections x duration / answers."
        " CPU columns are medians of CPU time over wall time during the measured run (100% = one core):"
        " server is every process of the server, wrk share is wrk's CPU over wrk's and the server's, this"
        " script is the harness (it samples connections), other CPU is the rest of the machine (noise)."
        " Peak RSS is VmHWM (the process's whole life), the largest over the repeats; USS is memory"
        " unique to the process after the run, the median. Connections per worker are samples taken every"
        f" {SAMPLE_INTERVAL:.0f} s while wrk runs, from the kernel (established TCP connections) and from"
        " mocopr's /health (the spread of connections is taken from /health where there is one, else from the"
        " kernel); requests per worker are mocopr's /health counts over each measured run (one group per"
        " repeat). A spread is the largest distance of one worker from the even share, as a fraction of it.",
    ]
    if first_tries:
        lines += [
            "",
            f"The first strict check of an answer needed {', '.join(map(str, first_tries))} tries in some"
            " runs: its connection reached a worker without the session (404).",
        ]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (default: 2)")
    parser.add_argument(
        "--loads", default="1x32,2x64", help="wrk THREADSxCONNECTIONS, comma-separated (default: 1x32,2x64)"
    )
    parser.add_argument("--connect-load", default="1x32", help="wrk load for new connections (default: 1x32)")
    add_run_options(parser, duration=10, repeats_help="runs per case and load")
    add_uvicorn_loop(parser)
    parser.add_argument(
        "--cases", help="comma-separated case names to run (default: all), e.g. 'mocopr modern,sdk modern'"
    )
    add_quick_and_markdown(parser)
    options = parser.parse_args(argv)
    try:
        options.loads = [Load.parse(text) for text in options.loads.split(",")]
        options.connect_load = Load.parse(options.connect_load)
    except ValueError as exc:
        parser.error(str(exc))
    names = {case.name for case in (*CASES, *CONNECT_CASES)}
    options.cases = set(options.cases.split(",")) if options.cases else names
    if options.cases - names:
        parser.error(
            f"unknown cases: {', '.join(sorted(options.cases - names))}; known: {', '.join(sorted(names))}"
        )
    apply_quick(options, duration=2)
    require_positive(parser, options, "workers", "duration", "repeats", "warmup")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    environment = Environment(f"- psutil {version('psutil')}")
    plan: list[Planned] = [(case, options.loads) for case in CASES]
    plan += [(case, [options.connect_load]) for case in CONNECT_CASES]
    rounds = take_turns(
        "runtime_wrk", [(case, loads) for case, loads in plan if case.name in options.cases], options.repeats,
        lambda planned, turn: measure_case(planned, options, turn.log_dir, environment),
        label=lambda planned: planned[0].name, describe=describe, on_failure=OnFailure.STOP,
    )  # fmt: skip
    if rounds.failures:
        return 2
    environment.finish()
    publish(report(rounds.results, options, environment), options.markdown)
    # Errors are expected only from the SDK's stateful apps (the worker without the session: 404).
    unexpected = [run for run in rounds.results if run.case.era == "modern" or run.case.server == MOCOPR]
    return 1 if any(run.wrk.errors for run in unexpected) else 0


if __name__ == "__main__":
    sys.exit(main())
