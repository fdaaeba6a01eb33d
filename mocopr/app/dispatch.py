"""Dispatch of MCP methods to the app, for both eras.

A transport hands the dispatcher decoded envelopes and a :class:`Peer`; the
dispatcher answers with encoded bytes. Each method decodes its own params
struct straight from the raw JSON, so a ``tools/call`` costs three C-level
decodes, one call and one encode. The era of a request is read from its
``_meta``: a protocol version there makes it a modern, stateless request;
without one it belongs to the peer's legacy session.
"""

import functools
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import trio

from mocopr.app import notifications, request_state
from mocopr.app.context import Context, Exchange, InputRequired
from mocopr.app.prompts import Prompt
from mocopr.app.resources import Resource
from mocopr.app.server import McpServer
from mocopr.app.session import LOG_LEVELS, LegacySession, Peer, Send
from mocopr.app.tools import Tool, error_result
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.messages import UNSET, Envelope
from mocopr.protocol.versions import (
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
    allows_batches,
    negotiate_legacy,
    resource_not_found_code,
    tool_input_errors_are_results,
)

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


#: Requests that read a legacy session's settled facts (version, capabilities) and change nothing in it.
_SESSION_READ_ONLY = frozenset(
    {
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    }
)


class Dispatcher:
    """Answers the requests of any number of peers for one app."""

    def __init__(self, app: McpServer) -> None:
        self.app = app
        self._server_meta = {messages.META_SERVER_INFO: app.server_info}
        self._closing = trio.Event()
        #: The catalogs whose handlers a request of each method may run.
        self._targets_of = {
            "tools/call": (app.tools,),
            "prompts/get": (app.prompts,),
            "resources/read": (app.resources, app.resource_templates),
        }
        #: Starts every legacy session id, so a multiprocess server can tell which worker owns one.
        self.session_prefix = ""
        #: Told of every answered request: method, outcome (ok, error, cancelled), nanoseconds.
        self.observer: Callable[[str, str, int], None] | None = None
        m = messages
        self._methods: dict[str, Method] = {
            "tools/call": Method(self._call_tool, m.CallToolParams),
            "tools/list": Method(self._list_tools, m.PaginatedParams, cacheable=True),
            "resources/list": Method(self._list_resources, m.PaginatedParams, cacheable=True),
            "resources/templates/list": Method(self._list_templates, m.PaginatedParams, cacheable=True),
            "resources/read": Method(self._read_resource, m.ReadResourceParams, cacheable=True),
            "prompts/list": Method(self._list_prompts, m.PaginatedParams, cacheable=True),
            "prompts/get": Method(self._get_prompt, m.GetPromptParams),
            "completion/complete": Method(self._complete, m.CompleteParams),
            "initialize": Method(self._initialize, m.InitializeParams, Era.LEGACY),
            "ping": Method(self._ping, m.Params, Era.LEGACY),
            "logging/setLevel": Method(self._set_level, m.SetLevelParams, Era.LEGACY),
            "resources/subscribe": Method(self._subscribe, m.UriParams, Era.LEGACY),
            "resources/unsubscribe": Method(self._unsubscribe, m.UriParams, Era.LEGACY),
            "server/discover": Method(self._discover, m.Params, Era.MODERN, cacheable=True),
            "subscriptions/listen": Method(self._listen, m.ListenParams, Era.MODERN),
        }

    def method_era(self, method: str) -> Era | None | bool:
        """The era a method belongs to (None: both), or False for an unknown method."""
        entry = self._methods.get(method)
        return False if entry is None else entry.era

    def may_wait(self, method: str, target: str | None) -> bool:
        """Whether answering may wait on something (an async or blocking handler, a
        stream), as opposed to running straight through on the event loop. A
        transport watches for a vanished client only while a request may wait."""
        if method == "subscriptions/listen":
            return True
        if method == "completion/complete":
            return inspect.iscoroutinefunction(self.app.completer)
        if not self._targets_may_wait(method):
            return False  # no handler of this kind can wait: no need to look the target up
        return self._handler_waits(method, target)

    def _targets_may_wait(self, method: str) -> bool:
        """Whether any handler a method runs (a tool, prompt or resource) could wait."""
        catalogs = self._targets_of.get(method)
        return catalogs is not None and any(catalog.any_waits() for catalog in catalogs)

    def _handler_waits(self, method: str, target: str | None) -> bool:
        handler = self._handler_of(method, target)
        return handler is not None and handler.waits

    def _handler_of(self, method: str, target: str | None) -> Tool | Prompt | Resource | None:
        """The tool, prompt or resource a request runs, if it runs one and it exists."""
        if method == "tools/call":
            return self.app.tools.get(target or "")
        if method == "prompts/get":
            return self.app.prompts.get(target or "")
        if method == "resources/read":
            found = self.app.find_resource(target or "")
            return found[0] if found else None
        return None

    def _target_of(self, message: Envelope) -> str | None:
        """The name or URI a tools/call, prompts/get or resources/read names; None when unreadable."""
        try:
            target = messages.decode_params(message.params, messages.TargetParams)
        except McpError:
            return None
        return target.uri if message.method == "resources/read" else target.name

    def may_wait_message(self, message: Envelope) -> bool:
        """:meth:`may_wait` for an undecoded request (its target is decoded on its own)."""
        method: str = message.method  # type: ignore[assignment]
        if not self._targets_may_wait(method):
            return self.may_wait(method, None)
        target = self._target_of(message)
        return target is not None and self._handler_waits(method, target)

    def runs_anywhere(self, message: Envelope) -> bool:
        """Whether a legacy-era request needs nothing of its session but the facts
        ``initialize`` settled, so that any process that knows them may answer it: it
        changes nothing in the session, runs straight through, and its handler takes
        no Context, so it sends nothing on the session either."""
        method = message.method
        if method not in _SESSION_READ_ONLY:
            return False
        if method not in self._targets_of:
            return True
        target = self._target_of(message)
        if target is None:
            return True  # the answer is an error, the same anywhere
        handler = self._handler_of(method, target)  # type: ignore[arg-type]
        return handler is None or (not handler.waits and handler.signature.context_parameter is None)

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
            may_wait = self.may_wait_message(message)
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

    async def _with_input(
        self,
        exchange: Exchange,
        params: Any,
        target: str,
        arguments: Any,
        run: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Run a handler that may ask for input: legacy asks the client directly;
        modern answers with an ``InputRequiredResult`` until the retry brings the
        answers. Sealed state holds only for a retry of the same ``target`` with the
        same ``arguments``."""
        if exchange.era is Era.LEGACY:
            return await run()
        if params.request_state is not None:
            bound = request_state.bind(target, arguments)
            exchange.answers = self.app.state_sealer.open(params.request_state, exchange.method, bound)
        if params.input_responses:
            exchange.answers.update(params.input_responses)
        try:
            return await run()
        except InputRequired as needed:
            return {
                "resultType": "input_required",
                "inputRequests": needed.requests,
                "requestState": self.app.state_sealer.seal(
                    exchange.method, request_state.bind(target, arguments), exchange.answers
                ),
            }

    # -- legacy lifecycle ----------------------------------------------------------------

    async def _initialize(self, exchange: Exchange, params: messages.InitializeParams) -> Any:
        version = negotiate_legacy(params.protocolVersion)
        session = LegacySession(
            id=self.session_prefix + secrets.token_urlsafe(24),
            protocol_version=version,
            client_capabilities=params.capabilities,
            client_info=params.clientInfo,
        )
        exchange.peer.session = exchange.session = session
        exchange.version = version
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": self.app.capabilities(),
            "serverInfo": self.app.server_info,
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return result

    async def _ping(self, exchange: Exchange, params: Any) -> Any:
        return {}

    async def _set_level(self, exchange: Exchange, params: messages.SetLevelParams) -> Any:
        if params.level not in LOG_LEVELS:
            raise McpError(errors.INVALID_PARAMS, f"Invalid log level: {params.level!r}")
        assert exchange.session is not None
        exchange.session.log_level = params.level
        return {}

    async def _subscribe(self, exchange: Exchange, params: messages.UriParams) -> Any:
        assert exchange.session is not None
        exchange.session.subscriptions.add(params.uri)
        return {}

    async def _unsubscribe(self, exchange: Exchange, params: messages.UriParams) -> Any:
        assert exchange.session is not None
        exchange.session.subscriptions.discard(params.uri)
        return {}

    # -- modern lifecycle ----------------------------------------------------------------

    async def _discover(self, exchange: Exchange, params: Any) -> Any:
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED_VERSIONS),
            "capabilities": self.app.capabilities(),
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return result

    async def _listen(self, exchange: Exchange, params: messages.ListenParams) -> Any:
        subscription_id = exchange.request_id
        wanted = params.notifications
        async with self.app.changes.listen() as changes:
            await exchange.send(
                messages.encode_notification(
                    "notifications/subscriptions/acknowledged",
                    {
                        "_meta": {messages.META_SUBSCRIPTION_ID: subscription_id},
                        "notifications": wanted,
                    },
                )
            )
            with trio.CancelScope() as until_closing:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._cancel_when_closing, until_closing)
                    async for change in changes:
                        data = notifications.for_listener(wanted, subscription_id, change)
                        if data is not None:
                            await exchange.send(data)
        return {"_meta": {messages.META_SUBSCRIPTION_ID: subscription_id}}

    async def _cancel_when_closing(self, scope: trio.CancelScope) -> None:
        await self._closing.wait()
        scope.cancel()

    # -- lists ---------------------------------------------------------------------------

    def _page(self, catalog: Any, key: str, params: messages.PaginatedParams) -> dict[str, Any]:
        items, next_cursor = catalog.page(params.cursor, self.app.page_size)
        result: dict[str, Any] = {key: items}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return result

    async def _list_tools(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.tools, "tools", params)

    async def _list_prompts(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.prompts, "prompts", params)

    async def _list_resources(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.resources, "resources", params)

    async def _list_templates(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.resource_templates, "resourceTemplates", params)

    # -- tools, resources, prompts, completion -------------------------------------------

    def _context(self, exchange: Exchange, needs: bool) -> Context | None:
        return Context(exchange, self.app) if needs else None

    async def _call_tool(self, exchange: Exchange, params: messages.CallToolParams) -> Any:
        tool = self.app.tools.get(params.name)
        if tool is None:
            raise McpError(errors.INVALID_PARAMS, f"Unknown tool: {params.name}")
        try:
            arguments = tool.decode_arguments(params.arguments)
        except msgspec.DecodeError as exc:
            message = f"Invalid arguments for tool {tool.name}: {exc}"
            if tool_input_errors_are_results(exchange.version):
                return error_result(message)
            raise McpError(errors.INVALID_PARAMS, message) from None
        asks_nothing = params.request_state is None and not params.input_responses
        if asks_nothing and tool.signature.context_parameter is None:
            # Without a Context the tool cannot ask for input: there is no state to open or seal.
            return await self._run_tool(tool, arguments, None)
        context = self._context(exchange, tool.signature.context_parameter is not None)
        run = functools.partial(self._run_tool, tool, arguments, context)
        return await self._with_input(exchange, params, f"tool:{tool.name}", arguments, run)

    async def _run_tool(self, tool: Tool, arguments: dict[str, Any], context: Context | None) -> Any:
        """The tool's result; an exception it raises is a result with ``isError``."""
        try:
            value = await tool.run(arguments, context) if tool.waits else tool.call(arguments, context)
            return tool.result(value)
        except (McpError, InputRequired):
            raise
        except Exception as exc:
            log.debug("tool %s raised", tool.name, exc_info=True)
            return error_result(str(exc) or type(exc).__name__)

    async def _read_resource(self, exchange: Exchange, params: messages.ReadResourceParams) -> Any:
        found = self.app.find_resource(params.uri)
        if found is None:
            raise McpError(
                resource_not_found_code(exchange.version), "Resource not found", {"uri": params.uri}
            )
        resource, variables = found
        context = self._context(exchange, resource.signature.context_parameter is not None)

        async def run() -> Any:
            try:
                return {"contents": await resource.read(params.uri, variables, context)}
            except msgspec.ValidationError as exc:
                raise McpError(errors.INVALID_PARAMS, f"Invalid resource URI {params.uri}: {exc}") from None

        return await self._with_input(exchange, params, f"resource:{params.uri}", None, run)

    async def _get_prompt(self, exchange: Exchange, params: messages.GetPromptParams) -> Any:
        prompt = self.app.prompts.get(params.name)
        if prompt is None:
            raise McpError(errors.INVALID_PARAMS, f"Unknown prompt: {params.name}")
        context = self._context(exchange, prompt.signature.context_parameter is not None)

        async def run() -> Any:
            return await prompt.render(params.arguments or {}, context)

        return await self._with_input(exchange, params, f"prompt:{prompt.name}", params.arguments, run)

    async def _complete(self, exchange: Exchange, params: messages.CompleteParams) -> Any:
        completer = self.app.completer
        if completer is None:
            raise McpError(errors.METHOD_NOT_FOUND, "Method not found: completion/complete")
        ref, argument = params.ref, params.argument
        if ref is None or argument is None:
            raise McpError(errors.INVALID_PARAMS, "completion/complete needs ref and argument")
        if ref.type == "ref/prompt":
            if ref.name is None or self.app.prompts.get(ref.name) is None:
                raise McpError(errors.INVALID_PARAMS, f"Unknown prompt: {ref.name}")
        elif ref.type == "ref/resource":
            if ref.uri is None or (
                self.app.resource_templates.get(ref.uri) is None and self.app.resources.get(ref.uri) is None
            ):
                raise McpError(errors.INVALID_PARAMS, f"Unknown resource template: {ref.uri}")
        else:
            raise McpError(errors.INVALID_PARAMS, f"Unknown reference type: {ref.type}")
        context_arguments = params.context.arguments if params.context else {}
        value = completer(ref, argument, context_arguments)
        if isinstance(value, Awaitable):
            value = await value
        return {"completion": _completion(value)}


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


MAX_COMPLETIONS = 100


def _completion(value: Any) -> dict[str, Any]:
    if value is None:
        return {"values": [], "hasMore": False}
    if isinstance(value, dict):
        values = list(value.get("values", []))
        completion = {**value, "values": values[:MAX_COMPLETIONS]}
        if len(values) > MAX_COMPLETIONS:
            completion.update(total=value.get("total", len(values)), hasMore=True)
        return completion
    values = list(value)
    return {
        "values": values[:MAX_COMPLETIONS],
        "total": len(values),
        "hasMore": len(values) > MAX_COMPLETIONS,
    }
