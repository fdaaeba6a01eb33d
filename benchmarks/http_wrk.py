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

``runtime_wrk.py`` (the multiprocess runtime) imports the pieces of this script: ``serving`` to start
and always stop a server's whole process tree, ``open_session``, ``check_first_answer``, ``run_wrk``,
the CPU and memory readers and the machine facts.
"""

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
MOCOPR = "mocopr"
FLOOR = "floor"
LEGACY_VERSION = "2025-11-25"
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0
URL_PATTERN = re.compile(r"http://127\.0\.0\.1:\d+/mcp")
LATENCIES = ("p50_us", "p99_us", "max_us")
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


class BenchmarkError(Exception):
    """A server that cannot be measured: it did not start, or answered wrongly."""


@dataclass(frozen=True)
class Case:
    """One server kind and one era; ``script_name`` names the wrk script if not ``era``.lua."""

    name: str
    server: str  # MOCOPR, FLOOR, or a mode of http_sdk_app.py
    era: str  # "modern" or "legacy"
    script_name: str = ""

    @property
    def script(self) -> Path:
        return WRK_DIR / f"{self.script_name or self.era}.lua"

    @property
    def checked(self) -> bool:
        """Whether the first answer is checked strictly (the trio floor's fixed answer has a fixed id)."""
        return self.server != FLOOR


CASES = (
    Case("mocopr modern", MOCOPR, "modern"),
    Case("sdk modern", "stateless-json", "modern"),
    Case("mocopr legacy", MOCOPR, "legacy"),
    Case("sdk legacy SSE", "stateful-sse", "legacy"),
    Case("sdk legacy JSON", "stateful-json", "legacy"),
    Case("trio floor", FLOOR, "modern"),
)
# (label, numerator, denominator)
RATIOS = (
    ("mocopr / SDK, modern", "mocopr modern", "sdk modern"),
    ("mocopr / SDK, legacy (SDK answers as SSE, its default)", "mocopr legacy", "sdk legacy SSE"),
    ("mocopr / SDK, legacy (SDK answers as JSON)", "mocopr legacy", "sdk legacy JSON"),
    ("mocopr / trio floor, modern", "mocopr modern", "trio floor"),
)


@dataclass(frozen=True)
class WrkReport:
    """What ``wrk/mcp_check.lua`` printed (latencies in microseconds) and the CPU time wrk used."""

    fields: dict[str, Any]
    cpu_s: float

    @property
    def socket_errors(self) -> int:
        return sum(self.fields[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))

    @property
    def errors(self) -> int:
        return self.fields["non2xx"] + self.fields["bad_body"] + self.socket_errors

    @property
    def seconds(self) -> float:
        return self.fields["duration_us"] / 1e6

    @property
    def ok_per_s(self) -> float:
        """Correct answers per second: the headline figure."""
        return self.fields["ok"] / self.seconds


@dataclass(frozen=True)
class Run:
    case: Case
    wrk: WrkReport
    server_cpu_s: float
    other_cpu_s: float  # the machine's user and system CPU time, less the server's and wrk's
    peak_rss: int  # bytes

    @property
    def seconds(self) -> float:
        return self.wrk.seconds

    @property
    def ok_per_s(self) -> float:
        return self.wrk.ok_per_s


@dataclass(frozen=True)
class Server:
    pid: int
    url: str
    banner: str  # the line the server printed once listening
    admin_url: str = ""  # mocopr's admin listener, where it has one


#: Reads a server's log so far (and its pid): the ``Server`` once it is ready, else None.
Ready = Callable[[str, int], Server | None]


def url_in_log(text: str, pid: int) -> Server | None:
    """Ready once the log names the endpoint, ``http://127.0.0.1:PORT/mcp``."""
    for line in text.splitlines():
        if match := URL_PATTERN.search(line):
            return Server(pid, match.group(), line.strip())
    return None


@contextmanager
def serving(argv: list[str], log: Path, ready: Ready = url_in_log) -> Iterator[Server]:
    """Start a server (in ``ROOT``, output to ``log``), wait until ``ready`` says it is, and always stop
    it: SIGTERM to the process it started, then SIGKILL to whatever of its process tree is left."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
    try:
        yield wait_until_ready(process, log, ready)
    finally:
        stop_process_tree(process)


def stop_process_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``process`` (a supervisor stops its children itself); after ``SERVER_STOP_TIMEOUT``,
    SIGKILL to it and to any of its descendants that are still there."""
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _, alive = psutil.wait_procs(descendants, timeout=SERVER_STOP_TIMEOUT)
    for leftover in alive:
        leftover.kill()
    psutil.wait_procs(alive, timeout=SERVER_STOP_TIMEOUT)


def exit_on_signals() -> None:
    """SIGTERM and SIGINT raise ``SystemExit``, so that the ``finally`` blocks stop every server (and
    ``subprocess.run`` kills wrk) on the way out; SIGINT too because a shell starts a background job
    with SIGINT ignored."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)


def server_argv(kind: str, uvicorn_loop: str) -> list[str]:
    """How ``http_wrk.py`` starts a server of one kind, in one process."""
    if kind == MOCOPR:
        return mocopr_serve_argv()
    if kind == FLOOR:
        return [sys.executable, str(BENCH_DIR / "trio_floor.py")]
    return [sys.executable, str(BENCH_DIR / "http_sdk_app.py"), kind, "--loop", uvicorn_loop]


@contextmanager
def running_server(kind: str, log_dir: Path, uvicorn_loop: str) -> Iterator[Server]:
    """Start a one-process server on 127.0.0.1 (port chosen by the kernel) and always stop it."""
    with serving(server_argv(kind, uvicorn_loop), log_dir / f"{kind}.log") as server:
        yield server


@cache
def mocopr_serve_argv() -> list[str]:
    """``mocopr serve`` for one process: ``--single-process`` where the command has a multiprocess mode."""
    argv = [sys.executable, "-m", "mocopr", "serve", "benchmarks/http_mocopr_app.py:app"]
    argv += ["--bind", "127.0.0.1:0", "--log-level", "warning"]
    if "--single-process" in command_output([*argv[:4], "--help"]):
        argv.append("--single-process")
    return argv


def wait_until_ready(process: subprocess.Popen[bytes], log: Path, ready: Ready) -> Server:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server := ready(log.read_text(errors="replace"), process.pid):
            return server
        if process.poll() is not None:
            raise BenchmarkError(
                f"server {process.args} exited with {process.returncode}:\n{log.read_text()}"
            )
        time.sleep(0.05)
    raise BenchmarkError(f"server {process.args} did not say where it listens:\n{log.read_text()}")


def post(
    connection: http.client.HTTPConnection, path: str, message: dict[str, Any], headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, str]:
    connection.request("POST", path, json.dumps(message), {**HEADERS, **headers})
    response = connection.getresponse()
    return response.status, response.headers, response.read().decode()


def decode_answer(body: str) -> dict[str, Any]:
    """The JSON-RPC response in a body that is plain JSON or an SSE stream."""
    if body.lstrip().startswith("{"):
        return json.loads(body)
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip():
            message = json.loads(line[5:])
            if "id" in message:
                return message
    raise BenchmarkError(f"no JSON-RPC response in {body!r}")


def open_session(url: str) -> str:
    """``initialize`` at 2025-11-25 and ``notifications/initialized``, on one keep-alive connection as a
    client's connection pool would send them (so that both reach the same process of a server that has
    several, as uvicorn's workers, which do not share sessions); the session id."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "http_wrk", "version": "1.0"},
        },
    }
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        status, headers, body = post(connection, parts.path, initialize, {})
        session = headers.get("Mcp-Session-Id")
        answer = decode_answer(body) if status == 200 else {}
        if not session or answer.get("result", {}).get("protocolVersion") != LEGACY_VERSION:
            raise BenchmarkError(f"initialize: HTTP {status}, session {session!r}, {body!r}")
        session_headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY_VERSION}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        status, _, body = post(connection, parts.path, initialized, session_headers)
    finally:
        connection.close()
    if status != 202:
        raise BenchmarkError(f"notifications/initialized: HTTP {status}, {body!r}")
    return session


