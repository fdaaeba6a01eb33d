"""Shared fixtures: an in-process client that talks to a Dispatcher through a Peer."""

from functools import partial
from typing import Any

import msgspec
import pytest
from hypothesis import settings

from examples.everything import app as everything
from mocopr.app.dispatch import Dispatcher
from mocopr.app.server import McpServer
from mocopr.app.session import Peer
from mocopr.protocol import messages
from mocopr.transport.http_app import serve_http
from mocopr.transport.http_settings import HttpSettings

MODERN = "2026-07-28"

# Tests assert no timings: hypothesis's per-example deadline is one, and on a loaded
# two-CPU machine it fails examples for the time they took, not for what they did.
settings.register_profile("mocopr", deadline=None)
settings.load_profile("mocopr")


class InProcessClient:
    """Sends requests straight to a Dispatcher and decodes what comes back,
    keeping every out-of-band message (progress, logs, server requests) it was sent."""

    def __init__(self, app: McpServer) -> None:
        self.dispatcher = Dispatcher(app)
        self.sent: list[dict[str, Any]] = []
        self.peer = Peer(send=self._collect)
        self._ids = 0

    async def _collect(self, data: bytes) -> None:
        self.sent.append(msgspec.json.decode(data))

    async def raw(self, message: dict[str, Any]) -> dict[str, Any] | None:
        envelope = messages.decode_message(msgspec.json.encode(message))
        answer = await self.dispatcher.dispatch(envelope, self.peer)
        return None if answer is None else msgspec.json.decode(answer)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ids += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._ids, "method": method}
        if params is not None:
            message["params"] = params
        answer = await self.raw(message)
        assert answer is not None
        return answer

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        assert await self.raw(message) is None

    async def initialize(self, version: str = "2025-11-25", capabilities: dict | None = None) -> dict:
        answer = await self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": capabilities or {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        )
        await self.notify("notifications/initialized")
        return answer

    async def modern(self, method: str, params: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
        params = dict(params or {})
        params["_meta"] = {
            messages.META_PROTOCOL_VERSION: MODERN,
            messages.META_CLIENT_CAPABILITIES: {},
            **params.get("_meta", {}),
            **meta,
        }
        return await self.request(method, params)


@pytest.fixture
def make_client():
    return InProcessClient


@pytest.fixture
def serve(nursery):
    """Start the demo app over HTTP in this process with some settings; returns its port."""

    async def start(**settings: Any) -> int:
        listeners = await nursery.start(partial(serve_http, everything, HttpSettings(port=0, **settings)))
        return listeners[0].socket.getsockname()[1]

    return start
