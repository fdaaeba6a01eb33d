"""wrk, the reference load generator: its command line, one run of it, and what ``wrk/mcp_check.lua``
prints at the end of a run (``MCPWRK {json}``: its counts, wrk's own figures and the first answer),
with the CPU time wrk used."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .processes import run_to_end

#: Seconds beyond its duration before a wrk run is given up.
TIMEOUT = 60
REPORT_PREFIX = "MCPWRK "


@dataclass(frozen=True, order=True)
class Load:
    """wrk's threads and connections."""

    threads: int
    connections: int

    def __str__(self) -> str:
        return f"-t{self.threads} -c{self.connections}"

    @classmethod
    def parse(cls, text: str) -> "Load":
        """``THREADSxCONNECTIONS``, e.g. ``1x32``."""
        threads, _, connections = text.partition("x")
        load = cls(int(threads), int(connections))
        if load.threads < 1 or load.connections < load.threads:
            raise ValueError(f"bad load {text!r}: at least one thread and one connection per thread")
        return load


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


def wrk_argv(
    script: Path, url: str, load: Load, seconds: int, script_args: list[str], latency: bool = True
) -> list[str]:
    argv = ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s"]
    argv += ["--latency"] if latency else []
    argv += ["-s", str(script), url]
    return [*argv, "--", *script_args] if script_args else argv


def run_wrk(script: Path, url: str, script_args: list[str], load: Load, seconds: int) -> WrkReport:
    """One run of wrk with a script that loads ``mcp_check.lua``; ``BenchmarkError`` if it printed no
    report."""
    finished = run_to_end(wrk_argv(script, url, load, seconds, script_args), seconds + TIMEOUT)
    for line in finished.done.stdout.splitlines():
        if line.startswith(REPORT_PREFIX):
            return WrkReport(json.loads(line.removeprefix(REPORT_PREFIX)), finished.cpu_s)
    raise finished.failure()
