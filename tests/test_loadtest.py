"""The load tester against real servers: mocopr serving tests/apps/loadtest_target.py, which fails,
stalls and stops on purpose, and small stand-in HTTP servers for what mocopr would never answer.

The load tester is asyncio in processes of its own; these are plain tests that call its
synchronous API or its command line in this process.
"""

import argparse
import http.client
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mocopr.loadtest import LoadScenario, LoadTester, Progress
from mocopr.loadtest.cli import add_parser, run
from tests.apps.loadtest_target import INJECTED
from tests.http_server import Server, running_server
from tests.raw_http import MODERN_META, mcp_post

TARGET = "tests/apps/loadtest_target.py:app"


@pytest.fixture(scope="module")
def target() -> Iterator[Server]:
    with running_server(TARGET, "--single-process") as server:
        yield server


def loadtest(*argv: str) -> int:
    """``mocopr loadtest ARGV``, run in this process."""
    parser = argparse.ArgumentParser(prog="mocopr")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["loadtest", *argv]))


def call_tool(server: Server, name: str, arguments: dict[str, Any]) -> Any:
    """One modern-era tools/call outside the load: what the server itself counted."""
    params = {"name": name, "arguments": arguments, "_meta": MODERN_META}
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers, body = mcp_post(message, modern=True)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("POST", "/mcp", body, headers)
        return json.loads(connection.getresponse().read())["result"]["structuredContent"]["result"]
    finally:
        connection.close()


