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
import json
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import psutil
from codec import REQUEST_ID, SIZES, Reply, Row, WrongAnswer, make_request, make_text, mocopr_app, sdk_app
from codec import check as check_call_answer
from http_wrk import (
    BENCH_DIR,
    FLOOR,
    MOCOPR,
    ROOT,
    BenchmarkError,
    Case,
    Ready,
    Server,
    check_first_answer,
    cpu_seconds,
    machine_facts,
    open_session,
    repository_relative,
    run_wrk,
    serving,
    version,
)
from mcp.types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    JSONRPCRequest,
    JSONRPCResponse,
    TextContent,
    jsonrpc_message_adapter,
)
from runtime_wrk import SINGLE, median, ready_for, runtime_argv
from trio_floor import BODY as FIXED_ANSWER

from mocopr.protocol import messages

CONNECTIONS = 32
GENERATORS = ("wrk", "loadtest")
SWEEP = (1, 4, 8, 16)
SWEEP_TARGETS = ("mocopr 1 worker", "SDK 1 worker")  # the latency sweep: mocopr against the SDK
CEILING_TARGET = 0.5  # the load tester against nginx: at least half of wrk's answers per second
LOADTEST_TIMEOUT = 120  # seconds beyond its duration before the load tester is given up
PORT_WAIT = 0.05
#: mocopr's grace period on SIGTERM, in the environment of the servers this script starts: it bounds
#: only how long a stop waits for requests in flight (there are none when a case ends), and a server
#: still draining after ``http_wrk``'s stop timeout is killed, which leaves its shared memory behind.
GRACE_ENV = {"MOCOPR_SERVER_GRACEFUL_TIMEOUT": "2"}
#: The suite's report is the section of RESULTS.md between these lines, replaced by each full run.
RESULTS = BENCH_DIR / "RESULTS.md"
SECTION_BEGIN = "<!-- written by benchmarks/suite.py: begin -->"
SECTION_END = "<!-- written by benchmarks/suite.py: end -->"
SUITE_APPS = "benchmarks/suite_apps"
ERAS = {"modern": "2026-07-28", "legacy": "2025-11-25"}
MODES = {"modern": "stateless-json", "legacy": "stateful-json"}  # the SDK's and FastMCP's app per era
NGINX_CONF = """\
daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /mcp {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Target:
    """One server as the suite runs it: which program (``peer``), how many worker processes, and the
    eras it is measured in."""

    name: str
    peer: str  # "mocopr", "sdk", "fastmcp" or "nginx"
    workers: int
    eras: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """One measured run of one load generator against one server."""

    target: str
    era: str
    tool: str  # "wrk" or "loadtest"
    connections: int
    ok_per_s: float  # correct answers per second
    mean_ms: float  # as the generator measured it (wrk's corrected for coordinated omission)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: str  # the errors by kind, empty when there are none
    server_cpu: float  # the server's CPU seconds (all its processes) per second of the run
    generator_cpu: float  # the load generator's CPU seconds per second of the run


@dataclass(frozen=True)
class Started:
    """A server that is listening: its ``Server``, and every process of it (for its CPU time)."""

    server: Server
    processes: list[psutil.Process]


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
    return [*found, Target("nginx", "nginx", workers, modern)]


# -- starting servers --------------------------------------------------------------------------


def uvicorn_options(workers: int) -> argparse.Namespace:
    """What ``runtime_wrk.runtime_argv`` reads: the worker count and uvicorn's loop (its default)."""
    return argparse.Namespace(workers=workers, uvicorn_loop="auto")


def mocopr_kind(target: Target) -> str:
    """``runtime_wrk``'s name for a mocopr server: one process (``--single-process``) or the runtime."""
    return SINGLE if target.workers == 1 else MOCOPR


def server_argv(target: Target, era: str) -> list[str]:
    """The command line that starts ``target`` for ``era`` (nginx: see ``nginx_argv``). mocopr and the
    SDK start as ``runtime_wrk.py`` starts them; FastMCP with the SDK's very uvicorn command line, only
    the app directory and factory changed, so that both run under identical uvicorn settings."""
    options = uvicorn_options(target.workers)
    if target.peer == "mocopr":
        return runtime_argv(mocopr_kind(target), options)
    argv = runtime_argv(MODES[era], options)
    if target.peer == "fastmcp":
        factory = f"{MODES[era].replace('-', '_')}_app"
        argv[argv.index("--app-dir") + 1] = SUITE_APPS
        argv[argv.index(f"http_sdk_app:{factory}")] = f"fastmcp_app:{factory}"
    return argv


