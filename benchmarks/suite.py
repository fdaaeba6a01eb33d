"""The benchmark suite: mocopr against its peers, in one run on one machine, with two load generators.

What is measured, and why:

- Throughput of one workload, ``tools/call add(a=1, b=2)`` over Streamable HTTP on 127.0.0.1, against
  every server below, with wrk (``-t1 -c32``, the Lua scripts of ``wrk/``) and with ``mocopr loadtest``
  (closed loop, 32 clients, its default of one load process per CPU), so that the two load generators
  can be compared on the same servers. The headline figure is correct answers per second: wrk's
  scripts count every answer whose status or body is wrong, and the load tester counts transport
  errors, HTTP statuses, JSON-RPC errors and tool errors; neither is ever counted as throughput.
  Before any load, one answer from each server is checked strictly (id, add's result 3 as text and
  structured content, not a tool error, ``resultType`` in the modern era).

  - ``mocopr 1 worker``: ``mocopr serve --single-process``; ``mocopr N workers``: ``mocopr serve
    --workers N`` (supervisor, acceptor, N pinned workers).
  - ``SDK 1 worker`` / ``SDK N workers``: the official SDK's ``MCPServer`` (``http_sdk_app.py``) under
    ``uvicorn --workers 1`` / ``--workers N``, stateless with JSON answers in the modern era; stateful
    with JSON answers (sessions) in the legacy era.
  - ``FastMCP 1 worker`` / ``FastMCP N workers``: the standalone ``fastmcp`` package
    (``suite_apps/fastmcp_app.py``) under the same uvicorn command line as the SDK, in the same modes.
  - ``nginx``: nginx with N worker processes answering every POST with a fixed JSON-RPC result: no MCP
    at all, the ceiling of this machine and these load generators.

  Eras: modern (2026-07-28: stateless, routing headers, ``_meta``) for every server; legacy
  (2025-11-25: ``initialize``, then calls in a session) for the servers that keep a session on one
  process: mocopr (both; with N workers a session lives on one worker and the others forward to it)
  and the 1-worker SDK and FastMCP. uvicorn's workers do not share sessions (a request that reaches
  the other worker gets 404), so their N-worker legacy cases are not run. wrk's 32 connections share
  one session (opened by this script); the load tester opens one session per client.

- The load tester's own ceiling: its answers per second against nginx as a fraction of wrk's. The
  issue asks for at least half, so that when it measures an MCP server it is not the bottleneck.

- Latency under concurrency: wrk ``-t1 -cC`` for C in 1, 4, 8, 16 against mocopr and the SDK, one
  worker each, modern era: wrk's percentiles (corrected for coordinated omission) and the mean by
  Little's law.

- Serialization, in this process, with no I/O: the four conversions of one ``tools/call`` of the
  ``echo`` tool with 1 KB, 10 KB and 100 KB of text (``codec.py``'s payloads): the request to bytes
  (a client's work), the request from bytes to validated arguments and the result to bytes (a
  server's work), the result from bytes (a client's). mocopr's way is msgspec: ``messages.decode_message``,
  ``decode_params`` into ``CallToolParams``, the tool's own typed argument decoder, ``Tool.result`` and
  ``messages.encode_result``; a typed ``msgspec`` decoder for the result. The SDK's way is its pydantic
  models, ``mcp.types``: ``jsonrpc_message_adapter.validate_json``, ``CallToolRequestParams``, the
  tool's pydantic argument model, ``CallToolResult`` and ``JSONRPCResponse``/``JSONRPCRequest`` dumped as
  the SDK's transports dump them. Every output is checked before it is timed.

Every server is started fresh for each case and repeat and always stopped (SIGTERM, then SIGKILL to
what is left of its process tree). The cases take turns within each repeat, and wrk and the load
tester take turns going first, so that the slow phases of a shared machine fall on all of them alike;
the report gives medians over the repeats and the CPU time of each server and of each load generator
(on two CPUs the generator competes with the server).

    python benchmarks/suite.py                  # full run (about 11 minutes), into benchmarks/RESULTS.md
    python benchmarks/suite.py --quick          # smoke run (about 1.5 minutes), prints the report only
    python benchmarks/suite.py --repeats 5 --duration 10 --output /tmp/suite.md
"""

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import psutil
from harness import peers
from harness.cases import Case, ServerUnderTest, server_under_test
from harness.environment import Environment, command_line, version
from harness.errors import WrongAnswer
from harness.jsonrpc import ERAS
from harness.loadtest import loadtest_argv, run_loadtest
from harness.markdown import each_run, publish, ratio, replace_section, table, verdict
from harness.options import add_run_options
from harness.paths import BENCH_DIR
from harness.processes import Launch
from harness.stats import group_by, median, medians_by
from harness.turns import OnFailure, Turn, take_turns
from harness.usage import CpuMeter, failing_if_server_dies
from harness.wrk import Load
from serialization import Timings, measure_serialization, serialization_lines
from trio_floor import BODY as FIXED_ANSWER