def admin_get(server: Server, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.admin_port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def answered_by_server(server: Server, method: str) -> int:
    """How many ``method`` requests the server answered, by its own count (its admin metrics)."""
    families = text_string_to_metric_families(admin_get(server, "/metrics"))
    return int(
        sum(
            sample.value
            for family in families
            for sample in family.samples
            if sample.name == "mocopr_requests_total" and sample.labels["method"] == method
        )
    )


def test_an_open_loop_reaches_a_reachable_target_rate(target):
    """Each of the two load processes sends only its half of the schedule, so the rate is reached
    only if both took part."""
    scenario = LoadScenario.build(tool="count", arguments={"key": "rate"})
    result = LoadTester(target.url, scenario, clients=8, rps=200, duration=5, processes=2).run()
    assert result.complete, result.error
    assert result.overall.throughput_rps == pytest.approx(200, rel=0.05)
    assert result.overall.ok == result.overall.requests
    assert result.overall.errors.total == 0


def test_an_open_loop_beyond_the_server_reports_the_shortfall_and_ends_on_time(target):
    """Two clients of a tool that answers after 0.1 s cannot exceed 20 requests/s, a fifth of the
    100/s asked for. The window still ends on time with a full report: what the backlog never
    reached is unsent (due = requests + unsent, exactly), the throughput is the answers completed
    inside the window, and latency counts from the schedule.

    The k-th request is due at k/100 s but sent at about k/20 s, so its latency from the schedule is
    about 0.1 + 0.04 k s; the 60 or so sent in 3 s have a median near k = 30, 1.3 s. Counted from
    the actual send, every latency would be about 0.1 s. The timeout is short so that working off
    the backlog after the end (300 requests at 20/s: 15 s) would outlast the processes' deadline
    (3 + 1 + 5 s) and lose the report."""
    rate, seconds, answer_after = 100, 3, 0.1
    scenario = LoadScenario.build(tool="wait", arguments={"seconds": answer_after})
    tester = LoadTester(target.url, scenario, clients=2, rps=rate, duration=seconds, timeout=1, processes=1)
    result = tester.run()
    overall = result.overall
    assert result.complete, result.error
    assert overall.errors.total == 0 and overall.ok == overall.requests
    assert overall.requests + overall.unsent == rate * seconds
    assert overall.unsent >= rate * seconds / 2
    assert 0 < overall.throughput_rps < rate / 2
    assert overall.latency.p50 >= 5 * answer_after * 1000
    assert f"{overall.unsent} of {rate * seconds} due unsent" in result.format_text()
    assert result.to_dict()["overall"]["unsent"] == overall.unsent


def test_error_counts_match_the_errors_the_server_injects(target):
    scenario = LoadScenario.build(tool="flaky", arguments={"key": "counts"})
    result = LoadTester(target.url, scenario, clients=4, duration=2, processes=2).run()
    calls = call_tool(target, "count", {"key": "flaky:counts"})
    overall = result.overall
    assert result.complete, result.error
    assert overall.requests == overall.answered == calls > 70
    assert overall.errors.jsonrpc == {INJECTED: calls // 7}
    assert overall.errors.tool == calls // 10 - calls // 70
    assert overall.ok == calls - calls // 7 - (calls // 10 - calls // 70)
    errors = overall.errors
    assert (errors.transport.total(), errors.http.total(), errors.invalid) == (0, 0, 0)
    assert result.operations["tools/call"].errors == overall.errors


def test_a_stall_shows_in_open_loop_latency_and_hides_in_closed_loop(target):
    """The server's loop blocks for a second once: in an open loop, every request due meanwhile
    counts the wait; in a closed loop, only the few in flight saw it.

    Open loop: 200 requests/s for 3 s, 600 in all; the stall starts at the 150th call (0.75 s) and
    holds up the 200 due in the next second. The one due x s into the stall waits at least
    1 - x s, so at least 200 * (1 - L) requests wait L s or more; the slowest tenth (60) are at
    least 0.7 s, so p90 >= 700 ms, more with the backlog drained after the stall. Counted from
    the actual send, only the 8 requests in flight (1.3 %) would see the stall, and p90 would be
    the server's few milliseconds: p90 >= half the stall fails without coordinated-omission
    correction."""
    stall_ms = 1000

    def stalled(loop: str, **load: Any):
        arguments = {"key": f"stall-{loop}", "at": 150, "seconds": stall_ms / 1000}
        scenario = LoadScenario.build(tool="stall_once", arguments=arguments)
        result = LoadTester(target.url, scenario, duration=3, processes=1, **load).run()
        assert result.complete, result.error
        assert result.overall.errors.total == 0
        return result.overall.latency

    open_loop = stalled("open", clients=8, rps=200)
    assert open_loop.max >= stall_ms
    assert open_loop.p90 >= stall_ms / 2
    closed_loop = stalled("closed", clients=2)
    assert closed_loop.max >= stall_ms
    assert closed_loop.p99 < stall_ms / 2


def test_requests_past_the_timeout_count_as_transport_errors(target):
    scenario = LoadScenario.build(tool="wait", arguments={"seconds": 2})
    result = LoadTester(target.url, scenario, clients=10, rps=10, duration=1, timeout=0.3, processes=1).run()
    assert result.complete, result.error
    assert (result.overall.requests, result.overall.answered) == (10, 0)
    assert result.overall.errors.transport == {"timeout": 10}


def test_usage_errors_exit_2_with_one_line(capsys):
    url = "http://127.0.0.1:1/mcp"
    assert loadtest(url, "--mix", "tools/call=1") == 2
    assert capsys.readouterr().err == "mocopr loadtest: error: tools/call in the mix needs --tool\n"
    assert loadtest(url, "--clients", "0") == 2
    assert capsys.readouterr().err == "mocopr loadtest: error: clients must be at least 1\n"
    assert loadtest("ftp://127.0.0.1/mcp") == 2
    assert "only http:// URLs" in capsys.readouterr().err


def test_the_json_report_and_the_plot_hold_every_field(target, tmp_path, capsys):
    report, picture = tmp_path / "report.json", tmp_path / "load.png"
    mix = "tools/call=0.6,tools/list=0.1,resources/read=0.2,prompts/get=0.1"
    code = loadtest(
        target.url, "--mix", mix, "--tool", "flaky", "--arguments", '{"key": "report"}',
        "--resource", "target://status", "--prompt", "greet", "--prompt-arguments", '{"name": "x"}',
        "--rps", "100", "--duration", "2", "--ramp-up", "1", "--clients", "4", "--processes", "2",
        "--json", str(report), "--plot", str(picture),
    )  # fmt: skip
    assert code == 0
    data = json.loads(report.read_text())
    assert {
        "url", "era", "mix", "mode", "clients", "processes", "target_rps", "duration_s", "ramp_up_s",
        "timeout_s", "measured_s", "complete", "error", "overall", "operations", "series",
    } <= data.keys()  # fmt: skip
    assert (data["mode"], data["target_rps"], data["complete"]) == ("open", 100, True)
    assert set(data["operations"]) == {"tools/call", "tools/list", "resources/read", "prompts/get"}
    for operation in [data["overall"], *data["operations"].values()]:
        assert {
            "requests", "answered", "ok", "unsent", "throughput_rps", "error_rate", "latency_ms", "errors",
        } <= operation.keys()  # fmt: skip
        assert set(operation["latency_ms"]) == {"mean", "p50", "p90", "p99", "p99.9", "max"}
        errors = operation["errors"]
        assert {"total", "transport", "http", "jsonrpc", "tool", "invalid"} <= errors.keys()
        assert set(errors["transport"]) == {"total", "by_kind"}
        assert set(errors["http"]) == {"total", "by_status"}
        assert set(errors["jsonrpc"]) == {"total", "by_code"}
        assert operation["requests"] > 0
        assert operation["errors"]["total"] == operation["requests"] - operation["ok"]
    for method in ("tools/list", "resources/read", "prompts/get"):
        operation = data["operations"][method]
        assert (operation["errors"]["total"], operation["ok"]) == (0, operation["requests"]), method
    flaky = data["operations"]["tools/call"]["errors"]
    assert flaky["jsonrpc"]["by_code"].keys() == {str(INJECTED)} and flaky["tool"] > 0
    assert flaky["total"] == flaky["jsonrpc"]["total"] + flaky["tool"]
    for count in ("requests", "answered", "ok", "unsent"):
        assert sum(op[count] for op in data["operations"].values()) == data["overall"][count], count
    errors_by_operation = sum(op["errors"]["total"] for op in data["operations"].values())
    assert errors_by_operation == data["overall"]["errors"]["total"]
    # 100/s over the 2 measured seconds: 200 due, each sent or counted unsent.
    assert data["overall"]["requests"] + data["overall"]["unsent"] == 200
    assert data["overall"]["throughput_rps"] == pytest.approx(100, rel=0.05)
    assert [point["second"] for point in data["series"]] == [0, 1, 2]
    for point in data["series"]:
        assert {"second", "span_s", "answered", "errors", "throughput_rps", "latency_ms"} <= point.keys()
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    shown = capsys.readouterr().out
    assert "tools/call" in shown and "JSON-RPC -32050" in shown


def test_the_legacy_era_opens_a_session_per_client():
    """The server counts the initialize requests it answered: one per client and one for the
    check of the target before the load, none more (no client opens a session per request, and
    none lost its session and opened another)."""
    clients = 4
    scenario = LoadScenario.build(tool="chatty", era="legacy")  # answers are SSE streams
    with running_server(TARGET, "--workers", "1", admin=True) as server:
        result = LoadTester(server.url, scenario, clients=clients, rps=100, duration=2, processes=2).run()
        sessions = answered_by_server(server, "initialize")
    assert result.complete, result.error
    assert result.overall.ok == result.overall.requests
    assert result.overall.requests + result.overall.unsent == 200
    assert sessions == clients + 1


def test_a_legacy_server_that_assigns_no_session_is_tested_without_one():
    def stateless(post: int, request: dict) -> tuple[int, str, bytes]:
        if "id" not in request:  # notifications/initialized
            return 202, "application/json", b""
        result = {"protocolVersion": "2025-06-18"} if request["method"] == "initialize" else {}
        answer = {"jsonrpc": "2.0", "id": request["id"], "result": result}
        return 200, "application/json", json.dumps(answer).encode()

    scenario = LoadScenario.build(era="legacy")
    with stub_server(stateless) as url:
        result = LoadTester(url, scenario, clients=2, rps=20, duration=1, processes=1).run()
    assert result.complete, result.error
    assert result.overall.ok == result.overall.requests
    assert result.overall.requests + result.overall.unsent == 20


def test_progress_comes_about_once_a_second_with_the_rate(target):
    """A point for each second that every load process has reported (the last may be reported
    twice, at its end and with the totals, and then makes no point)."""
    points: list[Progress] = []
    seconds = 3
    scenario = LoadScenario.build(tool="count", arguments={"key": "progress"})
    tester = LoadTester(
        target.url, scenario, clients=4, rps=100, duration=seconds, processes=2, on_progress=points.append
    )
    result = tester.run()
    assert result.complete, result.error
    assert seconds - 1 <= len(points) <= seconds
    assert all(point.throughput_rps > 0 and point.errors == 0 for point in points)
    assert all(point.total == seconds for point in points)
    elapsed = [point.elapsed for point in points]
    assert elapsed == sorted(elapsed)


def test_a_refused_connection_is_one_clear_line(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    assert loadtest(url, "--duration", "1", "--json", str(tmp_path / "r.json")) == 1
    captured = capsys.readouterr()
    assert captured.err == f"mocopr loadtest: cannot connect to {url}: connection refused\n"
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["complete"], report["overall"]["requests"]) == (False, 0)
    assert "connection refused" in report["error"]


class _Stub(http.server.BaseHTTPRequestHandler):
    """An HTTP/1.1 server that is not mocopr; ``answer`` decides each POST's status and body."""

    protocol_version = "HTTP/1.1"
    answer: Any = None
    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, content_type, body = self.answer(type(self).posts, request)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def stub_server(answer: Any) -> Iterator[str]:
    handler = type("Handler", (_Stub,), {"answer": staticmethod(answer), "posts": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_server_that_is_not_mcp_is_one_clear_line(capsys):
    def not_found(post: int, request: dict) -> tuple[int, str, bytes]:
        return 404, "text/html", b"<html>Not Found</html>"

    with stub_server(not_found) as url:
        assert loadtest(url, "--duration", "1") == 1
    error = capsys.readouterr().err
    assert error == (
        f"mocopr loadtest: {url} is not an MCP server answering server/discover: "
        "HTTP 404 Not Found (text/html)\n"
    )


def test_http_statuses_of_another_server_are_counted_by_status():
    def every_fifth_overloaded(post: int, request: dict) -> tuple[int, str, bytes]:
        if post > 1 and post % 5 == 0:
            return 503, "text/plain", b"busy"
        body = {"jsonrpc": "2.0", "id": request["id"], "result": {"content": []}}
        return 200, "application/json", json.dumps(body).encode()

    with stub_server(every_fifth_overloaded) as url:
        scenario = LoadScenario.build(tool="anything")
        result = LoadTester(url, scenario, clients=2, rps=50, duration=1, processes=1).run()
    assert result.complete, result.error
    answered = result.overall.answered
    assert answered + result.overall.unsent == 50
    # The probe was post 1; the load's posts follow it.
    posts = range(2, 2 + answered)
    assert result.overall.errors.http == {503: sum(1 for post in posts if post % 5 == 0)}


def test_a_server_that_stops_mid_run_ends_it_with_a_partial_report(tmp_path, capsys):
    """The server exits on its 100th call, a second into a 20-second run."""
    with running_server(TARGET, "--single-process") as server:
        code = loadtest(
            server.url, "--tool", "exit_at", "--arguments", '{"key": "stop", "at": 100}',
            "--rps", "100", "--duration", "20", "--clients", "4", "--processes", "1",
            "--json", str(tmp_path / "r.json"),
        )  # fmt: skip
        assert server.process.wait(5) == 0
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("mocopr loadtest: the server went away")
    assert error.endswith("connection refused\n") and error.count("\n") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["complete"] is False and 0 < report["measured_s"] < 10
    assert 90 <= report["overall"]["answered"] <= 99
    assert report["overall"]["errors"]["transport"]["by_kind"]["refused"] > 0