def free_port() -> int:
    """A port on 127.0.0.1 that the kernel says is free now (nginx cannot report the one it chose)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_nginx_conf(prefix: Path, port: int, workers: int) -> None:
    """A private configuration in ``prefix`` (a temporary directory): ``workers`` worker processes,
    127.0.0.1:``port``, every request to ``/mcp`` answered with the fixed JSON-RPC result."""
    (prefix / "nginx.conf").write_text(
        NGINX_CONF.format(workers=workers, prefix=prefix, port=port, body=FIXED_ANSWER.decode())
    )


def nginx_argv(prefix: Path) -> list[str]:
    """nginx in the foreground with the configuration and error log in ``prefix``."""
    return ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


def port_ready(port: int) -> Ready:
    """Ready once something accepts a connection on 127.0.0.1:``port``."""

    def ready(text: str, pid: int) -> Server | None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=PORT_WAIT).close()
        except OSError:
            return None
        return Server(pid, f"http://127.0.0.1:{port}/mcp", f"nginx on 127.0.0.1:{port}")

    return ready


@contextmanager
def started(target: Target, era: str, log_dir: Path) -> Iterator[Started]:
    """Start ``target`` for ``era`` on 127.0.0.1 and always stop it (``http_wrk.serving``)."""
    log = log_dir / f"{target.name.replace(' ', '_')}.{era}.log"
    if target.peer == "nginx":
        prefix = Path(tempfile.mkdtemp(prefix="nginx.", dir=log_dir))
        port = free_port()
        write_nginx_conf(prefix, port, target.workers)
        argv, ready = nginx_argv(prefix), port_ready(port)
    else:
        argv = server_argv(target, era)
        ready = ready_for(mocopr_kind(target) if target.peer == "mocopr" else MODES[era], target.workers)
    with serving(argv, log, ready) as server:
        root = psutil.Process(server.pid)
        yield Started(server, [root, *root.children(recursive=True)])


def launch_command(target: Target, era: str) -> str:
    """The command line of ``target`` in Markdown, with placeholders for what each run chooses."""
    if target.peer == "nginx":
        return (
            f"`{shlex.join(nginx_argv(Path('PREFIX')))}` (PREFIX/nginx.conf: `worker_processes"
            f" {target.workers}`, `listen 127.0.0.1:PORT`, `location = /mcp` answered by `return 200` with a"
            " fixed tools/call result, `access_log off`)"
        )
    return f"`{shlex.join(server_argv(target, era))}`"


# -- load generators ---------------------------------------------------------------------------


def wrk_script_args(server: Server, era: str) -> list[str]:
    """wrk's script arguments: in the legacy era the session this script opens for it."""
    return [open_session(server.url)] if era == "legacy" else []


def measure_wrk(
    target: Target, era: str, started: Started, script_args: list[str], connections: int, seconds: int
) -> Sample:
    """One wrk run, ``-t1 -c<connections>``, with the server's CPU time around it."""
    case = Case(target.name, target.peer, era)
    before = cpu_seconds(started.processes)
    report = run_wrk(case.script, started.server.url, script_args, threads=1, connections=connections,
                     seconds=seconds)  # fmt: skip
    server_cpu_s = server_cpu_since(target, started, before)
    fields = report.fields
    kinds = ("non2xx", "bad_body", "connect_errors", "read_errors", "write_errors", "timeouts")
    detail = ", ".join(f"{kind} x{fields[kind]}" for kind in kinds if fields[kind])
    return Sample(
        target.name, era, "wrk", connections, report.ok_per_s, fields["mean_us"] / 1000,
        fields["p50_us"] / 1000, fields["p90_us"] / 1000, fields["p99_us"] / 1000, fields["max_us"] / 1000,
        report.errors, detail,
        server_cpu_s / report.seconds, report.cpu_s / report.seconds,
    )  # fmt: skip


