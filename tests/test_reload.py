"""Reloads and drains that the clients users run do not notice.

The clients here are the official SDK's, with no retry layer of ours: a POST
lost to a closed kept-alive connection would kill the client, and a legacy
session that did not survive its worker's replacement would answer 404. wrk,
the reference load generator, counts every socket error a reload causes.
"""

import json
import shutil
import signal
import subprocess

import httpx2
import pytest
import trio
from mcp import Client

from tests.http_server import ROOT, running_server
from tests.test_runtime import reload_and_wait, wait_for

APP = "examples/everything.py:app"
pytestmark = pytest.mark.timeout(180)


class LoopingClient:
    """One official SDK client calling ``add`` in a loop, until told to stop or it fails."""

    def __init__(self, url: str, mode: str) -> None:
        self.url = url
        self.mode = mode
        self.calls = 0
        self.failure: BaseException | None = None

    async def run(self, stop: trio.Event) -> None:
        try:
            async with Client(self.url, mode=self.mode, cache=None) as client:
                while not stop.is_set():
                    result = await client.call_tool("add", {"a": self.calls, "b": 1})
                    assert result.structured_content == {"result": self.calls + 1}, result
                    self.calls += 1
        except Exception as exc:  # the client's own failure, whatever it is, is the finding
            self.failure = exc


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions at the bottom of (nested) exception groups and their causes."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error] + (leaves(error.__cause__) if error.__cause__ is not None else [])


async def _all_called(clients: list[LoopingClient], count: int) -> bool:
    return all(client.calls >= count or client.failure for client in clients)


async def start_clients(nursery: trio.Nursery, url: str, stop: trio.Event) -> list[LoopingClient]:
    """4 clients in the modern era and 4 in the legacy one, calling until ``stop``; returns
    once each has made 20 calls (or failed)."""
    clients = [LoopingClient(url, "auto" if i < 4 else "legacy") for i in range(8)]
    for client in clients:
        nursery.start_soon(client.run, stop)
    await wait_for(lambda: _all_called(clients, 20), "load under way")
    return clients


async def test_three_reloads_under_load_fail_no_official_client_call():
    """4 clients in the modern era and 4 in the legacy one (sessions carried over to each
    new worker); 3 SIGHUPs, each replacing both workers: not one call fails."""
    with running_server(APP, "--workers", "2", admin=True) as server:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            clients = await start_clients(nursery, server.url, stop)
            for _ in range(3):
                await reload_and_wait(server)
                counts = [client.calls for client in clients]
                await wait_for(lambda c=counts: _all_called(clients, max(c) + 20), "load after the reload")
            stop.set()
        assert [client.failure for client in clients] == [None] * 8
        assert any("sessions carried over" in line for line in server.log)


async def test_sigterm_under_load_answers_every_call_or_refuses_it_unsent():
    """After SIGTERM, a call is either answered or refused a connection: never sent and lost."""
    with running_server(APP, "--workers", "2") as server:
        async with trio.open_nursery() as nursery:
            clients = await start_clients(nursery, server.url, trio.Event())
            server.process.send_signal(signal.SIGTERM)
            # Every client runs until the server refuses its next connection.
        assert await trio.to_thread.run_sync(server.process.wait, 60) == 0
        for client in clients:
            assert client.failure is not None
            kinds = {type(leaf) for leaf in leaves(client.failure)}
            assert httpx2.ConnectError in kinds, f"{client.mode}: {client.failure!r}"
            lost = {httpx2.ReadError, httpx2.RemoteProtocolError, httpx2.WriteError}
            assert not kinds & lost, f"{client.mode}: a call was sent and lost: {client.failure!r}"


async def test_wrk_through_three_reloads_sees_no_socket_error():
    wrk = shutil.which("wrk")
    assert wrk, "this test needs wrk (Debian: apt install wrk); make test installs it"
    script = str(ROOT / "benchmarks" / "wrk" / "modern.lua")
    with running_server(APP, "--workers", "2", admin=True) as server:
        load = subprocess.Popen(
            [wrk, "-t1", "-c64", "-d20s", "-s", script, server.url], stdout=subprocess.PIPE
        )
        for _ in range(3):
            await reload_and_wait(server)
        output = (await trio.to_thread.run_sync(load.communicate, None, 60))[0].decode()
    report = json.loads(next(line for line in output.splitlines() if line.startswith("MCPWRK "))[7:])
    assert report["requests"] > 0 and report["ok"] == report["requests"], report
    errors = {key: report[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts")}
    assert errors == dict.fromkeys(errors, 0), output
