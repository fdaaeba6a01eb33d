"""The ``mocopr`` command."""

import argparse
import logging
import sys
from functools import partial

import trio

from mocopr import __version__
from mocopr.app.server import McpServer
from mocopr.loader import AppLoadError, load_app
from mocopr.transport.http_app import serve_http
from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.stdio import DEFAULT_MAX_MESSAGE_SIZE, serve_stdio


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mocopr", description="Serve MCP apps, fast.")
    parser.add_argument("--version", action="version", version=f"mocopr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an app")
    serve.add_argument("app", metavar="APP", help="module:attribute or path/to/file.py:attribute")
    serve.add_argument("--stdio", action="store_true", help="serve one client on stdin and stdout")
    serve.add_argument(
        "--bind", default="127.0.0.1:8000", metavar="HOST:PORT",
        help="serve Streamable HTTP on this address (default: %(default)s)",
    )  # fmt: skip
    serve.add_argument(
        "--max-message-size", type=int, default=DEFAULT_MAX_MESSAGE_SIZE, metavar="BYTES",
        help="largest message accepted (default: %(default)s)",
    )  # fmt: skip
    serve.add_argument("--log-level", default="warning", help="stderr log level (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app = load_app(args.app)
    except AppLoadError as exc:
        print(f"mocopr: error: {exc}", file=sys.stderr)
        return 2
    if args.stdio:
        trio.run(lambda: serve_stdio(app, max_message_size=args.max_message_size))
        return 0
    try:
        host, port = parse_bind(args.bind)
    except ValueError as exc:
        print(f"mocopr: error: {exc}", file=sys.stderr)
        return 2
    settings = HttpSettings(host=host, port=port)
    try:
        trio.run(run_http, app, settings, args.app)
    except OSError as exc:
        print(f"mocopr: error: cannot listen on {args.bind}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


async def run_http(app: McpServer, settings: HttpSettings, name: str) -> None:
    """Serve over HTTP and say where, with the port the kernel chose if 0 was asked for."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(serve_http, app, settings, handle_signals=True))
        host, port = listeners[0].socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"mocopr: serving {name} at http://{shown}:{port}{settings.endpoint}", file=sys.stderr, flush=True
        )


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) into its parts."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--bind takes HOST:PORT, not {value!r}")
    return host.strip("[]"), int(port)


if __name__ == "__main__":
    sys.exit(main())
