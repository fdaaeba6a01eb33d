"""Streamable HTTP end to end, in process: the official SDK client in both
modes, and raw clients that break every rule a limit or check guards."""

import socket

import msgspec
import pytest
import trio
from mcp import Client
from mcp.types import (
    ElicitResult,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
    ToolListChangedNotification,
)

from mocopr.protocol import errors
from tests.raw_http import MODERN_META, RawConnection, mcp_post, post_head

CLIENT = {"name": "raw", "version": "1"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": CLIENT},
}


async def post(port: int, message: dict, **options) -> "tuple[int, dict, object]":
    connection = await RawConnection.open(port)
    headers, body = mcp_post(message, **options)
    await connection.request("POST", headers, body)
    response = await connection.read_response()
    await connection.aclose()
    return response


async def initialize(port: int, version: str = "2025-11-25") -> str:
    message = {**INIT, "params": {**INIT["params"], "protocolVersion": version}}
    response = await post(port, message)
    assert response.status == 200
    return response.headers["mcp-session-id"]


async def on_elicit(context, params):
    return ElicitResult(action="accept", content={"name": "Ada", "username": "ada", "email": "a@x"})


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_client(serve, mode):
    port = await serve()
    progress = []

    async def on_progress(value, total, message):
        progress.append(value)

    async with Client(
        f"http://127.0.0.1:{port}/mcp", mode=mode, cache=None, elicitation_callback=on_elicit
    ) as c:
        assert c.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        assert (await c.call_tool("add", {"a": 40, "b": 2})).structured_content == {"result": 42}
        token = (
            (await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)).content[0].text
        )
        assert progress == [0, 50, 100] and token
        assert (await c.call_tool("test_input_required_result_elicitation", {})).content[
            0
        ].text == "Hello, Ada!"
        assert "username" in (await c.call_tool("test_elicitation", {"message": "who?"})).content[0].text
        page = await c.read_resource("test://template/77/data")
        assert '"id":"77"' in page.contents[0].text


async def test_legacy_get_stream_carries_session_notifications(serve):
    port = await serve()
    seen: list[str] = []
    got = trio.Event()

    async def on_message(message):
        if isinstance(
            message,
            ResourceUpdatedNotification | ToolListChangedNotification | ResourceListChangedNotification,
        ):
            seen.append(type(message).__name__)
            if len(seen) >= 2:
                got.set()

    async with Client(
        f"http://127.0.0.1:{port}/mcp", mode="legacy", cache=None, message_handler=on_message
    ) as c:
        with pytest.warns(Warning):
            await c.subscribe_resource("test://watched-resource")
        with trio.fail_after(5):
            while True:
                await c.call_tool("test_trigger_resource_update", {})
                await c.call_tool("test_trigger_tool_change", {})
                with trio.move_on_after(0.2):
                    await got.wait()
                if got.is_set():
                    break
    assert {"ResourceUpdatedNotification", "ToolListChangedNotification"} <= set(seen)


async def test_modern_listen_stream(serve):
    port = await serve()
    async with Client(f"http://127.0.0.1:{port}/mcp", mode="auto", cache=None) as c:
        async with c.listen(tools_list_changed=True) as subscription:
            await c.call_tool("test_trigger_tool_change", {})
            with trio.fail_after(5):
                event = await subscription.__anext__()
        assert type(event).__name__ == "ToolsListChanged"


async def test_json_unless_something_streams(serve):
    port = await serve()
    session = await initialize(port)
    plain = await post(
        port,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 2}},
        },
        session=session,
    )
    assert plain.status == 200 and plain.headers["content-type"] == "application/json"
    streamed = await post(
        port,
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": "t"}},
        },
        session=session,
    )
    assert (
        streamed.headers["content-type"] == "text/event-stream"
        and streamed.headers["x-accel-buffering"] == "no"
    )
    events = streamed.events()
    assert [e.get("method") for e in events[:3]] == ["notifications/progress"] * 3
    assert events[-1]["id"] == 3 and events[-1]["result"]["content"][0]["text"] == "t"
    note = await post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=session)
    assert note.status == 202 and note.body == b""