def loadtest_argv(url: str, era: str, seconds: int, json_path: str) -> list[str]:
    """``mocopr loadtest``: closed loop, ``CONNECTIONS`` clients, ``add(1, 2)`` only."""
    return [
        sys.executable, "-m", "mocopr", "loadtest", url, "--clients", str(CONNECTIONS), "--duration",
        str(seconds), "--tool", "add", "--arguments", '{"a": 1, "b": 2}', "--era", era, "--json", json_path,
        "--quiet",
    ]  # fmt: skip


def measure_loadtest(target: Target, era: str, started: Started, seconds: int, log_dir: Path) -> Sample:
    """One ``mocopr loadtest`` run, as a user runs it (its own process and load processes), read back
    from its JSON report. Its CPU time covers the whole command, start-up included."""
    json_path = log_dir / "loadtest.json"
    json_path.unlink(missing_ok=True)
    argv = loadtest_argv(started.server.url, era, seconds, str(json_path))
    before, usage = cpu_seconds(started.processes), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds + LOADTEST_TIMEOUT, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu_s = server_cpu_since(target, started, before)
    if not json_path.exists():
        raise BenchmarkError(f"{shlex.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    report = json.loads(json_path.read_text())
    if not report["complete"]:
        raise BenchmarkError(f"{target.name} ({era}): the load tester stopped early: {report['error']}")
    overall, measured = report["overall"], report["measured_s"]
    latency, errors = overall["latency_ms"], overall["errors"]
    generator_cpu_s = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    return Sample(
        target.name, era, "loadtest", CONNECTIONS, overall["ok"] / measured, latency["mean"],
        latency["p50"], latency["p90"], latency["p99"], latency["max"],
        overall["requests"] - overall["ok"], loadtest_errors(errors),
        server_cpu_s / measured, generator_cpu_s / measured,
    )  # fmt: skip


def loadtest_errors(errors: dict[str, Any]) -> str:
    """The load tester's errors in a few words (empty when there are none)."""
    parts = [f"transport {kind} x{n}" for kind, n in errors["transport"]["by_kind"].items()]
    parts += [f"HTTP {status} x{n}" for status, n in errors["http"]["by_status"].items()]
    parts += [f"JSON-RPC {code} x{n}" for code, n in errors["jsonrpc"]["by_code"].items()]
    parts += [f"{kind} x{errors[kind]}" for kind in ("tool", "invalid") if errors[kind]]
    return ", ".join(parts)


def server_cpu_since(target: Target, started: Started, before: float) -> float:
    try:
        return cpu_seconds(started.processes) - before
    except psutil.Error:
        raise BenchmarkError(f"{target.name}: a server process died during the run") from None


def measure_case(
    target: Target, era: str, options: argparse.Namespace, log_dir: Path, wrk_first: bool
) -> list[Sample]:
    """A fresh server: one strict check, a warm-up, wrk and the load tester at ``CONNECTIONS`` (in the
    order ``wrk_first`` says), then the latency sweep where ``target`` has one."""
    with started(target, era, log_dir) as server:
        script_args = wrk_script_args(server.server, era)
        case = Case(target.name, FLOOR if target.peer == "nginx" else target.peer, era)
        check_first_answer(case, server.server.url, script_args)
        run_wrk(case.script, server.server.url, script_args, threads=1, connections=CONNECTIONS,
                seconds=options.warmup)  # fmt: skip

        def wrk() -> Sample:
            return measure_wrk(target, era, server, script_args, CONNECTIONS, options.duration)

        def loadtest() -> Sample:
            return measure_loadtest(target, era, server, options.duration, log_dir)

        samples = [wrk(), loadtest()] if wrk_first else [loadtest(), wrk()]
        if era == "modern" and target.name in SWEEP_TARGETS:
            samples += [measure_wrk(target, era, server, [], c, options.duration) for c in SWEEP]
    return samples


def describe(sample: Sample) -> str:
    return (
        f"{sample.target} {sample.era} {sample.tool} -c{sample.connections}:"
        f" {sample.ok_per_s:,.0f} answers/s,"
        f" p50 {sample.p50_ms:.2f} ms, p99 {sample.p99_ms:.2f} ms, errors {sample.errors},"
        f" CPU server {sample.server_cpu:.0%}, generator {sample.generator_cpu:.0%}"
    )


# -- serialization -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversions:
    """One library's four conversions of one ``tools/call`` of ``echo``: each a call with no argument
    that does the work once and returns what it made."""

    encode_request: Callable[[], Any]
    decode_request: Callable[[], Any]
    encode_result: Callable[[], Any]
    decode_result: Callable[[], Any]


CONVERSIONS = ("encode_request", "decode_request", "encode_result", "decode_result")
CONVERSION_NAMES = {
    "encode_request": "request -> bytes",
    "decode_request": "bytes -> request",
    "encode_result": "result -> bytes",
    "decode_result": "bytes -> result",
}


def mocopr_conversions(text: str, request: bytes, answer: bytes) -> Conversions:
    """msgspec, as mocopr's dispatcher does it: the envelope with raw params, the params struct, the
    tool's own typed argument decoder; the result shaped by the tool and encoded in place."""
    tool = mocopr_app.tools.get("echo")
    assert tool is not None
    decode_reply = msgspec.json.Decoder(Reply).decode

    def decode_request() -> Any:
        envelope = messages.decode_message(request)
        assert isinstance(envelope, messages.Envelope)
        messages.check_envelope(envelope)
        params = messages.decode_params(envelope.params, messages.CallToolParams)
        return tool.decode_arguments(params.arguments)

    return Conversions(
        encode_request=lambda: messages.encode_request(
            REQUEST_ID, "tools/call", {"name": "echo", "arguments": {"text": text}}
        ),
        decode_request=decode_request,
        encode_result=lambda: messages.encode_result(REQUEST_ID, tool.result(text)),
        decode_result=lambda: decode_reply(answer).result,
    )


def sdk_conversions(text: str, request: bytes, answer: bytes) -> Conversions:
    """The SDK's pydantic models (``mcp.types``), as its client session and transports use them."""
    tool = sdk_app._tool_manager.get_tool("echo")
    assert tool is not None
    arguments_model = tool.fn_metadata.arg_model
    validate_json = jsonrpc_message_adapter.validate_json

    def encode_request() -> bytes:
        call = CallToolRequest(params=CallToolRequestParams(name="echo", arguments={"text": text}))
        data = call.model_dump(by_alias=True, mode="json", exclude_none=True)
        message = JSONRPCRequest(jsonrpc="2.0", id=REQUEST_ID, method=data["method"], params=data["params"])
        return message.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def decode_request() -> Any:
        message = validate_json(request, by_name=False)
        params = CallToolRequestParams.model_validate(message.params, by_name=False)
        return arguments_model.model_validate(params.arguments or {})

    def encode_result() -> bytes:
        result = CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content={"result": text}
        )
        response = JSONRPCResponse(
            jsonrpc="2.0",
            id=REQUEST_ID,
            result=result.model_dump(by_alias=True, mode="json", exclude_none=True),
        )
        return response.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def decode_result() -> CallToolResult:
        message = validate_json(answer, by_name=False)
        return CallToolResult.model_validate(message.result, by_name=False)

    return Conversions(encode_request, decode_request, encode_result, decode_result)


