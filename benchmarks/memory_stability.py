"""Memory stability under a long mixed load: does a worker's memory settle, or grow?

``mocopr serve examples/everything.py:app --workers N`` takes a mixed modern-era load from
wrk (benchmarks/wrk/mixed.lua: tools/call, tools/list, resources/read, prompts/get, every
answer checked) until the workers have answered ``--requests`` requests (one million by
default). Each worker's RSS is sampled every second; growth is measured from the end of a
warm-up (the first ``--warmup`` requests: caches, pools and the allocator settle) to the end.
The check passes when the workers answered at least ``--requests`` requests, every worker was
sampled after the warm-up, no worker grew by more than ``--limit-mib`` (5 MiB) and wrk saw no
error; anything short of that is a FAIL that says what was missing, never a PASS on less.

    python benchmarks/memory_stability.py [--requests 1000000] [--workers 2] [--markdown FILE]
"""

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from harness import peers
from harness.errors import BenchmarkError
from harness.http_client import read_health
from harness.markdown import table
from harness.paths import ROOT, WRK_DIR
from harness.processes import exit_on_signals, serving
from harness.wrk import Load, wrk_argv

MIB = 1024 * 1024
APP = "examples/everything.py:app"
GROWTH_HEADINGS = [
    "worker pid",
    "RSS after warm-up (MiB)",
    "RSS at the end (MiB)",
    "peak (MiB)",
    "growth (MiB)",
]
WRK_RUN_SECONDS = 3600  # longer than any check: wrk runs until the workers answered enough, then SIGINT


@dataclass
class Samples:
    """RSS over the run, by worker pid: ``(answered so far, rss)`` pairs, and each worker's RSS at
    its first sample after the warm-up, the baseline its growth is measured from."""

    series: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    baseline: dict[int, int] = field(default_factory=dict)
    answered: int = 0
    elapsed: float = 0.0

    def take(self, report: dict[str, Any], warmup: int) -> None:
        self.answered = sum(worker["requests"] for worker in report["workers"])
        for worker in report["workers"]:
            rss = psutil.Process(worker["pid"]).memory_info().rss
            self.series.setdefault(worker["pid"], []).append((self.answered, rss))
            if self.answered >= warmup and worker["pid"] not in self.baseline:
                self.baseline[worker["pid"]] = rss


def sample_until(admin: str, wrk: subprocess.Popen[str], requests: int, warmup: int) -> Samples:
    """Sample every second until the workers answered ``requests`` or wrk stopped."""
    samples = Samples()
    started = time.monotonic()
    while True:
        samples.take(read_health(admin), warmup)
        if samples.answered >= requests or wrk.poll() is not None:
            break
        time.sleep(1.0)
    samples.elapsed = time.monotonic() - started
    return samples


def wrk_counts(output: str) -> dict[str, int] | None:
    """The ``MIXED {"ok": N, "errors": N}`` line that mixed.lua's ``done`` prints; None without it
    (wrk failed to start, or died before its summary)."""
    found = re.search(r"MIXED (\{.*\})", output)
    return json.loads(found.group(1)) if found else None


def shortfalls(samples: Samples, counts: dict[str, int] | None, requests: int) -> list[str]:
    """Why the run cannot pass whatever the growth: too few requests, a worker never measured after
    the warm-up, no count of wrk's answers, or errors in them."""
    reasons = []
    if samples.answered < requests:
        reasons.append(f"only {samples.answered:,} of {requests:,} requests answered")
    unmeasured = sorted(set(samples.series) - set(samples.baseline))
    if unmeasured:
        reasons.append(f"no RSS after the warm-up for worker(s) {', '.join(map(str, unmeasured))}")
    if counts is None:
        reasons.append("wrk printed no MIXED line (did it start, and run to its summary?)")
    elif counts["errors"]:
        reasons.append(f"wrk counted {counts['errors']:,} errors")
    return reasons


def growth_rows(samples: Samples) -> tuple[list[list[str]], float]:
    """A table row per measured worker, and the worst growth among them."""
    rows, worst = [], 0.0
    for pid, series in samples.series.items():
        if pid not in samples.baseline:
            continue
        start, end = samples.baseline[pid], series[-1][1]
        peak = max(rss for _, rss in series)
        growth = (end - start) / MIB
        worst = max(worst, growth)
        rows.append([str(pid), *(f"{rss / MIB:.1f}" for rss in (start, end, peak)), f"{growth:+.2f}"])
    return rows, worst


def run_load(args: argparse.Namespace) -> tuple[Samples, str]:
    """Serve, load with wrk while sampling, stop both; the samples and wrk's output."""
    launch = peers.mocopr_workers(args.workers, app=APP)
    with (
        tempfile.TemporaryDirectory(prefix="memory_stability.") as log_dir,
        serving(launch, Path(log_dir) / "server.log") as server,
    ):
        load = Load(1, args.connections)
        argv = wrk_argv(WRK_DIR / "mixed.lua", server.url, load, WRK_RUN_SECONDS, [], latency=False)
        try:
            wrk = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise SystemExit("wrk is not installed (it is the load of this check)") from None
        try:
            samples = sample_until(server.admin_url, wrk, args.requests, args.warmup)
        finally:
            wrk.send_signal(signal.SIGINT)  # wrk prints its summary and done()
            output = wrk.communicate(timeout=30)[0]
    return samples, output


def describe_wrk(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "wrk gave no count"
    return f"wrk counted {counts['ok']:,} good answers and {counts['errors']} errors"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--limit-mib", type=float, default=5.0)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    exit_on_signals()
    try:
        samples, output = run_load(args)
    except BenchmarkError as exc:
        raise SystemExit(f"memory_stability: {exc}") from None
    counts = wrk_counts(output)
    reasons = shortfalls(samples, counts, args.requests)
    rows, worst = growth_rows(samples)
    if worst > args.limit_mib:
        reasons.append(f"growth above {args.limit_mib:g} MiB")
    verdict = "FAIL: " + "; ".join(reasons) if reasons else "PASS"
    rate = samples.answered / samples.elapsed if samples.elapsed else 0.0
    lines = [
        f"{samples.answered:,} requests in {samples.elapsed:.0f} s ({rate:,.0f}/s), {args.workers} workers, "
        f"wrk -c{args.connections}; {describe_wrk(counts)}.",
        "",
        *table(GROWTH_HEADINGS, rows, labels=0),
        "",
        f"Worst growth after the first {args.warmup:,} requests: {worst:+.2f} MiB "
        f"(limit {args.limit_mib:g} MiB): {verdict}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
