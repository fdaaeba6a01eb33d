"""End to end over stdio with a raw line client: `mocopr serve --stdio` in a
subprocess, fed malformed, oversized, out-of-order and concurrent input, and
served by handlers that write to stdout themselves.

Every wait is bounded by ``trio.fail_after``; the server process is always
killed at the end of a test.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
import trio

from mocopr.protocol import errors

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.apps.sample:app"

#: Upper bound on any single wait for the server.
TIMEOUT = 10.0

PARSE_ERROR = errors.PARSE_ERROR
INVALID_REQUEST = errors.INVALID_REQUEST
METHOD_NOT_FOUND = errors.METHOD_NOT_FOUND
NOT_INITIALIZED = errors.NOT_INITIALIZED


class RawClient:
    """Writes JSON-RPC lines to the server's stdin and reads its stdout line by line.

    Every message read that is not the one being waited for is kept in
    :attr:`others`; :attr:`seen` keeps every message read, in order.
    """

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin: trio.abc.SendStream = process.stdin
        self.stdout: trio.abc.ReceiveStream = process.stdout
        self.others: list[Any] = []
        self.seen: list[Any] = []
        self._buffer = bytearray()
        self._next_id = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def send_bytes(self, data: bytes) -> None:
        with trio.fail_after(TIMEOUT):
            await self.stdin.send_all(data)

    async def send(self, message: Any) -> None:
        """Send one message (any JSON value, or raw bytes) as one line."""
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        await self.send_bytes(data + b"\n")

    async def close_stdin(self) -> None:
        with trio.fail_after(TIMEOUT):
            await self.stdin.aclose()

    async def read_message(self) -> Any:
        """The next message on stdout; raises EOFError when stdout ends."""
        with trio.fail_after(TIMEOUT):
            while True:
                newline = self._buffer.find(b"\n")
                if newline >= 0:
                    line = bytes(self._buffer[:newline])
                    del self._buffer[: newline + 1]
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    self.seen.append(message)
                    return message
                data = await self.stdout.receive_some(65536)
                if not data:
                    if self._buffer.strip():
                        raise AssertionError(f"stdout ended inside a line: {bytes(self._buffer)!r}")
                    raise EOFError("the server closed its stdout (it exited or crashed)")
                self._buffer += data

    async def wait_for(self, match: Callable[[Any], bool]) -> Any:
        """Read until a message satisfies ``match``; the others go to :attr:`others`."""
        with trio.fail_after(TIMEOUT):
            while True:
                message = await self.read_message()
                if match(message):
                    return message
                self.others.append(message)

    async def answer(self, request_id: int | str | None) -> dict[str, Any]:
        """The response (a single object, not a batch) whose id is ``request_id``."""
        return await self.wait_for(
            lambda m: (
                isinstance(m, dict)
                and "method" not in m
                and "id" in m
                and m["id"] == request_id
                and type(m["id"]) is type(request_id)
            )
        )

    async def request(
        self, method: str, params: dict[str, Any] | None = None, request_id: int | None = None
    ) -> dict[str, Any]:
        """Send a request and wait for its response."""
        request_id = self.new_id() if request_id is None else request_id
        await self.send(request_message(request_id, method, params))
        return await self.answer(request_id)

    async def initialize(self, version: str = "2025-11-25") -> dict[str, Any]:
        answer = await self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        )
        assert answer["result"]["protocolVersion"] == version
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    async def read_to_eof(self) -> list[Any]:
        """Every message until stdout ends (each also lands in :attr:`others`)."""
        rest: list[Any] = []
        with trio.fail_after(TIMEOUT):
            while True:
                try:
                    message = await self.read_message()
                except EOFError:
                    return rest
                rest.append(message)
                self.others.append(message)

    def ids_seen(self) -> set[Any]:
        """The ids of every response read so far, batches included."""
        ids: set[Any] = set()
        for message in self.seen:
            for item in message if isinstance(message, list) else [message]:
                if isinstance(item, dict) and "method" not in item and "id" in item:
                    ids.add(item["id"])
        return ids


def request_message(
    request_id: int | str, method: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def add_call(request_id: int, a: int, b: int) -> dict[str, Any]:
    return request_message(request_id, "tools/call", {"name": "add", "arguments": {"a": a, "b": b}})


def slow_call(request_id: int, seconds: float) -> dict[str, Any]:
    return request_message(request_id, "tools/call", {"name": "slow", "arguments": {"seconds": seconds}})


def error_code(answer: dict[str, Any]) -> int:
    assert "result" not in answer, answer
    code = answer["error"]["code"]
    assert isinstance(code, int) and isinstance(answer["error"]["message"], str)
    return code


def is_response(message: Any) -> bool:
    return isinstance(message, dict) and "method" not in message and "id" in message


def is_error_with_null_id(message: Any) -> bool:
    return isinstance(message, dict) and "error" in message and message.get("id", 0) is None


async def wait_for_null_id_error(client: RawClient) -> dict[str, Any]:
    answer = await client.wait_for(is_error_with_null_id)
    assert answer["jsonrpc"] == "2.0"
    return answer


async def check_still_serving(client: RawClient) -> None:
    """A ping and an add are still answered correctly."""
    assert (await client.request("ping"))["result"] == {}
    result = (await client.request("tools/call", {"name": "add", "arguments": {"a": 20, "b": 22}}))["result"]
    assert result["structuredContent"] == {"result": 42}
    assert result["content"][0]["text"] == "42"
    assert client.process.returncode is None


@asynccontextmanager
async def serve(*options: str, app: str = APP, capture_stderr: bool = False) -> AsyncIterator[RawClient]:
    """Start ``mocopr serve APP --stdio`` and yield a client for it; its stderr is
    the test's own unless ``capture_stderr``, when it is left to read in ``process.stderr``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "mocopr", "serve", app, "--stdio", *options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture_stderr else None,
        cwd=str(ROOT),
        env=env,
    )
    try:
        yield RawClient(process)
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            with trio.move_on_after(TIMEOUT):
                await process.wait()
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    await stream.aclose()


