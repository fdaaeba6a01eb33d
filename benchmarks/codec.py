"""In-process cost of one ``tools/call``, from request bytes to response bytes:
mocopr against the official SDK, with 1 KB, 10 KB and 100 KB of arguments.

The tool is ``echo(text: str) -> str`` from ``mocopr_app.py`` / ``sdk_app.py``
(and ``echo_async``, the same as a coroutine); both servers answer with the
text twice, once as text content and once as ``structuredContent``, so the
response is about twice the request. The request is a legacy-era call on an
initialized session. No pipes and no transport tasks: this isolates what each
framework does per message, where the stdio benchmark measures everything.

What each row includes:

``mocopr``
    ``messages.decode_message(line)`` then ``await dispatcher.dispatch(envelope,
    peer)``, which returns the encoded response bytes: envelope check, the
    in-flight cancel scope, params and argument decoding and validation
    (msgspec), the tool call (inline for a plain function), result shaping and
    encoding. Run under trio, as ``mocopr serve`` runs.

``sdk``
    What the SDK's stdio server does for the message, minus its memory
    streams and the task it starts per request: the stdio reader's
    ``jsonrpc_message_adapter.validate_json(line)``; the dispatcher's per-request
    dispatch context and cancel scope (as ``JSONRPCDispatcher._dispatch_request``
    builds them; private API); ``ServerRunner.on_request`` (per-version request
    validation, params model, ``MCPServer`` tool manager: pydantic argument
    validation, the tool call (a plain function goes to a worker thread),
    output validation, ``CallToolResult``, per-version result serialization);
    and the stdio writer's ``JSONRPCResponse(...).model_dump_json(by_alias=True,
    exclude_unset=True)``, encoded to UTF-8. Run under asyncio, as
    ``MCPServer.run()`` runs.

``sdk floor``
    Only the pydantic work no SDK-based server avoids, with no awaits and the
    tool called inline: ``validate_json`` of the message,
    ``CallToolRequestParams.model_validate``, the tool's own pydantic argument
    model, a ``CallToolResult`` dumped to a dict and the ``JSONRPCResponse``
    dumped to JSON. A lower bound for the SDK, not how it runs.

Each figure is the median over ``--repeats`` runs of the mean time per message
over a run of about ``--seconds``, after a warm-up; the rows take turns within
each repeat, so slow phases of a shared machine fall on all of them alike.
The garbage collector stays on. The
process is pinned to one CPU (``--no-pin`` to leave it to the scheduler): on
a virtual machine that keeps run-to-run noise down, and it makes the SDK's
hop to a worker thread for a plain-function tool a cheap local wake-up. Before
timing, every configuration's answer is decoded and checked (right id, the
text echoed in both places); a wrong answer makes the script exit with 1.

    python benchmarks/codec.py              # full run
    python benchmarks/codec.py --quick      # smoke run
"""

import argparse
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec
import trio
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner
from mcp.shared.jsonrpc_dispatcher import (
    JSONRPCDispatcher,
    _JSONRPCDispatchContext,
    progress_token_from_params,
)
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    JSONRPCResponse,
    TextContent,
    jsonrpc_message_adapter,
)

from mocopr.app.dispatch import Dispatcher
from mocopr.app.session import Peer
from mocopr.protocol import messages

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the two apps and the harness, next to this file
from harness import jsonrpc
from harness.errors import WrongAnswer
from harness.markdown import table
from harness.stats import group_by, median
from harness.turns import OnFailure, take_turns
from mocopr_app import app as mocopr_app
from sdk_app import mcp as sdk_app

SIZES = {"1 KB": 1_000, "10 KB": 10_000, "100 KB": 100_000}
# Text with characters JSON must escape (quotes, newlines) and non-ASCII ones.
PHRASE = 'The quick brown fox said "hello" to the naïve café owner.\n'
REQUEST_ID = 42
INITIALIZE = msgspec.json.encode(jsonrpc.initialize(0))
INITIALIZED = msgspec.json.encode(jsonrpc.INITIALIZED)
decode_reply = msgspec.json.Decoder(jsonrpc.Reply[str]).decode

