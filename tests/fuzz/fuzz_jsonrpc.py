"""Fuzzes JSON-RPC decoding and the modern era's header codec: any bytes give a message (or a
batch) or an ``McpError`` with the JSON-RPC code for what is wrong, params decode to their struct
or give -32602, and header values decode or give -32020, never another exception. What the server
encodes reads back: the error code of an answer, and a header value a client encodes.

Input: the number of header values (u8, at most 4) and each (a u16-prefixed chunk, read as
latin-1, as the HTTP parser gives them), then the body.
"""

import atheris
import harness
import msgspec

with atheris.instrument_imports(include=["mocopr"]):
    from mocopr.protocol import errors, messages
    from mocopr.protocol.errors import McpError
    from mocopr.transport import http_headers

PARAMS = [
    messages.Params,
    messages.PaginatedParams,
    messages.CallToolParams,
    messages.GetPromptParams,
    messages.ReadResourceParams,
    messages.UriParams,
    messages.TargetParams,
    messages.InitializeParams,
    messages.SetLevelParams,
    messages.CompleteParams,
    messages.ListenParams,
    messages.CancelledParams,
]
HEADERS = ["mcp-method", "mcp-name", "mcp-param-region", "mcp-param-depth"]
#: Arguments mirrored into headers, as a tool's ``x-mcp-header`` annotations give them.
MIRRORED = [(("region",), "Region"), (("nested", "depth"), "Depth")]


def expect(codes: set[int], call: object, *args: object) -> object:
    """``call(*args)``, or None for an ``McpError`` whose code is one of ``codes``."""
    try:
        return call(*args)  # type: ignore[operator]
    except McpError as error:
        assert error.code in codes, error
        return None


def check_headers(values: list[str], message: messages.Envelope) -> None:
    headers = dict(zip(HEADERS, values, strict=False))
    mismatch = {errors.HEADER_MISMATCH}
    for value in values:
        decoded = expect(mismatch, http_headers.decode_value, value)
        for text in (value, decoded):
            if isinstance(text, str):
                assert http_headers.decode_value(http_headers.encode_value(text)) == text, text
    if isinstance(message.method, str):
        expect(mismatch, http_headers.check_method, headers, message.method)
        invalid = {errors.INVALID_PARAMS}
        target = expect(invalid, messages.decode_params, message.params, messages.TargetParams)
        if target is not None:
            for method in http_headers.NAMED_METHODS:
                expect(mismatch, http_headers.check_name, headers, method, target)
    call = expect({errors.INVALID_PARAMS}, messages.decode_params, message.params, messages.CallToolParams)
    if call is not None:
        try:
            arguments = msgspec.json.decode(call.arguments)
        except (msgspec.DecodeError, RecursionError):
            return
        expect(mismatch, http_headers.check_parameters, headers, MIRRORED, arguments)


def check_answers(message: messages.Envelope) -> None:
    """The error code read back from an answer is the one it was encoded with."""
    request_id = message.id
    if not isinstance(request_id, int | str):
        return
    error = McpError(errors.INVALID_PARAMS, "Invalid params")
    assert messages.error_code(messages.encode_error(request_id, error)) == errors.INVALID_PARAMS
    try:
        result = msgspec.json.decode(message.params) if message.params is not messages.UNSET else {}
    except (msgspec.DecodeError, RecursionError):
        return
    assert messages.error_code(messages.encode_result(request_id, result)) is None


def test_one_input(data: bytes) -> None:
    reader = harness.Reader(data)
    values = [reader.chunk().decode("latin-1") for _ in range(reader.u8() % 5)]
    decoded = expect({errors.PARSE_ERROR, errors.INVALID_REQUEST}, messages.decode_message, reader.rest())
    if decoded is None:
        return
    batch = decoded if isinstance(decoded, list) else [decoded]
    for message in batch:
        expect({errors.INVALID_REQUEST}, messages.check_envelope, message)
        for params_type in PARAMS:
            expect({errors.INVALID_PARAMS}, messages.decode_params, message.params, params_type)
        check_headers(values, message)
        check_answers(message)


def seeds() -> list[bytes]:
    """Messages of every kind, with the headers a modern request carries."""
    meta = {messages.META_PROTOCOL_VERSION: "2026-07-28", messages.META_CLIENT_CAPABILITIES: {}}
    bodies = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": "a", "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t", "_meta": meta,
            "arguments": {"region": "eu", "nested": {"depth": 3}}}},
        {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "test://x", "_meta": meta}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "r"}},
        {"jsonrpc": "2.0", "id": 4, "result": {"content": []}},
        {"jsonrpc": "2.0", "id": 5, "error": {"code": -32601, "message": "no"}},
        [{"jsonrpc": "2.0", "id": 6, "method": "prompts/get",
            "params": {"name": "p", "arguments": {"k": "v"}}}],
        {"jsonrpc": "2.0", "id": 7, "method": "completion/complete",
            "params": {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}},
    ]  # fmt: skip
    headers = [b"tools/call", b"=?base64?dMOp?=", b" eu ", b"3"]
    prefix = harness.u8(len(headers)) + b"".join(harness.chunk(header) for header in headers)
    # The weak spots: nesting deeper than the stack, numbers larger than a float, bad UTF-8.
    deep = b"[" * 1500 + b"]" * 1500
    large = b"9" * 400
    edges = [
        deep,
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":%s}}' % deep,
        b'{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"arguments":{"region":%s,"nested":'
        b'{"depth":-%s}}}}' % (large, large, large),
        b'{"jsonrpc":"2.0","id":"\xff","method":"ping"}',
    ]
    return [prefix + body for body in [*map(msgspec.json.encode, bodies), *edges]]


TOKENS = [
    b'"jsonrpc":"2.0"', b'"id":', b'"method":', b'"params":', b'"result":', b'"error":', b'"_meta":',
    b'"arguments":', b"null", b"true", b"1e999", b"-0", b"18446744073709551616", b"[[[[[[[[", b"{}",
    b'"\\ud800"', b"\xc3\x28", b"\xf0\x9f\x98\x80", b"=?base64?", b"?=", b"\t",
]  # fmt: skip

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