async def read_all(stream: trio.abc.ReceiveStream) -> bytes:
    """Everything left on ``stream`` until it ends."""
    data = bytearray()
    with trio.fail_after(TIMEOUT):
        while chunk := await stream.receive_some(65536):
            data += chunk
    return bytes(data)


# -- 1. not JSON ---------------------------------------------------------------------------


async def test_a_line_that_is_not_json_gets_a_parse_error_and_the_server_goes_on() -> None:
    async with serve() as client:
        await client.send(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"')  # unterminated
        answer = await wait_for_null_id_error(client)
        assert error_code(answer) == PARSE_ERROR
        await client.send(b"this is not json at all")
        assert error_code(await wait_for_null_id_error(client)) == PARSE_ERROR
        await client.initialize()
        await client.send(b"{]")
        assert error_code(await wait_for_null_id_error(client)) == PARSE_ERROR
        await check_still_serving(client)
        assert 1 not in client.ids_seen()
        assert client.others == []


# -- 2. not UTF-8 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b'\xff\xfe{"jsonrpc":"2.0"}', id="bom-like-prefix"),
        pytest.param(b'{"jsonrpc":"2.0","id":5,"method":"pi\xffng"}', id="in-method"),
        pytest.param(b'{"jsonrpc":"2.0","id":"\xc3\x28","method":"ping"}', id="in-id"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":5,"method":"tools/call",'
            b'"params":{"name":"add","arguments":{"a":1,"b":2},"note":"\xed\xa0\x80"}}',
            id="in-params",
        ),
    ],
)
async def test_bytes_that_are_not_utf8_get_a_parse_error_and_the_server_goes_on(
    line: bytes,
) -> None:
    async with serve() as client:
        await client.initialize()
        await client.send(line)
        answer = await client.wait_for(is_response)
        assert answer["id"] is None, answer
        assert error_code(answer) == PARSE_ERROR
        await check_still_serving(client)
        assert 5 not in client.ids_seen()


# -- 3. JSON that is not a request ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected_id"),
    [
        pytest.param(b"42", None, id="number"),
        pytest.param(b'"ping"', None, id="string"),
        pytest.param(b"null", None, id="null"),
        pytest.param(b'{"foo":1}', None, id="no-jsonrpc-fields"),
        pytest.param(b'{"jsonrpc":"1.0","id":1,"method":"ping"}', 1, id="jsonrpc-1.0"),
        pytest.param(b'{"id":"abc","method":"ping"}', "abc", id="no-jsonrpc-member"),
        pytest.param(b'{"jsonrpc":"2.0","id":7}', 7, id="no-method"),
        pytest.param(b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None, id="null-id"),
        pytest.param(b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', None, id="object-id"),
    ],
)
async def test_json_that_is_not_a_request_gets_invalid_request(
    line: bytes, expected_id: int | str | None
) -> None:
    async with serve() as client:
        await client.initialize()
        await client.send(line)
        answer = await client.wait_for(is_response)
        assert answer["jsonrpc"] == "2.0"
        assert answer["id"] == expected_id and type(answer["id"]) is type(expected_id), answer
        assert error_code(answer) == INVALID_REQUEST
        await check_still_serving(client)
        # Only the one error came back for the bad line: no result was made from it.
        assert client.others == []