# One message: request bytes in, response bytes out.
Handle = Callable[[bytes], Awaitable[bytes]]
MakeHandle = Callable[[], AbstractAsyncContextManager[Handle]]


@dataclass(frozen=True)
class Row:
    name: str
    tool: str
    runs_under: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.tool}"


@dataclass(frozen=True)
class RowTimings:
    """One repeat of one row: seconds per message, by size."""

    row: Row
    seconds: dict[str, float]


def make_text(size: int) -> str:
    """A text whose JSON-encoded ``arguments`` object is ``size`` bytes, give or take a phrase."""
    phrase_size = len(msgspec.json.encode(PHRASE)) - 2
    return PHRASE * max(1, size // phrase_size)


def make_request(tool: str, text: str) -> bytes:
    return msgspec.json.encode(
        {
            "jsonrpc": "2.0",
            "id": REQUEST_ID,
            "method": "tools/call",
            "params": {"name": tool, "arguments": {"text": text}},
        }
    )


def check(answer: bytes, text: str, row: Row) -> None:
    """``WrongAnswer`` unless ``answer`` is ``echo``'s result, the text itself, for ``REQUEST_ID``."""
    if not jsonrpc.is_correct(decode_reply(answer), REQUEST_ID, text, modern=False):
        raise WrongAnswer(f"{row.name} ({row.tool}): wrong answer: {answer[:300]!r}")


# -- mocopr ------------------------------------------------------------------------------


@asynccontextmanager
async def mocopr_handler() -> AsyncIterator[Handle]:
    dispatcher = Dispatcher(mocopr_app)

    async def discard(data: bytes) -> None:
        pass

    peer = Peer(send=discard)
    decode, dispatch = messages.decode_message, dispatcher.dispatch
    for line in (INITIALIZE, INITIALIZED):
        await dispatch(decode(line), peer)  # type: ignore[arg-type]

    async def handle(line: bytes) -> bytes:
        return await dispatch(decode(line), peer)  # type: ignore[arg-type,return-value]

    yield handle


# -- the official SDK --------------------------------------------------------------------


@asynccontextmanager
async def sdk_handler() -> AsyncIterator[Handle]:
    server = sdk_app._lowlevel_server
    send, receive = anyio.create_memory_object_stream[Any]()
    dispatcher: JSONRPCDispatcher[Any] = JSONRPCDispatcher(receive, send)
    build_transport = dispatcher._transport_builder
    validate_json = jsonrpc_message_adapter.validate_json
    async with send, receive, server.lifespan(server) as lifespan_state:
        runner = ServerRunner(server, Connection.for_loop(dispatcher), lifespan_state)
        on_request = runner.on_request

        async def handle(line: bytes) -> bytes:
            request = validate_json(line, by_name=False)
            dctx = _JSONRPCDispatchContext(
                transport=build_transport(None),
                _dispatcher=dispatcher,
                _request_id=request.id,
                _progress_token=progress_token_from_params(request.params),
            )
            with anyio.CancelScope():
                result = await on_request(dctx, request.method, request.params)
            dctx.close()
            response = JSONRPCResponse(jsonrpc="2.0", id=request.id, result=result)
            return response.model_dump_json(by_alias=True, exclude_unset=True).encode()

        await handle(INITIALIZE)
        await runner.on_notify(
            _JSONRPCDispatchContext(
                transport=build_transport(None), _dispatcher=dispatcher, _request_id=None
            ),
            "notifications/initialized",
            None,
        )
        yield handle


@asynccontextmanager
async def sdk_floor_handler() -> AsyncIterator[Handle]:
    get_tool = sdk_app._tool_manager.get_tool
    validate_json = jsonrpc_message_adapter.validate_json

    async def handle(line: bytes) -> bytes:
        return floor(line)

    def floor(line: bytes) -> bytes:
        request = validate_json(line, by_name=False)
        params = CallToolRequestParams.model_validate(request.params, by_name=False)
        tool = get_tool(params.name)
        assert tool is not None
        arguments = tool.fn_metadata.arg_model.model_validate(params.arguments or {})
        text = arguments.model_dump_one_level()["text"]  # the tool's body, inline
        result = CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content={"result": text}
        )
        response = JSONRPCResponse(
            jsonrpc="2.0",
            id=request.id,
            result=result.model_dump(by_alias=True, mode="json", exclude_none=True),
        )
        return response.model_dump_json(by_alias=True, exclude_unset=True).encode()

    yield handle