async def test_legacy_session_rules(serve):
    port = await serve()
    ping = {"jsonrpc": "2.0", "id": 5, "method": "ping"}
    missing = await post(port, ping)
    assert missing.status == 400
    unknown = await post(port, ping, session="no-such-session")
    assert unknown.status == 404
    session = await initialize(port)
    assert (await post(port, ping, session=session)).json()["result"] == {}
    connection = await RawConnection.open(port)
    await connection.request("DELETE", {"Mcp-Session-Id": session})
    assert (await connection.read_response()).status == 200
    assert (await post(port, ping, session=session)).status == 404


async def test_a_quiet_get_stream_stays_open_through_its_keep_alives(serve):
    """Found by fuzzing: the first keep-alive used to end the stream (its wait was cancelled inside
    an async generator, which that finishes), so an event after a quiet spell never came."""
    port = await serve(sse_ping_interval=0.05)
    session = await initialize(port)
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await post(port, initialized, session=session)).status == 202
    stream = await RawConnection.open(port)
    await stream.request("GET", {"Accept": "text/event-stream", "Mcp-Session-Id": session})
    received = b""

    async def receive_until(wanted: bytes, count: int = 1) -> None:
        nonlocal received
        with trio.fail_after(5):
            while received.count(wanted) < count:
                data = await stream.stream.receive_some(65536)
                assert data, "the stream ended"
                received += data

    await receive_until(b":\n\n", 2)
    change = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "test_trigger_tool_change"},
    }
    assert (await post(port, change, session=session)).status == 200
    await receive_until(b"notifications/tools/list_changed")
    await stream.aclose()


@pytest.mark.parametrize("last", [b"0:\xb2", b"0:" + b"9" * 5000])
async def test_a_last_event_id_that_names_no_event_opens_the_get_stream(serve, last):
    """Found by fuzzing: "\xb2" (superscript two in latin-1) passes ``str.isdigit`` and more than
    4300 digits pass too, then ``int`` raised, and the exception ended the server."""
    port = await serve(sse_ping_interval=0.05)
    session = await initialize(port)
    stream = await RawConnection.open(port)
    head = f"GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}"
    await stream.send(head.encode() + b"\r\nLast-Event-ID: " + last + b"\r\n\r\n")
    with trio.fail_after(5):
        response = await stream.read_response(until_complete=False)
    assert response.status == 200 and response.body.startswith(b":")
    await stream.aclose()
    assert await initialize(port)  # and the server goes on


async def test_resumption_with_last_event_id(serve):
    port = await serve()
    session = await initialize(port)
    connection = await RawConnection.open(port)
    call = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": "r"}},
    }
    headers, body = mcp_post(call, session=session)
    await connection.request("POST", headers, body)
    first = await connection.read_response(until_complete=False)
    first_id = next(line for line in first.body.split(b"\n") if line.startswith(b"id: "))[4:].decode()
    await connection.aclose()
    resumed = await RawConnection.open(port)
    await resumed.request(
        "GET", {"Accept": "text/event-stream", "Mcp-Session-Id": session, "Last-Event-ID": first_id}
    )
    with trio.fail_after(5):
        rest = await resumed.read_response()
    events = rest.events()
    assert [e["params"]["progress"] for e in events if e.get("method")] == [50, 100]
    assert events[-1]["id"] == 9 and "result" in events[-1]