LIBRARIES: dict[str, Callable[[str, bytes, bytes], Conversions]] = {
    "mocopr (msgspec)": mocopr_conversions,
    "SDK (pydantic, mcp.types)": sdk_conversions,
}


def check_conversions(library: str, conversions: Conversions, text: str) -> None:
    """Each conversion's output checked before it is timed: the request bytes decoded as plain JSON, the
    decoded arguments and result compared with the text, the result bytes by ``codec.check`` (id, text
    content, structured content, not a tool error); ``WrongAnswer`` if any is off."""
    request = msgspec.json.decode(conversions.encode_request())
    if request != {
        "jsonrpc": "2.0", "id": REQUEST_ID, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}},
    }:  # fmt: skip
        raise WrongAnswer(f"{library}: wrong request bytes")
    arguments = conversions.decode_request()
    if (arguments.get("text") if isinstance(arguments, dict) else arguments.text) != text:
        raise WrongAnswer(f"{library}: wrong arguments decoded")
    check_call_answer(conversions.encode_result(), text, Row(library, "echo", "in process"))
    result = conversions.decode_result()
    content = result.content[0]
    structured = getattr(result, "structuredContent", None) or getattr(result, "structured_content", None)
    if content.text != text or structured != {"result": text}:
        raise WrongAnswer(f"{library}: wrong result decoded")


