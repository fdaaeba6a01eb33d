"""What a run measured on, as Markdown list items: the machine, the software and the commit, the load
average at the start and the end (another job on a shared machine shows there), what changed while it
ran, and what the servers said once listening. A figure means little without them."""

import importlib.metadata
import os
import platform
import re
import shlex
import sys
from pathlib import Path

from .paths import ROOT
from .processes import command_output

PORT = re.compile(r"127\.0\.0\.1:\d+")


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def first_line(argv: list[str]) -> str:
    return command_output(argv).partition("\n")[0].strip()


def machine_facts() -> list[str]:
    """The machine, the software and the commit."""
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


def command_line() -> str:
    """The command that made the report."""
    return f"Command: `{shlex.join(sys.orig_argv)}`, from the repository's root"


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


class Environment:
    """The facts at the start of a run (``machine_facts`` and the benchmark's own), the load average at its
    start and, after ``finish``, its end, and what each kind of server said once listening (the SDK:
    which loop and HTTP protocol uvicorn runs), its port left out so that the same words from every run
    are said once."""

    def __init__(self, *facts: str) -> None:
        self.facts = [*machine_facts(), *facts]
        self.load_averages = [load_average()]
        self.banners: dict[str, set[str]] = {}

    def finish(self) -> None:
        self.load_averages.append(load_average())

    def add_banner(self, kind: str, banner: str) -> None:
        self.banners.setdefault(kind, set()).add(PORT.sub("127.0.0.1:PORT", banner))

    def changes(self) -> list[str]:
        """The machine facts that differ at the end from the start (a commit, a changed file)."""
        changed = [fact for fact in machine_facts() if fact not in self.facts]
        return ["- changed during the run, to:", *(f"  {fact}" for fact in changed)] if changed else []

    def banner_lines(self) -> list[str]:
        return [
            f"- {kind} said: {'; '.join(f'`{banner}`' for banner in sorted(said))}"
            for kind, said in sorted(self.banners.items())
        ]

    def load_average_line(self) -> str:
        return f"- load average (1 min) at the start and the end: {', '.join(self.load_averages)}"
