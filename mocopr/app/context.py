"""The per-request state a handler sees through :class:`Context`.

One API serves both eras. A server-to-client request (elicitation, sampling,
roots) is a real JSON-RPC request on a legacy session; in the modern era it
becomes an ``InputRequiredResult`` whose answers arrive on the client's retry,
when the handler runs again and the same call returns the answer. Code before
such a call therefore runs once per round and should be idempotent.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from mocopr.app import client_requests
from mocopr.app.client_requests import InputRequest
from mocopr.app.session import LOG_RANK, LegacySession, Peer, Send
from mocopr.protocol import messages
from mocopr.protocol.errors import (
    INVALID_REQUEST,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    McpError,
)
from mocopr.protocol.versions import Era


class App(Protocol):
    """What a handler reaches of its app through ``ctx.app``: who it is, and a way to
    tell subscribers that a resource changed. The context is typed against this
    rather than the app's class, which builds contexts and so sits above this module."""

    name: str
    version: str

    def notify_resource_updated(self, uri: str) -> None: ...


class InputRequired(Exception):
    """Raised inside a modern-era handler that needs input it does not have yet."""

    def __init__(self, requests: dict[str, Any]) -> None:
        super().__init__("input required")
        self.requests = requests


@dataclass(eq=False, slots=True)
class Exchange:
    """Everything about one request that outlives its decoding."""

    request_id: messages.RequestId
    method: str
    version: str
    era: Era
    meta: messages.RequestMeta
    send: Send
    peer: Peer
    #: The legacy session the request belongs to; None in the modern era.
    session: LegacySession | None = None
    #: What the modern-era request's input requests have been answered with so far.
    answers: dict[str, Any] = field(default_factory=dict)
    _input_seq: int = 0

    @property
    def client_capabilities(self) -> dict[str, Any]:
        if self.era is Era.MODERN:
            return self.meta.client_capabilities or {}
        return self.session.client_capabilities if self.session else {}

    def wants_log(self, level: str) -> bool:
        if self.era is Era.MODERN:
            wanted = self.meta.log_level
            if wanted is None:
                return False
            return LOG_RANK.get(level, 0) >= LOG_RANK.get(wanted, 0)
        return self.session is not None and self.session.wants_log(level)

    def next_input_key(self, kind: str) -> str:
        self._input_seq += 1
        return f"{kind}-{self._input_seq}"


class Context:
    """Ask for it in a handler's signature (``ctx: Context``) to report progress,
    log to the client, ask the client for input, or read the request's metadata."""

    __slots__ = ("_exchange", "app")

    def __init__(self, exchange: Exchange, app: App) -> None:
        self._exchange = exchange
        self.app = app

    @property
    def request_id(self) -> messages.RequestId:
        return self._exchange.request_id

    @property
    def protocol_version(self) -> str:
        return self._exchange.version

    @property
    def era(self) -> Era:
        return self._exchange.era

    @property
    def meta(self) -> messages.RequestMeta:
        return self._exchange.meta

    @property
    def progress_token(self) -> int | str | None:
        return self._exchange.meta.progress_token

    @property
    def client_capabilities(self) -> dict[str, Any]:
        return self._exchange.client_capabilities

    @property
    def client_info(self) -> dict[str, Any]:
        exchange = self._exchange
        if exchange.era is Era.MODERN:
            return exchange.meta.client_info or {}
        return exchange.session.client_info if exchange.session else {}

    @property
    def session_id(self) -> str | None:
        return self._exchange.session.id if self._exchange.session else None

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send ``notifications/progress`` if the client asked for progress; else do nothing."""
        token = self._exchange.meta.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._exchange.send(messages.encode_notification("notifications/progress", params))

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` at ``level`` if the client wants that level."""
        if not self._exchange.wants_log(level):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._exchange.send(messages.encode_notification("notifications/message", params))

    async def debug(self, data: Any, logger: str | None = None) -> None:
        await self.log("debug", data, logger)

    async def info(self, data: Any, logger: str | None = None) -> None:
        await self.log("info", data, logger)

    async def warning(self, data: Any, logger: str | None = None) -> None:
        await self.log("warning", data, logger)

    async def error(self, data: Any, logger: str | None = None) -> None:
        await self.log("error", data, logger)

    async def ask(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """Ask the client for several inputs at once, by key; returns the answers by key.

        In the modern era every request still unanswered goes out together in
        one ``InputRequiredResult``; in the legacy era each is a request on the
        session. Build requests with :mod:`mocopr.app.client_requests`.
        """
        exchange = self._exchange
        for request in requests.values():
            self._require_capability(request)
        if exchange.era is Era.LEGACY:
            if exchange.session is None:
                raise McpError(INVALID_REQUEST, "No session to send a request on")
            answers = {}
            for key, request in requests.items():
                wire = client_requests.for_version(request, exchange.version)
                answer = await exchange.session.request(wire.method, wire.params, exchange.send)
                answers[key] = client_requests.check_answer(request, answer)
            return answers
        missing = {key: request for key, request in requests.items() if key not in exchange.answers}
        if missing:
            raise InputRequired(
                {
                    key: client_requests.for_version(request, exchange.version).to_wire()
                    for key, request in missing.items()
                }
            )
        return {
            key: client_requests.check_answer(request, exchange.answers[key])
            for key, request in requests.items()
        }

    async def ask_one(self, request: InputRequest, key: str | None = None) -> dict[str, Any]:
        """Ask for one input; ``key`` names it in a modern ``InputRequiredResult``
        (by default the capability and the request's position in the handler)."""
        key = key or self._exchange.next_input_key(request.capability)
        return (await self.ask({key: request}))[key]

    async def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """Ask the user for structured input; returns the ``ElicitResult``
        (``action`` is accept, decline or cancel; ``content`` on accept)."""
        return await self.ask_one(client_requests.elicitation(message, requested_schema), key)

    async def elicit_url(
        self, message: str, url: str, elicitation_id: str, *, key: str | None = None
    ) -> dict[str, Any]:
        """Send the user to a URL (URL-mode elicitation, 2025-11-25 and later)."""
        return await self.ask_one(client_requests.url_elicitation(message, url, elicitation_id), key)

    async def sample(
        self,
        messages_: list[dict[str, Any]],
        max_tokens: int,
        *,
        key: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Ask the client's LLM for a completion; returns the ``CreateMessageResult``."""
        return await self.ask_one(client_requests.sampling(messages_, max_tokens, **options), key)

    async def list_roots(self, *, key: str | None = None) -> list[dict[str, Any]]:
        """The client's roots (``roots/list``)."""
        return list((await self.ask_one(client_requests.roots(), key))["roots"])

    def _require_capability(self, request: InputRequest) -> None:
        exchange = self._exchange
        declared = exchange.client_capabilities.get(request.capability)
        if request.mode == "url" and isinstance(declared, dict) and "url" not in declared:
            declared = None
        if declared is not None:
            return
        if exchange.era is Era.MODERN:
            required = {request.capability: {request.mode: {}} if request.mode == "url" else {}}
            raise McpError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"This request needs the client capability {request.capability!r}",
                {"requiredCapabilities": required},
            )
        raise McpError(INVALID_REQUEST, f"The client does not support {request.capability}")