# -- 4. unknown method ---------------------------------------------------------------------


async def test_an_unknown_method_gets_method_not_found_with_its_id() -> None:
    async with serve() as client:
        await client.initialize()
        answer = await client.request("tools/frobnicate", {}, request_id=41)
        assert answer["jsonrpc"] == "2.0" and answer["id"] == 41
        assert error_code(answer) == METHOD_NOT_FOUND
        await client.send(request_message("str-id", "no/such/method"))
        answer = await client.answer("str-id")
        assert error_code(answer) == METHOD_NOT_FOUND
        await check_still_serving(client)
        assert client.others == []


# -- 5. oversized lines --------------------------------------------------------------------

MAX_SIZE = 65536
BIG_LINE = 50 * 1024 * 1024
STREAM_CHUNK = 1024 * 1024
MAX_RSS_GROWTH = 40 * 1024 * 1024


async def test_a_huge_line_is_discarded_as_it_streams_with_one_error() -> None:
    async with serve("--max-message-size", str(MAX_SIZE)) as client:
        await client.initialize()
        server = psutil.Process(client.process.pid)
        baseline = server.memory_info().rss
        peak = baseline
        # A valid request, so that a server that buffered and parsed it would answer id 7.
        head = b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"pad":"'
        tail = b'"}}'
        await client.send_bytes(head)
        chunk = b"x" * STREAM_CHUNK
        sent = len(head)
        while sent < BIG_LINE:
            await client.send_bytes(chunk)
            sent += len(chunk)
            peak = max(peak, server.memory_info().rss)
        await client.send_bytes(tail + b"\n")
        await client.send(request_message(8, "ping"))
        assert (await client.answer(8))["result"] == {}
        peak = max(peak, server.memory_info().rss)
        assert peak - baseline < MAX_RSS_GROWTH, f"RSS grew by {(peak - baseline) >> 20} MiB"
        assert len(client.others) == 1, client.others
        error = client.others[0]
        assert error["id"] is None and error_code(error) == INVALID_REQUEST
        assert 7 not in client.ids_seen()
        await check_still_serving(client)
        assert len(client.others) == 1


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(4 * 1024, id="4KiB-one-chunk"),
        pytest.param(MAX_SIZE + 4096, id="just-over"),
        pytest.param(2 * MAX_SIZE - 100, id="under-two-chunks"),
    ],
)
async def test_a_line_just_over_the_limit_is_rejected(size: int) -> None:
    limit = 1024 if size < MAX_SIZE else MAX_SIZE
    async with serve("--max-message-size", str(limit)) as client:
        await client.initialize()
        head = b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"pad":"'
        tail = b'"}}'
        line = head + b"x" * (size - len(head) - len(tail)) + tail
        assert len(line) == size > limit
        await client.send(line)  # one write, newline included
        await client.send(request_message(8, "ping"))
        assert (await client.answer(8))["result"] == {}
        assert 7 not in client.ids_seen(), f"a {size}-byte line was served under a {limit} limit"
        assert len(client.others) == 1, client.others
        error = client.others[0]
        assert error["id"] is None and error_code(error) == INVALID_REQUEST


# -- 6. before initialize ------------------------------------------------------------------


async def test_a_legacy_request_before_initialize_is_refused_but_ping_works() -> None:
    async with serve() as client:
        assert (await client.request("ping", request_id=1))["result"] == {}
        answer = await client.request("tools/list", request_id=2)
        assert answer["id"] == 2 and error_code(answer) == NOT_INITIALIZED
        await client.send(add_call(3, 1, 2))
        answer = await client.answer(3)
        assert error_code(answer) == NOT_INITIALIZED
        assert (await client.request("ping", {}, request_id=4))["result"] == {}
        await client.initialize()
        tools = (await client.request("tools/list"))["result"]["tools"]
        assert [tool["name"] for tool in tools] == ["add", "slow", "progress"]
        await check_still_serving(client)


# -- 7. batches ----------------------------------------------------------------------------

BATCH = [request_message(10, "ping"), add_call(11, 2, 3)]


