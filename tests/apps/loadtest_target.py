"""The server the load tester's tests aim at: it fails, stalls and stops on purpose, by call count,
so that a test knows exactly what the load tester should have seen.

Serve it with ``--single-process``: the counts are per process. Each test passes its own ``key``,
so that tests sharing one server do not share counts.
"""

import os
import time
from collections import Counter

import trio

from mocopr import Context, McpError, McpServer

app = McpServer("loadtest-target", version="1.0.0")

calls: Counter[str] = Counter()

#: The JSON-RPC error code of the injected errors.
INJECTED = -32050


def _count(key: str) -> int:
    calls[key] += 1
    return calls[key]


@app.tool()
def flaky(key: str) -> str:
    """Every 7th call is a JSON-RPC error, every 10th otherwise a tool error (``isError``)."""
    n = _count(f"flaky:{key}")
    if n % 7 == 0:
        raise McpError(INJECTED, "an injected JSON-RPC error")
    if n % 10 == 0:
        raise ValueError("an injected tool error")
    return "fine"


@app.tool()
def stall_once(key: str, at: int, seconds: float) -> str:
    """On call ``at``, block the server's event loop for ``seconds``: every connection waits."""
    if _count(f"stall:{key}") == at:
        time.sleep(seconds)
    return "done"


@app.tool()
async def chatty(ctx: Context) -> str:
    """Log before answering, so that the answer is an SSE stream with notifications first."""
    await ctx.info("working")
    return "logged"


@app.tool()
async def wait(seconds: float) -> str:
    """Answer after ``seconds``, without holding up other requests."""
    await trio.sleep(seconds)
    return "waited"


@app.tool()
def exit_at(key: str, at: int) -> str:
    """On call ``at``, end the server process at once: a server that stops mid-run."""
    if _count(f"exit:{key}") == at:
        os._exit(0)
    return "alive"


@app.tool()
def count(key: str) -> int:
    """How many calls the server has seen under ``key`` (e.g. ``flaky:...``)."""
    return calls[key]


@app.resource("target://status", mime_type="text/plain")
def status() -> str:
    return "up"


@app.prompt()
def greet(name: str) -> str:
    """A prompt, for mixes that include prompts/get."""
    return f"Say hello to {name}."
