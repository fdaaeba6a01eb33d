"""Server side of HTTP/1.1 without I/O: bytes in, complete requests out; responses rendered to bytes.

llhttp (through httptools) parses; this module adds what a server needs on top of it: whole requests
(head and de-chunked body, since the MCP layer decodes a body as one JSON document), limits that hold
without buffering more than they allow, and pre-encoded responses. It knows no sockets, trio or clock,
so a server loop wraps it and tests and fuzzers drive it alone.

Keeping the limits exact takes one trick. httptools reports what it parsed, never where in the fed
bytes it was, and it keeps a header field that is still arriving in a buffer of its own. So the
bytes go to the parser in slices that each end where a message may end: just past a CRLF CRLF in a
head, just past a CRLF in a chunked body, just past the last byte of a Content-Length body. A slice
then holds part of one head only, or body only, and the size of a head is the sum of its slices,
checked before each one goes in. Slicing changes nothing in what llhttp parses.
"""

import http
from dataclasses import dataclass

import httptools
from httptools import HttpParserCallbackError, HttpParserError


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one request, each answered with its status when exceeded.

    The head's size counts every byte from the end of the previous request (or the start of the
    connection) through the empty line that ends the header section: the request line, the header
    lines with their CRLFs, the final CRLF, and any empty lines sent before the request line.

    ``max_header_size`` also bounds the framing a chunked body sends after each piece of data (or
    before the first): the CRLF that ends a chunk and the next size line with its extensions, or,
    after the last piece, the last chunk's line, the trailer section and the final CRLF. The parser
    buffers a trailer field whole, so this bound is what keeps trailers from growing without end.
    Trailer fields are counted with the head's towards ``max_header_count``.
    """

    max_body_size: int = 4 * 1024 * 1024  # 413 beyond (de-chunked bytes)
    max_header_size: int = 16 * 1024  # 431 beyond
    max_header_count: int = 100  # 431 beyond


@dataclass(slots=True)
class Request:
    """One complete request: its head and its whole body."""

    method: str
    path: str  # the target's path, e.g. "/mcp"; the target itself for "*" (OPTIONS)
    query: str  # "" if none
    headers: dict[str, str]  # lower-cased names; a repeated field's values joined with ", "
    body: bytes
    keep_alive: bool  # whether the connection may carry another request after this one
    http_version: str  # "1.1" or "1.0"


class HttpError(Exception):
    """Input the connection cannot go on from; the server answers ``status`` and closes.

    ``requests`` holds the requests the same ``feed`` call completed before the bad input: answer
    them first, since a pipelining client matches responses to its requests by their order.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.requests: list[Request] = []