async def test_a_batch_is_answered_with_one_array_in_2025_03_26() -> None:
    async with serve() as client:
        await client.initialize("2025-03-26")
        await client.send(BATCH)
        answer = await client.wait_for(lambda m: isinstance(m, list))
        assert len(answer) == 2
        by_id = {item["id"]: item for item in answer}
        assert set(by_id) == {10, 11}
        assert all(item["jsonrpc"] == "2.0" for item in answer)
        assert by_id[10]["result"] == {}
        assert by_id[11]["result"]["structuredContent"] == {"result": 5}
        await check_still_serving(client)
        assert client.others == []


async def test_a_batch_is_refused_in_2025_06_18() -> None:
    async with serve() as client:
        await client.initialize("2025-06-18")
        await client.send(BATCH)
        answer = await client.read_message()
        assert isinstance(answer, dict), answer
        assert answer["id"] is None and error_code(answer) == INVALID_REQUEST
        await check_still_serving(client)
        assert client.others == []
        assert not {10, 11} & client.ids_seen()


# -- 8. stdin EOF --------------------------------------------------------------------------


async def test_stdin_eof_drains_requests_in_flight_and_exits_cleanly() -> None:
    async with serve() as client:
        await client.initialize()
        await client.send(slow_call(5, 0.3))
        await client.send(add_call(6, 4, 5))
        await client.close_stdin()
        with trio.fail_after(10):  # a hang guard: the drain waits for 0.3 s of work
            rest = await client.read_to_eof()
            code = await client.process.wait()
        assert code == 0
        by_id = {message["id"]: message for message in rest}
        assert set(by_id) == {5, 6}, rest
        assert by_id[5]["result"]["content"][0]["text"] == "slept"
        assert by_id[6]["result"]["structuredContent"] == {"result": 9}


# -- 9. SIGTERM ----------------------------------------------------------------------------


async def test_sigterm_drains_requests_in_flight_and_exits_cleanly() -> None:
    async with serve() as client:
        await client.initialize()
        await client.send(slow_call(5, 0.2))
        # The ping is read after the slow call, so once it is answered the slow call is running.
        assert (await client.request("ping", request_id=6))["result"] == {}
        assert 5 not in client.ids_seen()
        client.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):  # a hang guard: the drain waits for 0.2 s of work
            rest = await client.read_to_eof()
            code = await client.process.wait()
        assert code == 0
        assert len(rest) == 1, rest
        assert rest[0]["id"] == 5 and rest[0]["result"]["content"][0]["text"] == "slept"


# -- 10. concurrency and cancellation ------------------------------------------------------


async def test_a_slow_call_holds_nothing_up_and_cancellation_suppresses_its_answer() -> None:
    async with serve() as client:
        await client.initialize()
        await client.send(slow_call(20, 3600))
        assert (await client.request("ping", request_id=21))["result"] == {}
        assert 20 not in client.ids_seen()
        await client.send(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 20, "reason": "test"},
            }
        )
        assert (await client.request("ping", request_id=22))["result"] == {}
        # Cancellation takes effect when the handler next runs, so look until it has.
        with trio.fail_after(10):
            while True:
                read = await client.request("resources/read", {"uri": "sample://cancelled"})
                if read["result"]["contents"][0]["text"] == "1":
                    break
        assert 20 not in client.ids_seen()
        # Nothing is left in flight, so EOF ends the server at once, not after the hour the
        # slow call asked for; no answer for it ever appears.
        await client.close_stdin()
        with trio.fail_after(10):
            await client.read_to_eof()
            assert await client.process.wait() == 0
        assert 20 not in client.ids_seen()
        assert client.others == []


# -- 11. handlers that print ---------------------------------------------------------------


async def test_what_a_handler_prints_or_logs_goes_to_stderr_never_to_the_protocol_stream() -> None:
    async with serve(app="tests.apps.extras:app", capture_stderr=True) as client:
        await client.initialize()
        answer = await client.request("tools/call", {"name": "noisy"})
        assert answer["result"]["content"] == [{"type": "text", "text": "noisy"}]
        await client.close_stdin()
        await client.read_to_eof()  # every stdout line is parsed as JSON on the way
        with trio.fail_after(5):
            assert await client.process.wait() == 0
        assert client.process.stderr is not None
        stderr = (await read_all(client.process.stderr)).decode()
    assert all(isinstance(message, dict) and message["jsonrpc"] == "2.0" for message in client.seen)
    assert "printed by a tool" in stderr
    assert "WARNING tests.apps.extras: logged by a tool" in stderr
