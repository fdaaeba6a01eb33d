"""The modern era's header codec: the Base64 sentinel, and mirrored arguments against their headers.

Found by fuzzing: values a client sent as they were that the server read back otherwise, and a
number too large for a float that made the check of its header raise."""

import pytest

from mocopr.protocol.errors import HEADER_MISMATCH, McpError
from mocopr.transport.http_headers import check_parameters, decode_value, encode_value


@pytest.mark.parametrize(
    "text", ["eu", " eu ", "\teu", "=?base64?dMOp?=", "=?base64??=", "a\x01b", "café", "", "=?base64?"]
)
def test_what_a_client_encodes_the_server_reads_back(text):
    assert decode_value(encode_value(text)) == text


@pytest.mark.parametrize("text", ["eu", "=?base64?", "a b"])
def test_plain_values_stay_plain(text):
    assert encode_value(text) == text


MIRRORED = [(("count",), "Count")]
LARGE = 10**400


def test_an_integer_beyond_a_float_is_compared_by_its_digits():
    check_parameters({"mcp-param-count": str(LARGE)}, MIRRORED, {"count": LARGE})
    with pytest.raises(McpError) as caught:
        check_parameters({"mcp-param-count": str(LARGE + 1)}, MIRRORED, {"count": LARGE})
    assert caught.value.code == HEADER_MISMATCH
    with pytest.raises(McpError):
        check_parameters({}, MIRRORED, {"count": LARGE})


def test_numbers_still_compare_by_value():
    check_parameters({"mcp-param-count": "3.0"}, MIRRORED, {"count": 3})
    check_parameters({"mcp-param-count": "3"}, MIRRORED, {"count": 3.0})
