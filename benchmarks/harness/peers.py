"""The servers under test over HTTP: the command line that starts each on 127.0.0.1 (the kernel choosing
the port, except for nginx, which cannot say which one it took) and how its log says it is ready.

The kinds name servers in the benchmarks' cases: ``MOCOPR`` is mocopr's multiprocess runtime (or one
process where the benchmark runs one process per server), ``SINGLE`` is ``mocopr serve
--single-process``, ``FLOOR`` is ``trio_floor.py``, ``NGINX`` is nginx with a fixed answer; a mode of
``http_sdk_app.py`` (its ``MODES``) names the official SDK's app in that mode.
"""

import re
import socket
import sys
from functools import cache
from pathlib import Path

from .paths import BENCH_DIR
from .processes import Launch, Ready, Server, command_output

MOCOPR = "mocopr"
SINGLE = "mocopr single process"
FLOOR = "floor"
NGINX = "nginx"
#: Kinds whose answer is a fixed body with a fixed id: it passes the Lua check but not the strict one.
FIXED_ANSWER = frozenset({FLOOR, NGINX})

MOCOPR_APP = "benchmarks/http_mocopr_app.py:app"
URL_PATTERN = re.compile(r"http://127\.0\.0\.1:\d+/mcp")
MOCOPR_URL = re.compile(r"mocopr: serving .* at (http://127\.0\.0\.1:\d+/mcp)")
MOCOPR_ADMIN = re.compile(r"mocopr: admin listener at (http://127\.0\.0\.1:\d+)")
UVICORN_URL = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
UVICORN_STARTED = "Application startup complete."
PORT_WAIT = 0.05
NGINX_CONF = """\
daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /mcp {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


# -- how a server says it is ready ---------------------------------------------------------------


def url_in_log(text: str, pid: int) -> Server | None:
    """Ready once the log names the endpoint, ``http://127.0.0.1:PORT/mcp``."""
    for line in text.splitlines():
        if match := URL_PATTERN.search(line):
            return Server(pid, match.group(), line.strip())
    return None


def mocopr_ready(text: str, pid: int) -> Server | None:
    """``mocopr: serving APP at URL`` and ``mocopr: admin listener at URL``."""
    url, admin = MOCOPR_URL.search(text), MOCOPR_ADMIN.search(text)
    if url is None or admin is None:
        return None
    return Server(pid, url.group(1), url.group(0), admin.group(1))


def uvicorn_ready(workers: int) -> Ready:
    """``Uvicorn running on URL`` (the port the kernel chose) and every worker's startup done."""

    def ready(text: str, pid: int) -> Server | None:
        match = UVICORN_URL.search(text)
        if match is None or text.count(UVICORN_STARTED) < workers:
            return None
        return Server(pid, f"{match.group(1)}/mcp", match.group(0))

    return ready


def port_ready(port: int) -> Ready:
    """Ready once something accepts a connection on 127.0.0.1:``port``."""

    def ready(text: str, pid: int) -> Server | None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=PORT_WAIT).close()
        except OSError:
            return None
        return Server(pid, f"http://127.0.0.1:{port}/mcp", f"nginx on 127.0.0.1:{port}")

    return ready


# -- the peers -----------------------------------------------------------------------------------


@cache
def mocopr_serve_argv() -> list[str]:
    """``mocopr serve`` for one process: ``--single-process`` where the command has a multiprocess mode."""
    argv = [
        sys.executable,
        "-m",
        "mocopr",
        "serve",
        MOCOPR_APP,
        "--bind",
        "127.0.0.1:0",
        "--log-level",
        "warning",
    ]
    if "--single-process" in command_output([*argv[:4], "--help"]):
        argv.append("--single-process")
    return argv


def mocopr_single_process() -> Launch:
    return Launch(mocopr_serve_argv(), url_in_log)


def mocopr_workers(workers: int, app: str = MOCOPR_APP) -> Launch:
    """``mocopr serve --workers N`` with its admin listener, whose ``/health`` names the workers."""
    argv = [
        sys.executable, "-m", "mocopr", "serve", app, "--bind", "127.0.0.1:0", "--workers", str(workers),
        "--admin", "127.0.0.1:0", "--log-level", "warning",
    ]  # fmt: skip
    return Launch(argv, mocopr_ready)


def sdk_one_process(mode: str, loop: str) -> Launch:
    """The SDK's app in one process: ``http_sdk_app.py MODE``, uvicorn run as ``uvicorn module:app``."""
    return Launch([sys.executable, str(BENCH_DIR / "http_sdk_app.py"), mode, "--loop", loop], url_in_log)


def sdk_uvicorn(mode: str, workers: int, loop: str) -> Launch:
    """The SDK's app under ``uvicorn --workers N`` (``http_sdk_app.py``'s factory for the mode)."""
    return uvicorn("benchmarks", f"http_sdk_app:{factory(mode)}", workers, loop)


def fastmcp_uvicorn(mode: str, workers: int) -> Launch:
    """FastMCP's app (``suite_apps/fastmcp_app.py``) under the SDK's very uvicorn command line, only the
    app directory and factory changed, so that both run under identical uvicorn settings."""
    return uvicorn("benchmarks/suite_apps", f"fastmcp_app:{factory(mode)}", workers, "auto")


def factory(mode: str) -> str:
    """The app factory of a mode, for ``uvicorn --factory``: ``stateless-json`` -> ``stateless_json_app``."""
    return f"{mode.replace('-', '_')}_app"


def uvicorn(app_dir: str, app_factory: str, workers: int, loop: str) -> Launch:
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--app-dir", app_dir, app_factory,
        "--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--loop", loop,
        "--log-level", "info", "--no-access-log",
    ]  # fmt: skip
    return Launch(argv, uvicorn_ready(workers))


def trio_floor(processes: int = 1) -> Launch:
    """``trio_floor.py``, with ``--processes N`` for more than one."""
    argv = [sys.executable, str(BENCH_DIR / "trio_floor.py")]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return Launch(argv, url_in_log)


def nginx(prefix: Path, workers: int, body: bytes) -> Launch:
    """nginx with a private configuration in ``prefix`` (a temporary directory): ``workers`` worker
    processes on a free port of 127.0.0.1, every request to ``/mcp`` answered with ``body``."""
    port = free_port()
    (prefix / "nginx.conf").write_text(
        NGINX_CONF.format(workers=workers, prefix=prefix, port=port, body=body.decode())
    )
    return Launch(nginx_argv(prefix), port_ready(port))


def nginx_argv(prefix: Path) -> list[str]:
    """nginx in the foreground with the configuration and error log in ``prefix``."""
    return ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


def free_port() -> int:
    """A port on 127.0.0.1 that the kernel says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
