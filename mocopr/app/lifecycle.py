"""The methods that open, tune and watch a conversation rather than run one of
the app's handlers: the legacy era's ``initialize``, ``ping``, log level and
resource subscriptions; the modern era's ``server/discover`` and
``subscriptions/listen`` streams."""

import secrets
from typing import Any

import trio

from mocopr.app import notifications
from mocopr.app.context import Exchange
from mocopr.app.server import McpServer
from mocopr.app.session import LOG_LEVELS, LegacySession
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.versions import SUPPORTED_VERSIONS, negotiate_legacy


class Lifecycle:
    """Answers the lifecycle methods of one app; ``closing`` ends every listen stream."""

    def __init__(self, app: McpServer, closing: trio.Event) -> None:
        self.app = app
        self._closing = closing
        #: Starts every legacy session id, so a multiprocess server can tell which worker owns one.
        self.session_prefix = ""

    # -- legacy --------------------------------------------------------------------------

    async def initialize(self, exchange: Exchange, params: messages.InitializeParams) -> Any:
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

    async def ping(self, exchange: Exchange, params: Any) -> Any:
        return {}

    async def set_level(self, exchange: Exchange, params: messages.SetLevelParams) -> Any:
        if params.level not in LOG_LEVELS:
            raise McpError(errors.INVALID_PARAMS, f"Invalid log level: {params.level!r}")
        assert exchange.session is not None
        exchange.session.log_level = params.level
        return {}

    async def subscribe(self, exchange: Exchange, params: messages.UriParams) -> Any:
        assert exchange.session is not None
        exchange.session.subscriptions.add(params.uri)
        return {}

    async def unsubscribe(self, exchange: Exchange, params: messages.UriParams) -> Any:
        assert exchange.session is not None
        exchange.session.subscriptions.discard(params.uri)
        return {}

    # -- modern --------------------------------------------------------------------------

    async def discover(self, exchange: Exchange, params: Any) -> Any:
        result: dict[str, Any] = {
            "supportedVersions": list(SUPPORTED_VERSIONS),
            "capabilities": self.app.capabilities(),
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        return result

    async def listen(self, exchange: Exchange, params: messages.ListenParams) -> Any:
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
