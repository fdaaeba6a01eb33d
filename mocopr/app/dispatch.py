"""Dispatch of MCP messages to the app, for both eras.

A transport hands the dispatcher decoded envelopes and a :class:`Peer`; the
dispatcher answers with encoded bytes. Each method decodes its own params
struct straight from the raw JSON, so a ``tools/call`` costs three C-level
decodes, one call and one encode. The era of a request is read from its
``_meta``: a protocol version there makes it a modern, stateless request;
without one it belongs to the peer's legacy session.

This module routes: envelopes to methods, batches, eras, the shape of a modern
result. What the methods do is in :mod:`~mocopr.app.lifecycle` and
:mod:`~mocopr.app.calls`; what a request will run, asked before it is answered,
in :mod:`~mocopr.app.targets`.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from mocopr.app.calls import Calls
from mocopr.app.context import Exchange
from mocopr.app.lifecycle import Lifecycle
from mocopr.app.server import McpServer
from mocopr.app.session import Peer, Send
from mocopr.app.targets import RequestTargets
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.messages import UNSET, Envelope
from mocopr.protocol.versions import MODERN_VERSIONS, Era, allows_batches

log = logging.getLogger("mocopr.dispatch")

Handler = Callable[[Exchange, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    handler: Handler
    params_type: type
    #: The era the method exists in; None for both.
    era: Era | None = None
    #: Whether a modern result carries the caching hints ``ttlMs`` and ``cacheScope``.
    cacheable: bool = False


class Dispatcher:
    """Answers the requests of any number of peers for one app."""

    def __init__(self, app: McpServer) -> None:
        self.app = app
        self._server_meta = {messages.META_SERVER_INFO: app.server_info}
        self._closing = trio.Event()
        self.targets = RequestTargets(app)
        self.lifecycle = Lifecycle(app, self._closing)
        #: Told of every answered request: method, outcome (ok, error, cancelled), nanoseconds.
        self.observer: Callable[[str, str, int], None] | None = None
        life, calls, m = self.lifecycle, Calls(app), messages
        self._methods: dict[str, Method] = {
            "tools/call": Method(calls.call_tool, m.CallToolParams),
            "tools/list": Method(calls.list_tools, m.PaginatedParams, cacheable=True),
            "resources/list": Method(calls.list_resources, m.PaginatedParams, cacheable=True),
            "resources/templates/list": Method(calls.list_templates, m.PaginatedParams, cacheable=True),
            "resources/read": Method(calls.read_resource, m.ReadResourceParams, cacheable=True),
            "prompts/list": Method(calls.list_prompts, m.PaginatedParams, cacheable=True),
            "prompts/get": Method(calls.get_prompt, m.GetPromptParams),
            "completion/complete": Method(calls.complete, m.CompleteParams),
            "initialize": Method(life.initialize, m.InitializeParams, Era.LEGACY),
            "ping": Method(life.ping, m.Params, Era.LEGACY),
            "logging/setLevel": Method(life.set_level, m.SetLevelParams, Era.LEGACY),
            "resources/subscribe": Method(life.subscribe, m.UriParams, Era.LEGACY),
            "resources/unsubscribe": Method(life.unsubscribe, m.UriParams, Era.LEGACY),
            "server/discover": Method(life.discover, m.Params, Era.MODERN, cacheable=True),
            "subscriptions/listen": Method(life.listen, m.ListenParams, Era.MODERN),
        }

    def method_era(self, method: str) -> Era | None | bool:
        """The era a method belongs to (None: both), or False for an unknown method."""
        entry = self._methods.get(method)
        return False if entry is None else entry.era

    def close(self) -> None:
        """Begin shutdown: open ``subscriptions/listen`` streams end gracefully."""
        self._closing.set()

    # -- messages from a transport -------------------------------------------------------

    async def answer(
        self, message: Envelope, peer: Peer, send: Send | None = None, may_wait: bool | None = None
    ) -> bytes | None:
        """Answer one request; None if the client cancelled it first.

        Only a request that may wait gets a cancel scope the client can cancel
        (``notifications/cancelled``): one that runs straight through could not
        be interrupted anyway, and the scope is a measurable share of its cost.
        """
        observer = self.observer
        started = time.perf_counter_ns() if observer is not None else 0
        if may_wait is None:
            may_wait = self.targets.may_wait_message(message)
        if may_wait:
            answer = await self._cancellable(message, peer, send or peer.send)
        else:
            answer = await self.handle_request(message, peer, send or peer.send)
        if observer is not None:
            outcome = "cancelled" if answer is None else "error" if messages.error_code(answer) else "ok"
            observer(message.method, outcome, time.perf_counter_ns() - started)  # type: ignore[arg-type]
        return answer

    async def _cancellable(self, message: Envelope, peer: Peer, send: Send) -> bytes | None:
        request_id = message.id
        with trio.CancelScope() as scope:
            peer.inflight[request_id] = scope
            try:
                return await self.handle_request(message, peer, send)
            finally:
                if peer.inflight.get(request_id) is scope:
                    del peer.inflight[request_id]
        return None

    def notify(self, message: Envelope, peer: Peer) -> None:
        """Act on a notification from the client; notifications are never answered."""
        method = message.method
        if method == "notifications/cancelled":
            try:
                params = messages.decode_params(message.params, messages.CancelledParams)
            except McpError:
                return
            peer.cancel(params.requestId)
        elif method == "notifications/initialized" and peer.session is not None:
            peer.session.initialized = True

    def respond(self, message: Envelope, peer: Peer) -> None:
        """A response from the client to a request the server sent it."""
        if peer.session is None or not peer.session.deliver(message):
            log.debug("dropped a response to no pending request: id=%r", message.id)

    async def dispatch(
        self, message: Envelope, peer: Peer, send: Send | None = None, may_wait: bool | None = None
    ) -> bytes | None:
        """Route any single message; the answer to a request, else None. ``may_wait``, if
        the caller has worked it out already, is passed on to :meth:`answer`."""
        try:
            messages.check_envelope(message)
        except McpError as error:
            request_id = message.id if isinstance(message.id, (int, str)) else None
            return messages.encode_error(request_id, error)
        if message.method is UNSET:
            self.respond(message, peer)
            return None
        if message.id is UNSET:
            self.notify(message, peer)
            return None
        return await self.answer(message, peer, send, may_wait)

    async def dispatch_batch(
        self, batch: list[Envelope], peer: Peer, send: Send | None = None
    ) -> bytes | None:
        """A JSON-RPC batch, where the session's version allows one (2025-03-26).

        A batch in any other version, or before ``initialize``, is refused whole. In
        an allowed batch, ``initialize`` (which the 2025-03-26 lifecycle says must not
        be batched) and any modern-era request (that era has no batches) are refused
        one by one, and the rest are answered.
        """
        if not batch:
            return messages.encode_error(
                None, McpError(errors.INVALID_REQUEST, "Invalid request: empty batch")
            )
        version = peer.session.protocol_version if peer.session else None
        if version is None or not allows_batches(version):
            version = version or next(filter(None, map(_modern_version, batch)), None)
            where = f"in protocol version {version}" if version else "before initialize"
            return messages.encode_error(
                None, McpError(errors.INVALID_REQUEST, f"Batches are not supported {where}")
            )
        answers: list[bytes | None] = [None] * len(batch)

        async def run(index: int, message: Envelope) -> None:
            refusal = _refused_in_batch(message)
            if refusal is not None:
                answers[index] = messages.encode_error(message.id, refusal)  # type: ignore[arg-type]
            else:
                answers[index] = await self.dispatch(message, peer, send)

        async with trio.open_nursery() as nursery:
            for index, message in enumerate(batch):
                nursery.start_soon(run, index, message)
        present = [answer for answer in answers if answer is not None]
        return b"[" + b",".join(present) + b"]" if present else None

    # -- one request ---------------------------------------------------------------------

    async def handle_request(self, message: Envelope, peer: Peer, send: Send) -> bytes:
        request_id: Any = message.id
        try:
            entry = self._methods.get(message.method)  # type: ignore[arg-type]
            if entry is None:
                raise McpError(errors.METHOD_NOT_FOUND, f"Method not found: {message.method}")
            params = messages.decode_params(message.params, entry.params_type)
            exchange = self._exchange(request_id, message.method, entry, params.meta, peer, send)  # type: ignore[arg-type]
            result = await entry.handler(exchange, params)
            if exchange.era is Era.MODERN:
                result = self._modern_result(result, entry.cacheable)
            return messages.encode_result(request_id, result)
        except McpError as error:
            return messages.encode_error(request_id, error)
        except Exception:
            log.exception("request %r (%s) failed", request_id, message.method)
            return messages.encode_error(request_id, McpError(errors.INTERNAL_ERROR, "Internal error"))

    def _exchange(
        self,
        request_id: Any,
        method: str,
        entry: Method,
        meta: messages.RequestMeta,
        peer: Peer,
        send: Send,
    ) -> Exchange:
        version = meta.protocol_version
        if version is not None:
            if version not in MODERN_VERSIONS:
                raise messages.unsupported_version(version)
            if entry.era is Era.LEGACY:
                raise McpError(errors.METHOD_NOT_FOUND, f"Method not found: {method}")
            if meta.client_capabilities is None:
                raise messages.missing_meta(messages.META_CLIENT_CAPABILITIES)
            return Exchange(request_id, method, version, Era.MODERN, meta, send, peer)
        session = peer.session
        if entry.era is Era.MODERN:
            raise McpError(
                errors.INVALID_REQUEST,
                f"{method} needs _meta[{messages.META_PROTOCOL_VERSION!r}] (protocol 2026-07-28 or later)",
            )
        if session is None and method not in ("initialize", "ping"):
            raise McpError(errors.NOT_INITIALIZED, "Server not initialized: send initialize first")
        version = session.protocol_version if session else ""
        return Exchange(request_id, method, version, Era.LEGACY, meta, send, peer, session)

    def _modern_result(self, result: Any, cacheable: bool) -> Any:
        result.setdefault("resultType", "complete")
        meta = result.get("_meta")
        result["_meta"] = self._server_meta if meta is None else {**meta, **self._server_meta}
        if cacheable and result["resultType"] == "complete":
            result.setdefault("ttlMs", self.app.cache_ttl_ms)
            result.setdefault("cacheScope", self.app.cache_scope)
        return result


def _modern_version(message: Envelope) -> str | None:
    """The protocol version in a request's ``_meta``, which makes it a modern-era request."""
    if not message.is_request:
        return None
    try:
        return messages.decode_params(message.params, messages.Params).meta.protocol_version
    except McpError:
        return None  # dispatching it answers the malformed params


def _refused_in_batch(message: Envelope) -> McpError | None:
    """Why a request may not be part of a batch, if it may not."""
    if not message.is_request:
        return None
    if message.method == "initialize":
        return McpError(errors.INVALID_REQUEST, "initialize must not be part of a batch")
    version = _modern_version(message)
    if version is not None:
        return McpError(errors.INVALID_REQUEST, f"Batches are not supported in protocol version {version}")
    return None
