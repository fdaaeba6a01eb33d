"""Running `mocopr serve --bind` as a real process for tests, on a port the kernel picks."""

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SERVING = re.compile(r"mocopr: serving \S+ at (http://\S+)")
_ADMIN = re.compile(r"mocopr: admin listener at (http://\S+)")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    admin_url: str | None
    #: Every line the server wrote to stderr, read on as it runs so the pipe never fills.
    log: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def admin_port(self) -> int:
        assert self.admin_url is not None
        return int(self.admin_url.rsplit(":", 1)[1])


@contextmanager
def running_server(
    app: str = "examples/everything.py:app",
    *args: str,
    env: dict[str, str] | None = None,
    admin: bool = False,
    shim: tuple[str, ...] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> Iterator[Server]:
    """Start the server, yield it once it serves, stop it (SIGTERM, then kill).

    ``shim`` holds options of tests/exec_shim.py, which sets up what systemd would
    (variables naming the server's own pid, a socket on descriptor 3) and execs it.
    """
    command = [sys.executable, "-m", "mocopr", "serve", app, "--bind", "127.0.0.1:0", *args]
    command += ["--admin", "127.0.0.1:0" if admin else ""]
    if shim is not None:
        command = [sys.executable, str(ROOT / "tests" / "exec_shim.py"), *shim, "--", *command]
    process = subprocess.Popen(
        command,
        pass_fds=pass_fds,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        start_new_session=True,
    )
    try:
        assert process.stderr is not None
        url = admin_url = None
        log: list[str] = []
        for line in process.stderr:
            log.append(line)
            if found := _SERVING.search(line):
                url = found.group(1)
                if not admin:
                    break
            elif found := _ADMIN.search(line):
                admin_url = found.group(1)
                break
        if url is None:
            raise RuntimeError(f"the server did not start (exit {process.wait(5)})")
        server = Server(process, url, admin_url, log)
        threading.Thread(target=lambda: log.extend(process.stderr), daemon=True).start()
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
