"""mocopr's ``add`` app for ``http_wrk.py``; ``http_sdk_app.py`` is the same app for the official SDK.

mocopr serve benchmarks/http_mocopr_app.py:app --bind 127.0.0.1:0
"""

from mocopr import McpServer

app = McpServer("bench", version="1.0.0")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
