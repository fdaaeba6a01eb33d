"""``mocopr loadtest URL [flags]``: the command line of the load tester.

Only the standard library and the scenario are imported here; the load machinery (and the
``loadtest`` extra it needs) is imported when the command runs, so that ``mocopr serve`` never
pays for it.

Exit status: 0 when the run ran its course (errors counted in it included), 1 when the target
could not be tested or the run ended early (a partial report is still written), 2 for bad usage.
"""

import argparse
import sys

from mocopr.loadtest.scenario import LoadScenario, ScenarioError

_EXTRA_HINT = "pip install 'mocopr[loadtest]'"


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``loadtest`` command to ``mocopr``'s subcommands."""
    parser = commands.add_parser(
        "loadtest",
        help="put a Streamable HTTP MCP server under load and measure it",
        description="Put a Streamable HTTP MCP server (any, not only mocopr) under load and measure "
        "throughput, latency percentiles and errors per operation.",
    )
    parser.add_argument("url", metavar="URL", help="the MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    load = parser.add_argument_group("load")
    load.add_argument("--clients", type=int, default=32, metavar="N", help="connections in all (default 32)")
    load.add_argument(
        "--rps", type=float, metavar="N",
        help="open loop: requests per second in all, sent on schedule (default: closed loop, full speed)",
    )  # fmt: skip
    load.add_argument(
        "--duration", type=float, default=10.0, metavar="S", help="seconds measured (default 10)"
    )
    load.add_argument(
        "--ramp-up", type=float, default=0.0, metavar="S",
        help="seconds over which the rate or the busy clients rise linearly, before the measured ones",
    )  # fmt: skip
    load.add_argument(
        "--processes", type=int, metavar="N", help="load processes (default: one per usable CPU)"
    )
    load.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request (default 10)")
    scenario = parser.add_argument_group("what to send")
    scenario.add_argument(
        "--mix", metavar="SPEC",
        help="operations by weight, e.g. tools/call=0.7,tools/list=0.1,resources/read=0.2 "
        "(default: each operation whose target is named, equally; else tools/list)",
    )  # fmt: skip
    scenario.add_argument("--tool", metavar="NAME", help="the tool that tools/call calls")
    scenario.add_argument("--arguments", metavar="JSON", help="the tool's arguments, a JSON object")
    scenario.add_argument(
        "--payload-size", type=int, metavar="BYTES",
        help="add a string argument of this many characters (for an echo-like tool)",
    )  # fmt: skip
    scenario.add_argument(
        "--payload-argument", default="text", metavar="NAME",
        help="the argument that --payload-size fills (default text)",
    )  # fmt: skip
    scenario.add_argument("--resource", metavar="URI", help="the resource that resources/read reads")
    scenario.add_argument("--prompt", metavar="NAME", help="the prompt that prompts/get gets")
    scenario.add_argument("--prompt-arguments", metavar="JSON", help="the prompt's arguments, a JSON object")
    scenario.add_argument(
        "--era", choices=("modern", "legacy"), default="modern",
        help="modern (2026-07-28, stateless) or legacy (initialize, one session per client)",
    )  # fmt: skip
    output = parser.add_argument_group("output")
    output.add_argument("--json", metavar="FILE", help="write the full report, time series included, as JSON")
    output.add_argument("--plot", metavar="FILE.png", help="draw throughput and latency over time")
    output.add_argument("--quiet", action="store_true", help="no live progress")


def run(args: argparse.Namespace) -> int:
    """Run the load test the arguments describe; print the report; write the files asked for."""
    try:
        scenario = LoadScenario.build(
            mix=args.mix,
            tool=args.tool,
            arguments=args.arguments,
            payload_size=args.payload_size,
            payload_argument=args.payload_argument,
            resource=args.resource,
            prompt=args.prompt,
            prompt_arguments=args.prompt_arguments,
            era=args.era,
        )
    except ScenarioError as exc:
        return _usage_error(str(exc))
    try:
        from rich.console import Console

        from mocopr.loadtest.progress import LiveProgress
        from mocopr.loadtest.tester import LoadTester

        if args.plot:
            from mocopr.loadtest.plot import plot
    except ImportError as exc:
        return _usage_error(f"the load tester needs {exc.name}: {_EXTRA_HINT}")
    try:
        tester = LoadTester(
            args.url,
            scenario,
            clients=args.clients,
            rps=args.rps,
            duration=args.duration,
            ramp_up=args.ramp_up,
            processes=args.processes,
            timeout=args.timeout,
        )
    except ValueError as exc:
        return _usage_error(str(exc))
    console = Console(stderr=True)
    if args.quiet or not console.is_terminal:
        result = tester.run()
    else:
        with LiveProgress(args.ramp_up + args.duration, console) as progress:
            tester.on_progress = progress.update
            result = tester.run()
    if result.error:
        print(f"mocopr loadtest: {result.error}", file=sys.stderr)
    print(result.format_text())
    try:
        if args.json:
            result.write_json(args.json)
        if args.plot:
            plot(result, args.plot)
    except OSError as exc:
        print(f"mocopr loadtest: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0 if result.complete else 1


def _usage_error(message: str) -> int:
    print(f"mocopr loadtest: error: {message}", file=sys.stderr)
    return 2
