"""``mocopr loadtest``, the second load generator: run as a user runs it (its own process and load
processes, closed loop, ``add(1, 2)`` only), read back from its JSON report. Its CPU time covers the
whole command, start-up included."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BenchmarkError
from .processes import run_to_end

#: Seconds beyond its duration before the load tester is given up.
TIMEOUT = 120


def loadtest_argv(url: str, era: str, clients: int, seconds: int, json_path: str) -> list[str]:
    return [
        sys.executable, "-m", "mocopr", "loadtest", url, "--clients", str(clients), "--duration",
        str(seconds), "--tool", "add", "--arguments", '{"a": 1, "b": 2}', "--era", era, "--json", json_path,
        "--quiet",
    ]  # fmt: skip


@dataclass(frozen=True)
class LoadtestReport:
    """The load tester's JSON report and the CPU time of the whole command."""

    fields: dict[str, Any]
    cpu_s: float

    @property
    def overall(self) -> dict[str, Any]:
        return self.fields["overall"]

    @property
    def seconds(self) -> float:
        return self.fields["measured_s"]

    @property
    def ok_per_s(self) -> float:
        return self.overall["ok"] / self.seconds

    @property
    def latency_ms(self) -> dict[str, float]:
        return self.overall["latency_ms"]

    @property
    def errors(self) -> int:
        return self.overall["requests"] - self.overall["ok"]

    @property
    def error_detail(self) -> str:
        """The errors in a few words, by kind (empty when there are none)."""
        errors = self.overall["errors"]
        parts = [f"transport {kind} x{n}" for kind, n in errors["transport"]["by_kind"].items()]
        parts += [f"HTTP {status} x{n}" for status, n in errors["http"]["by_status"].items()]
        parts += [f"JSON-RPC {code} x{n}" for code, n in errors["jsonrpc"]["by_code"].items()]
        parts += [f"{kind} x{errors[kind]}" for kind in ("tool", "invalid") if errors[kind]]
        return ", ".join(parts)


def run_loadtest(url: str, era: str, clients: int, seconds: int, json_path: Path) -> LoadtestReport:
    """One run; ``BenchmarkError`` if it wrote no report or stopped early."""
    json_path.unlink(missing_ok=True)
    finished = run_to_end(loadtest_argv(url, era, clients, seconds, str(json_path)), seconds + TIMEOUT)
    if not json_path.exists():
        raise finished.failure()
    fields = json.loads(json_path.read_text())
    if not fields["complete"]:
        raise BenchmarkError(f"the load tester stopped early: {fields['error']}")
    return LoadtestReport(fields, finished.cpu_s)
