"""Connection pressure: idle connections at the connection limit lock nobody out.

10,000 connections that send nothing (a slowloris needs only a laptop) fill the
limit; ordinary calls made meanwhile are each admitted by closing the oldest
connection that has sent nothing, so every one is answered, promptly.
"""

import resource

import psutil
import pytest
import trio

from tests.http_server import running_server
from tests.load_client import ToolCaller
from tests.test_runtime import health, wait_for, write_config

APP = "tests/apps/sample.py:app"
IDLE = 10_000
CALLS = 200
pytestmark = pytest.mark.timeout(300)


def raise_file_limit(needed: int) -> None:
    """As far as the hard limit allows: the server's processes inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    assert target == resource.RLIM_INFINITY or target >= needed, f"the hard file limit {hard} is too low"


async def test_ten_thousand_idle_connections_lock_no_call_out(tmp_path):
    raise_file_limit(IDLE + 1000)
    # A long request timeout, so that what admits the calls is eviction, not the idle ones timing out.
    config = write_config(tmp_path, f"[server]\nmax_connections = {IDLE}\n[http]\nrequest_timeout = 120.0\n")
    with running_server(APP, "--workers", "2", "--config", config, admin=True) as server:
        workers = [psutil.Process(w["pid"]) for w in (await health(server))["workers"]]
        before = sum(process.memory_info().rss for process in workers)
        idle = []
        try:
            for _ in range(IDLE):
                sock = trio.socket.socket()
                await sock.connect(("127.0.0.1", server.port))
                idle.append(sock)

            async def all_held():
                report = await health(server)
                return sum(worker["connections"] for worker in report["workers"]) == IDLE

            await wait_for(all_held, f"{IDLE} connections held", timeout=60)
            grown = sum(process.memory_info().rss for process in workers) - before
            print(f"{IDLE} idle connections: {grown / IDLE:.0f} bytes of worker RSS each")
            slowest = 0.0
            for i in range(CALLS):
                caller = ToolCaller(server.port)
                started = trio.current_time()
                with trio.fail_after(1):  # the bound: none slower than a second
                    result = await caller.call("add", {"a": i, "b": 1})
                slowest = max(slowest, trio.current_time() - started)
                assert result["structuredContent"] == {"result": i + 1}
                await caller.close()
            print(f"{CALLS} calls answered, the slowest in {slowest * 1000:.0f} ms")
        finally:
            for sock in idle:
                sock.close()
