"""The ``mocopr`` command: ``serve`` (stdio, one HTTP process, or the multiprocess
runtime), ``check-config``, and ``loadtest`` (put an MCP server under load)."""

import argparse
import logging
import sys
from functools import partial
from typing import Any

import trio

from mocopr import __version__
from mocopr.app.server import McpServer
from mocopr.config import Bind, Config, ConfigError, load_config
from mocopr.loader import AppLoadError, load_app
from mocopr.loadtest import cli as loadtest_cli
from mocopr.transport.http_app import serve_http
from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.stdio import serve_stdio


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mocopr", description="Serve MCP apps, fast.")
    parser.add_argument("--version", action="version", version=f"mocopr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an app")
    serve.add_argument(
        "app", metavar="APP", nargs="?", default=None,
        help="module:attribute or path/to/file.py:attribute (or app = ... in the config)",
    )  # fmt: skip
    serve.add_argument("--config", metavar="FILE", help="a TOML config file (see deploy/mocopr.toml)")
    serve.add_argument("--stdio", action="store_true", help="serve one client on stdin and stdout")
    serve.add_argument(
        "--bind", action="append", metavar="HOST:PORT",
        help="serve Streamable HTTP here; repeatable; [v6]:PORT and fd://N too (default 127.0.0.1:8000)",
    )  # fmt: skip
    serve.add_argument("--workers", type=int, metavar="N", help="worker processes (0: one per usable CPU)")
    serve.add_argument(
        "--single-process", action="store_true",
        help="serve HTTP in this one process, without supervisor, acceptor and workers",
    )  # fmt: skip
    serve.add_argument("--admin", metavar="HOST:PORT", help='the admin listener ("" disables)')
    serve.add_argument("--pid-file", metavar="FILE")
    serve.add_argument("--max-message-size", type=int, metavar="BYTES", help="largest stdio message")
    serve.add_argument("--log-level", help="stderr log level (default: info; warning with --stdio)")
    check = commands.add_parser("check-config", help="validate a config file and print the effective config")
    check.add_argument("file", metavar="FILE")
    loadtest_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "loadtest":
        return loadtest_cli.run(args)
    flags: dict[str, Any] = {
        "app": args.app,
        "server.bind": tuple(args.bind) if args.bind else None,
        "server.workers": args.workers,
        "server.admin": args.admin,
        "server.pid_file": args.pid_file,
        "server.log_level": args.log_level or ("warning" if args.stdio else None),
        "stdio.max_message_size": args.max_message_size,
    }
    try:
        config = load_config(args.config, flags=flags)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not config.app:
        print("mocopr: error: no app: give APP, or app = ... in --config FILE", file=sys.stderr)
        return 2
    logging.basicConfig(
        stream=sys.stderr,
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s [supervisor] %(name)s: %(message)s"
        if not (args.stdio or args.single_process)
        else "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.stdio or args.single_process:
        try:
            app = load_app(config.app)
        except AppLoadError as exc:
            print(f"mocopr: error: {exc}", file=sys.stderr)
            return 2
        if config.server.state_key:
            app.use_state_key(bytes.fromhex(config.server.state_key))
        if args.stdio:
            trio.run(partial(serve_stdio, app, max_message_size=config.stdio.max_message_size))
            return 0
        return serve_single_process(app, config)
    return serve_supervised(config, args.config, flags)


def serve_single_process(app: McpServer, config: Config) -> int:
    settings = config.http_settings()
    try:
        trio.run(run_http, app, settings, config.app)
    except OSError as exc:
        print(
            f"mocopr: error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0


async def run_http(app: McpServer, settings: HttpSettings, name: str) -> None:
    """Serve over HTTP and say where, with the port the kernel chose if 0 was asked for."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(serve_http, app, settings, handle_signals=True))
        address = Bind.of_socket(listeners[0].socket)
        print(f"mocopr: serving {name} at http://{address}{settings.endpoint}", file=sys.stderr, flush=True)


def serve_supervised(config: Config, config_path: str | None, flags: dict[str, Any]) -> int:
    """The multiprocess runtime: a supervisor, an acceptor, pinned workers."""
    from mocopr.server.supervisor import Supervisor

    try:
        load_app(config.app)
    except AppLoadError as exc:
        print(f"mocopr: error: {exc}", file=sys.stderr)
        return 2

    def announce(urls: list[str], admin_url: str | None) -> None:
        for url in urls:
            print(f"mocopr: serving {config.app} at {url}", file=sys.stderr, flush=True)
        if admin_url:
            print(f"mocopr: admin listener at {admin_url}", file=sys.stderr, flush=True)

    try:
        return trio.run(partial(Supervisor(config, config_path, flags).run, announce))
    except OSError as exc:
        print(f"mocopr: error: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1


def check_config(path: str) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    sys.stdout.write(config.to_toml(redact=True))
    print(f"{path} is valid. {config.describe()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
