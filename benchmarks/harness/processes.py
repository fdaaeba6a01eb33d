"""Servers as processes: start one in the repository's root with its output in a log, wait until the log
says it listens, and always stop it with its whole process tree, so that no run leaves a server behind
to take CPU from the next."""

import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from .errors import BenchmarkError
from .paths import ROOT
from .usage import children_cpu_seconds

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
READY_POLL = 0.05


@dataclass(frozen=True)
class Server:
    """A server that listens: its first process, its endpoint, the line it printed once listening, and
    mocopr's admin listener where it has one."""

    pid: int
    url: str
    banner: str
    admin_url: str = ""


#: Reads a server's log so far (and its pid): the ``Server`` once it is ready, else None.
Ready = Callable[[str, int], Server | None]


@dataclass(frozen=True)
class Launch:
    """How to start a server: its command line, and how to tell from its log that it is ready."""

    argv: list[str]
    ready: Ready


@contextmanager
def serving(launch: Launch, log: Path) -> Iterator[Server]:
    """Start a server (output to ``log``), wait until it is ready, and always stop it with
    ``stop_process_tree``."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            launch.argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file
        )
    try:
        yield wait_until_ready(process, log, launch.ready)
    finally:
        stop_process_tree(process)


def wait_until_ready(process: subprocess.Popen[bytes], log: Path, ready: Ready) -> Server:
    """The ``Server`` once ``ready`` finds it in the log; ``BenchmarkError`` if the process exits first
    or ``START_TIMEOUT`` passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server := ready(log.read_text(errors="replace"), process.pid):
            return server
        if process.poll() is not None:
            raise BenchmarkError(
                f"server {process.args!r} exited with {process.returncode}:\n{log.read_text()}"
            )
        time.sleep(READY_POLL)
    raise BenchmarkError(f"server {process.args!r} did not say where it listens:\n{log.read_text()}")


def stop_process_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``process`` (a supervisor stops its children itself); after ``STOP_TIMEOUT``, SIGKILL
    to it and to any of its descendants that are still there."""
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    process.send_signal(signal.SIGTERM)
    wait_or_kill(process, STOP_TIMEOUT)
    _, alive = psutil.wait_procs(descendants, timeout=STOP_TIMEOUT)
    for leftover in alive:
        leftover.kill()
    psutil.wait_procs(alive, timeout=STOP_TIMEOUT)


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for a process that was told to stop; SIGKILL it if it has not within ``timeout`` seconds."""
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def exit_on_signals() -> None:
    """SIGTERM and SIGINT raise ``SystemExit``, so that the ``finally`` blocks stop every server (and
    ``subprocess.run`` kills a load generator) on the way out; SIGINT too because a shell starts a
    background job with SIGINT ignored."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end (a load generator): what it printed, and the CPU time it used."""

    argv: list[str]
    done: subprocess.CompletedProcess[str]
    cpu_s: float

    def failure(self) -> BenchmarkError:
        done = self.done
        return BenchmarkError(
            f"{shlex.join(self.argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )


def run_to_end(argv: list[str], timeout: float) -> Finished:
    """Run a command in the repository's root, its output captured; ``subprocess.TimeoutExpired`` (the
    command killed) after ``timeout`` seconds."""
    before = children_cpu_seconds()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    return Finished(argv, done, children_cpu_seconds() - before)


def command_output(argv: list[str]) -> str:
    """What a short command prints on stdout, run in the repository's root, whatever its exit status."""
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False).stdout
