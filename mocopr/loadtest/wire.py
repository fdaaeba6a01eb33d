"""The bytes of MCP requests over Streamable HTTP, built before the load starts.

A load client must not spend its time encoding JSON and formatting headers: every request of an
operation is the same except for its JSON-RPC id, so each operation becomes a ``RequestTemplate``,
the whole HTTP request in two pieces around a fixed-width id, and sending one is a concatenation.
Every request still gets its own id: a server that keeps state (a legacy session) may route
answers by id.
"""

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from mocopr.loadtest.scenario import ERA_VERSIONS, Era, LoadScenario
from mocopr.protocol.messages import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from mocopr.transport.http_headers import encode_value

ACCEPT = "application/json, text/event-stream"
#: Ids count up from here: ten digits until 9 * 10**9 requests of one client, so that the
#: ``Content-Length`` of a template holds for every id it is rendered with.
FIRST_ID = 1_000_000_000
_ID_DIGITS = len(str(FIRST_ID))
_BODY_HEAD = b'{"jsonrpc":"2.0","id":'
_CLIENT_INFO = {"name": "mocopr-loadtest", "version": "1"}


@dataclass(frozen=True)
class Target:
    """Where the MCP endpoint is: what a connection dials and what each request names."""

    url: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> "Target":
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"{url}: only http:// URLs can be load tested")
        try:
            port = parts.port or 80
        except ValueError:
            raise ValueError(f"{url}: the port is not a number") from None
        if not parts.hostname:
            raise ValueError(f"{url}: no host")
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        return cls(url, parts.hostname, port, path)

    @property
    def authority(self) -> str:
        """The ``Host`` header: host and port, an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Session:
    """A legacy-era session, opened by ``initialize``: what each of its requests carries (no id
    if the server assigned none)."""

    id: str | None
    protocol_version: str


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """One operation's HTTP request, split around its JSON-RPC id."""

    head: bytes
    tail: bytes

    def render(self, request_id: int) -> bytes:
        return self.head + b"%d" % request_id + self.tail


def request_templates(
    target: Target, scenario: LoadScenario, session: Session | None = None
) -> list[RequestTemplate]:
    """A template per operation of the scenario, in its order; legacy-era ones carry the session."""
    templates = []
    for operation in scenario.operations:
        params = operation.params()
        if session is None:
            params["_meta"] = modern_meta()
        rest = msgspec.json.encode({"method": operation.method, "params": params})
        tail = b"," + rest[1:]
        headers = mcp_headers(scenario.era, operation.method, operation.target, session)
        headers["Content-Length"] = str(len(_BODY_HEAD) + _ID_DIGITS + len(tail))
        templates.append(RequestTemplate(http_head(target, "POST", headers) + _BODY_HEAD, tail))
    return templates


def mcp_headers(era: Era, method: str, name: str | None, session: Session | None) -> dict[str, str]:
    """The headers of a Streamable HTTP POST: the modern era names the method and its target,
    the legacy era names its session."""
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if session is not None:
        if session.id is not None:
            headers["Mcp-Session-Id"] = session.id
        headers["MCP-Protocol-Version"] = session.protocol_version
    elif era == "modern":
        headers["MCP-Protocol-Version"] = ERA_VERSIONS["modern"]
        headers["Mcp-Method"] = method
        if name is not None:
            headers["Mcp-Name"] = encode_value(name)
    return headers


def modern_meta() -> dict[str, Any]:
    return {META_PROTOCOL_VERSION: ERA_VERSIONS["modern"], META_CLIENT_CAPABILITIES: {}}


def http_head(target: Target, method: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {target.path} HTTP/1.1", f"Host: {target.authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def one_request(target: Target, era: Era, message: dict[str, Any], session: Session | None = None) -> bytes:
    """A single JSON-RPC message (a handshake step, a probe) as a complete HTTP request."""
    body = msgspec.json.encode(message)
    params = message.get("params", {})
    headers = mcp_headers(era, message["method"], params.get("name", params.get("uri")), session)
    headers["Content-Length"] = str(len(body))
    return http_head(target, "POST", headers) + body


def initialize_message() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": ERA_VERSIONS["legacy"], "capabilities": {}, "clientInfo": _CLIENT_INFO},
    }


def initialized_message() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/initialized"}


def discover_message() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": modern_meta()}}


def delete_session(target: Target, session: Session) -> bytes:
    """The request that ends a legacy session, so a run leaves no sessions behind on the server."""
    assert session.id is not None
    headers = {"Mcp-Session-Id": session.id, "MCP-Protocol-Version": session.protocol_version}
    return http_head(target, "DELETE", {**headers, "Content-Length": "0"})
