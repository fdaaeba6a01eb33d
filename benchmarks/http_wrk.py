"""Streamable HTTP throughput of ``tools/call add(a=1, b=2)``: mocopr against the official SDK, with wrk.

What is measured: wrk (``-t1 -c32 -d10s --latency`` by default) keeps 32 keep-alive connections busy
with POSTs of one ``tools/call`` to one server process on 127.0.0.1, for these cases:

- ``mocopr modern``: ``mocopr serve benchmarks/http_mocopr_app.py:app`` in one process (with
  ``--single-process`` where the command has a multiprocess mode), the modern era (2026-07-28):
  no session, ``MCP-Protocol-Version``/``Mcp-Method``/``Mcp-Name`` headers, the version and client
  capabilities in ``params._meta`` (``wrk/modern.lua``).
- ``sdk modern``: the official SDK's ``MCPServer`` with the same tool (``http_sdk_app.py``), stateless
  with JSON answers (``stateless_http=True, json_response=True``), the same requests.
- ``mocopr legacy``: a session opened by this script (``initialize`` at 2025-11-25, then
  ``notifications/initialized``), then wrk posts ``tools/call`` with its ``Mcp-Session-Id`` and
  ``MCP-Protocol-Version: 2025-11-25`` (``wrk/legacy.lua``); all connections share the session.
- ``sdk legacy SSE``: the same against the SDK's stateful app as it comes (``stateless_http=False,
  json_response=False``: each answer is an SSE stream).
- ``sdk legacy JSON``: the same against the SDK's stateful app with ``json_response=True``.
- ``trio floor``: not an MCP server but ``trio_floor.py``, a bare trio loop that answers every
  ``recv`` with one ``send`` of a fixed response, with the modern requests: what any HTTP server on
  trio can at most do here. Its answers are counted by the same Lua check (its fixed body holds the
  result 3) but not checked strictly (its id is fixed).

The SDK runs under uvicorn as ``uvicorn module:app`` would run it: one worker, uvicorn's default loop
(``--uvicorn-loop`` picks another) and HTTP implementation; which ones ran is reported. Every run
starts a fresh server, checks one answer strictly (id, ``structuredContent`` and text content 3, not
``isError``, ``resultType: "complete"`` in the modern era; the script stops if it is wrong), warms up
for ``--warmup`` seconds, then measures. The cases take turns within each repeat (mocopr, SDK,
mocopr, SDK, ...) so that the slow phases of a shared machine fall on all of them alike; medians over
the repeats are reported.

The Lua scripts give every request its own JSON-RPC id (a stateful server routes answers by id: with
one id repeated on 32 connections, the SDK left most of them waiting for good, which wrk does not
report as an error) and check every answer's status and body, so errors are counted as errors, never
as throughput: the headline figure is correct answers per second. wrk 4 always corrects its latency
percentiles for coordinated omission, so the mean latency by Little's law (connections / answers per
second) is shown beside them.

Why: the issue reports the SDK at about 700-850 requests/s in its legacy session mode; this measures
both servers, both eras, on the same machine with the same load generator. It also reports each
server's peak RSS (``VmHWM``) and the CPU time of the server and of wrk during the measured run: on a
small machine the load generator competes with the server for the CPUs, and its share shows how much.

    python benchmarks/http_wrk.py                                  # full run
    python benchmarks/http_wrk.py --quick                          # smoke run: 2 s, 1 repeat
    python benchmarks/http_wrk.py --markdown /tmp/http_results.md  # also write the report there
"""

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
from harness import peers
from harness.cases import Case, WrkRun, server_under_test
from harness.environment import Environment, command_line
from harness.errors import BenchmarkError
from harness.markdown import Column, column_table, publish, ratio
from harness.options import (
    add_quick_and_markdown,
    add_run_options,
    add_uvicorn_loop,
    apply_quick,
    require_positive,
)
from harness.processes import Launch
from harness.stats import group_by, medians_by
from harness.turns import OnFailure, take_turns
from harness.usage import CpuMeter, failing_if_server_dies, peak_rss
from harness.wrk import Load
from harness.wrk_columns import CASE, ERRORS, LATENCIES, OTHER_CPU, SERVER_AND_WRK_CPU, rates

CASES = (
    Case("mocopr modern", peers.MOCOPR, "modern"),
    Case("sdk modern", "stateless-json", "modern"),
    Case("mocopr legacy", peers.MOCOPR, "legacy"),
    Case("sdk legacy SSE", "stateful-sse", "legacy"),
    Case("sdk legacy JSON", "stateful-json", "legacy"),
    Case("trio floor", peers.FLOOR, "modern"),
)
# (label, numerator, denominator)
RATIOS = (
    ("mocopr / SDK, modern", "mocopr modern", "sdk modern"),
    ("mocopr / SDK, legacy (SDK answers as SSE, its default)", "mocopr legacy", "sdk legacy SSE"),
    ("mocopr / SDK, legacy (SDK answers as JSON)", "mocopr legacy", "sdk legacy JSON"),
    ("mocopr / trio floor, modern", "mocopr modern", "trio floor"),
)


@dataclass(frozen=True)
class Run(WrkRun):
    peak_rss: int  # the server's, bytes


