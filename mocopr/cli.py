"""The ``mocopr`` command."""

import argparse
import logging
import sys

import trio

from mocopr import __version__
from mocopr.loader import AppLoadError, load_app
from mocopr.transport.stdio import DEFAULT_MAX_MESSAGE_SIZE, serve_stdio


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mocopr", description="Serve MCP apps, fast.")
    parser.add_argument("--version", action="version", version=f"mocopr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve an app")
    serve.add_argument("app", metavar="APP", help="module:attribute or path/to/file.py:attribute")
    serve.add_argument("--stdio", action="store_true", help="serve one client on stdin and stdout")
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
    if not args.stdio:
        print("mocopr: error: only --stdio is available in this version", file=sys.stderr)
        return 2
    trio.run(lambda: serve_stdio(app, max_message_size=args.max_message_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
