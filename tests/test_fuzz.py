"""A short run of every fuzzer in tests/fuzz: a few thousand inputs each, from its seeds, none of
which may crash it. ``make fuzz`` runs them for longer."""

from pathlib import Path

import pytest

from tests.fuzz.run import TARGETS, run

#: Executions of each fuzzer: its seeds and a couple of thousand mutations of them.
RUNS = 2000


@pytest.mark.timeout(300)
@pytest.mark.parametrize("target", TARGETS)
def test_fuzzer_finds_no_crash(target: str, tmp_path: Path) -> None:
    outcome = run(target, runs=RUNS, crashes=tmp_path)
    assert outcome.crashes == [], outcome.output[-6000:]
    assert outcome.executions >= RUNS, outcome.output[-6000:]
