"""``mocopr loadtest``: put any Streamable HTTP MCP server under load and measure it.

    from mocopr.loadtest import LoadScenario, LoadTester

    scenario = LoadScenario.build(mix="tools/call=0.9,tools/list=0.1", tool="add", arguments={"a": 1, "b": 2})
    result = LoadTester("http://127.0.0.1:8000/mcp", scenario, clients=32, rps=2000, duration=10).run()
    print(result.format_text())

The names load on first use: the ``loadtest`` extra (aiomultiprocess, hdrhistogram, rich, uvloop,
matplotlib) is needed to run a load test, not to serve, and ``mocopr``'s command line imports
``mocopr.loadtest.cli`` whatever the command.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mocopr.loadtest.handshake import TargetError
    from mocopr.loadtest.result import LatencySummary, LoadResult, OperationResult, SeriesPoint
    from mocopr.loadtest.scenario import LoadScenario, Operation, ScenarioError
    from mocopr.loadtest.stats import ErrorCounts
    from mocopr.loadtest.tester import LoadTester, Progress

_HOMES = {
    "ErrorCounts": "stats",
    "LatencySummary": "result",
    "LoadResult": "result",
    "LoadScenario": "scenario",
    "LoadTester": "tester",
    "Operation": "scenario",
    "OperationResult": "result",
    "Progress": "tester",
    "ScenarioError": "scenario",
    "SeriesPoint": "result",
    "TargetError": "handshake",
}

__all__ = [
    "ErrorCounts",
    "LatencySummary",
    "LoadResult",
    "LoadScenario",
    "LoadTester",
    "Operation",
    "OperationResult",
    "Progress",
    "ScenarioError",
    "SeriesPoint",
    "TargetError",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
