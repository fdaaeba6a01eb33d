"""Every limit and policy of the Streamable HTTP server, each a named setting
with a default a production server can start from."""

from dataclasses import dataclass, field
from typing import Literal

ResponseMode = Literal["auto", "json", "sse"]


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    #: The path of the MCP endpoint.
    endpoint: str = "/mcp"
    #: Request bodies larger than this are refused with 413.
    max_body_size: int = 4 * 1024 * 1024
    #: Request heads (request line and headers) larger than this are refused with 431.
    max_header_size: int = 16 * 1024
    max_header_count: int = 100
    #: Seconds a client has to send a request's head and body once it starts one (then 408), and a
    #: new connection to send its first request (then it is closed): an idle slowloris costs little.
    request_timeout: float = 10.0
    #: Seconds an idle keep-alive connection is kept open.
    keep_alive_timeout: float = 30.0
    #: Once a drain (SIGTERM, reload) begins, seconds a kept-alive connection may stay idle
    #: after its last answer before it is closed. A client in a request loop sends its next
    #: request well within it and has it answered with ``Connection: close``, so a drain
    #: closes no connection under a client that is about to use it.
    drain_idle_timeout: float = 1.0
    #: Seconds one write of a response may wait for the client to read (its window full), after
    #: which the connection closes: a client that stops reading cannot hold a connection either.
    write_timeout: float = 30.0
    #: Legacy sessions alive at once; beyond it ``initialize`` gets 503.
    max_sessions: int = 1000
    #: Seconds a legacy session may go unused before it expires.
    session_idle_timeout: float = 3600.0
    #: Events each legacy session keeps for resumption with ``Last-Event-ID``.
    session_event_buffer: int = 256
    #: ``auto``: JSON unless the handler sends something before its result; or always one of them.
    response_mode: ResponseMode = "auto"
    #: Seconds between SSE keep-alive comments on long-lived streams.
    sse_ping_interval: float = 15.0
    #: Host header values accepted; empty means the loopback names when bound to loopback,
    #: else any. ``*`` accepts any host.
    allowed_hosts: tuple[str, ...] = ()
    #: Origin header values accepted (scheme://host[:port]); empty means loopback origins only.
    #: ``*`` accepts any origin. Requests without an Origin header are always accepted.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    #: Reverse proxies (IP addresses or CIDR networks) believed when their X-Forwarded-For or
    #: Forwarded header names the client (in log lines); empty trusts none, and the client is
    #: whoever holds the connection.
    trusted_proxies: tuple[str, ...] = ()
    #: Retry-After seconds sent with 503 answers.
    retry_after: int = 1