CONNECTIONS = 32
GENERATORS = ("wrk", "loadtest")
SWEEP = (1, 4, 8, 16)
SWEEP_TARGETS = ("mocopr 1 worker", "SDK 1 worker")  # the latency sweep: mocopr against the SDK
CEILING_TARGET = 0.5  # the load tester against nginx: at least half of wrk's answers per second
#: mocopr's grace period on SIGTERM, in the environment of the servers this script starts: it bounds
#: only how long a stop waits for requests in flight (there are none when a case ends), and a server
#: still draining after the harness's stop timeout is killed, which leaves its shared memory behind.
GRACE_ENV = {"MOCOPR_SERVER_GRACEFUL_TIMEOUT": "2"}
#: The suite's report is the section of RESULTS.md between these lines, replaced by each full run.
RESULTS = BENCH_DIR / "RESULTS.md"
SECTION_BEGIN = "<!-- written by benchmarks/suite.py: begin -->"
SECTION_END = "<!-- written by benchmarks/suite.py: end -->"
MODES = {"modern": "stateless-json", "legacy": "stateful-json"}  # the SDK's and FastMCP's app per era
WRK_ERRORS = ("non2xx", "bad_body", "connect_errors", "read_errors", "write_errors", "timeouts")


@dataclass(frozen=True)
class Target:
    """One server as the suite runs it: which program (``peer``), how many worker processes, and the
    eras it is measured in."""

    name: str
    peer: str  # "mocopr", "sdk", "fastmcp" or "nginx"
    workers: int
    eras: tuple[str, ...]


#: One target in one era: a case of the suite, on a fresh server each repeat.
SuiteCase = tuple[Target, str]


@dataclass(frozen=True)
class Sample:
    """One measured run of one load generator against one server."""

    target: str
    era: str
    tool: str  # "wrk" or "loadtest"
    connections: int
    ok_per_s: float  # correct answers per second
    #: mean, p50, p90, p99 and max, as the generator measured them (wrk's corrected for coordinated omission)
    latency_ms: dict[str, float]
    errors: int
    error_detail: str  # the errors by kind, empty when there are none
    server_cpu: float  # the server's CPU seconds (all its processes) per second of the run
    generator_cpu: float  # the load generator's CPU seconds per second of the run

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.target, self.era, self.tool, self.connections


def targets(workers: int, fastmcp: bool) -> list[Target]:
    """The servers of one run; FastMCP's only where the ``fastmcp`` package can be imported."""
    both, modern = ("modern", "legacy"), ("modern",)
    found = [
        Target("mocopr 1 worker", "mocopr", 1, both),
        Target(f"mocopr {workers} workers", "mocopr", workers, both),
        Target("SDK 1 worker", "sdk", 1, both),
        Target(f"SDK {workers} workers", "sdk", workers, modern),
    ]
    if fastmcp:
        found += [
            Target("FastMCP 1 worker", "fastmcp", 1, both),
            Target(f"FastMCP {workers} workers", "fastmcp", workers, modern),
        ]
    return [*found, Target("nginx", peers.NGINX, workers, modern)]


# -- starting servers --------------------------------------------------------------------------