class Http1Connection:
    """The input side of one HTTP/1.1 connection: feed it received bytes, get complete requests.

    It lives as long as the connection, and so does its parser, which llhttp resets between messages:
    a request costs its callbacks and nothing else. Upgrade requests (``Connection: upgrade`` with
    ``Upgrade``) and CONNECT get 400: the server speaks nothing but HTTP/1.1 on a connection, and
    llhttp would otherwise hand it the bytes after such a head as another protocol's. Bytes after a
    request that ends the connection (``keep_alive`` false) are ignored: the server answers it and closes.
    """

    __slots__ = (
        "_body",
        "_body_size",
        "_chunked",
        "_closed",
        "_content_length",
        "_continue",
        "_done",
        "_error",
        "_fields",
        "_framing",
        "_head",
        "_head_complete",
        "_head_size",
        "_in_request",
        "_limits",
        "_parser",
        "_repeat",
        "_request",
        "_url",
    )

    def __init__(self, limits: Limits = Limits()) -> None:
        self._limits = limits
        self._parser = httptools.HttpRequestParser(self)
        # llhttp would reject an unknown version as malformed (400); let it through to answer 505.
        self._parser.set_dangerous_leniencies(lenient_version=True)
        self._done: list[Request] = []
        self._error: HttpError | None = None
        self._closed = False
        self._in_request = False
        self._head_complete = False
        self._head_size = 0
        self._url = b""
        self._fields: list[tuple[bytes, bytes]] = []
        self._request: Request | None = None
        self._content_length = 0
        self._chunked = False
        self._framing = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._continue = False
        #: The head of the request in progress, when it arrived in one slice (else None).
        self._head: bytes | None = None
        #: The last head and what it parsed to, while a request repeating it may skip the parser.
        self._repeat: _Repeat | None = None

    @property
    def in_request(self) -> bool:
        """Whether a request has begun and is not complete: the server's cue for a receive timeout."""
        return self._in_request

    @property
    def head_complete(self) -> bool:
        """Whether the request in progress has its head: a timeout now is the body's, not the head's."""
        return self._head_complete

    def take_continue(self) -> bool:
        """True once for a request whose head asked for ``100-continue`` and whose body is still to
        come: the server then writes ``HTTP/1.1 100 Continue\\r\\n\\r\\n`` so that the client sends it.
        A body over the limit never gets here: ``feed`` raises 413 for its head."""
        pending, self._continue = self._continue, False
        return pending

    def feed(self, data: bytes) -> list[Request]:
        """Take received bytes; return the requests they complete, in order (pipelining may complete
        several). Raises :class:`HttpError` for malformed or over-limit input, carrying the requests
        completed before it, and from then on for every call, as the connection cannot go on."""
        if self._error is not None:
            raise HttpError(self._error.status, self._error.message)
        self._done = []
        try:
            self._feed(data)
        except HttpParserCallbackError as exc:
            error = exc.__context__  # what a callback below raised
            if not isinstance(error, HttpError):
                raise  # a bug here, not bad input
            self._fail(error)
        except HttpParserError as exc:
            self._fail(HttpError(400, f"malformed request: {exc}"))
        except HttpError as error:
            self._fail(error)
        return self._done

    def _fail(self, error: HttpError) -> None:
        error.requests = self._done
        self._error = error
        raise error

    def _feed(self, data: bytes) -> None:
        view = memoryview(data)
        pos, end = 0, len(data)
        limits, parse, repeat = self._limits, self._parser.feed_data, self._repeat
        while pos < end and not self._closed:
            if not self._head_complete:
                # Only at the very start of a head: empty lines before a request line count
                # towards its size, and the parser has taken any that came before.
                if repeat is not None and not self._head_size:
                    matched = repeat.match(data, pos, limits)
                    if matched is not None:
                        request, pos = matched
                        self._done.append(request)
                        continue
                cut = _slice_end(data, pos, b"\r\n\r\n")
                room = limits.max_header_size - self._head_size
                if cut - pos > room:
                    parse(view[pos : pos + room])  # so that garbage still gets its 400
                    raise HttpError(431, f"request head larger than {limits.max_header_size} bytes")
                starts = not self._in_request
                self._head_size += cut - pos
                parse(view[pos:cut])
                if starts and self._head_complete:
                    self._head = data[pos:cut]
            elif self._chunked:
                cut = _slice_end(data, pos, b"\r\n")
                before = self._body_size
                parse(view[pos:cut])
                # A slice holds at most one piece of data, at its start: what else it holds is framing.
                received = self._body_size - before
                self._framing = cut - pos - received if received else self._framing + cut - pos
                if self._framing > limits.max_header_size:
                    raise HttpError(431, f"chunk framing larger than {limits.max_header_size} bytes")
            else:
                cut = min(end, pos + self._content_length - self._body_size)
                parse(view[pos:cut])
            pos = cut

    # llhttp's callbacks, through httptools

    def on_message_begin(self) -> None:
        self._in_request = True
        self._url = b""
        self._fields = []
        self._head = None

    def on_url(self, url: bytes) -> None:
        self._url += url  # in pieces when the request line arrives in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        # Kept raw, and counted and made into the headers dict once the head is complete:
        # cheaper than work per field, and the head's size limit already bounds the list.
        # A trailer field is counted at the end of the message, then dropped (RFC 9110 §6.5.1).
        self._fields.append((name, value))

    def _count_fields(self) -> None:
        if len(self._fields) > self._limits.max_header_count:
            raise HttpError(431, f"more than {self._limits.max_header_count} header fields")

    def on_headers_complete(self) -> None:
        self._head_complete = True
        self._count_fields()
        parser, headers = self._parser, _headers_of(self._fields)
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            raise HttpError(505, f"HTTP/{version} is not supported")
        if parser.should_upgrade():
            raise HttpError(400, "protocol upgrades and CONNECT are not supported")
        if version == "1.1" and "host" not in headers:
            raise HttpError(400, "no Host header")  # RFC 9112 §3.2
        coding = headers.get("transfer-encoding")
        self._chunked = coding is not None
        self._body_size = self._framing = 0
        if coding is not None:
            if coding.lower() != "chunked":
                raise HttpError(501, f"Transfer-Encoding {coding!r} is not supported")
        else:
            self._content_length = int(headers.get("content-length", 0))  # llhttp has checked the digits
            if self._content_length > self._limits.max_body_size:
                raise HttpError(413, f"body larger than {self._limits.max_body_size} bytes")
        # RFC 9110 §10.1.1: a 1.0 client's expectation is to be ignored.
        self._continue = version == "1.1" and headers.get("expect", "").lower() == "100-continue"
        path, query = _split_target(self._url, headers)
        method = parser.get_method().decode("ascii")
        # Positional: keywords would cost this dataclass twice as much as the rest of the callback.
        self._request = Request(method, path, query, headers, b"", parser.should_keep_alive(), version)

    def on_body(self, data: bytes) -> None:
        self._body_size += len(data)
        if self._body_size > self._limits.max_body_size:  # only a chunked body can get here
            raise HttpError(413, f"body larger than {self._limits.max_body_size} bytes")
        self._body.append(data)

    def on_message_complete(self) -> None:
        if self._chunked:
            self._count_fields()  # with the trailer fields
        request = self._request
        assert request is not None  # llhttp completes a message only after its head
        request.body = b"".join(self._body)
        self._done.append(request)
        self._closed = not request.keep_alive
        if self._head is not None and not self._chunked and request.keep_alive:
            self._repeat = _Repeat.of(self._head, request)
        self._request = None
        self._in_request = self._head_complete = self._continue = False
        self._head_size = 0
        self._body = []  # the body sizes stay for the slice that ends here; the next head resets them