PEAK_RSS = Column[Sequence[Run]](
    "peak RSS MiB", lambda runs: f"{max(run.peak_rss for run in runs) / 2**20:.1f}"
)


def launch(kind: str, uvicorn_loop: str) -> Launch:
    """How a server of one kind starts in one process."""
    if kind == peers.MOCOPR:
        return peers.mocopr_single_process()
    if kind == peers.FLOOR:
        return peers.trio_floor()
    return peers.sdk_one_process(kind, uvicorn_loop)


def measure(case: Case, options: argparse.Namespace, log_dir: Path, environment: Environment) -> Run:
    """A fresh server: one strict check, a warm-up, then one measured run with the server's CPU time and
    peak RSS."""
    load = Load(options.threads, options.connections)
    with server_under_test(
        case, launch(case.server, options.uvicorn_loop), log_dir / f"{case.server}.log"
    ) as under_test:
        environment.add_banner(case.server, under_test.server.banner)
        under_test.warm_up(load, options.warmup)
        process = psutil.Process(under_test.server.pid)
        if process.children():
            raise BenchmarkError(f"{case.name}: the server runs more than one process")
        with failing_if_server_dies(case.name):
            with CpuMeter({"server": process}) as cpu:
                report = under_test.run_wrk(load, options.duration)
            rss = peak_rss(process.pid)
        return Run(case, load, report, cpu.server_s, cpu.harness_s, cpu.others_s(report.cpu_s), rss)


def describe(run: Run) -> str:
    f = run.wrk.fields
    return (
        f"{run.case.name}: {run.wrk.ok_per_s:,.0f} answers/s, p50 {f['p50_us'] / 1000:.2f} ms,"
        f" p99 {f['p99_us'] / 1000:.2f} ms, errors {run.wrk.errors}, peak RSS {run.peak_rss / 2**20:.1f} MiB,"
        f" CPU server {run.server_cpu_s:.1f} s, wrk {run.wrk.cpu_s:.1f} s, others {run.other_cpu_s:.1f} s"
    )


def table(runs: list[Run]) -> list[str]:
    by_case = group_by(runs, lambda run: run.case)
    columns: list[Column[Sequence[Run]]] = [
        CASE, *rates("answers"), *LATENCIES, ERRORS, PEAK_RSS, *SERVER_AND_WRK_CPU, OTHER_CPU
    ]  # fmt: skip
    return column_table(columns, [by_case[case] for case in CASES if case in by_case])


def ratios(runs: list[Run]) -> list[str]:
    medians = medians_by(runs, lambda run: run.case.name, lambda run: run.wrk.ok_per_s)
    return [
        f"- {label}: {ratio(medians[mine], medians[theirs], ' answers/s')}"
        for label, mine, theirs in RATIOS
        if mine in medians and theirs in medians
    ]


def report(runs: list[Run], options: argparse.Namespace, environment: Environment) -> list[str]:
    return [
        "# tools/call add(1, 2) over Streamable HTTP: mocopr and the official SDK, with wrk",
        "",
        command_line(),
        "",
        f"wrk -t{options.threads} -c{options.connections} -d{options.duration}s --latency, after a"
        f" {options.warmup} s warm-up; {options.repeats} repeat(s), the cases taking turns; one server"
        f" process per run, started fresh; the SDK under uvicorn with `--loop {options.uvicorn_loop}`.",
        "",
        *environment.facts,
        *environment.changes(),
        *environment.banner_lines(),
        environment.load_average_line(),
        "",
        *table(runs),
        "",
        *ratios(runs),
        "",
        "answers/s counts only correct answers (HTTP 2xx with add's result 3, not a tool error); errors are"
        " summed over the repeats. p50, p99 and max are wrk's latencies, medians over the repeats; wrk 4"
        " corrects its latency histogram for coordinated omission (for every answer slower than twice the"
        " mean interval between answers on a connection it adds the answers that would have been sent"
        " meanwhile), which raises p99 where latencies are uneven. mean ms (Little) is connections x duration"
        " / answers: the true mean latency when every connection is kept busy. Peak RSS is the server's VmHWM"
        " (its whole life), the largest over the repeats. The CPU columns are medians of CPU time over wall"
        " time during the measured run (100% = one core); the wrk share is wrk's CPU time over wrk's and the"
        " server's together; other CPU is the rest of the machine's user and system CPU time (other"
        " processes: noise).",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_options(parser, duration=10)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    add_uvicorn_loop(parser)
    add_quick_and_markdown(parser)
    options = parser.parse_args(argv)
    apply_quick(options, duration=2)
    require_positive(parser, options, "duration", "connections", "threads", "repeats", "warmup")
    if options.threads > options.connections:
        parser.error("wrk needs at least one connection per thread")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    environment = Environment(f"- mocopr server: `{shlex.join(peers.mocopr_serve_argv())}`")
    rounds = take_turns(
        "http_wrk", CASES, options.repeats,
        lambda case, turn: [measure(case, options, turn.log_dir, environment)],
        label=lambda case: case.name, describe=describe, on_failure=OnFailure.STOP,
    )  # fmt: skip
    if rounds.failures:
        return 2
    environment.finish()
    publish(report(rounds.results, options, environment), options.markdown)
    return 1 if any(run.wrk.errors for run in rounds.results) else 0


if __name__ == "__main__":
    sys.exit(main())
