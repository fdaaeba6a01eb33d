"""The benchmark app for mocopr; ``sdk_app.py`` is the same app for the official SDK.

Serve it with ``python -m mocopr serve benchmarks/mocopr_app.py:app --stdio``.
Its tools are ``bench_tools.py``'s: ``add`` is the round-trip tool; ``add_async`` is
the same tool written as a coroutine; ``echo`` and ``echo_async`` are the codec
benchmark's tools.
"""

from bench_tools import TOOLS

from mocopr import McpServer

app = McpServer("bench", version="1.0.0")
for tool in TOOLS:
    app.tool()(tool)