class _Repeat:
    """A head that parsed without error, and what it parsed to, so that a request that repeats it
    (as a client on a keep-alive connection often does) skips the parser.

    A repeat is the same bytes but for the digits of Content-Length: those parse to the same head
    with that one value changed, and llhttp carries nothing from one message to the next. Only a
    head that arrived whole is kept, with keep-alive, a Content-Length of bare digits, and no
    ``Expect``; anything a repeat would need checked (a body over the limit, a head that grew
    past it, digits that are not a number) goes to the parser instead, which answers it.
    """

    __slots__ = ("_headers", "_http_version", "_method", "_path", "_prefix", "_query", "_suffix")

    def __init__(self, prefix: bytes, suffix: bytes, request: Request) -> None:
        self._prefix, self._suffix = prefix, suffix  # the head before and after the length's digits
        self._method, self._path, self._query = request.method, request.path, request.query
        self._headers = request.headers.copy()  # the request's own dict is its handler's to change
        self._http_version = request.http_version

    @classmethod
    def of(cls, head: bytes, request: Request) -> "_Repeat | None":
        """The repeat of ``head``, which parsed to ``request``, if it can have one."""
        if "expect" in request.headers:
            return None
        lowered = head.lower()
        name_at = lowered.find(_LENGTH_LINE)
        if name_at < 0 or lowered.find(_LENGTH_LINE, name_at + 1) >= 0:
            return None
        digits_at = name_at + len(_LENGTH_LINE)
        while head[digits_at : digits_at + 1] in (b" ", b"\t"):
            digits_at += 1
        digits_end = head.find(b"\r\n", digits_at)
        digits = head[digits_at:digits_end]
        if not digits.isdigit() or digits.decode("ascii") != request.headers.get("content-length"):
            return None
        return cls(head[:digits_at], head[digits_end:], request)

    def match(self, data: bytes, pos: int, limits: Limits) -> tuple[Request, int] | None:
        """The request at ``pos`` in ``data`` and where it ends, if it is a repeat whose body has
        arrived whole; else None."""
        if not data.startswith(self._prefix, pos):
            return None
        digits_at = pos + len(self._prefix)
        digits_end = data.find(b"\r\n", digits_at, digits_at + _MAX_LENGTH_DIGITS + 2)
        digits = data[digits_at:digits_end]
        if digits_end < 0 or not digits.isdigit() or not data.startswith(self._suffix, digits_end):
            return None
        body_at = digits_end + len(self._suffix)
        length = int(digits)
        if (
            body_at - pos > limits.max_header_size
            or length > limits.max_body_size
            or body_at + length > len(data)
        ):
            return None
        headers = self._headers.copy()
        headers["content-length"] = digits.decode("ascii")
        request = Request(
            self._method,
            self._path,
            self._query,
            headers,
            data[body_at : body_at + length],
            True,
            self._http_version,
        )
        return request, body_at + length