def launch(target: Target, era: str) -> Launch:
    """How ``target`` starts for ``era`` (nginx: ``peers.nginx``, in a directory of its own): mocopr and
    the SDK as ``runtime_wrk.py`` starts them, FastMCP under the SDK's uvicorn command line."""
    if target.peer == "mocopr":
        return peers.mocopr_single_process() if target.workers == 1 else peers.mocopr_workers(target.workers)
    if target.peer == "fastmcp":
        return peers.fastmcp_uvicorn(MODES[era], target.workers)
    return peers.sdk_uvicorn(MODES[era], target.workers, "auto")


def started(target: Target, era: str, log_dir: Path) -> AbstractContextManager[ServerUnderTest]:
    """``target`` started for ``era`` on 127.0.0.1, checked once, and always stopped."""
    if target.peer == peers.NGINX:
        prefix = Path(tempfile.mkdtemp(prefix="nginx.", dir=log_dir))
        launched = peers.nginx(prefix, target.workers, FIXED_ANSWER)
    else:
        launched = launch(target, era)
    log = log_dir / f"{target.name.replace(' ', '_')}.{era}.log"
    return server_under_test(Case(target.name, target.peer, era), launched, log)


def server_processes(under_test: ServerUnderTest) -> dict[str, psutil.Process]:
    """Every process of the server, for its CPU time."""
    root = psutil.Process(under_test.server.pid)
    return {str(process.pid): process for process in [root, *root.children(recursive=True)]}


def launch_command(target: Target, era: str) -> str:
    """The command line of ``target`` in Markdown, with placeholders for what each run chooses."""
    if target.peer == peers.NGINX:
        return (
            f"`{shlex.join(peers.nginx_argv(Path('PREFIX')))}` (PREFIX/nginx.conf: `worker_processes"
            f" {target.workers}`, `listen 127.0.0.1:PORT`, `location = /mcp` answered by `return 200` with a"
            " fixed tools/call result, `access_log off`)"
        )
    return f"`{shlex.join(launch(target, era).argv)}`"


# -- load generators ---------------------------------------------------------------------------


def measure_wrk(
    under_test: ServerUnderTest, processes: Mapping[str, psutil.Process], connections: int, seconds: int
) -> Sample:
    """One wrk run, ``-t1 -c<connections>``, with the server's CPU time around it."""
    case = under_test.case
    with failing_if_server_dies(case.name), CpuMeter(processes) as cpu:
        report = under_test.run_wrk(Load(1, connections), seconds)
    fields = report.fields
    latency_ms = {key: fields[f"{key}_us"] / 1000 for key in ("mean", "p50", "p90", "p99", "max")}
    detail = ", ".join(f"{kind} x{fields[kind]}" for kind in WRK_ERRORS if fields[kind])
    return Sample(
        case.name, case.era, "wrk", connections, report.ok_per_s, latency_ms, report.errors, detail,
        cpu.server_s / report.seconds, report.cpu_s / report.seconds,
    )  # fmt: skip


def measure_loadtest(
    under_test: ServerUnderTest, processes: Mapping[str, psutil.Process], seconds: int, log_dir: Path
) -> Sample:
    """One ``mocopr loadtest`` run, with the server's CPU time around it."""
    case = under_test.case
    with failing_if_server_dies(case.name), CpuMeter(processes) as cpu:
        report = run_loadtest(
            under_test.server.url, case.era, CONNECTIONS, seconds, log_dir / "loadtest.json"
        )
    return Sample(
        case.name, case.era, "loadtest", CONNECTIONS, report.ok_per_s, report.latency_ms, report.errors,
        report.error_detail, cpu.server_s / report.seconds, report.cpu_s / report.seconds,
    )  # fmt: skip


