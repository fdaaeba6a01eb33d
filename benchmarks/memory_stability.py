"""Memory stability under a long mixed load: does a worker's memory settle, or grow?

``mocopr serve examples/everything.py:app --workers N`` takes a mixed modern-era load from
wrk (benchmarks/wrk/mixed.lua: tools/call, tools/list, resources/read, prompts/get, every
answer checked) until the workers have answered ``--requests`` requests (one million by
default). Each worker's RSS is sampled every second; growth is measured from the end of a
warm-up (the first ``--warmup`` requests: caches, pools and the allocator settle) to the end.
The check passes when no worker grew by more than ``--limit-mib`` (5 MiB) and wrk saw no error.

    python benchmarks/memory_stability.py [--requests 1000000] [--workers 2] [--markdown FILE]
"""

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def start_server(workers: int) -> tuple[subprocess.Popen[str], str, str]:
    command = [
        sys.executable, "-m", "mocopr", "serve", "examples/everything.py:app", "--bind", "127.0.0.1:0",
        "--workers", str(workers), "--admin", "127.0.0.1:0", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    url = admin = ""
    for line in server.stderr:
        if found := re.search(r"serving \S+ at (http://\S+)", line):
            url = found.group(1)
        elif found := re.search(r"admin listener at (http://\S+)", line):
            admin = found.group(1)
            break
    if not url or not admin:
        server.kill()
        raise SystemExit(f"the server did not start (exit {server.wait()})")
    return server, url, admin


def health(admin: str) -> dict:
    with urllib.request.urlopen(f"{admin}/health", timeout=5) as answer:
        return json.load(answer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--limit-mib", type=float, default=5.0)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    server, url, admin = start_server(args.workers)
    wrk = None
    try:
        script = str(ROOT / "benchmarks/wrk/mixed.lua")
        wrk = subprocess.Popen(
            ["wrk", "-t1", f"-c{args.connections}", "-d3600s", "-s", script, url],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples: dict[int, list[tuple[int, int]]] = {}
        baseline: dict[int, int] = {}
        started = time.monotonic()
        while True:
            report = health(admin)
            answered = sum(worker["requests"] for worker in report["workers"])
            for worker in report["workers"]:
                rss = psutil.Process(worker["pid"]).memory_info().rss
                samples.setdefault(worker["pid"], []).append((answered, rss))
                if answered >= args.warmup and worker["pid"] not in baseline:
                    baseline[worker["pid"]] = rss
            if answered >= args.requests or wrk.poll() is not None:
                break
            time.sleep(1.0)
        elapsed = time.monotonic() - started
    finally:
        if wrk is not None:
            wrk.send_signal(2)  # SIGINT: wrk prints its summary and done()
            output = wrk.communicate(timeout=30)[0]
        server.terminate()
        server.wait(30)
    mixed = json.loads(re.search(r"MIXED (\{.*\})", output).group(1)) if wrk else {"ok": 0, "errors": -1}
    rows = []
    worst = 0.0
    for pid, series in samples.items():
        start = baseline.get(pid, series[0][1])
        end = series[-1][1]
        peak = max(rss for _, rss in series)
        growth = (end - start) / MIB
        worst = max(worst, growth)
        rows.append(f"| {pid} | {start / MIB:.1f} | {end / MIB:.1f} | {peak / MIB:.1f} | {growth:+.2f} |")
    verdict = "PASS" if worst <= args.limit_mib and mixed["errors"] == 0 else "FAIL"
    lines = [
        f"{answered:,} requests in {elapsed:.0f} s ({answered / elapsed:,.0f}/s), {args.workers} workers, "
        f"wrk -c{args.connections}; wrk counted {mixed['ok']:,} good answers and {mixed['errors']} errors.",
        "",
        "| worker pid | RSS after warm-up (MiB) | RSS at the end (MiB) | peak (MiB) | growth (MiB) |",
        "|--:|--:|--:|--:|--:|",
        *rows,
        "",
        f"Worst growth after the first {args.warmup:,} requests: {worst:+.2f} MiB "
        f"(limit {args.limit_mib:g} MiB): {verdict}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
