"""Runs the fuzzers in this directory, each in a process of its own, for a number of executions or
of seconds, and says how many inputs each tried and how many crashes it found.

    python tests/fuzz/run.py --seconds 600          # split over every fuzzer (make fuzz)
    python tests/fuzz/run.py --runs 2000 fuzz_ring  # a count each: the short run of the tests

Each starts from its seed corpus alone, so figures from two runs compare. A crash's input is kept
under --crashes; ``python tests/fuzz/<fuzzer>.py <input>`` runs it again.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = sorted(path.stem for path in HERE.glob("fuzz_*.py"))
#: Seconds one input may take before libFuzzer calls it a hang, which is a crash too.
HANG_SECONDS = 60


@dataclass
class Outcome:
    target: str
    executions: int
    crashes: list[Path]  # the inputs kept, one per crash
    seconds: float
    output: str  # the fuzzer's own report, for a crash's traceback


def run(target: str, *, runs: int | None = None, seconds: int | None = None, crashes: Path) -> Outcome:
    """One fuzzer for ``runs`` executions or ``seconds`` seconds."""
    limit = f"-atheris_runs={runs}" if runs is not None else f"-max_total_time={seconds}"
    with tempfile.TemporaryDirectory(prefix=f"{target}-") as scratch:
        corpus, artifacts = Path(scratch, "corpus"), Path(scratch, "artifacts")
        corpus.mkdir()
        artifacts.mkdir()
        command = [
            sys.executable, str(HERE / f"{target}.py"), limit, f"-timeout={HANG_SECONDS}",
            f"-artifact_prefix={artifacts}/", str(corpus),
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
        elapsed = time.monotonic() - started
        counts = re.findall(r"^Done (\d+) ", done.stderr, re.MULTILINE)
        kept = []
        for artifact in sorted(artifacts.iterdir()):
            crashes.mkdir(parents=True, exist_ok=True)
            kept.append(Path(shutil.copy(artifact, crashes / f"{target}-{artifact.name}")))
        if done.returncode and not kept:  # died without leaving its input
            kept.append(crashes / f"{target}-exit-{done.returncode}")
    return Outcome(target, int(counts[-1]) if counts else 0, kept, elapsed, done.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", default=TARGETS, help=f"of {', '.join(TARGETS)}")
    limit = parser.add_mutually_exclusive_group(required=True)
    limit.add_argument("--runs", type=int, help="executions of each fuzzer")
    limit.add_argument("--seconds", type=int, help="seconds in all, split evenly over the fuzzers")
    parser.add_argument("--crashes", type=Path, default=Path(tempfile.gettempdir()) / "mocopr-fuzz-crashes")
    args = parser.parse_args()
    share = None if args.seconds is None else max(1, args.seconds // len(args.targets))
    print(f"{'fuzzer':<24}{'executions':>12}{'crashes':>9}{'seconds':>9}", flush=True)
    outcomes = []
    for target in args.targets:
        outcome = run(target, runs=args.runs, seconds=share, crashes=args.crashes)
        outcomes.append(outcome)
        row = f"{target:<24}{outcome.executions:>12,}{len(outcome.crashes):>9}{outcome.seconds:>9.0f}"
        print(row, flush=True)
        for crash in outcome.crashes:
            print(f"    {crash}", flush=True)
    total = sum(outcome.executions for outcome in outcomes)
    found = sum(len(outcome.crashes) for outcome in outcomes)
    print(f"{'all':<24}{total:>12,}{found:>9}{sum(o.seconds for o in outcomes):>9.0f}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