def measure_case(
    suite_case: SuiteCase, options: argparse.Namespace, log_dir: Path, wrk_first: bool
) -> list[Sample]:
    """A fresh server: one strict check, a warm-up, wrk and the load tester at ``CONNECTIONS`` (in the
    order ``wrk_first`` says), then the latency sweep where the target has one."""
    target, era = suite_case
    with started(target, era, log_dir) as under_test:
        processes = server_processes(under_test)
        under_test.warm_up(Load(1, CONNECTIONS), options.warmup)

        def wrk() -> Sample:
            return measure_wrk(under_test, processes, CONNECTIONS, options.duration)

        def loadtest() -> Sample:
            return measure_loadtest(under_test, processes, options.duration, log_dir)

        samples = [wrk(), loadtest()] if wrk_first else [loadtest(), wrk()]
        if era == "modern" and target.name in SWEEP_TARGETS:
            samples += [measure_wrk(under_test, processes, c, options.duration) for c in SWEEP]
    return samples


def describe(sample: Sample) -> str:
    return (
        f"{sample.target} {sample.era} {sample.tool} -c{sample.connections}:"
        f" {sample.ok_per_s:,.0f} answers/s,"
        f" p50 {sample.latency_ms['p50']:.2f} ms, p99 {sample.latency_ms['p99']:.2f} ms,"
        f" errors {sample.errors},"
        f" CPU server {sample.server_cpu:.0%}, generator {sample.generator_cpu:.0%}"
    )


# -- the report --------------------------------------------------------------------------------


def medians(samples: list[Sample]) -> dict[tuple[str, str, str, int], float]:
    """Median correct answers per second by (target, era, tool, connections)."""
    return medians_by(samples, lambda s: s.key, lambda s: s.ok_per_s)


def select(samples: list[Sample], target: str, era: str, tool: str, connections: int) -> list[Sample]:
    return group_by(samples, lambda s: s.key).get((target, era, tool, connections), [])


def rows_of(
    samples: list[Sample], era: str, runs: list[Target]
) -> Iterator[tuple[Target, dict[str, list[Sample]]]]:
    """Each server measured in ``era`` by both generators at ``CONNECTIONS``, and its samples by tool."""
    for target in runs:
        own = {tool: select(samples, target.name, era, tool, CONNECTIONS) for tool in GENERATORS}
        if era in target.eras and all(own.values()):
            yield target, own


def throughput_table(samples: list[Sample], era: str, runs: list[Target], nginx: str) -> list[str]:
    """Correct answers per second: both generators' medians and runs, their ratio, the share of nginx."""
    figures = medians(samples)
    headings = [
        "server", "wrk answers/s", "wrk runs", "loadtest answers/s", "loadtest runs", "loadtest / wrk",
        "of nginx (wrk)", "of nginx (loadtest)",
    ]  # fmt: skip
    rows = []
    for target, own in rows_of(samples, era, runs):
        rate = {tool: figures[target.name, era, tool, CONNECTIONS] for tool in GENERATORS}
        ceiling = {tool: figures.get((nginx, "modern", tool, CONNECTIONS), 0.0) for tool in GENERATORS}
        rows.append([
            target.name, f"{rate['wrk']:,.0f}", each_run(s.ok_per_s for s in own["wrk"]),
            f"{rate['loadtest']:,.0f}", each_run(s.ok_per_s for s in own["loadtest"]),
            f"{rate['loadtest'] / rate['wrk']:.2f}",
            share(rate["wrk"], ceiling["wrk"]), share(rate["loadtest"], ceiling["loadtest"]),
        ])  # fmt: skip
    return table(headings, rows)


def detail_table(samples: list[Sample], era: str, runs: list[Target]) -> list[str]:
    """Latency, errors and CPU of the same runs, each cell ``wrk / loadtest``."""
    headings = [
        "server",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "mean ms (Little)",
        "errors",
        "server CPU",
        "generator CPU",
    ]
    return table(headings, (detail_row(target, own) for target, own in rows_of(samples, era, runs)))


def detail_row(target: Target, own: dict[str, list[Sample]]) -> list[str]:
    def cell(of: Callable[[Sample], float], fmt: str) -> str:
        return " / ".join(format(median(of(s) for s in own[tool]), fmt) for tool in GENERATORS)

    def latency(key: str) -> str:
        return cell(lambda s: s.latency_ms[key], ".2f")

    errors = " / ".join(str(sum(s.errors for s in own[tool])) for tool in GENERATORS)
    return [
        target.name, latency("p50"), latency("p99"), latency("mean"), cell(little_ms, ".2f"), errors,
        cell(lambda s: s.server_cpu, ".0%"), cell(lambda s: s.generator_cpu, ".0%"),
    ]  # fmt: skip


