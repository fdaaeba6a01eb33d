"""The serialization figures of ``suite.py``: the four conversions of one ``tools/call`` of the ``echo``
tool with ``codec.py``'s payloads, in this process with no I/O, by mocopr's way (msgspec) and by the
official SDK's (its pydantic models, ``mcp.types``). ``suite.py``'s docstring says what each conversion
includes and why; every output is checked before it is timed."""

import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from codec import REQUEST_ID, SIZES, Row, make_request, make_text, mocopr_app, sdk_app
from codec import check as check_call_answer
from harness.errors import WrongAnswer
from harness.jsonrpc import Reply
from harness.markdown import table
from harness.stats import median
from mcp.types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    JSONRPCRequest,
    JSONRPCResponse,
    TextContent,
    jsonrpc_message_adapter,
)

from mocopr.protocol import messages

#: Seconds per conversion, each repeat's figure, by (size, library, conversion).
Timings = dict[tuple[str, str, str], list[float]]


@dataclass(frozen=True)
class Conversions:
    """One library's four conversions of one ``tools/call`` of ``echo``: each a call with no argument
    that does the work once and returns what it made."""

    encode_request: Callable[[], Any]
    decode_request: Callable[[], Any]
    encode_result: Callable[[], Any]
    decode_result: Callable[[], Any]


CONVERSIONS = ("encode_request", "decode_request", "encode_result", "decode_result")
CONVERSION_NAMES = {
    "encode_request": "request -> bytes",
    "decode_request": "bytes -> request",
    "encode_result": "result -> bytes",
    "decode_result": "bytes -> result",
}


def mocopr_conversions(text: str, request: bytes, answer: bytes) -> Conversions:
    """msgspec, as mocopr's dispatcher does it: the envelope with raw params, the params struct, the
    tool's own typed argument decoder; the result shaped by the tool and encoded in place."""
    tool = mocopr_app.tools.get("echo")
    assert tool is not None
    decode_reply = msgspec.json.Decoder(Reply[str]).decode

    def decode_request() -> Any:
        envelope = messages.decode_message(request)
        assert isinstance(envelope, messages.Envelope)
        messages.check_envelope(envelope)
        params = messages.decode_params(envelope.params, messages.CallToolParams)
        return tool.decode_arguments(params.arguments)

    return Conversions(
        encode_request=lambda: messages.encode_request(
            REQUEST_ID, "tools/call", {"name": "echo", "arguments": {"text": text}}
        ),
        decode_request=decode_request,
        encode_result=lambda: messages.encode_result(REQUEST_ID, tool.result(text)),
        decode_result=lambda: decode_reply(answer).result,
    )


def sdk_conversions(text: str, request: bytes, answer: bytes) -> Conversions:
    """The SDK's pydantic models (``mcp.types``), as its client session and transports use them."""
    tool = sdk_app._tool_manager.get_tool("echo")
    assert tool is not None
    arguments_model = tool.fn_metadata.arg_model
    validate_json = jsonrpc_message_adapter.validate_json

    def encode_request() -> bytes:
        call = CallToolRequest(params=CallToolRequestParams(name="echo", arguments={"text": text}))
        data = call.model_dump(by_alias=True, mode="json", exclude_none=True)
        message = JSONRPCRequest(jsonrpc="2.0", id=REQUEST_ID, method=data["method"], params=data["params"])
        return message.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def decode_request() -> Any:
        message = validate_json(request, by_name=False)
        params = CallToolRequestParams.model_validate(message.params, by_name=False)
        return arguments_model.model_validate(params.arguments or {})

    def encode_result() -> bytes:
        result = CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content={"result": text}
        )
        response = JSONRPCResponse(
            jsonrpc="2.0",
            id=REQUEST_ID,
            result=result.model_dump(by_alias=True, mode="json", exclude_none=True),
        )
        return response.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def decode_result() -> CallToolResult:
        message = validate_json(answer, by_name=False)
        return CallToolResult.model_validate(message.result, by_name=False)

    return Conversions(encode_request, decode_request, encode_result, decode_result)