async def test_modern_rules(serve):
    port = await serve()
    connection = await RawConnection.open(port)
    await connection.request("GET", {"Accept": "text/event-stream", "MCP-Protocol-Version": "2026-07-28"})
    assert (await connection.read_response()).status == 405
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 1}, "_meta": MODERN_META},
    }
    wrong_name = await post(port, call, modern=True, **{"Mcp-Name": "other"})
    assert wrong_name.status == 400 and wrong_name.json()["error"]["code"] == errors.HEADER_MISMATCH
    unknown = await post(
        port, {"jsonrpc": "2.0", "id": 2, "method": "nope", "params": {"_meta": MODERN_META}}, modern=True
    )
    assert unknown.status == 404 and unknown.json()["error"]["code"] == errors.METHOD_NOT_FOUND
    batch = await post(port, [call], modern=True, **{"Mcp-Method": "tools/call"})
    assert batch.status == 400
    for envelope in ({"jsonrpc": "1.0"}, {"id": None}):
        refused = await post(port, {**call, **envelope}, modern=True)
        assert refused.status == 400 and refused.json()["error"]["code"] == errors.INVALID_REQUEST
    assert (await post(port, call, modern=True)).json()["result"]["structuredContent"] == {"result": 2}


async def test_host_and_origin(serve):
    port = await serve()
    _, body = mcp_post(INIT)
    connection = await RawConnection.open(port)
    await connection.send(post_head(f"Content-Length: {len(body)}", host="evil.example.com") + body)
    assert (await connection.read_response()).status == 421
    origin = await post(port, INIT, Origin="http://evil.example.com")
    assert origin.status == 403
    assert (await post(port, INIT, Origin=f"http://localhost:{port}")).status == 200


async def test_too_many_sessions(serve):
    port = await serve(max_sessions=2)
    await initialize(port)
    await initialize(port)
    refused = await post(port, INIT)
    assert refused.status == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == errors.SERVER_OVERLOADED


async def test_idle_sessions_expire(serve):
    port = await serve(session_idle_timeout=0.2)
    session = await initialize(port)
    ping = {"jsonrpc": "2.0", "id": 5, "method": "ping"}
    # Expiry is a matter of time passing unused, so this test waits (well past it) without a request.
    await trio.sleep(1.0)
    assert (await post(port, ping, session=session)).status == 404


async def test_oversized_body_and_headers(serve):
    port = await serve(max_body_size=1000, max_header_count=20)
    big = {**INIT, "params": {**INIT["params"], "padding": "x" * 2000}}
    assert (await post(port, big)).status == 413
    many = {f"X-Extra-{i}": "1" for i in range(30)}
    assert (await post(port, INIT, **many)).status == 431
    assert (await post(port, INIT)).status == 200