def little_ms(sample: Sample) -> float:
    """The mean time per answer on one connection, by Little's law: connections / answers per second."""
    return 1000 * sample.connections / sample.ok_per_s


def share(value: float, ceiling: float) -> str:
    return f"{value / ceiling:.0%}" if ceiling else "-"


def ratio_lines(
    samples: list[Sample], pairs: list[tuple[str, str, str]], as_share: bool = False
) -> list[str]:
    """``mine / theirs`` for each pair and era that both have, by each load generator (``as_share``: as a
    percentage)."""
    figures = medians(samples)
    lines = []
    for label, mine, theirs in pairs:
        for era in ERAS:
            found = []
            for tool in GENERATORS:
                a, b = (figures.get((name, era, tool, CONNECTIONS)) for name in (mine, theirs))
                if a is not None and b is not None:
                    found.append(f"{tool} {ratio(a, b, as_share=as_share)}")
            if found:
                lines.append(f"- {label}, {era}: " + "; ".join(found))
    return lines


def peer_pairs(runs: list[Target], workers: int) -> list[tuple[str, str, str]]:
    """(label, mocopr's target, the peer's target) for each peer at 1 and N workers."""
    names = {target.name for target in runs}
    pairs = []
    for peer in ("SDK", "FastMCP"):
        for count, noun in ((1, "worker"), (workers, "workers")):
            mine, theirs = f"mocopr {count} {noun}", f"{peer} {count} {noun}"
            if theirs in names:
                pairs.append((f"{mine} / {theirs}", mine, theirs))
    return pairs


def ceiling_lines(samples: list[Sample], nginx: str) -> list[str]:
    """The load tester against nginx as a fraction of wrk, judged against ``CEILING_TARGET``."""
    figures = medians(samples)
    if any((nginx, "modern", tool, CONNECTIONS) not in figures for tool in GENERATORS):
        return ["- not measured"]
    wrk, loadtest = (figures[nginx, "modern", tool, CONNECTIONS] for tool in GENERATORS)
    fraction = loadtest / wrk
    cpu = {
        tool: median(s.generator_cpu for s in select(samples, nginx, "modern", tool, CONNECTIONS))
        for tool in GENERATORS
    }
    return [
        f"- against nginx: wrk {wrk:,.0f} answers/s, `mocopr loadtest` {loadtest:,.0f} answers/s:"
        f" **{fraction:.2f}** of wrk; at least {CEILING_TARGET:.0%} of wrk:"
        f" {verdict(fraction >= CEILING_TARGET)}",
        f"- generator CPU against nginx: wrk {cpu['wrk']:.0%} (one thread), loadtest {cpu['loadtest']:.0%}"
        " (its load processes and its parent, start-up included)",
    ]


def sweep_table(samples: list[Sample]) -> list[str]:
    headings = [
        "server", "connections", "answers/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms (Little)",
        "errors",
    ]  # fmt: skip
    rows = []
    for target in SWEEP_TARGETS:
        for connections in SWEEP:
            own = select(samples, target, "modern", "wrk", connections)
            if not own:
                continue
            latency = {key: median(s.latency_ms[key] for s in own) for key in ("p50", "p90", "p99", "max")}
            rows.append([
                target, str(connections), f"{median(s.ok_per_s for s in own):,.0f}", f"{latency['p50']:.2f}",
                f"{latency['p90']:.2f}", f"{latency['p99']:.2f}", f"{latency['max']:.1f}",
                f"{median(little_ms(s) for s in own):.3f}", str(sum(s.errors for s in own)),
            ])  # fmt: skip
    return table(headings, rows)


