"""What a run costs: CPU time (of a server's processes, of the load generator, of this script and of the
rest of the machine) and memory. On a small machine the load generator competes with the server for
the CPUs, so every benchmark shows whose CPU time went where."""

import resource
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import psutil

from .errors import BenchmarkError


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
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


def own_cpu_seconds() -> float:
    """User and system CPU time of this script so far (all its threads), to the microsecond."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """User and system CPU time of this script's finished child processes (a load generator that ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss(pid: int) -> int:
    """The process's peak resident set size (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchmarkError(f"no VmHWM for process {pid}")


class CpuMeter:
    """The CPU time of a stretch of a run (``with CpuMeter(...) as meter:``): of each of a server's
    processes by role, of this script, and of the whole machine."""

    def __init__(self, processes: Mapping[str, psutil.Process]) -> None:
        self.processes = processes
        self.by_role: dict[str, float] = {}
        self.harness_s = 0.0
        self.machine_s = 0.0
        self._before: tuple[dict[str, float], float, float] = ({}, 0.0, 0.0)

    def _read(self) -> tuple[dict[str, float], float, float]:
        by_role = {role: cpu_seconds([process]) for role, process in self.processes.items()}
        return by_role, own_cpu_seconds(), machine_cpu_seconds()

    def __enter__(self) -> "CpuMeter":
        self._before = self._read()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            return
        roles_before, harness_before, machine_before = self._before
        by_role, harness_s, machine_s = self._read()
        self.by_role = {role: seconds - roles_before[role] for role, seconds in by_role.items()}
        self.harness_s = harness_s - harness_before
        self.machine_s = machine_s - machine_before

    @property
    def server_s(self) -> float:
        """The server's CPU time: every process of it."""
        return sum(self.by_role.values())

    def others_s(self, generator_s: float) -> float:
        """The rest of the machine's CPU time, less the server's, the load generator's and this script's:
        other processes, noise."""
        return max(0.0, self.machine_s - self.server_s - generator_s - self.harness_s)


@contextmanager
def failing_if_server_dies(name: str) -> Iterator[None]:
    """Reading a server's processes raises ``BenchmarkError`` if one of them is gone."""
    try:
        yield
    except (psutil.Error, OSError) as exc:
        raise BenchmarkError(f"{name}: a server process died during the run ({exc})") from None