# -- measuring ---------------------------------------------------------------------------


async def time_row(make: MakeHandle, row: Row, texts: dict[str, str], seconds: float) -> dict[str, float]:
    """Seconds per message for each size: a warm-up that sets the count, then one timed run."""
    timings: dict[str, float] = {}
    async with make() as handle:
        for size, text in texts.items():
            line = make_request(row.tool, text)
            check(await handle(line), text, row)
            warmup, start = 0, time.perf_counter()
            while warmup < 5 or time.perf_counter() - start < seconds / 5:
                await handle(line)
                warmup += 1
            count = max(5, round(seconds * warmup / (time.perf_counter() - start)))
            start = time.perf_counter()
            for _ in range(count):
                await handle(line)
            timings[size] = (time.perf_counter() - start) / count
    return timings


ROWS: list[tuple[Row, MakeHandle]] = [
    (Row("mocopr", "echo", "trio"), mocopr_handler),
    (Row("mocopr", "echo_async", "trio"), mocopr_handler),
    (Row("sdk", "echo", "asyncio"), sdk_handler),
    (Row("sdk", "echo_async", "asyncio"), sdk_handler),
    (Row("sdk floor", "echo", "asyncio"), sdk_floor_handler),
]


def run_row(row: Row, make: MakeHandle, texts: dict[str, str], seconds: float) -> RowTimings:
    async def job() -> dict[str, float]:
        return await time_row(make, row, texts, seconds)

    if row.runs_under == "trio":
        return RowTimings(row, trio.run(job))
    return RowTimings(row, anyio.run(job, backend="asyncio"))


def report(results: list[RowTimings], texts: dict[str, str], repeats: int) -> str:
    sizes = list(texts)
    request_sizes = {size: len(make_request("echo", text)) for size, text in texts.items()}
    by_row = group_by(results, lambda timings: timings.row)
    medians = {
        row: {s: median(t.seconds[s] for t in own) * 1e6 for s in sizes} for row, own in by_row.items()
    }
    rows = [
        [row.name, row.tool, row.runs_under, *(f"{figures[s]:,.1f}" for s in sizes)]
        for row, figures in medians.items()
    ]
    pairs = [
        ("sdk / mocopr, echo", Row("sdk", "echo", "asyncio"), Row("mocopr", "echo", "trio")),
        (
            "sdk / mocopr, echo_async",
            Row("sdk", "echo_async", "asyncio"),
            Row("mocopr", "echo_async", "trio"),
        ),
        ("sdk floor / mocopr, echo", Row("sdk floor", "echo", "asyncio"), Row("mocopr", "echo", "trio")),
    ]
    ratios = [
        [label, *(f"{medians[theirs][s] / medians[mine][s]:.1f}x" for s in sizes)]
        for label, theirs, mine in pairs
    ]
    lines = [
        "One tools/call in process, request bytes to response bytes: "
        f"µs per message, median of {repeats} runs.",
        "",
        *table(["server", "tool", "loop", *(f"{s} ({request_sizes[s]:,} B)" for s in sizes)], rows, labels=3),
        "",
        *table(["ratio (SDK time / mocopr time)", *sizes], ratios),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=0.5, help="length of one timed run (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per figure (default: %(default)s)")
    parser.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True, help="run on one CPU (default: on)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 0.02, 1
    if args.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = {size: make_text(n) for size, n in SIZES.items()}

    rounds = take_turns(
        "codec", ROWS, args.repeats, lambda planned, _turn: [run_row(*planned, texts, args.seconds)],
        label=lambda planned: planned[0].label, describe=lambda timings: f"{timings.row.label}: done",
        on_failure=OnFailure.STOP,
    )  # fmt: skip
    if rounds.failures:
        return 1
    print(report(rounds.results, texts, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
