"""The multiprocess runtime as a real service: supervisor, acceptor and pinned
workers on 127.0.0.1, under bounded load, while workers and the acceptor are
killed, the server is reloaded and stopped, and limits are pushed."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import trio

from mocopr.workers.worker import adopt
from tests.http_server import ROOT, running_server
from tests.load_client import RequestFailed, ToolCaller
from tests.raw_http import MODERN_META, RawConnection, mcp_post

SHM = Path("/dev/shm")

APP = "tests/apps/sample.py:app"
pytestmark = pytest.mark.timeout(120)


async def health(server) -> dict:
    connection = await RawConnection.open(server.admin_port)
    await connection.request("GET", path="/health")
    response = await connection.read_response()
    await connection.aclose()
    return response.json()


async def wait_for(predicate, what: str, timeout: float = 20.0):
    """Poll ``predicate`` (async) until it returns something true."""
    with trio.fail_after(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await trio.sleep(0.05)
    raise AssertionError(what)


async def test_workers_are_pinned_to_distinct_cpus():
    with running_server(APP, "--workers", "2", admin=True) as server:
        report = await health(server)
        cpus = [worker["cpu"] for worker in report["workers"]]
        assert len(cpus) == 2 and len(set(cpus)) == 2
        for worker in report["workers"]:
            assert psutil.Process(worker["pid"]).cpu_affinity() == [worker["cpu"]]


async def test_a_killed_worker_is_replaced_and_others_see_no_error():
    with running_server(APP, "--workers", "2", admin=True) as server:
        callers = [ToolCaller(server.port) for _ in range(8)]
        owners = [(await caller.call("whoami"))["structuredContent"]["result"] for caller in callers]
        assert len(set(owners)) == 2, "connections should spread over both workers"
        victim = owners[0]
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            for caller in callers:
                nursery.start_soon(caller.hammer, stop)
            await wait_for(lambda: _all_called(callers, 20), "load under way")
            process = psutil.Process(victim)  # before the kill: the supervisor may reap it at once
            os.kill(victim, signal.SIGKILL)
            await trio.to_thread.run_sync(process.wait, 10)
            with trio.fail_after(1):
                fresh = ToolCaller(server.port)
                assert (await fresh.call("add", {"a": 2, "b": 2}))["structuredContent"] == {"result": 4}
                await fresh.close()
            await wait_for(lambda: _all_called(callers, 40), "load after the kill")
            stop.set()
        for caller, owner in zip(callers, owners, strict=True):
            if owner != victim:
                assert caller.failures == []

        async def replaced():
            report = await health(server)
            pids = {worker["pid"] for worker in report["workers"] if worker["state"] == "ready"}
            return len(pids) == 2 and victim not in pids and report["restarts"] == 1

        await wait_for(replaced, "a replacement worker")


async def _all_called(callers, count: int) -> bool:
    return all(caller.calls >= count for caller in callers)


async def test_a_killed_acceptor_comes_back_and_queued_connections_are_served():
    with running_server(APP, "--workers", "2", admin=True) as server:
        before = await health(server)
        os.kill(before["acceptor"]["pid"], signal.SIGKILL)
        callers = [ToolCaller(server.port) for _ in range(5)]
        results = []

        async def call(caller):
            results.append(await caller.call("add", {"a": 1, "b": 2}))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for caller in callers:
                    nursery.start_soon(call, caller)
        assert [r["structuredContent"] for r in results] == [{"result": 3}] * 5
        after = await health(server)
        assert after["acceptor"]["alive"] and after["acceptor"]["pid"] != before["acceptor"]["pid"]


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "mocopr.toml"
    path.write_text(text)
    return str(path)


async def waits_until_a_connection_closes(server, holding: int, while_held=None) -> None:
    """With ``holding`` connections busy (a slow call in flight on each), one more is not
    answered (it waits in the kernel backlog: none of them may be closed to admit it);
    when one of them closes, it gets through."""
    holders = [ToolCaller(server.port) for _ in range(holding)]
    waiting = ToolCaller(server.port)
    answered = trio.Event()

    async def hold(holder, cancel_scope):
        with cancel_scope:
            await holder.call("slow", {"seconds": 60})

    async def call_waiting():
        await waiting.call("add", {"a": 5, "b": 5})
        answered.set()

    scopes = [trio.CancelScope() for _ in holders]
    async with trio.open_nursery() as nursery:
        for holder, scope in zip(holders, scopes, strict=True):
            nursery.start_soon(hold, holder, scope)

        async def all_busy():
            return sum(w["inflight"] for w in (await health(server))["workers"]) == holding

        await wait_for(all_busy, "every holder's call in flight")
        nursery.start_soon(call_waiting)
        with trio.move_on_after(1.0):
            await answered.wait()
        assert not answered.is_set(), "a connection beyond the limit was served"
        if while_held is not None:
            await while_held()
        scopes[0].cancel()
        await holders[0].close()
        with trio.fail_after(10):
            await answered.wait()
        for scope in scopes:
            scope.cancel()
    for caller in (*holders, waiting):
        await caller.close()


async def test_at_the_limit_a_connection_that_costs_least_is_closed_to_admit_another(tmp_path):
    """At max_connections, idle connections make room: first one that sent nothing, then
    the longest idle kept-alive one; each kind is counted in /metrics."""
    config = write_config(tmp_path, "[server]\nmax_connections = 3\n")
    with running_server(APP, "--workers", "1", "--config", config, admin=True) as server:
        silent = await RawConnection.open(server.port)  # connects, sends nothing
        kept = [ToolCaller(server.port) for _ in range(2)]
        for caller in kept:
            await caller.call("add", {"a": 1, "b": 1})

        async def evictable(count):
            return (await health(server))["workers"][0]["evictable"] == count

        await wait_for(lambda: evictable(3), "three idle connections reported")
        newcomer = ToolCaller(server.port)
        with trio.fail_after(10):
            assert (await newcomer.call("add", {"a": 2, "b": 3}))["structuredContent"] == {"result": 5}
        with trio.fail_after(10):
            assert await silent.stream.receive_some(10) == b"", "the silent connection goes first"
        await wait_for(lambda: evictable(3), "the newcomer idle too")
        another = ToolCaller(server.port)
        with trio.fail_after(10):
            assert (await another.call("add", {"a": 1, "b": 2}))["structuredContent"] == {"result": 3}
        # The longest idle kept-alive connection was closed: its next call goes out on a new one.
        assert (await kept[0].call("add", {"a": 1, "b": 1}))["structuredContent"] == {"result": 2}
        metrics = await admin_text(server, "/metrics")
        assert 'mocopr_rejections_total{reason="evicted_unused"} 1.0' in metrics
        assert 'mocopr_rejections_total{reason="evicted_idle"}' in metrics
        for caller in (*kept, newcomer, another):
            await caller.close()


async def admin_text(server, path: str) -> str:
    connection = await RawConnection.open(server.admin_port)
    await connection.request("GET", path=path)
    response = await connection.read_response()
    await connection.aclose()
    return response.body.decode()


async def test_global_connection_limit_holds_in_the_backlog(tmp_path):
    config = write_config(tmp_path, "[server]\nmax_connections = 3\n")
    with running_server(APP, "--workers", "2", "--config", config, admin=True) as server:

        async def three_open():
            assert sum(w["connections"] for w in (await health(server))["workers"]) == 3

        await waits_until_a_connection_closes(server, 3, three_open)


async def test_global_connection_limit_can_answer_503(tmp_path):
    config = write_config(tmp_path, '[server]\nmax_connections = 2\naccept_overflow = "reject"\n')
    with running_server(APP, "--workers", "2", "--config", config) as server:
        holders = [ToolCaller(server.port) for _ in range(2)]
        for holder in holders:
            await holder.call("add", {"a": 1, "b": 1})
        connection = await RawConnection.open(server.port)
        headers, body = mcp_post(
            {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": MODERN_META}},
            modern=True,
        )
        await connection.request("POST", headers, body)
        refused = await connection.read_response()
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        for holder in holders:
            await holder.close()


async def test_per_worker_inflight_limit(tmp_path):
    config = write_config(tmp_path, "[server]\nmax_inflight_per_worker = 2\n")
    with running_server(APP, "--workers", "1", "--config", config) as server:
        slow = [ToolCaller(server.port) for _ in range(2)]
        done = []

        async def slow_call(caller):
            done.append(await caller.call("slow", {"seconds": 2.0}))

        async with trio.open_nursery() as nursery:
            for caller in slow:
                nursery.start_soon(slow_call, caller)
            third = ToolCaller(server.port)

            async def refused():
                try:
                    await third.call("add", {"a": 1, "b": 1})
                except RequestFailed as exc:
                    return "HTTP 503" in str(exc)
                return False

            await wait_for(refused, "a 503 at the in-flight limit", timeout=1.9)
        assert [r["content"][0]["text"] for r in done] == ["slept", "slept"]
        assert (await third.call("add", {"a": 1, "b": 1}))["structuredContent"] == {"result": 2}


async def test_sigterm_lets_a_slow_call_finish_then_exits_zero():
    with running_server(APP, "--workers", "2") as server:
        caller = ToolCaller(server.port)
        async with trio.open_nursery() as nursery:
            results = []

            async def call():
                results.append(await caller.call("slow", {"seconds": 1.0}))

            nursery.start_soon(call)
            await trio.sleep(0.3)  # the call is in flight (it takes a second)
            server.process.send_signal(signal.SIGTERM)
        assert results[0]["content"][0]["text"] == "slept"
        assert await trio.to_thread.run_sync(server.process.wait, 20) == 0


async def test_sighup_under_load_fails_no_request():
    with running_server(APP, "--workers", "2", admin=True) as server:
        callers = [ToolCaller(server.port) for _ in range(6)]
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            for caller in callers:
                nursery.start_soon(caller.hammer, stop)
            await wait_for(lambda: _all_called(callers, 20), "load under way")
            await reload_and_wait(server)
            counts = [caller.calls for caller in callers]
            await wait_for(lambda: _all_called(callers, max(counts) + 20), "load after the reload")
            stop.set()
        assert [caller.failures for caller in callers] == [[]] * 6


async def reload_and_wait(server) -> None:
    """SIGHUP, then wait until every worker is a new one and the server says running."""
    before = {worker["pid"] for worker in (await health(server))["workers"]}
    server.process.send_signal(signal.SIGHUP)

    async def reloaded():
        report = await health(server)
        pids = {worker["pid"] for worker in report["workers"]}
        return report["state"] == "running" and len(pids) == len(before) and not pids & before

    await wait_for(reloaded, "every worker replaced", timeout=60)


async def test_a_legacy_session_works_from_any_worker():
    with running_server(APP, "--workers", "2", admin=True) as server:
        client = {"name": "t", "version": "1"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
        first = await RawConnection.open(server.port)
        headers, body = mcp_post(init)
        await first.request("POST", headers, body)
        session = (await first.read_response()).headers["mcp-session-id"]
        headers, body = mcp_post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=session)
        await first.request("POST", headers, body)
        assert (await first.read_response()).status == 202
        subscribe = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "resources/subscribe",
            "params": {"uri": "sample://greeting"},
        }
        headers, body = mcp_post(subscribe, session=session)
        await first.request("POST", headers, body)
        assert (await first.read_response()).json()["result"] == {}
        stream = await RawConnection.open(server.port)
        await stream.request("GET", {"Accept": "text/event-stream", "Mcp-Session-Id": session})
        owners = set()
        for i in range(12):
            connection = await RawConnection.open(server.port)
            call = {
                "jsonrpc": "2.0",
                "id": 10 + i,
                "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": i, "b": 1}},
            }
            headers, body = mcp_post(call, session=session)
            await connection.request("POST", headers, body)
            answer = (await connection.read_response()).json()
            assert answer["result"]["structuredContent"] == {"result": i + 1}
            await connection.aclose()
        report = await health(server)
        owners = {w["pid"] for w in report["workers"] if w["requests"] > 0}
        assert len(owners) == 2, "the session's requests should have reached both workers"
        # A change raised on any worker reaches the session's GET stream, wherever that is.
        with trio.fail_after(10):
            while True:
                toucher = ToolCaller(server.port)
                await toucher.call("touch", {"uri": "sample://greeting"})
                await toucher.close()
                with trio.move_on_after(0.2):
                    chunk = await stream.read_response(until_complete=False)
                    if b"notifications/resources/updated" in chunk.body:
                        break
        await stream.aclose()


async def _legacy_call(connection: RawConnection, session: str, request_id: int, a: int):
    call = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": a, "b": 1}},
    }
    headers, body = mcp_post(call, session=session)
    await connection.request("POST", headers, body)
    return await connection.read_response()


async def _requests_by_pid(server) -> dict[int, int]:
    return {worker["pid"]: worker["requests"] for worker in (await health(server))["workers"]}


async def test_every_worker_answers_a_legacy_session_and_keeps_it_alive(tmp_path):
    """A plain tool call on another worker's session is answered where it lands (the
    owner serves none of it), counts as use of the session (which would otherwise
    expire during the calls), and stops being answered once the owner ends it."""
    config = write_config(tmp_path, "[http]\nsession_idle_timeout = 1.0\n")
    with running_server(APP, "--workers", "2", "--config", config, admin=True) as server:
        before = await _requests_by_pid(server)
        owner_connection = await RawConnection.open(server.port)
        client = {"name": "t", "version": "1"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
        headers, body = mcp_post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        await owner_connection.request("POST", headers, body)
        session = (await owner_connection.read_response()).headers["mcp-session-id"]
        after_initialize = await _requests_by_pid(server)
        (owner,) = [pid for pid in before if after_initialize[pid] > before[pid]]
        # The acceptor gives the next connection to the worker with none: the other one.
        other_connection = await RawConnection.open(server.port)

        async def announced():
            return (await _legacy_call(other_connection, session, 2, 0)).status == 200

        await wait_for(announced, "the session usable from the other worker")
        start = await _requests_by_pid(server)
        calls = 0
        with trio.move_on_after(2.5):  # well past the idle timeout
            while True:
                calls += 1
                answer = (await _legacy_call(other_connection, session, 10 + calls, calls)).json()
                assert answer["result"]["structuredContent"] == {"result": calls + 1}
                await trio.sleep(0.01)
        end = await _requests_by_pid(server)
        (other,) = [pid for pid in end if pid != owner]
        assert end[owner] == start[owner], "the owner should not have run the other worker's calls"
        assert end[other] - start[other] >= calls - 1
        response = await _legacy_call(owner_connection, session, 5000, 1)
        assert response.json()["result"]["structuredContent"] == {"result": 2}, "the session expired"
        await owner_connection.request("DELETE", {"Mcp-Session-Id": session})
        assert (await owner_connection.read_response()).status == 200
        # Once the DELETE is answered, every worker has forgotten the session.
        assert (await _legacy_call(other_connection, session, 6000, 1)).status == 404
        await owner_connection.aclose()
        await other_connection.aclose()


async def test_a_stuck_worker_is_killed_and_replaced(tmp_path):
    config = write_config(tmp_path, "[server]\nheartbeat_interval = 0.1\nheartbeat_timeout = 1.0\n")
    with running_server(APP, "--workers", "1", "--config", config, admin=True) as server:
        stuck = (await health(server))["workers"][0]["pid"]
        caller = ToolCaller(server.port)
        with pytest.raises(RequestFailed):
            await caller.call("block", {"seconds": 30})

        async def replaced():
            report = await health(server)
            return report["restarts"] == 1 and [w["pid"] for w in report["workers"]] != [stuck]

        await wait_for(replaced, "the stuck worker replaced")
        assert not psutil.pid_exists(stuck) or psutil.Process(stuck).status() == psutil.STATUS_ZOMBIE


async def test_a_crash_loop_stops_the_server_with_a_clear_message(tmp_path):
    config = write_config(tmp_path, "[server]\ncrash_loop_restarts = 2\ncrash_loop_window = 60\n")
    with running_server(APP, "--workers", "1", "--config", config, admin=True) as server:
        for _ in range(3):
            victim = (await health(server))["workers"][0]["pid"]
            caller = ToolCaller(server.port)
            with pytest.raises(RequestFailed):
                await caller.call("die", {"code": 3})
            await wait_for(lambda victim=victim: _replaced_or_gone(server, victim), "a replacement")
        with trio.move_on_after(20):
            await trio.to_thread.run_sync(server.process.wait, abandon_on_cancel=True)
    assert server.process.returncode == 1, "".join(server.log)
    assert any("crash loop: 3 restarts within 60 s" in line for line in server.log)


async def _replaced_or_gone(server, victim: int) -> bool:
    if server.process.poll() is not None:
        return True
    try:
        report = await health(server)
    except (OSError, ValueError, trio.BrokenResourceError):  # the supervisor is stopping
        return True
    return any(worker["state"] == "ready" and worker["pid"] != victim for worker in report["workers"])


def notify_socket(tmp_path) -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    sock.bind(path)
    return sock, path


async def receive_notification(sock: socket.socket, wanted: str) -> str:
    with trio.fail_after(20):
        while True:
            await trio.lowlevel.wait_readable(sock)
            message = sock.recv(4096).decode()
            if wanted in message:
                return message


async def test_sd_notify_and_the_watchdog(tmp_path):
    sock, path = notify_socket(tmp_path)
    sock.setblocking(False)
    with sock:
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
        # WATCHDOG_PID must name the supervisor itself: the shim sets it, then becomes the supervisor.
        with running_server(APP, "--workers", "2", env=env, shim=("--watchdog-pid",)) as server:
            assert "READY=1" in await receive_notification(sock, "READY=1")
            assert await receive_notification(sock, "WATCHDOG=1")
            server.process.send_signal(signal.SIGHUP)
            reloading = await receive_notification(sock, "RELOADING=1")
            usec = int(reloading.split("MONOTONIC_USEC=")[1].split()[0])
            assert 0 < _monotonic_usec() - usec < 30_000_000
            assert "READY=1" in await receive_notification(sock, "READY=1")
            server.process.send_signal(signal.SIGTERM)
            assert "STOPPING=1" in await receive_notification(sock, "STOPPING=1")
            assert await trio.to_thread.run_sync(server.process.wait, 20) == 0


def _monotonic_usec() -> int:
    import time

    return time.monotonic_ns() // 1000


async def test_socket_activation():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    shim = ("--listen-fd", str(fd))
    with listener, running_server(APP, "--workers", "1", shim=shim, pass_fds=(fd,)) as server:
        assert server.port == port
        caller = ToolCaller(port)
        assert (await caller.call("add", {"a": 20, "b": 22}))["structuredContent"] == {"result": 42}
        await caller.close()


async def test_pid_file(tmp_path):
    pid_file = tmp_path / "mocopr.pid"
    with running_server(APP, "--workers", "1", "--pid-file", str(pid_file)) as server:
        assert int(pid_file.read_text()) == server.process.pid
    assert not pid_file.exists()


def test_check_config_command(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('app = "tests/apps/sample.py:app"\n[server]\nworkers = 2\n')
    done = subprocess.run(
        [sys.executable, "-m", "mocopr", "check-config", str(good)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and "workers = 2" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[http]\nmax_body_size = "big"\n')
    done = subprocess.run(
        [sys.executable, "-m", "mocopr", "check-config", str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("config error: http.max_body_size")


async def test_per_worker_connection_limit(tmp_path):
    config = write_config(tmp_path, "[server]\nmax_connections_per_worker = 2\n")
    with running_server(APP, "--workers", "1", "--config", config, admin=True) as server:
        await waits_until_a_connection_closes(server, 2)


async def test_request_state_is_shared_by_every_worker():
    """A modern multi round-trip request whose rounds land on different workers."""
    with running_server(APP, "--workers", "2", admin=True) as server:
        meta = {**MODERN_META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
        params = {"name": "ask_name", "arguments": {}, "_meta": meta}
        for attempt in range(6):
            first = await _post_once(
                server.port, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
            )
            (key,) = first["result"]["inputRequests"]
            retry = {
                **params, "requestState": first["result"]["requestState"],
                "inputResponses": {key: {"action": "accept", "content": {"name": f"Ada{attempt}"}}},
            }  # fmt: skip
            done = await _post_once(
                server.port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": retry}
            )
            assert done["result"]["content"][0]["text"] == f"Hello, Ada{attempt}!"
        report = await health(server)
        assert all(worker["requests"] > 0 for worker in report["workers"]), "rounds should reach both workers"


async def _post_once(port: int, message: dict) -> dict:
    """One request on a connection of its own, so consecutive ones spread over the workers."""
    connection = await RawConnection.open(port)
    headers, body = mcp_post(message, modern=True)
    await connection.request("POST", headers, body)
    answer = (await connection.read_response()).json()
    await connection.aclose()
    return answer


async def test_segments_of_a_killed_server_are_swept_by_the_next_one():
    """kill -9 of the whole process group takes the resource tracker too, so nothing
    unlinks the shared memory; the next supervisor removes it as it starts."""
    with running_server(APP, "--workers", "1") as first:
        leaked = [path for path in SHM.glob(f"mocopr_{first.process.pid}_*")]
        assert leaked, "the supervisor's segments should carry its pid"
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        await wait_for(lambda: _group_gone(first.process.pid), "the killed process group gone")
    assert all(path.exists() for path in leaked)
    with running_server(APP, "--workers", "1"):
        assert not any(path.exists() for path in leaked)


async def _group_gone(pgid: int) -> bool:
    return not any(_pgid(process) == pgid for process in psutil.process_iter())


def _pgid(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


async def test_a_handed_over_tcp_connection_has_nagle_off_and_others_are_adopted_as_they_are():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    adopted = adopt(accepted.detach())
    assert adopted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    local, remote = socket.socketpair()
    unix = adopt(local.detach())
    assert unix.family == socket.AF_UNIX
    for sock in (adopted, unix, client, listener, remote):
        sock.close()


async def test_the_admin_listener_is_up_before_any_worker_can_answer():
    """/health answers (``starting``) before the first MCP answer, so a probe never sees
    the service answer MCP while its health endpoint refuses connections."""
    with running_server(APP, "--workers", "2", admin=True) as server:
        lines = [line for line in server.log if "admin listener at" in line or "ready on cpu" in line]
        assert "admin listener at" in lines[0], lines
        assert (await health(server))["state"] == "running"
