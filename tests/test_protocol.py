"""JSON-RPC framing and version rules, with no I/O."""

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mocopr.protocol import errors, messages, versions
from mocopr.protocol.errors import McpError


def test_decodes_a_request_with_raw_params():
    message = messages.decode_message(b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}')
    assert message.is_request and message.id == 7 and message.method == "tools/call"
    params = messages.decode_params(message.params, messages.CallToolParams)
    assert params.name == "x" and bytes(params.arguments) == b"{}"


def test_modern_meta_is_read_from_reserved_keys():
    body = (
        b'{"_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        b'"io.modelcontextprotocol/logLevel":"info"},"cursor":"c"}'
    )
    params = messages.decode_params(messages.Raw(body), messages.PaginatedParams)
    assert params.meta.protocol_version == "2026-07-28"
    assert params.meta.progress_token == "p" and params.meta.log_level == "info"
    assert params.cursor == "c"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{not json", errors.PARSE_ERROR),
        (b"\xff\xfe{}", errors.PARSE_ERROR),
        (b"42", errors.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"x"}', errors.INVALID_REQUEST),
    ],
)
def test_bad_input_gets_the_right_error(data, code):
    with pytest.raises(McpError) as caught:
        messages.decode_message(data)
    assert caught.value.code == code


def test_envelope_without_jsonrpc_version_is_invalid():
    message = messages.decode_message(b'{"id":1,"method":"ping"}')
    with pytest.raises(McpError) as caught:
        messages.check_envelope(message)
    assert caught.value.code == errors.INVALID_REQUEST


def test_params_of_the_wrong_shape_are_invalid_params():
    with pytest.raises(McpError) as caught:
        messages.decode_params(messages.Raw(b'{"name":5}'), messages.CallToolParams)
    assert caught.value.code == errors.INVALID_PARAMS


def test_batch_decodes_as_a_list():
    batch = messages.decode_message(
        b'[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"}]'
    )
    assert isinstance(batch, list) and len(batch) == 2


@given(
    st.one_of(st.integers(min_value=-(2**53), max_value=2**53), st.text(max_size=20)),
    st.dictionaries(st.text(max_size=5), st.integers()),
)
def test_result_encoding_round_trips(request_id, result):
    decoded = msgspec.json.decode(messages.encode_result(request_id, result))
    assert decoded == {"jsonrpc": "2.0", "id": request_id, "result": result}


def test_error_encoding_carries_data():
    decoded = msgspec.json.decode(messages.encode_error(None, McpError(-32022, "no", {"supported": ["a"]})))
    assert decoded["id"] is None and decoded["error"] == {
        "code": -32022,
        "message": "no",
        "data": {"supported": ["a"]},
    }


def test_version_rules():
    assert versions.negotiate_legacy("2025-03-26") == "2025-03-26"
    assert versions.negotiate_legacy("1999-01-01") == versions.LATEST_LEGACY
    assert versions.negotiate_legacy("2026-07-28") == versions.LATEST_LEGACY
    assert versions.allows_batches("2025-03-26") and not versions.allows_batches("2025-06-18")
    assert versions.era_of("2026-07-28") is versions.Era.MODERN
    assert versions.era_of("2024-11-05") is versions.Era.LEGACY
    assert versions.era_of("2024-01-01") is None
    assert versions.resource_not_found_code("2025-11-25") == errors.RESOURCE_NOT_FOUND
    assert versions.resource_not_found_code("2026-07-28") == errors.INVALID_PARAMS
    assert versions.SUPPORTED_VERSIONS[0] == "2026-07-28"


@pytest.mark.parametrize(
    "data",
    [
        b'{"jsonrpc":"2.0","id":5,"method":"pi\xffng"}',
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\xed\xa0\x80"}}',
    ],
)
def test_invalid_utf8_anywhere_is_a_parse_error(data):
    with pytest.raises(McpError) as caught:
        messages.decode_message(data)
    assert caught.value.code == errors.PARSE_ERROR


@pytest.mark.parametrize(
    "data",
    [
        b'{"x":' * 5000 + b"1" + b"}" * 5000,
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_nesting_deeper_than_the_stack_is_a_parse_error(data):
    """Found by fuzzing: msgspec's RecursionError came out of decode_message, and ended the transport."""
    with pytest.raises(McpError) as caught:
        messages.decode_message(data)
    assert caught.value.code == errors.PARSE_ERROR


def test_a_message_that_decodes_leaves_frames_to_decode_its_parts_deeper_in_the_stack():
    def deeper(frames, call, *args):
        return call(*args) if not frames else deeper(frames - 1, call, *args)

    refused = 0
    for depth in range(1, 1200, 7):
        nested = b"[" * depth + b"]" * depth
        data = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":%s}}' % nested
        try:
            message = messages.decode_message(data)
        except McpError as error:
            assert error.code == errors.PARSE_ERROR
            refused += 1
            continue
        frames = messages.SPARE_FRAMES - 10
        params = deeper(frames, messages.decode_params, message.params, messages.CallToolParams)
        assert deeper(frames, msgspec.json.decode, params.arguments) is not None
    assert refused  # the deepest were refused, not decoded
