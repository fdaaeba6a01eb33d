"""Sequential ``tools/call`` round trips over stdio: mocopr against the official SDK.

What is measured: one client sends a ``tools/call`` for ``add`` (one JSON line
on the server's stdin), waits for the answer (one line on its stdout), checks
it, and sends the next; calls per second over ``--calls`` such round trips,
after a warm-up. Nothing is pipelined, so the figure is the inverse of the full
round-trip latency: the client's write, the pipe, the server's read, decode,
dispatch, tool call, encode and write, the pipe back, and the client's read.

Why a raw pipe client: the SDK's own ``Client`` costs far more per call than a
fast server does, so it would measure itself. This client writes pre-formatted
lines with ``os.write``, reads with ``os.read``, and decodes each answer with
msgspec into a small struct to check it: the right id, a result (not an
error), ``isError`` unset or false, and the right sum in both the text content
and ``structuredContent`` (and ``resultType: "complete"`` in the modern era).
Any wrong answer stops that configuration and makes the script exit with 1.
The CPU time of the client and of the server (all its threads) is reported,
so the load generator's share of the work is visible.

Eras: legacy (``initialize`` at 2025-11-25, then ``notifications/initialized``)
and modern (no handshake; every request carries the 2026-07-28 ``_meta``).
Both servers answer both. Tools: ``add`` (a plain function, the headline) and
``add_async`` (a coroutine), because the SDK runs a sync tool on a worker
thread and a coroutine on the event loop. ``floor`` is ``floor_server.py``, a
framework-free responder: the ceiling this machine and client allow.

Placement: with one request in flight, every call wakes the server and then
the client, and what a wake-up costs depends on where the two processes run.
``same`` pins client and server to one CPU (a wake-up is a context switch),
``split`` pins them to two different CPUs (a wake-up crosses CPUs, which is
slow on a virtual machine), ``os`` leaves it to the scheduler, which moves
between the two from run to run. Every measurement starts a fresh server;
the configurations take turns within each repeat, so slow phases of a shared
machine fall on all of them alike; the median is reported.

    python benchmarks/stdio_roundtrip.py                    # full run
    python benchmarks/stdio_roundtrip.py --placement same   # one placement
    python benchmarks/stdio_roundtrip.py --quick            # smoke run
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO

import msgspec
import psutil
from harness import jsonrpc
from harness.errors import WrongAnswer
from harness.markdown import table
from harness.paths import BENCH_DIR, ROOT
from harness.processes import wait_or_kill
from harness.stats import median
from harness.turns import OnFailure, take_turns
from harness.usage import CpuMeter

SERVERS: dict[str, list[str]] = {
    "mocopr": [sys.executable, "-m", "mocopr", "serve", f"{BENCH_DIR / 'mocopr_app.py'}:app", "--stdio"],
    "sdk": [sys.executable, str(BENCH_DIR / "sdk_app.py")],
    "floor": [sys.executable, str(BENCH_DIR / "floor_server.py")],
}
PLACEMENTS = ("same", "split", "os")
CPUS = sorted(os.sched_getaffinity(0))
LEGACY, MODERN = "legacy", "modern"
MODERN_META = (
    b',"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    b'"io.modelcontextprotocol/clientCapabilities":{}}'
)
INITIALIZE = msgspec.json.encode(jsonrpc.initialize("init")) + b"\n"
INITIALIZED = msgspec.json.encode(jsonrpc.INITIALIZED) + b"\n"
B = 7  # the second operand of every call; the first is the request id


@dataclass(frozen=True)
class Config:
    server: str
    era: str
    tool: str
    placement: str

    @property
    def label(self) -> str:
        return f"{self.server} {self.era} {self.tool} ({self.placement})"


@dataclass
class Sample:
    config: Config
    calls_per_second: float
    client_cpu: float  # seconds of client CPU during the timed calls
    server_cpu: float  # seconds of server CPU during the timed calls
    wall: float


@dataclass
class Outcome:
    calls: int
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None

    @property
    def median(self) -> float:
        return median(s.calls_per_second for s in self.samples)


class LineReader:
    """Reads newline-terminated lines from a pipe with plain ``os.read`` calls."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def readline(self) -> bytes:
        buffer = self.buffer
        while True:
            newline = buffer.find(b"\n")
            if newline >= 0:
                self.buffer = buffer[newline + 1 :]
                return buffer[:newline]
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise WrongAnswer("the server closed its stdout")
            buffer += chunk


