"""The benchmark app for the official SDK (``mcp`` 2.3.0, ``MCPServer``); the
same tools as ``mocopr_app.py``.

Run it as a script to serve it on stdio: ``python benchmarks/sdk_app.py``.
Note that the SDK runs a sync tool (``add``, ``echo``) on a worker thread and
awaits a coroutine tool (``add_async``, ``echo_async``) on the event loop.
"""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("bench", version="1.0.0")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
async def add_async(a: int, b: int) -> int:
    """Add two integers, as a coroutine."""
    return a + b


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
async def echo_async(text: str) -> str:
    """Return the text unchanged, as a coroutine."""
    return text


if __name__ == "__main__":
    mcp.run()