def check_answer(report: WrkReport, era: str) -> None:
    """Check the first answer wrk got strictly; ``BenchmarkError`` if it is not add's result, 3."""
    status, body = report.fields["first_status"], report.fields["first_body"]
    if status != 200 or body is None:
        raise BenchmarkError(f"HTTP {status}: {body!r}")
    answer = decode_answer(body)
    result = answer.get("result")
    if (
        answer.get("id") != report.fields["first_id"]
        or not isinstance(result, dict)
        or result.get("structuredContent") != {"result": 3}
        or result.get("content") != [{"type": "text", "text": "3"}]
        or result.get("isError", False) is not False
        or (era == "modern" and result.get("resultType") != "complete")
    ):
        raise BenchmarkError(f"not add's result 3 for request {report.fields['first_id']}: {body!r}")


def check_first_answer(case: Case, url: str, script_args: list[str], attempts: int = 1) -> int:
    """One request by wrk (``-c1``, script argument ``once``) and a strict check of its answer; the
    number of tries it took. An HTTP 404 is tried again, up to ``attempts`` tries in all: with several
    server processes that do not share sessions, a new connection may land on one that does not know
    the session. Anything else wrong raises ``BenchmarkError``. The trio floor's answer (not
    ``case.checked``) only has to pass the Lua check."""
    for attempt in range(1, attempts + 1):
        first = run_wrk(case.script, url, [*script_args, "once"], threads=1, connections=1, seconds=1)
        if first.fields["first_status"] == 404 and attempt < attempts:
            continue
        try:
            if case.checked:
                check_answer(first, case.era)
            elif first.fields["ok"] < 1:
                raise BenchmarkError(f"HTTP {first.fields['first_status']}: {first.fields['first_body']!r}")
        except BenchmarkError as exc:
            raise BenchmarkError(f"{case.name}: wrong answer before the run: {exc}") from None
        return attempt
    raise AssertionError("unreachable")


