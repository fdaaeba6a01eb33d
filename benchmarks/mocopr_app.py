"""The benchmark app for mocopr; ``sdk_app.py`` is the same app for the official SDK.

Serve it with ``python -m mocopr serve benchmarks/mocopr_app.py:app --stdio``.
``add`` is the round-trip tool; ``add_async`` is the same tool written as a
coroutine; ``echo`` and ``echo_async`` are the codec benchmark's tools.
"""

from mocopr import McpServer

app = McpServer("bench", version="1.0.0")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
async def add_async(a: int, b: int) -> int:
    """Add two integers, as a coroutine."""
    return a + b


@app.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@app.tool()
async def echo_async(text: str) -> str:
    """Return the text unchanged, as a coroutine."""
    return text
