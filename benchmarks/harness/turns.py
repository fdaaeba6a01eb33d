"""Repeats in which the cases take turns: each repeat measures every case once, in order, so that the slow
phases of a shared machine fall on all of them alike (rather than on every repeat of one case). Progress
goes to stderr as each case is measured; a case that cannot be measured is a ``Failure``."""

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

import psutil

from .errors import BenchmarkError
from .processes import exit_on_signals

CaseT = TypeVar("CaseT")
ResultT = TypeVar("ResultT")

#: What keeps a case from being measured: its server did not start, died or answered wrongly; a load
#: generator timed out; a process could not be read.
MEASUREMENT_ERRORS = (BenchmarkError, subprocess.TimeoutExpired, OSError, psutil.Error)


class OnFailure(Enum):
    """What a run does after a case could not be measured."""

    STOP = "stop the run: figures without the case would compare nothing"
    RETRY = "go on, and measure the case again in the next repeat"
    DROP = "go on, and leave the case out of the later repeats"


@dataclass(frozen=True)
class Turn:
    """A case's place in the run (its repeat, from 1, and its index within the repeat), and the run's
    directory for servers' logs and load generators' reports."""

    repeat: int
    index: int
    log_dir: Path


@dataclass(frozen=True)
class Failure(Generic[CaseT]):
    """A case that could not be measured in one repeat, and why."""

    case: CaseT
    label: str
    repeat: int
    message: str

    def __str__(self) -> str:
        return f"repeat {self.repeat}, {self.label}: {self.message}"


@dataclass
class Rounds(Generic[CaseT, ResultT]):
    """Every result of every repeat, in the order measured, and the failures."""

    results: list[ResultT] = field(default_factory=list)
    failures: list[Failure[CaseT]] = field(default_factory=list)

    def failed(self, case: CaseT) -> bool:
        return any(failure.case == case for failure in self.failures)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def take_turns(
    program: str,
    cases: Sequence[CaseT],
    repeats: int,
    measure: Callable[[CaseT, Turn], Sequence[ResultT]],
    *,
    label: Callable[[CaseT], str],
    describe: Callable[[ResultT], str],
    on_failure: OnFailure,
) -> Rounds[CaseT, ResultT]:
    """Measure every case once per repeat, in turns; ``describe`` each result as it comes. SIGTERM and
    SIGINT end the run with every server stopped (``exit_on_signals``)."""
    exit_on_signals()
    rounds: Rounds[CaseT, ResultT] = Rounds()
    with tempfile.TemporaryDirectory(prefix=f"{program}.") as log_dir:
        for repeat in range(1, repeats + 1):
            for index, case in enumerate(cases):
                if on_failure is OnFailure.DROP and rounds.failed(case):
                    continue
                started = time.monotonic()
                try:
                    results = measure(case, Turn(repeat, index, Path(log_dir)))
                except MEASUREMENT_ERRORS as exc:
                    rounds.failures.append(Failure(case, label(case), repeat, str(exc)))
                    progress(f"{program}: {rounds.failures[-1]}")
                    if on_failure is OnFailure.STOP:
                        return rounds
                    continue
                rounds.results += results
                for result in results:
                    progress(f"[{repeat}/{repeats}] {describe(result)}")
                progress(f"  ({time.monotonic() - started:.0f} s)")
    return rounds