_decode_reply = msgspec.json.Decoder(jsonrpc.Reply[int]).decode


def request_template(config: Config) -> bytes:
    meta = MODERN_META if config.era == MODERN else b""
    return (
        b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"'
        + config.tool.encode()
        + b'","arguments":{"a":%d,"b":'
        + str(B).encode()
        + b"}"
        + meta
        + b"}}\n"
    )


def check(line: bytes, request_id: int, modern: bool) -> None:
    """Raise :class:`WrongAnswer` unless ``line`` is the correct result for the call."""
    try:
        reply = _decode_reply(line)
    except msgspec.DecodeError as exc:
        raise WrongAnswer(f"call {request_id}: undecodable answer ({exc}): {line[:300]!r}") from None
    if not jsonrpc.is_correct(reply, request_id, request_id + B, modern):
        raise WrongAnswer(f"call {request_id}: wrong answer: {line[:300]!r}")


def run_calls(
    write_fd: int, reader: LineReader, template: bytes, first: int, count: int, modern: bool
) -> None:
    write = os.write
    readline = reader.readline
    for request_id in range(first, first + count):
        write(write_fd, template % (request_id, request_id))
        check(readline(), request_id, modern)


def handshake(write_fd: int, reader: LineReader) -> None:
    os.write(write_fd, INITIALIZE)
    line = reader.readline()
    try:
        reply = msgspec.json.decode(line)
    except msgspec.DecodeError:
        reply = None
    if not isinstance(reply, dict) or reply.get("id") != "init" or "result" not in reply:
        raise WrongAnswer(f"initialize failed: {line[:300]!r}")
    os.write(write_fd, INITIALIZED)


def cpu_sets(placement: str) -> tuple[set[int], set[int]]:
    """The CPUs the client and the server may run on."""
    if placement == "os":
        return set(CPUS), set(CPUS)
    return {CPUS[0]}, {CPUS[0] if placement == "same" else CPUS[1]}


def measure(config: Config, calls: int, warmup: int) -> Sample:
    """Start a server, warm it up, time ``calls`` round trips, stop it."""
    client_cpus, server_cpus = cpu_sets(config.placement)
    os.sched_setaffinity(0, client_cpus)

    def pin_server() -> None:
        os.sched_setaffinity(0, server_cpus)

    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            SERVERS[config.server],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            bufsize=0,
            preexec_fn=pin_server,
        )
        try:
            return _drive(config, process, calls, warmup)
        except (WrongAnswer, OSError) as exc:
            raise WrongAnswer(f"{exc}\n--- server stderr ---\n{_tail(stderr)}") from None
        finally:
            _stop(process)


