"""Command-line options that several benchmarks share, with the same names, defaults and meaning."""

import argparse
from pathlib import Path


def add_run_options(
    parser: argparse.ArgumentParser,
    duration: int,
    repeats_help: str = "runs per case",
    warmup_help: str = "seconds of load before each run",
) -> None:
    """``--duration``, ``--repeats`` and ``--warmup``: how long each measured run is, how often each case
    runs, and how long its server is loaded first."""
    parser.add_argument(
        "--duration", type=int, default=duration, help=f"seconds per measured run (default: {duration})"
    )
    parser.add_argument("--repeats", type=int, default=3, help=f"{repeats_help} (default: 3)")
    parser.add_argument("--warmup", type=int, default=2, help=f"{warmup_help} (default: 2)")


def add_uvicorn_loop(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--uvicorn-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
        help="the SDK's event loop under uvicorn (default: auto, uvicorn's default: uvloop if installed)",
    )  # fmt: skip


def add_quick_and_markdown(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s, 1 repeat, 1 s warm-up")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the report to PATH")


def apply_quick(options: argparse.Namespace, duration: int) -> None:
    """A smoke run: ``duration`` seconds per run, one repeat, a one-second warm-up."""
    if options.quick:
        options.duration, options.repeats, options.warmup = duration, 1, 1


def require_positive(parser: argparse.ArgumentParser, options: argparse.Namespace, *names: str) -> None:
    """Exit with a usage error unless every option of ``names`` is at least 1."""
    if min(getattr(options, name) for name in names) < 1:
        flags = [f"--{name}" for name in names]
        parser.error(f"{', '.join(flags[:-1])} and {flags[-1]} must be at least 1")
