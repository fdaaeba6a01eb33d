"""MCP's Streamable HTTP transport, both eras on one endpoint.

The ``MCP-Protocol-Version`` header routes a request: a modern version (or one
this server does not know) takes the stateless 2026-07-28 path, where headers
must agree with the body; a legacy version, or none, takes the session path of
2025-03-26 to 2025-11-25, with ``Mcp-Session-Id``, the GET stream, DELETE, and
resumption with ``Last-Event-ID``.

An answer to a request is JSON unless the handler sends something (progress,
a log line, a request to the client) before its result; then it becomes an
SSE stream, so the common case pays for no streaming at all.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
import trio

from mocopr.app.dispatch import Dispatcher
from mocopr.app.server import McpServer
from mocopr.app.session import LegacySession, Peer
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.messages import UNSET, Envelope
from mocopr.protocol.versions import (
    DEFAULT_HTTP_VERSION,
    LEGACY_VERSIONS,
    MODERN_VERSIONS,
    Era,
    allows_batches,
)
from mocopr.transport import forwarded, http_headers, sse
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import ClientGone, Headers, Responder
from mocopr.transport.http_sessions import HttpSession, SessionTable
from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.security import FirstSeen, HostGuard

log = logging.getLogger("mocopr.http")

JSON = [(b"content-type", b"application/json")]
SSE = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]

#: The HTTP status of a JSON-RPC error answered on the modern path.
_MODERN_STATUS = {
    errors.METHOD_NOT_FOUND: 404,
    errors.PARSE_ERROR: 400,
    errors.INVALID_REQUEST: 400,
    errors.HEADER_MISMATCH: 400,
    errors.MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    errors.UNSUPPORTED_PROTOCOL_VERSION: 400,
}


_ABSENT = msgspec.Raw(b"")


class _MetaView(msgspec.Struct, gc=False):
    """Whether the required ``_meta`` fields are there; capabilities stay undecoded."""

    protocol_version: str | None = msgspec.field(name=messages.META_PROTOCOL_VERSION, default=None)
    #: Empty when absent (msgspec keeps a Raw out of unions).
    client_capabilities: msgspec.Raw = msgspec.field(name=messages.META_CLIENT_CAPABILITIES, default=_ABSENT)


class _HeaderView(msgspec.Struct, gc=False):
    """The parts of params that request headers mirror; arguments are decoded only
    for a tool that mirrors some of them into headers."""

    meta: _MetaView | None = msgspec.field(name="_meta", default=None)
    name: str | None = None
    uri: str | None = None
    arguments: msgspec.Raw = _ABSENT


_decode_header_view = msgspec.json.Decoder(_HeaderView).decode


class SessionRouter(Protocol):
    """Reaches the legacy sessions that other processes own (see mocopr.workers.forwarding)."""

    def owner_of(self, session_id: str) -> int | None: ...

    async def forward(self, owner: int, request: Request, responder: Responder) -> None: ...

    def replica_of(self, session_id: str, owner: int) -> LegacySession | None: ...

    def touch(self, session_id: str, owner: int) -> None: ...

    async def end_everywhere(self, session_id: str, end: Callable[[], None]) -> None: ...


class Reply:
    """The answer to one POSTed request, JSON until something must stream.

    On a legacy session every streamed event is also kept in the session's
    event stream, so the client can resume it with ``Last-Event-ID``.
    """

    def __init__(self, responder: Responder, mode: str, session: HttpSession | None = None) -> None:
        self.responder = responder
        self.mode = mode
        self.session = session
        self._events: sse.EventStream | None = None

    async def send(self, data: bytes) -> None:
        """A message before the result: switches the answer to SSE (or, in
        ``json`` mode, sends it on the legacy session's GET stream)."""
        if self.mode == "json":
            if self.session is not None:
                self.session.standalone.append(data)
            return
        await self._emit(data)

    async def _emit(self, data: bytes) -> None:
        if not self.responder.streaming:
            await self.responder.start_stream(200, SSE)
            if self.session is not None:
                self._events = self.session.open_stream()
        event = self._events.append(data) if self._events is not None else sse.frame(data)
        try:
            await self.responder.send_chunk(event)
        except ClientGone:
            if self._events is None:
                raise

    async def finish(self, data: bytes | None, status: int = 200) -> None:
        if data is None and not self.responder.streaming:
            await self.responder.respond(202, [])
            return
        if self.responder.streaming or self.mode == "sse":
            if data is not None:
                await self._emit(data)
            if self._events is not None:
                self._events.close()
            await self.responder.end_stream()
            return
        await self.responder.respond(status, JSON, data or b"")


def _accepts(request: Request) -> tuple[bool, bool]:
    """Whether the client accepts JSON and SSE answers."""
    accept = request.headers.get("accept")
    return (True, True) if accept is None else _accepted(accept)


@functools.lru_cache(maxsize=64)
def _accepted(accept: str) -> tuple[bool, bool]:
    """:func:`_accepts` of one ``Accept`` value; a client sends the same one every time."""
    accept = accept.lower()
    anything = "*/*" in accept
    return (
        anything or "application/json" in accept or "application/*" in accept,
        anything or "text/event-stream" in accept or "text/*" in accept,
    )


class StreamableHttpEndpoint:
    """Answers every request to the MCP endpoint, for one app."""

    def __init__(self, app: McpServer, settings: HttpSettings) -> None:
        self.app = app
        self.settings = settings
        self.dispatcher = Dispatcher(app)
        self.sessions = SessionTable(
            settings.max_sessions, settings.session_idle_timeout, settings.session_event_buffer, app.changes
        )
        self.guard = HostGuard(settings.host, settings.allowed_hosts, settings.allowed_origins)
        self._logged_hosts, self._logged_origins = FirstSeen(), FirstSeen()
        self.trusted_proxies = forwarded.parse_networks(settings.trusted_proxies)
        self._retry_after = str(settings.retry_after).encode()
        self._mirrored: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        #: Where sessions owned by other worker processes are reached; None in one process.
        self.router: SessionRouter | None = None
        #: Told the reason of every request refused here for a limit (``sessions``).
        self.on_reject: Callable[[str], None] | None = None

    async def handle(self, request: Request, responder: Responder) -> None:
        if request.path != self.settings.endpoint:
            await responder.respond(404, [(b"content-type", b"text/plain")], b"Not Found\n")
            return
        host = request.headers.get("host")
        if not self.guard.host_ok(host):
            refusal = self.guard.host_refusal(host)
            await self._refuse(request, responder, 421, refusal, self._logged_hosts.first(host))
            return
        origin = request.headers.get("origin")
        if not self.guard.origin_ok(origin):
            assert origin is not None  # a request without one is never refused for it
            refusal = self.guard.origin_refusal(origin)
            await self._refuse(request, responder, 403, refusal, self._logged_origins.first(origin))
            return
        version = request.headers.get("mcp-protocol-version")
        modern = version is not None and version not in LEGACY_VERSIONS
        if not modern and self.router is not None:
            session_id = request.headers.get("mcp-session-id", "")
            owner = self.router.owner_of(session_id)
            if owner is not None:
                detached = request.method == "POST" and await self._post_detached(
                    request, responder, session_id, owner
                )
                if not detached:
                    await self.router.forward(owner, request, responder)
                return
        if request.method == "POST":
            await (
                self._post_modern(request, responder, version)
                if modern
                else self._post_legacy(request, responder, version)
            )
        elif request.method in ("GET", "DELETE") and not modern:
            await (
                self._get(request, responder) if request.method == "GET" else self._delete(request, responder)
            )
        else:
            allow = b"POST" if modern else b"GET, POST, DELETE"
            await self._error(
                responder,
                405,
                None,
                McpError(errors.INVALID_REQUEST, "Method not allowed"),
                [(b"allow", allow)],
            )

    def client_of(self, request: Request, responder: Responder) -> str | None:
        """The client's address: the connection's peer, or the client a trusted proxy names.
        The one address to log, or to key anything on a client by; it costs a header walk, so
        it is asked for only where one is needed."""
        return forwarded.client_address(responder.peer, request.headers, self.trusted_proxies)

    async def _refuse(
        self, request: Request, responder: Responder, status: int, reason: str, log_it: bool
    ) -> None:
        """A refusal for Host or Origin: the reason in the answer, and in the log if ``log_it``
        (the first time its value is refused)."""
        if log_it:
            client = self.client_of(request, responder) or "an unknown address"
            log.warning("%d for a request from %s: %s", status, client, reason)
        await self._error(responder, status, None, McpError(errors.INVALID_REQUEST, reason))

    async def _error(
        self,
        responder: Responder,
        status: int,
        request_id: Any,
        error: McpError,
        headers: Headers | None = None,
    ) -> None:
        await responder.respond(status, (headers or []) + JSON, messages.encode_error(request_id, error))

    def _response_mode(self, request: Request) -> str | None:
        json_ok, sse_ok = _accepts(request)
        if not json_ok and not sse_ok:
            return None
        mode = self.settings.response_mode
        if not sse_ok:
            return "json"
        if not json_ok:
            return "sse"
        return mode

    async def _read_post(self, request: Request, responder: Responder) -> tuple[str, Any] | None:
        """The answer mode the client accepts and its decoded body; None once refused (406, 400)."""
        mode = self._response_mode(request)
        if mode is None:
            error = McpError(
                errors.INVALID_REQUEST, "Not acceptable: accept application/json or text/event-stream"
            )
            await self._error(responder, 406, None, error)
            return None
        try:
            return mode, messages.decode_message(request.body)
        except McpError as error:
            await self._error(responder, 400, None, error)
            return None

    # -- modern (2026-07-28) ---------------------------------------------------------------

    async def _post_modern(self, request: Request, responder: Responder, version: str) -> None:
        decoded = await self._read_post(request, responder)
        if decoded is None:
            return
        mode, message = decoded
        if isinstance(message, list):
            await self._error(
                responder,
                400,
                None,
                McpError(errors.INVALID_REQUEST, "Batches are not supported in protocol version 2026-07-28"),
            )
            return
        if not message.is_request:
            answer = await self.dispatcher.dispatch(message, Peer(send=_discard))
            if answer is not None:
                await self._error(responder, 400, None, McpError(errors.INVALID_REQUEST, "Invalid request"))
            else:
                await responder.respond(202, [])
            return
        try:
            target = self._check_modern(request, message, version)
        except McpError as error:
            await self._error(responder, _MODERN_STATUS.get(error.code, 400), message.id, error)
            return
        reply = Reply(responder, mode)
        peer = Peer(send=reply.send)
        # No cancel scope in the dispatcher (may_wait False there): this peer lives for one
        # request, so no notifications/cancelled can reach it; a client that leaves cancels
        # a request that may wait through the guard.
        if self.dispatcher.targets.may_wait(message.method, target):  # type: ignore[arg-type]
            answering = functools.partial(self.dispatcher.answer, message, peer, reply.send, False)
            answer = await responder.guard(answering)
        else:  # called directly: no partial to build for the common request
            answer = await self.dispatcher.answer(message, peer, reply.send, False)
        if answer is None:
            return
        await reply.finish(answer, _MODERN_STATUS.get(messages.error_code(answer), 200))

    def _check_modern(self, request: Request, message: Envelope, version: str) -> str | None:
        """The checks of a modern request, in the order the conformance suite probes them:
        a JSON-RPC 2.0 envelope, required ``_meta`` fields, header against body, supported
        version, then the ``Mcp-*`` headers. Returns the request's target (tool or prompt
        name, or URI)."""
        messages.check_envelope(message)
        try:
            view = _decode_header_view(message.params if message.params is not UNSET else b"{}")
        except msgspec.DecodeError as exc:
            raise McpError(errors.INVALID_PARAMS, f"Invalid params: {exc}") from None
        meta = view.meta
        if meta is None:
            raise McpError(errors.INVALID_PARAMS, "Missing params._meta")
        body_version = meta.protocol_version
        if body_version is None:
            raise messages.missing_meta(messages.META_PROTOCOL_VERSION)
        if not len(meta.client_capabilities):
            raise messages.missing_meta(messages.META_CLIENT_CAPABILITIES)
        if body_version != version:
            raise McpError(
                errors.HEADER_MISMATCH,
                f"Header mismatch: MCP-Protocol-Version {version!r} differs from _meta {body_version!r}",
            )
        if version not in MODERN_VERSIONS:
            raise messages.unsupported_version(version)
        method = message.method
        assert isinstance(method, str)
        http_headers.check_method(request.headers, method)
        if self.dispatcher.method_era(method) in (False, Era.LEGACY):
            raise McpError(errors.METHOD_NOT_FOUND, f"Method not found: {method}")
        http_headers.check_name(request.headers, method, view)
        if method == "tools/call" and view.name is not None:
            mirrored = self._mirrored_for(view.name)
            if mirrored:
                arguments = msgspec.json.decode(view.arguments) if len(view.arguments) else {}
                http_headers.check_parameters(request.headers, mirrored, arguments)
        return view.uri if method == "resources/read" else view.name

    def _mirrored_for(self, tool_name: str) -> list[tuple[tuple[str, ...], str]]:
        tool = self.app.tools.get(tool_name)
        if tool is None:
            return []
        cached = self._mirrored.get(tool_name)
        if cached is None or cached[0] is not tool:
            cached = (tool, http_headers.mirrored_parameters(tool.signature.input_schema))
            self._mirrored[tool_name] = cached  # type: ignore[assignment]
        return cached[1]

    # -- legacy (2025-03-26 .. 2025-11-25) -------------------------------------------------

    def _session_of(self, request: Request) -> tuple[HttpSession | None, McpError | None, int]:
        session_id = request.headers.get("mcp-session-id")
        if session_id is None:
            return None, McpError(errors.INVALID_REQUEST, "Bad request: missing Mcp-Session-Id header"), 400
        session = self.sessions.get(session_id)
        if session is None:
            return None, McpError(errors.NOT_INITIALIZED, "Session not found"), 404
        return session, None, 200

    async def _post_legacy(self, request: Request, responder: Responder, version: str | None) -> None:
        decoded = await self._read_post(request, responder)
        if decoded is None:
            return
        mode, message = decoded
        single = message if isinstance(message, Envelope) else None
        if single is not None and single.method == "initialize":
            await self._initialize(request, responder, single, mode)
            return
        session, error, status = self._session_of(request)
        if session is None:
            if single is not None and single.is_request and _is_modern_body(single):
                error, status = (
                    McpError(
                        errors.HEADER_MISMATCH, "Header mismatch: the MCP-Protocol-Version header is required"
                    ),
                    400,
                )
            assert error is not None
            await self._error(
                responder, status, single.id if single is not None and single.is_request else None, error
            )
            return
        effective = version or DEFAULT_HTTP_VERSION
        if isinstance(message, list) and not allows_batches(
            session.state.protocol_version if version is None else effective
        ):
            await self._error(
                responder,
                400,
                None,
                McpError(
                    errors.INVALID_REQUEST, f"Batches are not supported in protocol version {effective}"
                ),
            )
            return
        reply = Reply(responder, mode, session)
        if isinstance(message, list):
            answer = await self.dispatcher.dispatch_batch(message, session.peer, reply.send)
        else:
            answer = await self.dispatcher.dispatch(message, session.peer, reply.send)
        await reply.finish(answer)

    async def _post_detached(
        self, request: Request, responder: Responder, session_id: str, owner: int
    ) -> bool:
        """Answer here a POST for a session another worker owns, when all it needs of
        the session is its replica (see ``RequestTargets.runs_anywhere``) and the answer is
        JSON; False leaves the request, untouched, to the owner."""
        assert self.router is not None
        state = self.router.replica_of(session_id, owner)
        if state is None or self._response_mode(request) not in ("auto", "json"):
            return False
        try:
            message = messages.decode_message(request.body)
        except McpError:
            return False
        if not isinstance(message, Envelope) or not message.is_request:
            return False
        if not self.dispatcher.targets.runs_anywhere(message):
            return False
        self.router.touch(session_id, owner)
        answer = await self.dispatcher.dispatch(message, Peer(send=_discard, session=state), may_wait=False)
        await responder.respond(200, JSON, answer or b"")
        return True

    async def _initialize(self, request: Request, responder: Responder, message: Envelope, mode: str) -> None:
        if self.sessions.full:
            if self.on_reject is not None:
                self.on_reject("sessions")
            error = McpError(errors.SERVER_OVERLOADED, "Too many sessions; try again later")
            await self._error(responder, 503, message.id, error, [(b"retry-after", self._retry_after)])
            return
        peer = Peer(send=_discard)
        answer = await self.dispatcher.dispatch(message, peer)
        headers: Headers = []
        if peer.session is not None:
            session = self.sessions.adopt(peer.session)
            headers.append((b"mcp-session-id", session.id.encode()))
        await responder.respond(200, headers + JSON, answer or b"")

    async def _get(self, request: Request, responder: Responder) -> None:
        _, sse_ok = _accepts(request)
        if not sse_ok or "text/event-stream" not in request.headers.get("accept", "text/event-stream"):
            await self._error(
                responder,
                406,
                None,
                McpError(errors.INVALID_REQUEST, "Not acceptable: the GET stream is text/event-stream"),
            )
            return
        session, error, status = self._session_of(request)
        if session is None:
            assert error is not None
            await self._error(responder, status, None, error)
            return
        stream, after = session.standalone, None
        last = request.headers.get("last-event-id")
        if last is not None:
            position = sse.parse_event_id(last)
            if position is not None and position[0] in session.streams:
                stream, after = session.streams[position[0]], position[1]
        if stream is session.standalone:
            if session.reader_attached:
                await self._error(
                    responder,
                    409,
                    None,
                    McpError(errors.INVALID_REQUEST, "Conflict: this session's GET stream is already open"),
                )
                return
            session.reader_attached = True
        try:
            await responder.start_stream(200, SSE)
            await responder.guard(lambda: self._relay(stream, after, responder))
            if not responder.done and stream.closed:
                await responder.end_stream()
        finally:
            if stream is session.standalone:
                session.reader_attached = False

    async def _relay(self, stream: sse.EventStream, after: int | None, responder: Responder) -> None:
        """Copy a stream's events to the client, with keep-alive comments while it is quiet."""
        position = stream.sequence if after is None else after
        while True:
            found: tuple[int, bytes] | None = None
            with trio.move_on_after(self.settings.sse_ping_interval) as quiet:
                found = await stream.next_after(position)
            if quiet.cancelled_caught:
                await responder.send_chunk(sse.KEEP_ALIVE)
            elif found is None:
                return
            else:
                position, chunk = found
                await responder.send_chunk(chunk)  # whole: a timeout never cuts a chunk short

    async def _delete(self, request: Request, responder: Responder) -> None:
        session, error, status = self._session_of(request)
        if session is None:
            assert error is not None
            await self._error(responder, status, None, error)
            return
        end = functools.partial(self.sessions.delete, session.id)
        if self.router is None:
            end()
        else:  # other workers may answer for the session from replicas: not after this answer
            await self.router.end_everywhere(session.id, end)
        await responder.respond(200, [])


async def _discard(data: bytes) -> None:
    """Where messages go that have no stream to travel on."""


def _is_modern_body(message: Envelope) -> bool:
    try:
        view = _decode_header_view(message.params) if message.params is not UNSET else None
    except msgspec.DecodeError:
        return False
    return bool(view and view.meta and view.meta.protocol_version is not None)
