"""The harness's own HTTP requests to a server, outside the load: the legacy era's session handshake, an
answer read from a body that is plain JSON or an SSE stream, and mocopr's ``GET /health``."""

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from .errors import BenchmarkError
from .jsonrpc import ERAS, INITIALIZED, initialize

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
TIMEOUT = 10


def connect(url: str, timeout: float = TIMEOUT) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)


def post(
    connection: http.client.HTTPConnection, path: str, message: dict[str, Any], headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, str]:
    connection.request("POST", path, json.dumps(message), {**HEADERS, **headers})
    response = connection.getresponse()
    return response.status, response.headers, response.read().decode()


def decode_answer(body: str) -> dict[str, Any]:
    """The JSON-RPC response in a body that is plain JSON or an SSE stream."""
    if body.lstrip().startswith("{"):
        return json.loads(body)
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip():
            message = json.loads(line[5:])
            if "id" in message:
                return message
    raise BenchmarkError(f"no JSON-RPC response in {body!r}")


def open_session(url: str) -> str:
    """``initialize`` in the legacy era and ``notifications/initialized``, on one keep-alive connection
    as a client's connection pool would send them (so that both reach the same process of a server that
    has several, as uvicorn's workers, which do not share sessions); the session id."""
    legacy = ERAS["legacy"]
    path = urlsplit(url).path
    connection = connect(url)
    try:
        status, headers, body = post(connection, path, initialize(1), {})
        session = headers.get("Mcp-Session-Id")
        answer = decode_answer(body) if status == 200 else {}
        if not session or answer.get("result", {}).get("protocolVersion") != legacy:
            raise BenchmarkError(f"initialize: HTTP {status}, session {session!r}, {body!r}")
        session_headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": legacy}
        status, _, body = post(connection, path, INITIALIZED, session_headers)
    finally:
        connection.close()
    if status != 202:
        raise BenchmarkError(f"notifications/initialized: HTTP {status}, {body!r}")
    return session


def read_health(admin_url: str) -> dict[str, Any]:
    """mocopr's ``GET /health`` from its admin listener: its acceptor and each worker, with their
    connections and requests so far."""
    connection = connect(admin_url, timeout=5)
    try:
        connection.request("GET", "/health")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()
