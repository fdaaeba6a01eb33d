"""The benchmark app for the official SDK (``mcp`` 2.3.0, ``MCPServer``); the
same tools as ``mocopr_app.py`` (``bench_tools.py``'s).

Run it as a script to serve it on stdio: ``python benchmarks/sdk_app.py``.
Note that the SDK runs a sync tool (``add``, ``echo``) on a worker thread and
awaits a coroutine tool (``add_async``, ``echo_async``) on the event loop.
"""

from bench_tools import TOOLS
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("bench", version="1.0.0")
for tool in TOOLS:
    mcp.tool()(tool)


if __name__ == "__main__":
    mcp.run()
