"""Where things are: the benchmarks run every server and load generator from the repository's root."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