def _drive(config: Config, process: subprocess.Popen[bytes], calls: int, warmup: int) -> Sample:
    assert process.stdin is not None and process.stdout is not None
    write_fd = process.stdin.fileno()
    reader = LineReader(process.stdout.fileno())
    modern = config.era == MODERN
    template = request_template(config)
    server = psutil.Process(process.pid)
    if not modern:
        handshake(write_fd, reader)
    run_calls(write_fd, reader, template, 1, warmup, modern)
    gc.collect()
    gc.disable()
    try:
        with CpuMeter({"server": server}) as cpu:  # this process is the client
            start = time.perf_counter()
            run_calls(write_fd, reader, template, warmup + 1, calls, modern)
            wall = time.perf_counter() - start
    finally:
        gc.enable()
    return Sample(config, calls / wall, cpu.harness_s, cpu.server_s, wall)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """A stdio server stops at the end of its input."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    wait_or_kill(process, timeout=10)
    process.stdout.close()


def _tail(stream: IO[bytes], limit: int = 4000) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")[-limit:]


def report(outcomes: dict[Config, Outcome], repeats: int) -> str:
    headings = [
        "placement", "server", "era", "tool", "calls/run", "median calls/s", "min", "max", "µs/call",
        "client CPU", "server CPU", "client share",
    ]  # fmt: skip
    ratio_headings = ["placement", "era", "tool", "mocopr/SDK", "mocopr/floor"]

    def median_of(server: str, config: Config) -> float | None:
        outcome = outcomes.get(Config(server, config.era, config.tool, config.placement))
        ok = outcome is not None and outcome.failure is None and outcome.samples
        return outcome.median if ok else None  # type: ignore[union-attr]

    ratios = []
    for config in outcomes:
        mine = median_of("mocopr", config) if config.server == "mocopr" else None
        if mine is not None:
            cells = [
                "" if r is None else f"{mine / r:.2f}x"
                for r in (median_of(other, config) for other in ("sdk", "floor"))
            ]
            ratios.append([config.placement, config.era, config.tool, *cells])
    return "\n".join(
        [
            f"Sequential tools/call round trips over stdio, median of {repeats} runs "
            "(each run: a fresh server, a warm-up, then the timed calls).",
            "",
            *table(
                headings, (outcome_row(config, outcome) for config, outcome in outcomes.items()), labels=4
            ),
            "",
            "client CPU, server CPU: CPU seconds per wall second during the timed calls (100% = one CPU);",
            "client share: the client's part of the CPU the two processes used.",
            "",
            *table(ratio_headings, ratios, labels=3),
        ]
    )


def describe(sample: Sample) -> str:
    return f"{sample.config.label}: {sample.calls_per_second:,.0f} calls/s"


def outcome_row(config: Config, outcome: Outcome) -> list[str]:
    row = [config.placement, config.server, config.era, config.tool, f"{outcome.calls:,}"]
    if outcome.failure is not None or not outcome.samples:
        return [*row, "FAILED", "", "", "", "", "", ""]
    rates = [s.calls_per_second for s in outcome.samples]
    wall = sum(s.wall for s in outcome.samples)
    client = sum(s.client_cpu for s in outcome.samples)
    server = sum(s.server_cpu for s in outcome.samples)
    return [
        *row, f"{outcome.median:,.0f}", f"{min(rates):,.0f}", f"{max(rates):,.0f}",
        f"{1e6 / outcome.median:.1f}", f"{client / wall:.0%}", f"{server / wall:.0%}",
        f"{client / (client + server):.0%}",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls",
        type=int,
        default=20_000,
        help="timed calls per mocopr and floor run (default: %(default)s)",
    )
    parser.add_argument(
        "--sdk-calls", type=int, default=5_000, help="timed calls per SDK run (default: %(default)s)"
    )
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls first (default: %(default)s)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs per configuration (default: %(default)s)"
    )
    parser.add_argument(
        "--placement",
        default="same,split,os",
        help="comma-separated, from: same, split, os (default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, for a smoke run")
    args = parser.parse_args(argv)
    placements = args.placement.split(",")
    if any(p not in PLACEMENTS for p in placements):
        parser.error(f"--placement takes {', '.join(PLACEMENTS)}")
    if "split" in placements and len(CPUS) < 2:
        parser.error("--placement split needs two CPUs")
    if args.quick:
        args.calls, args.sdk_calls, args.warmup, args.repeats = 300, 100, 20, 1

    configs = [
        Config(server, era, tool, placement)
        for placement in placements
        for tool in ("add", "add_async")
        for era in (LEGACY, MODERN)
        for server in ("mocopr", "sdk", "floor")
        if not (server == "floor" and tool != "add")
    ]
    outcomes = {c: Outcome(args.sdk_calls if c.server == "sdk" else args.calls) for c in configs}

    rounds = take_turns(
        "stdio_roundtrip", configs, args.repeats,
        lambda config, _turn: [measure(config, outcomes[config].calls, args.warmup)],
        label=lambda config: config.label, describe=describe, on_failure=OnFailure.DROP,
    )  # fmt: skip
    os.sched_setaffinity(0, CPUS)
    for sample in rounds.results:
        outcomes[sample.config].samples.append(sample)
    for failure in rounds.failures:
        outcomes[failure.case].failure = failure.message

    print(report(outcomes, args.repeats))
    if rounds.failures:
        failed = ", ".join(failure.label for failure in rounds.failures)
        print(f"\nFAILED (wrong answers): {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