def run_wrk(
    script: Path, url: str, script_args: list[str], *, threads: int, connections: int, seconds: int
) -> WrkReport:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    if script_args:
        argv += ["--", *script_args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in done.stdout.splitlines():
        if line.startswith("MCPWRK "):
            cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            return WrkReport(json.loads(line.removeprefix("MCPWRK ")), cpu_s)
    raise BenchmarkError(f"{shlex.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User and system CPU time the processes have used so far (all their threads), in seconds."""
    total = 0.0
    for process in processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def machine_cpu_seconds() -> float:
    """The machine's user, nice and system CPU time so far, over all CPUs, in seconds."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system


def peak_rss(pid: int) -> int:
    """The process's peak resident set size (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchmarkError(f"no VmHWM for process {pid}")


def measure(case: Case, options: argparse.Namespace, log_dir: Path, banners: dict[str, set[str]]) -> Run:
    with running_server(case.server, log_dir, options.uvicorn_loop) as server:
        banners.setdefault(case.server, set()).add(URL_PATTERN.sub("URL", server.banner))
        script_args = [open_session(server.url)] if case.era == "legacy" else []
        check_first_answer(case, server.url, script_args)
        wrk = {"threads": options.threads, "connections": options.connections}
        warm = run_wrk(case.script, server.url, script_args, **wrk, seconds=options.warmup)
        if warm.errors:
            print(f"  warning: {case.name}: {warm.errors} errors during the warm-up", file=sys.stderr)
        process = psutil.Process(server.pid)
        if process.children():
            raise BenchmarkError(f"{case.name}: the server runs more than one process")
        server_before, machine_before = cpu_seconds([process]), machine_cpu_seconds()
        report = run_wrk(case.script, server.url, script_args, **wrk, seconds=options.duration)
        try:
            server_cpu_s = cpu_seconds([process]) - server_before
            machine_cpu_s = machine_cpu_seconds() - machine_before
            rss = peak_rss(server.pid)
        except (psutil.Error, OSError):
            raise BenchmarkError(f"{case.name}: the server died during the run") from None
        other_cpu_s = max(0.0, machine_cpu_s - server_cpu_s - report.cpu_s)
        return Run(case, report, server_cpu_s, other_cpu_s, rss)


def describe(run: Run) -> str:
    f = run.wrk.fields
    return (
        f"{run.case.name}: {run.ok_per_s:,.0f} answers/s, p50 {f['p50_us'] / 1000:.2f} ms,"
        f" p99 {f['p99_us'] / 1000:.2f} ms, errors {run.wrk.errors}, peak RSS {run.peak_rss / 2**20:.1f} MiB,"
        f" CPU server {run.server_cpu_s:.1f} s, wrk {run.wrk.cpu_s:.1f} s, others {run.other_cpu_s:.1f} s"
    )


def table(runs: list[Run], connections: int) -> list[str]:
    lines = [
        "| case | answers/s (median) | answers/s (runs) | p50 ms | p99 ms | max ms | mean ms (Little)"
        " | errors (non-2xx / bad body / socket) | peak RSS MiB | server CPU | wrk CPU | wrk share of CPU"
        " | other CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for case in CASES:
        own = [run for run in runs if run.case == case]
        if not own:
            continue
        ok_per_s = statistics.median(run.ok_per_s for run in own)
        p50, p99, max_us = (statistics.median(run.wrk.fields[key] for run in own) for key in LATENCIES)
        non2xx, bad_body = (sum(run.wrk.fields[key] for run in own) for key in ("non2xx", "bad_body"))
        socket_errors = sum(run.wrk.socket_errors for run in own)
        little_ms = statistics.median(
            1000 * connections * run.seconds / run.wrk.fields["requests"] for run in own
        )
        server_cpu = statistics.median(run.server_cpu_s / run.seconds for run in own)
        wrk_cpu = statistics.median(run.wrk.cpu_s / run.seconds for run in own)
        share = statistics.median(run.wrk.cpu_s / (run.wrk.cpu_s + run.server_cpu_s) for run in own)
        other_cpu = statistics.median(run.other_cpu_s / run.seconds for run in own)
        lines.append(
            f"| {case.name} | {ok_per_s:,.0f} | {' / '.join(f'{run.ok_per_s:,.0f}' for run in own)}"
            f" | {p50 / 1000:.2f} | {p99 / 1000:.2f} | {max_us / 1000:.1f} | {little_ms:.2f}"
            f" | {non2xx} / {bad_body} / {socket_errors} | {max(run.peak_rss for run in own) / 2**20:.1f}"
            f" | {server_cpu:.0%} | {wrk_cpu:.0%} | {share:.0%} | {other_cpu:.0%} |"
        )
    return lines


def ratios(runs: list[Run]) -> list[str]:
    medians = {
        case.name: statistics.median(run.ok_per_s for run in runs if run.case == case)
        for case in CASES
        if any(run.case == case for run in runs)
    }
    return [
        f"- {label}: **{medians[mine] / medians[theirs]:.1f}x**"
        f" ({medians[mine]:,.0f} / {medians[theirs]:,.0f} answers/s)"
        for label, mine, theirs in RATIOS
        if mine in medians and theirs in medians
    ]


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def command_output(argv: list[str]) -> str:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False).stdout


def first_line(argv: list[str]) -> str:
    return command_output(argv).partition("\n")[0].strip()


def machine_facts() -> list[str]:
    """The machine, the software and the commit, as Markdown list items."""
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    changes = len(
        command_output(["git", "-C", str(ROOT), "status", "--porcelain", "--", "mocopr"]).splitlines()
    )
    mocopr_path = first_line([sys.executable, "-c", "import mocopr; print(mocopr.__path__[0])"])
    cpus = f"{os.cpu_count()} (nproc {len(os.sched_getaffinity(0))})"
    return [
        f"- CPUs: {cpus}, {cpu_model}; {platform.platform()}",
        f"- mocopr imported from `{mocopr_path}`; the repository is at commit {commit or '(unknown)'}, with"
        f" {changes} uncommitted change(s) under mocopr/",
        f"- Python {platform.python_version()}; mocopr {version('mocopr')};"
        f" mcp {version('mcp')}; uvicorn {version('uvicorn')}; httptools {version('httptools')};"
        f" trio {version('trio')}; uvloop {version('uvloop')}",
        f"- {first_line(['wrk', '-v'])}",
    ]


def repository_relative(text: str) -> str:
    """``text`` with this checkout's location left out of its paths, so that a report reads the
    same wherever it was made: commands run from the repository's root."""
    return text.replace(f"{ROOT}/", "").replace(str(ROOT), ".")


def banner_facts(banners: dict[str, set[str]]) -> list[str]:
    """What the servers said once listening (the SDK: which loop and HTTP protocol uvicorn runs)."""
    return [
        f"- {kind} said: {'; '.join(f'`{banner}`' for banner in sorted(said))}"
        for kind, said in sorted(banners.items())
    ]


def report(
    runs: list[Run],
    options: argparse.Namespace,
    facts: list[str],
    banners: dict[str, set[str]],
    load: list[str],
) -> str:
    changed = [fact for fact in machine_facts() if fact not in facts]
    lines = [
        "# tools/call add(1, 2) over Streamable HTTP: mocopr and the official SDK, with wrk",
        "",
        f"Command: `{shlex.join(sys.orig_argv)}`, from the repository's root",
        "",
        f"wrk -t{options.threads} -c{options.connections} -d{options.duration}s --latency, after a"
        f" {options.warmup} s warm-up; {options.repeats} repeat(s), the cases taking turns; one server"
        f" process per run, started fresh; the SDK under uvicorn with `--loop {options.uvicorn_loop}`.",
        "",
        *facts,
        f"- mocopr server: `{shlex.join(mocopr_serve_argv())}`",
        *(["- changed during the run, to:", *(f"  {fact}" for fact in changed)] if changed else []),
        *banner_facts(banners),
        f"- load average (1 min) at the start and the end: {', '.join(load)}",
        "",
        *table(runs, options.connections),
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
    return repository_relative("\n".join(lines) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run (default: 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (default: 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each run (default: 2)")
    parser.add_argument(
        "--uvicorn-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
        help="the SDK's event loop under uvicorn (default: auto, uvicorn's default: uvloop if installed)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s, 1 repeat, 1 s warm-up")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the report to PATH")
    options = parser.parse_args(argv)
    if options.quick:
        options.duration, options.repeats, options.warmup = 2, 1, 1
    if min(options.duration, options.connections, options.threads, options.repeats, options.warmup) < 1:
        parser.error("--duration, --connections, --threads, --repeats and --warmup must be at least 1")
    if options.threads > options.connections:
        parser.error("wrk needs at least one connection per thread")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    exit_on_signals()
    runs: list[Run] = []
    banners: dict[str, set[str]] = {}
    facts = machine_facts()
    load = [f"{os.getloadavg()[0]:.2f}"]
    with tempfile.TemporaryDirectory(prefix="http_wrk.") as log_dir:
        for repeat in range(1, options.repeats + 1):
            for case in CASES:
                try:
                    run = measure(case, options, Path(log_dir), banners)
                except BenchmarkError as exc:
                    print(f"http_wrk: {exc}", file=sys.stderr)
                    return 2
                runs.append(run)
                print(f"[{repeat}/{options.repeats}] {describe(run)}", file=sys.stderr, flush=True)
    load.append(f"{os.getloadavg()[0]:.2f}")
    text = report(runs, options, facts, banners, load)
    print(text)
    if options.markdown:
        options.markdown.write_text(text)
    return 1 if any(run.wrk.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
