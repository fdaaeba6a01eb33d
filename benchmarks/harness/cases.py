"""A wrk case: one kind of server in one era. Each measurement starts the server fresh, opens the session
of the legacy era, checks one answer strictly before any load (a server that answers wrongly is never
measured), warms it up, and measures."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from .errors import BenchmarkError
from .http_client import decode_answer, open_session
from .jsonrpc import Reply, is_correct
from .paths import WRK_DIR
from .peers import FIXED_ANSWER
from .processes import Launch, Server, serving
from .wrk import Load, WrkReport, run_wrk


@dataclass(frozen=True)
class Case:
    """One server kind (``peers``) and one era; ``script_name`` names the wrk script if not ``era``.lua."""

    name: str
    server: str
    era: str  # "modern" or "legacy"
    script_name: str = ""

    @property
    def script(self) -> Path:
        return WRK_DIR / f"{self.script_name or self.era}.lua"

    @property
    def checked(self) -> bool:
        """Whether the first answer is checked strictly (a fixed answer has a fixed id)."""
        return self.server not in FIXED_ANSWER


@dataclass(frozen=True)
class ServerUnderTest:
    """A started server that answered correctly once: wrk's script arguments in its era (the legacy
    session's id) and how many tries the first answer took."""

    case: Case
    server: Server
    script_args: list[str]
    first_check_tries: int

    def run_wrk(self, load: Load, seconds: int) -> WrkReport:
        return run_wrk(self.case.script, self.server.url, self.script_args, load, seconds)

    def warm_up(self, load: Load, seconds: int) -> None:
        """Load that is not measured: caches, pools and the allocator settle first."""
        warm = self.run_wrk(load, seconds)
        if warm.errors:
            print(
                f"  warning: {self.case.name} {load}: {warm.errors} errors during the warm-up",
                file=sys.stderr,
            )


@dataclass(frozen=True)
class WrkRun:
    """One measured wrk run against one server, with the CPU time around it."""

    case: Case
    load: Load
    wrk: WrkReport
    server_cpu_s: float
    harness_cpu_s: float  # this script's
    other_cpu_s: float  # the rest of the machine's user and system CPU time (noise)


@contextmanager
def server_under_test(case: Case, launch: Launch, log: Path, attempts: int = 1) -> Iterator[ServerUnderTest]:
    """Start a server for ``case`` and check its first answer (``check_first_answer``); always stop it."""
    with serving(launch, log) as server:
        script_args = [open_session(server.url)] if case.era == "legacy" else []
        tries = check_first_answer(case, server.url, script_args, attempts)
        yield ServerUnderTest(case, server, script_args, tries)


def check_first_answer(case: Case, url: str, script_args: list[str], attempts: int = 1) -> int:
    """One request by wrk (``-c1``, script argument ``once``) and a strict check of its answer; the
    number of tries it took. An HTTP 404 is tried again, up to ``attempts`` tries in all: with several
    server processes that do not share sessions, a new connection may land on one that does not know
    the session. Anything else wrong raises ``BenchmarkError``. A fixed answer (not ``case.checked``)
    only has to pass the Lua check."""
    for attempt in range(1, attempts + 1):
        first = run_wrk(case.script, url, [*script_args, "once"], Load(1, 1), seconds=1)
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


def check_answer(report: WrkReport, era: str) -> None:
    """Check the first answer wrk got strictly; ``BenchmarkError`` if it is not add's result, 3."""
    status, body, request_id = (report.fields[key] for key in ("first_status", "first_body", "first_id"))
    if status != 200 or body is None:
        raise BenchmarkError(f"HTTP {status}: {body!r}")
    try:
        reply = msgspec.convert(decode_answer(body), Reply[int])
    except msgspec.ValidationError:
        reply = None
    if reply is None or not is_correct(reply, request_id, 3, modern=era == "modern"):
        raise BenchmarkError(f"not add's result 3 for request {request_id}: {body!r}")