async def test_slow_headers_get_408(serve):
    port = await serve(request_timeout=0.3)
    connection = await RawConnection.open(port)
    await connection.send(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\n")
    with trio.fail_after(5):
        response = await connection.read_response()
    assert response.status == 408
    with trio.fail_after(5):
        assert await connection.stream.receive_some(10) == b""


async def test_a_client_that_stops_reading_is_cut_off_and_others_are_served(serve):
    """Pipelined requests whose answers the client never reads fill the socket buffers;
    the stalled write gives up after write_timeout and the connection closes. The
    request timeout and keep-alive timeout are far away, so only that can close it."""
    port = await serve(write_timeout=0.5)
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": MODERN_META}}
    headers, body = mcp_post(listing, modern=True)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST /mcp HTTP/1.1\r\nHost: localhost\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
    count = 400  # each answer lists every tool of the app: megabytes in all
    stalled = trio.socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await stalled.connect(("127.0.0.1", port))
    await stalled.send((request.encode() + body) * count)
    await trio.sleep(1.5)  # the server's writes stall, then time out
    assert (await post(port, INIT)).status == 200  # nobody else noticed
    received = b""
    with trio.fail_after(10):
        while True:
            try:
                data = await stalled.recv(1 << 20)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    stalled.close()
    assert 0 < received.count(b"HTTP/1.1 200") < count


async def test_a_connection_that_sends_nothing_is_closed_after_the_request_timeout(serve):
    """The time to send a first request runs from accept, not the (longer) keep-alive timeout:
    a connection that never sends costs the server only that long."""
    port = await serve(request_timeout=0.3, keep_alive_timeout=60)
    connection = await RawConnection.open(port)
    with trio.fail_after(10):
        assert await connection.stream.receive_some(10) == b""


async def test_idle_keep_alive_connection_is_closed(serve):
    port = await serve(keep_alive_timeout=0.2)
    connection = await RawConnection.open(port)
    headers, body = mcp_post(INIT)
    await connection.request("POST", headers, body)
    assert (await connection.read_response()).status == 200
    with trio.fail_after(5):
        assert await connection.stream.receive_some(10) == b""


async def test_pipelining_chunked_and_continue(serve):
    port = await serve()
    session = await initialize(port)
    connection = await RawConnection.open(port)
    bodies = [msgspec.json.encode({"jsonrpc": "2.0", "id": i, "method": "ping"}) for i in (1, 2, 3)]
    pings = b"".join(
        post_head(f"Mcp-Session-Id: {session}", f"Content-Length: {len(body)}") + body for body in bodies
    )
    await connection.send(pings)
    assert [(await connection.read_response()).json()["id"] for _ in range(3)] == [1, 2, 3]
    body = msgspec.json.encode({"jsonrpc": "2.0", "id": 4, "method": "ping"})
    chunked = (
        post_head(f"Mcp-Session-Id: {session}", "Transfer-Encoding: chunked")
        + f"{len(body[:10]):x}\r\n".encode() + body[:10] + b"\r\n"
        + f"{len(body[10:]):x}\r\n".encode() + body[10:] + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    await connection.send(chunked)
    assert (await connection.read_response()).json()["id"] == 4
    await connection.send(
        post_head(f"Mcp-Session-Id: {session}", "Expect: 100-continue", f"Content-Length: {len(body)}")
    )
    with trio.fail_after(5):
        interim = await connection.stream.receive_some(100)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    await connection.send(body)
    assert (await connection.read_response()).json()["id"] == 4


async def test_accept_and_version_headers(serve):
    port = await serve()
    refused = await post(port, INIT, Accept="text/html")
    assert refused.status == 406
    unknown_version = await post(port, INIT, **{"MCP-Protocol-Version": "1999-01-01"})
    assert unknown_version.status == 400
    session = await initialize(port, "2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 7, "method": "ping"}, {"jsonrpc": "2.0", "id": 8, "method": "ping"}]
    # No MCP-Protocol-Version header means 2025-03-26, the one version with batches.
    answered = await post(port, batch, session=session)
    assert sorted(a["id"] for a in answered.json()) == [7, 8]
    newer = await initialize(port, "2025-06-18")
    refused_batch = await post(port, batch, session=newer, **{"MCP-Protocol-Version": "2025-06-18"})
    assert refused_batch.status == 400


@pytest.mark.parametrize("mode", ["json", "sse"])
async def test_response_mode_setting(serve, mode):
    port = await serve(response_mode=mode)
    session = await initialize(port)
    call = {
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": "p"}},
    }  # fmt: skip
    answer = await post(port, call, session=session)
    if mode == "json":
        assert answer.headers["content-type"] == "application/json" and answer.json()["id"] == 2
    else:
        assert answer.headers["content-type"] == "text/event-stream"
        assert answer.events()[-1]["id"] == 2
    plain = await post(port, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, session=session)
    expected = "application/json" if mode == "json" else "text/event-stream"
    assert plain.headers["content-type"] == expected


async def test_valid_requests_before_garbage_are_answered_first(serve):
    port = await serve()
    session = await initialize(port)
    body = msgspec.json.encode({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    connection = await RawConnection.open(port)
    await connection.send(
        post_head(f"Mcp-Session-Id: {session}", f"Content-Length: {len(body)}")
        + body
        + b"\x00GARBAGE\r\n\r\n"
    )
    assert (await connection.read_response()).json()["id"] == 1
    assert (await connection.read_response()).status == 400