LIBRARIES: dict[str, Callable[[str, bytes, bytes], Conversions]] = {
    "mocopr (msgspec)": mocopr_conversions,
    "SDK (pydantic, mcp.types)": sdk_conversions,
}


def check_conversions(library: str, conversions: Conversions, text: str) -> None:
    """Each conversion's output checked before it is timed: the request bytes decoded as plain JSON, the
    decoded arguments and result compared with the text, the result bytes by ``codec.check`` (id, text
    content, structured content, not a tool error); ``WrongAnswer`` if any is off."""
    request = msgspec.json.decode(conversions.encode_request())
    if request != {
        "jsonrpc": "2.0", "id": REQUEST_ID, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}},
    }:  # fmt: skip
        raise WrongAnswer(f"{library}: wrong request bytes")
    arguments = conversions.decode_request()
    if (arguments.get("text") if isinstance(arguments, dict) else arguments.text) != text:
        raise WrongAnswer(f"{library}: wrong arguments decoded")
    check_call_answer(conversions.encode_result(), text, Row(library, "echo", "in process"))
    result = conversions.decode_result()
    content = result.content[0]
    structured = getattr(result, "structuredContent", None) or getattr(result, "structured_content", None)
    if content.text != text or structured != {"result": text}:
        raise WrongAnswer(f"{library}: wrong result decoded")


def time_call(call: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` calls."""
    return timeit.Timer(call).timeit(number) / number


def measure_serialization(repeats: int, seconds: float) -> Timings:
    """Seconds per conversion, ``repeats`` figures each, by (size, library, conversion). The count per
    figure is set once, from three calls (which also warm up), so that a figure takes about ``seconds``;
    the conversions and libraries take turns within each repeat."""
    timings: Timings = {}
    for size, n in SIZES.items():
        text = make_text(n)
        request = make_request("echo", text)
        answer = mocopr_conversions(text, request, b"").encode_result()  # both decode the same result
        plans = []
        for library, build in LIBRARIES.items():
            conversions = build(text, request, answer)
            check_conversions(library, conversions, text)
            for name in CONVERSIONS:
                call = getattr(conversions, name)
                plans.append(((size, library, name), call, max(1, round(seconds / time_call(call, 3)))))
        for _ in range(repeats):
            for key, call, number in plans:
                timings.setdefault(key, []).append(time_call(call, number))
    return timings


def serialization_lines(timings: Timings) -> list[str]:
    """Microseconds per conversion by payload and library, then the SDK's time over mocopr's."""
    sizes = list(SIZES)
    request_bytes = {size: len(make_request("echo", make_text(n))) for size, n in SIZES.items()}
    figure = {key: median(values) * 1e6 for key, values in timings.items()}
    rows = []
    for size in sizes:
        for library in LIBRARIES:
            row = [figure[size, library, c] for c in CONVERSIONS]
            cells = [f"{value:,.1f}" for value in (*row, sum(row))]
            rows.append([f"{size} ({request_bytes[size]:,} B request)", library, *cells])
    headings = ["payload", "library", *(CONVERSION_NAMES[c] for c in CONVERSIONS), "all four"]
    mine, theirs = LIBRARIES
    ratios = []
    for conversion in (*CONVERSIONS, None):
        names = [conversion] if conversion else list(CONVERSIONS)
        slower = [
            sum(figure[size, theirs, c] for c in names) / sum(figure[size, mine, c] for c in names)
            for size in sizes
        ]
        ratios.append(
            [CONVERSION_NAMES[conversion] if conversion else "all four", *(f"{x:.1f}x" for x in slower)]
        )
    return [
        *table(headings, rows, labels=2),
        "",
        *table(["SDK time / mocopr time", *sizes], ratios),
    ]