_LENGTH_LINE = b"\r\ncontent-length:"
_MAX_LENGTH_DIGITS = 15  # more than any body limit needs; a longer number goes to the parser


def _headers_of(fields: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header fields by lowercase name; repeated fields are joined with commas (RFC 9110
    §5.3), except Host, which must not repeat (RFC 9112 §3.2)."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in fields}
    if len(headers) == len(fields):
        return headers
    headers = {}
    for name, value in fields:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        if key not in headers:
            headers[key] = text
        elif key == "host":
            raise HttpError(400, "more than one Host header")
        else:
            headers[key] += ", " + text
    return headers


def _slice_end(data: bytes, pos: int, terminator: bytes) -> int:
    """Where the slice from ``pos`` ends: just past the next ``terminator``, else at the end of ``data``.

    A terminator begun in the previous feed ends within the first three bytes of this one, so those
    are fed one by one while they are CR or LF: a message ending there then ends at a slice boundary too.
    The search starts far enough back to find a terminator that began before ``pos``, in this feed.
    """
    if pos < 3 and data[pos] in b"\r\n":
        return pos + 1
    back = len(terminator) - 1
    found = data.find(terminator, pos - back if pos > back else 0)
    return len(data) if found < 0 else found + back + 1


def _split_target(target: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """The path and query of a request target.

    Clients send servers the origin-form (``/mcp?x=1``). The absolute-form is for proxies, but a
    server must take it too, and then go by the target's authority rather than the Host header
    (RFC 9112 §3.2.2), which is therefore replaced, so that Host checks see the authority that counts.
    """
    if target.startswith(b"/") or target == b"*":
        path, _, query = target.decode("latin-1").partition("?")
        return path, query
    try:
        url = httptools.parse_url(target)
    except HttpParserError:
        raise HttpError(400, "invalid request target") from None
    host = (url.host or b"").decode("latin-1")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, which parse_url unbracketed
    headers["host"] = host if url.port is None else f"{host}:{url.port}"
    return (url.path or b"/").decode("latin-1"), (url.query or b"").decode("latin-1")


# Responses. The status lines are encoded once; a response is one join of pre-encoded parts.

_STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii") for status in http.HTTPStatus
}
# RFC 9110 §8.6: no Content-Length for 1xx and 204; for 304 it would describe the unsent representation.
_BODYLESS = frozenset(status for status in _STATUS_LINES if status < 200 or status in (204, 304))

LAST_CHUNK: bytes = b"0\r\n\r\n"


def _head_parts(status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> list[bytes]:
    parts = [_STATUS_LINES[status]]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    if not keep_alive:
        parts.append(b"Connection: close\r\n")
    return parts


def render_response(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, keep_alive: bool
) -> bytes:
    """A whole response with its Content-Length. ``status`` is one of :class:`http.HTTPStatus`;
    ``headers`` come from the server's own code, so they are not checked for CR or LF."""
    parts = _head_parts(status, headers, keep_alive)
    if status in _BODYLESS:
        if body:
            raise ValueError(f"a {status} response has no body")
        parts.append(b"\r\n")
    else:
        parts += (b"Content-Length: %d\r\n\r\n" % len(body), body)
    return b"".join(parts)


def render_stream_head(status: int, headers: list[tuple[bytes, bytes]], *, keep_alive: bool) -> bytes:
    """The head of a response whose body follows in chunks (an SSE stream), ended by ``LAST_CHUNK``."""
    parts = _head_parts(status, headers, keep_alive)
    parts.append(b"Transfer-Encoding: chunked\r\n\r\n")
    return b"".join(parts)


def render_chunk(data: bytes) -> bytes:
    """One chunk of a streamed body; nothing for no data, as an empty chunk would end the body."""
    return b"%x\r\n%b\r\n" % (len(data), data) if data else b""
