"""Running `mocopr serve --bind` as a real process for tests, on a port the kernel picks."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SERVING = re.compile(r"serving \S+ at (http://\S+)")


@contextmanager
def running_server(
    app: str = "examples/everything.py:app", *args: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start the server, yield its MCP endpoint URL, stop it (SIGTERM, then kill)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mocopr", "serve", app, "--bind", "127.0.0.1:0", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            found = _SERVING.search(line)
            if found:
                url = found.group(1)
                break
        if url is None:
            raise RuntimeError(f"the server did not start (exit {process.wait(5)})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
