"""Fuzzes the sans-I/O HTTP/1.1 connection: any bytes, fed in any pieces, give requests or an
``HttpError`` with one of the statuses the connection answers; a body never exceeds its limit;
and the shortcut for a repeated head gives exactly what the parser alone gives.

Input: a limits index (u8), the number of cuts (u8, at most 8) and the cuts (u16 each), then the
bytes the client sends.
"""

import itertools

import atheris
import harness

with atheris.instrument_imports(include=["mocopr"]):
    from mocopr.transport.http1 import Http1Connection, HttpError, Limits, Request

LIMITS = [
    Limits(),
    Limits(max_body_size=64, max_header_size=128, max_header_count=4),
    Limits(max_body_size=10, max_header_size=60, max_header_count=2),
]
#: What the connection answers bad input with: malformed, too large (body, head), and the
#: transfer codings and versions it does not implement.
STATUSES = {400, 413, 431, 501, 505}
#: Pieces shorter than any head the shortcut keeps (one holds ``\r\ncontent-length:``, 17 bytes),
#: so fed in them, every request goes through the parser.
PARSER_ONLY = 16


def run(pieces: list[bytes], limits: Limits) -> tuple[list[Request], int | None]:
    """The requests that the pieces, fed in turn, complete, and the status of the error that ended
    them, if any."""
    conn = Http1Connection(limits)
    done: list[Request] = []
    for piece in pieces:
        try:
            done += conn.feed(piece)
        except HttpError as error:
            assert error.status in STATUSES, error
            done += error.requests
            try:
                conn.feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            except HttpError as again:
                assert again.status == error.status and again.requests == []
            else:
                raise AssertionError("the connection went on after an error") from None
            return done, error.status
        conn.take_continue()
    return done, None


def test_one_input(data: bytes) -> None:
    reader = harness.Reader(data)
    limits = LIMITS[reader.u8() % len(LIMITS)]
    cuts = sorted(reader.u16() for _ in range(reader.u8() % 9))
    raw = reader.rest()
    whole, status = run([raw], limits)
    for request in whole:
        assert len(request.body) <= limits.max_body_size
        assert len(request.headers) <= limits.max_header_count
    bounds = [0, *(cut for cut in cuts if cut <= len(raw)), len(raw)]
    split = run([raw[a:b] for a, b in itertools.pairwise(bounds)], limits)
    parsed = run([raw[i : i + PARSER_ONLY] for i in range(0, len(raw), PARSER_ONLY)], limits)
    for requests, failed in (split, parsed):
        assert requests == whole
        # Whether it fails is the same however it is split; not always how: chunk framing is
        # measured per slice, so a split can find it too long before a bad byte that one feed finds.
        assert (failed is None) == (status is None)


def post(body: bytes, extra: bytes = b"") -> bytes:
    head = b"POST /mcp HTTP/1.1\r\nHost: example\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra)
    return head + body


def seeds() -> list[bytes]:
    """Requests of every shape, and repeated heads that the shortcut takes."""
    chunked = b"POST /mcp HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n"
    streams = [
        b"GET /mcp?a=1 HTTP/1.1\r\nHost: example\r\nAccept: text/event-stream\r\n\r\n",
        post(b'{"jsonrpc":"2.0","id":1,"method":"ping"}') * 3,
        post(b"a") + post(b"bb") + post(b"x" * 12) + post(b""),
        chunked + b"3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n" + post(b"after"),
        post(b"{}", b"Expect: 100-continue\r\n") + post(b"{}", b"Connection: close\r\n"),
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + b"\r\n" + post(b"1"),
        b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\nGET http://[::1]:80/p HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    return [bytes([limits, 2]) + harness.u16(9) + harness.u16(40) + s for s in streams for limits in (0, 1)]


TOKENS = [
    b"\r\n", b"\r\n\r\n", b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", b"Host: ", b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: ", b"Connection: close\r\n",
    b"Connection: keep-alive\r\n", b"Connection: upgrade\r\nUpgrade: h2c\r\n", b"Expect: 100-continue\r\n",
    b"0\r\n\r\n", b"FFFFFFFFFFFFFFFF\r\n", b";ext=", b"\r\n ", b"\x00", b"CONNECT ", b"http://", b"*",
]  # fmt: skip

if __name__ == "__main__":
    harness.main(test_one_input, seeds(), TOKENS)