def time_call(call: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` calls."""
    return timeit.Timer(call).timeit(number) / number


def measure_serialization(repeats: int, seconds: float) -> dict[tuple[str, str, str], list[float]]:
    """Seconds per conversion, ``repeats`` figures each, by (size, library, conversion). The count per
    figure is set once, from three calls (which also warm up), so that a figure takes about ``seconds``;
    the conversions and libraries take turns within each repeat."""
    timings: dict[tuple[str, str, str], list[float]] = {}
    for size, n in SIZES.items():
        text = make_text(n)
        request = make_request("echo", text)
        answer = mocopr_conversions(text, request, b"").encode_result()  # both decode the same result
        plans = []
        for library, build in LIBRARIES.items():
            conversions = build(text, request, answer)
            check_conversions(library, conversions, text)
            for name in CONVERSIONS:
                call = getattr(conversions, name)
                plans.append(((size, library, name), call, max(1, round(seconds / time_call(call, 3)))))
        for _ in range(repeats):
            for key, call, number in plans:
                timings.setdefault(key, []).append(time_call(call, number))
    return timings


# -- the report --------------------------------------------------------------------------------


def medians(samples: list[Sample]) -> dict[tuple[str, str, str, int], float]:
    """Median correct answers per second by (target, era, tool, connections)."""
    keys = {(s.target, s.era, s.tool, s.connections) for s in samples}
    return {
        key: median(s.ok_per_s for s in samples if (s.target, s.era, s.tool, s.connections) == key)
        for key in keys
    }


def select(samples: list[Sample], target: str, era: str, tool: str, connections: int) -> list[Sample]:
    return [
        s for s in samples if (s.target, s.era, s.tool, s.connections) == (target, era, tool, connections)
    ]


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
    lines = [
        "| server | wrk answers/s | wrk runs | loadtest answers/s | loadtest runs | loadtest / wrk"
        " | of nginx (wrk) | of nginx (loadtest) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for target, own in rows_of(samples, era, runs):
        rate = {tool: figures[target.name, era, tool, CONNECTIONS] for tool in GENERATORS}
        ceiling = {tool: figures.get((nginx, "modern", tool, CONNECTIONS), 0.0) for tool in GENERATORS}
        lines.append(
            f"| {target.name} | {rate['wrk']:,.0f} | {runs_text(own['wrk'])} | {rate['loadtest']:,.0f}"
            f" | {runs_text(own['loadtest'])} | {rate['loadtest'] / rate['wrk']:.2f}"
            f" | {share(rate['wrk'], ceiling['wrk'])} | {share(rate['loadtest'], ceiling['loadtest'])} |"
        )
    return lines


def detail_table(samples: list[Sample], era: str, runs: list[Target]) -> list[str]:
    """Latency, errors and CPU of the same runs, each cell ``wrk / loadtest``."""
    lines = [
        "| server | p50 ms | p99 ms | mean ms | mean ms (Little) | errors | server CPU | generator CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for target, own in rows_of(samples, era, runs):

        def cell(of: Callable[[Sample], float], fmt: str, own: dict[str, list[Sample]] = own) -> str:
            return " / ".join(format(median(of(s) for s in own[tool]), fmt) for tool in GENERATORS)

        errors = " / ".join(str(sum(s.errors for s in own[tool])) for tool in GENERATORS)
        lines.append(
            f"| {target.name} | {cell(lambda s: s.p50_ms, '.2f')} | {cell(lambda s: s.p99_ms, '.2f')}"
            f" | {cell(lambda s: s.mean_ms, '.2f')} | {cell(little_ms, '.2f')} | {errors}"
            f" | {cell(lambda s: s.server_cpu, '.0%')} | {cell(lambda s: s.generator_cpu, '.0%')} |"
        )
    return lines


def little_ms(sample: Sample) -> float:
    """The mean time per answer on one connection, by Little's law: connections / answers per second."""
    return 1000 * sample.connections / sample.ok_per_s


def runs_text(own: list[Sample]) -> str:
    return " / ".join(f"{s.ok_per_s:,.0f}" for s in own)


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
            found = [
                (tool, figures[mine, era, tool, CONNECTIONS], figures[theirs, era, tool, CONNECTIONS])
                for tool in GENERATORS
                if (mine, era, tool, CONNECTIONS) in figures and (theirs, era, tool, CONNECTIONS) in figures
            ]
            if found:
                lines.append(
                    f"- {label}, {era}: "
                    + "; ".join(
                        f"{tool} **{f'{a / b:.0%}' if as_share else f'{a / b:.1f}x'}** ({a:,.0f} / {b:,.0f})"
                        for tool, a, b in found
                    )
                )
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
    wrk, loadtest = (
        figures[nginx, "modern", "wrk", CONNECTIONS],
        figures[nginx, "modern", "loadtest", CONNECTIONS],
    )
    ratio = loadtest / wrk
    verdict = "**met**" if ratio >= CEILING_TARGET else "**not met**"
    cpu = {
        tool: median(s.generator_cpu for s in select(samples, nginx, "modern", tool, CONNECTIONS))
        for tool in GENERATORS
    }
    return [
        f"- against nginx: wrk {wrk:,.0f} answers/s, `mocopr loadtest` {loadtest:,.0f} answers/s:"
        f" **{ratio:.2f}** of wrk; at least {CEILING_TARGET:.0%} of wrk: {verdict}",
        f"- generator CPU against nginx: wrk {cpu['wrk']:.0%} (one thread), loadtest {cpu['loadtest']:.0%}"
        " (its load processes and its parent, start-up included)",
    ]


def sweep_table(samples: list[Sample]) -> list[str]:
    lines = [
        "| server | connections | answers/s | p50 ms | p90 ms | p99 ms | max ms | mean ms (Little)"
        " | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for target in SWEEP_TARGETS:
        for connections in SWEEP:
            own = select(samples, target, "modern", "wrk", connections)
            if not own:
                continue
            rate = median(s.ok_per_s for s in own)
            lines.append(
                f"| {target} | {connections} | {rate:,.0f} | {median(s.p50_ms for s in own):.2f}"
                f" | {median(s.p90_ms for s in own):.2f} | {median(s.p99_ms for s in own):.2f}"
                f" | {median(s.max_ms for s in own):.1f} | {median(little_ms(s) for s in own):.3f}"
                f" | {sum(s.errors for s in own)} |"
            )
    return lines


def sweep_ratio_lines(samples: list[Sample], mine: str, theirs: str) -> list[str]:
    lines = []
    for connections in SWEEP:
        a, b = (select(samples, name, "modern", "wrk", connections) for name in (mine, theirs))
        if a and b:
            p50 = median(s.p50_ms for s in b) / median(s.p50_ms for s in a)
            rate = median(s.ok_per_s for s in a) / median(s.ok_per_s for s in b)
            lines.append(
                f"- -c{connections}: {theirs} p50 / {mine} p50 **{p50:.1f}x**;"
                f" answers/s {mine} / {theirs} **{rate:.1f}x**"
            )
    return lines


def serialization_lines(timings: dict[tuple[str, str, str], list[float]]) -> list[str]:
    sizes = list(SIZES)
    request_bytes = {size: len(make_request("echo", make_text(n))) for size, n in SIZES.items()}
    lines = [
        "| payload | library | " + " | ".join(CONVERSION_NAMES[c] for c in CONVERSIONS) + " | all four |",
        "|---|---|" + "--:|" * (len(CONVERSIONS) + 1),
    ]
    figure = {key: statistics.median(values) * 1e6 for key, values in timings.items()}
    for size in sizes:
        for library in LIBRARIES:
            row = [figure[size, library, c] for c in CONVERSIONS]
            lines.append(
                f"| {size} ({request_bytes[size]:,} B request) | {library} | "
                + " | ".join(f"{value:,.1f}" for value in row)
                + f" | {sum(row):,.1f} |"
            )
    mine, theirs = LIBRARIES
    lines += ["", "| SDK time / mocopr time | " + " | ".join(sizes) + " |", "|---|" + "--:|" * len(sizes)]
    for conversion in (*CONVERSIONS, None):
        cells = []
        for size in sizes:
            names = [conversion] if conversion else list(CONVERSIONS)
            slower = sum(figure[size, theirs, c] for c in names) / sum(figure[size, mine, c] for c in names)
            cells.append(f"{slower:.1f}x")
        label = CONVERSION_NAMES[conversion] if conversion else "all four"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
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
    timings: dict[tuple[str, str, str], list[float]],
    runs: list[Target],
    options: argparse.Namespace,
    facts: list[str],
    failures: list[str],
    load_average: list[str],
) -> str:
    nginx = next(target.name for target in runs if target.peer == "nginx")
    of_nginx = [(f"{t.name} / nginx", t.name, nginx) for t in runs if t.peer != "nginx"]
    example = shlex.join(loadtest_argv("URL", "ERA", options.duration, "FILE"))
    lines = [
        "# The benchmark suite: mocopr, the official SDK, FastMCP and nginx",
        "",
        f"Command: `{shlex.join(sys.orig_argv)}`, from the repository's root; written by"
        " `benchmarks/suite.py`, whose docstring says what each figure is and why.",
        "",
        f"Workload: `tools/call add(a=1, b=2)`; {options.duration} s per measured run after a"
        f" {options.warmup} s warm-up with wrk; {options.repeats} repeat(s), the cases taking turns; a fresh"
        " server per case and repeat; medians over the repeats.",
        "",
        "## Machine and software",
        "",
        *facts,
        f"- load average (1 min) at the start and the end: {', '.join(load_average)}",
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
    return repository_relative("\n".join(lines) + "\n")


# -- running -----------------------------------------------------------------------------------


def write_section(results: Path, text: str) -> None:
    """Replace the suite's section of ``results`` with ``text``, its headings one level down, so
    that the curated figures around it stay as they are."""
    before, begin, rest = results.read_text().partition(SECTION_BEGIN)
    _, end, after = rest.partition(SECTION_END)
    if not begin or not end:
        raise SystemExit(f"suite: {results} has no section marked {SECTION_BEGIN} ... {SECTION_END}")
    demoted = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
    results.write_text(f"{before}{SECTION_BEGIN}\n{demoted}\n{SECTION_END}{after}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (default: 5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (default: 3)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of wrk load before each case (default: 2)"
    )
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
    facts = [*machine_facts(), *software_facts(fastmcp)]
    load_average = [f"{os.getloadavg()[0]:.2f}"]
    try:
        timings = measure_serialization(options.codec_repeats, options.codec_seconds)
    except WrongAnswer as exc:
        print(f"suite: {exc}", file=sys.stderr)
        return 2
    print("suite: serialization measured", file=sys.stderr, flush=True)
    samples: list[Sample] = []
    failures: list[str] = []
    cases = [(target, era) for target in runs for era in target.eras]
    with tempfile.TemporaryDirectory(prefix="suite.") as log_dir:
        for repeat in range(1, options.repeats + 1):
            for index, (target, era) in enumerate(cases):
                started_at = time.monotonic()
                try:
                    measured = measure_case(target, era, options, Path(log_dir), (repeat + index) % 2 == 0)
                except (BenchmarkError, subprocess.TimeoutExpired, OSError, psutil.Error) as exc:
                    failures.append(f"repeat {repeat}, {target.name}, {era}: {exc}")
                    print(f"suite: {failures[-1]}", file=sys.stderr, flush=True)
                    continue
                samples += measured
                for sample in measured:
                    print(f"[{repeat}/{options.repeats}] {describe(sample)}", file=sys.stderr, flush=True)
                print(f"  ({time.monotonic() - started_at:.0f} s)", file=sys.stderr, flush=True)
    load_average.append(f"{os.getloadavg()[0]:.2f}")
    text = report(samples, timings, runs, options, facts, failures, load_average)
    print(text)
    if options.output:
        options.output.write_text(text)
    elif not options.quick:
        write_section(RESULTS, text)
    if failures:
        return 2
    return 1 if any(sample.errors for sample in samples) else 0


if __name__ == "__main__":
    sys.exit(main())