def sweep_ratio_lines(samples: list[Sample], mine: str, theirs: str) -> list[str]:
    lines = []
    for connections in SWEEP:
        a, b = (select(samples, name, "modern", "wrk", connections) for name in (mine, theirs))
        if a and b:
            p50 = median(s.latency_ms["p50"] for s in b) / median(s.latency_ms["p50"] for s in a)
            rate = median(s.ok_per_s for s in a) / median(s.ok_per_s for s in b)
            lines.append(
                f"- -c{connections}: {theirs} p50 / {mine} p50 **{p50:.1f}x**;"
                f" answers/s {mine} / {theirs} **{rate:.1f}x**"
            )
    return lines


def software_facts(fastmcp: bool) -> list[str]:
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False).stderr.strip()
    return [
        f"- fastmcp {version('fastmcp') if fastmcp else 'not installed: its cases did not run'}"
        f"{f' (imported by {sys.executable})' if fastmcp else ''}; pydantic {version('pydantic')};"
        f" msgspec {version('msgspec')}; starlette {version('starlette')}",
        f"- load tester: aiomultiprocess {version('aiomultiprocess')},"
        f" hdrhistogram {version('hdrhistogram')}; {nginx or 'nginx: not found'}",
    ]


def report(
    samples: list[Sample],
    timings: Timings,
    runs: list[Target],
    options: argparse.Namespace,
    environment: Environment,
    failures: list[str],
) -> list[str]:
    nginx = next(target.name for target in runs if target.peer == peers.NGINX)
    of_nginx = [(f"{t.name} / nginx", t.name, nginx) for t in runs if t.peer != peers.NGINX]
    example = shlex.join(loadtest_argv("URL", "ERA", CONNECTIONS, options.duration, "FILE"))
    lines = [
        "# The benchmark suite: mocopr, the official SDK, FastMCP and nginx",
        "",
        f"{command_line()}; written by `benchmarks/suite.py`, whose docstring says what each figure is and"
        " why.",
        "",
        f"Workload: `tools/call add(a=1, b=2)`; {options.duration} s per measured run after a"
        f" {options.warmup} s warm-up with wrk; {options.repeats} repeat(s), the cases taking turns; a fresh"
        " server per case and repeat; medians over the repeats.",
        "",
        "## Machine and software",
        "",
        *environment.facts,
        environment.load_average_line(),
        "",
        "## Commands",
        "",
        *(f"- {target.name}, {era}: {launch_command(target, era)}" for target in runs for era in target.eras),
        f"- wrk: `wrk -t1 -c{CONNECTIONS} -d{options.duration}s --latency -s benchmarks/wrk/ERA.lua URL`"
        " (`-- SESSION_ID` after it in the legacy era); the latency sweep: the same with"
        f" {', '.join(f'-c{c}' for c in SWEEP)}; the warm-up: the same for {options.warmup} s",
        f"- loadtest: `{example}` (ERA modern or legacy; one load process per CPU, its default)",
        f"- environment of every command: {', '.join(f'`{k}={v}`' for k, v in GRACE_ENV.items())} (mocopr's"
        " drain on SIGTERM, when a case ends; nothing is in flight then)",
        "",
        "## Throughput, 32 connections",
        "",
        f"### Modern era ({ERAS['modern']}: stateless)",
        "",
        *throughput_table(samples, "modern", runs, nginx),
        "",
        *detail_table(samples, "modern", runs),
        "",
        f"### Legacy era ({ERAS['legacy']}: sessions)",
        "",
        "wrk's 32 connections share one session; the load tester opens one session per client, so with"
        " several mocopr workers wrk's requests are forwarded to the session's worker and the load"
        " tester's mostly are not. nginx is not run in this era (it would answer the same).",
        "",
        *throughput_table(samples, "legacy", runs, nginx),
        "",
        *detail_table(samples, "legacy", runs),
        "",
        "## Ratios (median answers per second)",
        "",
        *ratio_lines(samples, peer_pairs(runs, options.workers)),
        "",
        "As a share of the ceiling (nginx's fixed answer, the same load generator):",
        "",
        *ratio_lines(samples, of_nginx, as_share=True),
        "",
        "## The load tester's own ceiling",
        "",
        *ceiling_lines(samples, nginx),
        "",
        "## Latency under concurrency (modern era, wrk -t1)",
        "",
        *sweep_table(samples),
        "",
        *sweep_ratio_lines(samples, *SWEEP_TARGETS),
        "",
        "## Serialization of one tools/call (echo), in process",
        "",
        f"Microseconds per conversion, median of {options.codec_repeats} figures of about"
        f" {options.codec_seconds * 1000:.0f} ms each; the garbage collector on, the process not pinned.",
        "",
        *serialization_lines(timings),
        "",
        "## Notes",
        "",
        "answers/s counts only correct answers: wrk's scripts count a non-2xx status or a body without add's"
        " result 3 (or with `isError: true`) as an error; the load tester counts transport errors, HTTP"
        " statuses, JSON-RPC errors, tool errors and bodies that are not JSON-RPC (its check is the shape"
        " of the answer, not the value 3: the strict check of one answer before each case covers that)."
        " Errors are summed over the repeats. wrk's latencies are corrected for coordinated omission;"
        " the load tester's are exact in a closed loop (HDR histogram), from the moment a request is sent."
        " mean ms (Little) is connections / answers per second: the time a connection takes per answer,"
        " the generator's own time between an answer and the next request included; where it is well"
        " above the generator's measured mean, the connections wait on the generator, not the server."
        " CPU is CPU time over the measured run's wall time (100% = one core): the"
        " server's is every process of it; wrk's is its own; the load tester's is the whole command"
        " (start-up, the probe and the legacy handshake included), so it reads high for short runs.",
    ]
    failed = [s for s in samples if s.errors]
    if failed:
        lines += ["", "## Runs with errors", ""]
        lines += [f"- {s.target}, {s.era}, {s.tool} -c{s.connections}: {s.error_detail}" for s in failed]
    if failures:
        lines += ["", "## Cases that failed", "", *(f"- {failure}" for failure in failures)]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_options(parser, duration=5, warmup_help="seconds of wrk load before each case")
    parser.add_argument("--workers", type=int, default=2, help="N, worker processes of the N-worker servers")
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 1 s per run, 1 repeat, 1 s warm-up; the report is printed, not written (unless"
        " --output)",
    )  # fmt: skip
    parser.add_argument(
        "--output",
        type=Path,
        help="write the report to this file instead (default: its section of benchmarks/RESULTS.md)",
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.duration, options.repeats, options.warmup = 1, 1, 1
    if min(options.duration, options.repeats, options.warmup) < 1 or options.workers < 2:
        parser.error("--duration, --repeats and --warmup must be at least 1, --workers at least 2")
    options.codec_repeats = 1 if options.quick else 5
    options.codec_seconds = 0.01 if options.quick else 0.05
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    os.environ.update(GRACE_ENV)
    fastmcp = importlib.util.find_spec("fastmcp") is not None
    runs = targets(options.workers, fastmcp)
    environment = Environment(*software_facts(fastmcp))
    try:
        timings = measure_serialization(options.codec_repeats, options.codec_seconds)
    except WrongAnswer as exc:
        print(f"suite: {exc}", file=sys.stderr)
        return 2
    print("suite: serialization measured", file=sys.stderr, flush=True)

    def measure_turn(suite_case: SuiteCase, turn: Turn) -> list[Sample]:
        wrk_first = (turn.repeat + turn.index) % 2 == 0  # wrk and the load tester take turns going first
        return measure_case(suite_case, options, turn.log_dir, wrk_first)

    rounds = take_turns(
        "suite", [(target, era) for target in runs for era in target.eras], options.repeats, measure_turn,
        label=lambda suite_case: f"{suite_case[0].name}, {suite_case[1]}", describe=describe,
        on_failure=OnFailure.RETRY,
    )  # fmt: skip
    environment.finish()
    failures = [str(failure) for failure in rounds.failures]
    text = publish(report(rounds.results, timings, runs, options, environment, failures), options.output)
    if not options.output and not options.quick:
        replace_section(RESULTS, SECTION_BEGIN, SECTION_END, text)
    if failures:
        return 2
    return 1 if any(sample.errors for sample in rounds.results) else 0


if __name__ == "__main__":
    sys.exit(main())
