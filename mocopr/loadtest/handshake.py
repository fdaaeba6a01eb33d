"""The exchanges before the load: checking that the target is an MCP server that speaks the era,
and opening legacy-era sessions.

The check runs once, in the parent, before any load process starts, so that a wrong URL, a server
that is not running, or a web server that is not MCP ends the run at once with one clear line
instead of a storm of counted errors.
"""

import http
from collections.abc import Awaitable, Callable

from mocopr.loadtest.connection import Response, TransportError, exchange_once
from mocopr.loadtest.replies import response_message
from mocopr.loadtest.scenario import ERA_VERSIONS, Era
from mocopr.loadtest.wire import (
    Session,
    Target,
    delete_session,
    discover_message,
    initialize_message,
    initialized_message,
    one_request,
)


class TargetError(Exception):
    """The target cannot be load tested; the message is the one line a user reads."""


#: Sends one request and returns its answer; how it connects and times out is the caller's.
Send = Callable[[bytes], Awaitable[Response]]


async def probe(target: Target, era: Era, timeout: float) -> None:
    """Raise ``TargetError`` unless ``target`` answers as an MCP server of ``era`` would."""

    async def send(data: bytes) -> Response:
        return await exchange_once(target, data, timeout)

    try:
        if era == "modern":
            response = await send(one_request(target, era, discover_message()))
            _expect_result(target, response, "server/discover", hint="; try --era legacy")
        else:
            await end_session(send, target, await open_session(send, target))
    except TransportError as exc:
        raise TargetError(transport_failure(target, exc)) from None


async def open_session(send: Send, target: Target) -> Session:
    """``initialize``, then ``notifications/initialized``: a legacy-era session (without an id if
    the server gives none, as a stateless server may)."""
    response = await send(one_request(target, "legacy", initialize_message()))
    message = _expect_result(target, response, "initialize", hint="; try --era modern")
    session = Session(response.session_id, message["result"].get("protocolVersion") or ERA_VERSIONS["legacy"])
    response = await send(one_request(target, "legacy", initialized_message(), session))
    if not 200 <= response.status < 300:
        raise TargetError(f"{target.url} refused notifications/initialized: {describe(response)}")
    return session


async def end_session(send: Send, target: Target, session: Session) -> None:
    """DELETE the session, so that a run leaves none behind (a server may refuse: 405 is fine)."""
    if session.id is not None:
        await send(delete_session(target, session))


def _expect_result(target: Target, response: Response, method: str, hint: str) -> dict:
    message = response_message(response.content_type, response.body)
    if message is not None and "error" in message:
        raise TargetError(f"{target.url} refused {method}: {describe(response)}{hint}")
    if not 200 <= response.status < 300:
        raise TargetError(f"{target.url} is not an MCP server answering {method}: {describe(response)}")
    if message is None:
        raise TargetError(
            f"{target.url} is not an MCP server: its answer to {method} is not JSON-RPC "
            f"({response.content_type.decode('latin-1') or 'no content type'})"
        )
    if not isinstance(message.get("result"), dict):
        raise TargetError(f"{target.url} is not an MCP server: its answer to {method} has no result")
    return message


def describe(response: Response) -> str:
    """An HTTP answer in a few words: its status, and the JSON-RPC error or content type."""
    try:
        text = f"HTTP {response.status} {http.HTTPStatus(response.status).phrase}"
    except ValueError:
        text = f"HTTP {response.status}"
    message = response_message(response.content_type, response.body)
    if message is not None and "error" in message:
        return f"{text}: {_error_text(message)}"
    content_type = response.content_type.decode("latin-1").split(";")[0]
    return f"{text} ({content_type})" if content_type else text


def transport_failure(target: Target, error: TransportError) -> str:
    if error.kind in ("refused", "connect"):
        return f"cannot connect to {target.url}: {error.detail}"
    if error.kind == "timeout":
        return f"{target.url} did not answer: {error.detail}"
    return f"{target.url} is not an MCP server: {error.detail}"


def _error_text(message: dict) -> str:
    error = message["error"]
    if not isinstance(error, dict):
        return f"JSON-RPC error {error!r}"
    return f"JSON-RPC error {error.get('code')}: {error.get('message', '')}".rstrip(": ")
