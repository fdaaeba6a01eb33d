"""The official SDK's ``MCPServer`` with the ``add`` tool, served over Streamable HTTP by uvicorn for
``http_wrk.py``; ``http_mocopr_app.py`` is the same app for mocopr.

    python benchmarks/http_sdk_app.py MODE [PORT] [--loop LOOP]

MODE is ``stateless-json`` (``stateless_http=True, json_response=True``), ``stateful-sse`` (sessions,
answers as SSE streams, the SDK's default) or ``stateful-json`` (sessions, plain JSON answers). uvicorn
runs as ``uvicorn module:app`` runs it: one worker in this process, its default (``auto``: uvloop if
installed) event loop unless ``--loop`` says otherwise, its default HTTP implementation (httptools if
installed), access log off. PORT 0 (the default) lets the kernel choose. Once listening, it prints
the URL and the loop and HTTP protocol classes uvicorn chose on stderr, e.g. ``sdk: serving at
http://127.0.0.1:PORT/mcp loop=uvloop.Loop http=HttpToolsProtocol``.

uvicorn with ``--workers N`` needs an import string, so each mode also has an app factory here
(``runtime_wrk.py`` runs them so):

    uvicorn --factory --app-dir benchmarks http_sdk_app:stateless_json_app --workers 2 --port 0
"""

import argparse
import asyncio
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

MODES: dict[str, tuple[bool, bool]] = {
    # MODE: (stateless_http, json_response)
    "stateless-json": (True, True),
    "stateful-sse": (False, False),
    "stateful-json": (False, True),
}

mcp = MCPServer("bench", version="1.0.0")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def build_app(mode: str) -> Starlette:
    """The SDK's ASGI app (endpoint ``/mcp``) in one of ``MODES``."""
    stateless, json_response = MODES[mode]
    return mcp.streamable_http_app(stateless_http=stateless, json_response=json_response)


def stateless_json_app() -> Starlette:
    """The ``stateless-json`` app, for ``uvicorn --factory``."""
    return build_app("stateless-json")


def stateful_sse_app() -> Starlette:
    """The ``stateful-sse`` app, for ``uvicorn --factory``."""
    return build_app("stateful-sse")


def stateful_json_app() -> Starlette:
    """The ``stateful-json`` app, for ``uvicorn --factory``."""
    return build_app("stateful-json")


class ReportingServer(uvicorn.Server):
    """A uvicorn server that says where it listens and which loop and HTTP protocol it runs."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        loop = type(asyncio.get_running_loop())
        print(
            f"sdk: serving at http://{host}:{port}/mcp loop={loop.__module__}.{loop.__qualname__}"
            f" http={self.config.http_protocol_class.__name__}",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the SDK's add app on 127.0.0.1 with uvicorn.")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("port", type=int, nargs="?", default=0, help="0 (the default): the kernel chooses")
    parser.add_argument("--loop", default="auto", help="uvicorn's --loop (default: auto, as uvicorn's own)")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        build_app(args.mode), host="127.0.0.1", port=args.port, loop=args.loop, log_level="warning",
        access_log=False,
    )  # fmt: skip
    ReportingServer(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
