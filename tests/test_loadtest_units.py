"""The load tester's parts on their own: scenarios, pacing, histograms, answers, request bytes."""

import io
import itertools
import random
import re

import httptools
import msgspec
import pytest
from rich.console import Console
from rich.text import Text

from mocopr.loadtest.collect import SeriesCollector
from mocopr.loadtest.histogram import HIGHEST_US, LatencyHistogram, bucket_of, decode, new_hdr
from mocopr.loadtest.pacing import OpenLoopSchedule, client_start
from mocopr.loadtest.progress import LiveProgress
from mocopr.loadtest.replies import INVALID, OK, TOOL_ERROR, classify, response_message
from mocopr.loadtest.scenario import SEQUENCE_LENGTH, LoadScenario, ScenarioError, parse_mix
from mocopr.loadtest.stats import IntervalReport, Recorder
from mocopr.loadtest.tester import Progress
from mocopr.loadtest.wire import FIRST_ID, Session, Target, request_templates

# scenarios


def test_a_mix_parses_into_weights():
    assert parse_mix("tools/call=0.7, tools/list=0.1,resources/read=0.2") == {
        "tools/call": 0.7,
        "tools/list": 0.1,
        "resources/read": 0.2,
    }
    assert parse_mix("tools/list") == {"tools/list": 1.0}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ({"mix": "tools/delete=1"}, "unknown operation"),
        ({"mix": "tools/list=lots"}, "not a number"),
        ({"mix": "tools/list=0"}, "must be positive"),
        ({"mix": "tools/call=1"}, "needs --tool"),
        ({"mix": "resources/read=1"}, "needs --resource"),
        ({"tool": "add", "arguments": "{nope"}, "not JSON"),
        ({"tool": "add", "arguments": "[1]"}, "JSON object"),
        ({"era": "ancient"}, "unknown era"),
    ],
)
def test_a_bad_scenario_says_what_is_wrong(build, message):
    with pytest.raises(ScenarioError, match=message):
        LoadScenario.build(**build)


def test_without_a_mix_each_named_target_gets_a_share():
    assert LoadScenario.build().methods == ("tools/list",)
    scenario = LoadScenario.build(tool="add", resource="notes://a", prompt="review")
    assert scenario.methods == ("tools/call", "resources/read", "prompts/get")


def test_payload_size_adds_an_argument_of_that_size():
    scenario = LoadScenario.build(tool="echo", arguments={"n": 1}, payload_size=1024)
    assert scenario.operations[0].arguments == {"n": 1, "text": "x" * 1024}


def test_the_operation_sequence_holds_the_weights_exactly():
    scenario = LoadScenario.build(
        mix="tools/call=0.7,tools/list=0.1,resources/read=0.2", tool="t", resource="r://"
    )
    sequence = scenario.sequence(seed=3)
    assert len(sequence) == SEQUENCE_LENGTH
    assert [sequence.count(index) for index in range(3)] == [700, 100, 200]
    assert sequence != sorted(sequence)


# pacing


def test_the_open_loop_rate_rises_linearly_over_the_ramp_up():
    schedule = OpenLoopSchedule(rate=100.0, ramp_up=2.0)
    due = [schedule.due(k) for k in range(400)]
    assert due == sorted(due)
    assert sum(1 for t in due if t < 1.0) == 25  # rate * t**2 / (2 * ramp_up)
    assert sum(1 for t in due if t < 2.0) == 100  # half the steady rate over the ramp
    steady = [t for t in due if t >= 2.0]
    assert all(abs(b - a - 0.01) < 1e-9 for a, b in itertools.pairwise(steady))


def test_process_phases_interleave_their_streams():
    streams = [OpenLoopSchedule(rate=50.0, ramp_up=0.0, phase=p / 2) for p in range(2)]
    merged = sorted(schedule.due(k) for schedule in streams for k in range(50))
    assert all(abs(b - a - 0.01) < 1e-9 for a, b in itertools.pairwise(merged))


@pytest.mark.parametrize(("ramp_up", "phase"), [(0.0, 0.0), (2.0, 0.0), (1.5, 0.5), (0.0, 0.25)])
def test_slots_before_counts_the_requests_due_before_an_instant(ramp_up, phase):
    """The count of unsent requests rests on it: it must agree with ``due`` to the last request,
    at the due instants themselves too."""
    schedule = OpenLoopSchedule(rate=40.0, ramp_up=ramp_up, phase=phase)
    due = [schedule.due(k) for k in range(400)]
    for seconds in [0.0, 0.013, ramp_up, ramp_up + 0.5, *due[::7]]:
        assert schedule.slots_before(seconds) == sum(1 for t in due if t < seconds), seconds


def test_closed_loop_clients_start_spread_over_the_ramp_up():
    assert [client_start(i, 4, 2.0) for i in range(4)] == [0.0, 0.5, 1.0, 1.5]
    assert client_start(3, 4, 0.0) == 0.0


# histograms


def test_fast_recording_matches_hdrh_record_value():
    values = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 10**6, HIGHEST_US - 1, HIGHEST_US]
    values += [random.Random(1).randint(1, 10**9) for _ in range(5000)]
    fast, reference = LatencyHistogram(), new_hdr()
    for value in values:
        fast.record(value, bucket_of(value))
        assert reference.record_value(value)
    assert decode(fast.encode()).equals(reference)


def test_per_second_histograms_merge_exactly():
    collector = SeriesCollector(processes=2)
    everything = new_hdr()
    for process in range(2):
        recorder = Recorder(("tools/call",))
        for value in range(1 + process * 5000, 5001 + process * 5000):
            recorder.answered(0, OK, value / 1e6, measured=True, completed=True)
            everything.record_value(value)
        point = collector.add(recorder.flush_second(process, 0))
    assert point is not None and point.answered == 10000
    assert point.latency.p99 == everything.get_value_at_percentile(99) / 1000
    assert point.latency.max == 10.0


def test_a_second_reported_again_after_the_end_adds_to_that_second():
    collector = SeriesCollector(processes=1)
    histogram = LatencyHistogram()
    histogram.record(500, bucket_of(500))
    report = IntervalReport(0, 4, 1, 1, histogram.encode(), 500, 500)
    assert collector.add(report) is not None
    assert collector.add(report) is None
    (point,) = collector.points(run_length=4.5)
    assert (point.second, point.answered, point.errors, point.span) == (4, 2, 2, 0.5)
    assert point.throughput_rps == 4.0


def test_the_live_progress_shows_the_rate_p99_and_errors():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with LiveProgress(10.0, console) as live:
        live.update(Progress(elapsed=4.0, total=10.0, throughput_rps=1234.4, p99_ms=5.678, errors=8))
    shown = Text.from_ansi(console.file.getvalue()).plain
    assert re.search(r"1,234 req/s +p99 +5\.68 ms +errors 8\b", shown), shown


# answers


def _sse(*messages: dict) -> bytes:
    return b"".join(b"event: message\ndata: " + msgspec.json.encode(m) + b"\n\n" for m in messages)


@pytest.mark.parametrize(
    ("content_type", "body", "outcome"),
    [
        (b"application/json", b'{"jsonrpc":"2.0","id":1,"result":{"content":[]}}', OK),
        (b"application/json", b'{"jsonrpc":"2.0","id":1,"result":{"isError":true}}', TOOL_ERROR),
        (b"application/json", b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}', -32602),
        (b"application/json", b"<html>hello</html>", INVALID),
        (b"application/json", b'{"jsonrpc":"2.0","id":1}', INVALID),
        (b"application/json", b'{"jsonrpc":"2.0","id":1,"error":{"code":"big"}}', INVALID),
        (
            b"text/event-stream",
            _sse(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/message",
                    "params": {"level": "info", "data": "x"},
                },
                {"jsonrpc": "2.0", "id": 7, "result": {"isError": True}},
            ),
            TOOL_ERROR,
        ),
        (b"text/event-stream; charset=utf-8", _sse({"jsonrpc": "2.0", "id": 7, "result": {}}), OK),
        (b"text/event-stream", _sse({"jsonrpc": "2.0", "method": "notifications/progress"}), INVALID),
    ],
)
def test_answers_are_classified(content_type, body, outcome):
    assert classify(content_type, body) == outcome


# request bytes


class _Request:
    def __init__(self, data: bytes) -> None:
        self.headers: dict[str, str] = {}
        self.body = b""
        self.complete = False
        parser = httptools.HttpRequestParser(self)
        parser.feed_data(data)
        self.method = parser.get_method()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def test_modern_requests_carry_their_method_name_and_meta():
    target = Target.parse("http://127.0.0.1:8000/mcp")
    scenario = LoadScenario.build(
        mix="tools/call,resources/read", tool="add", arguments={"a": 1}, resource="n://é"
    )
    call, read = request_templates(target, scenario)
    for request_id in (FIRST_ID + 1, 9_999_999_999):
        request = _Request(call.render(request_id))
        assert request.complete and request.method == b"POST"
        assert request.headers["host"] == "127.0.0.1:8000"
        assert (request.headers["mcp-method"], request.headers["mcp-name"]) == ("tools/call", "add")
        body = msgspec.json.decode(request.body)
        assert body["id"] == request_id
        assert body["params"]["arguments"] == {"a": 1}
        assert body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    request = _Request(read.render(FIRST_ID))
    assert request.headers["mcp-name"] == "=?base64?bjovL8Op?="  # not ASCII: the Base64 form


def test_legacy_requests_carry_their_session_and_no_meta():
    target = Target.parse("http://[::1]:9/mcp?x=1")
    scenario = LoadScenario.build(era="legacy")
    (template,) = request_templates(target, scenario, Session("abc", "2025-06-18"))
    request = _Request(template.render(FIRST_ID))
    assert request.headers["host"] == "[::1]:9"
    assert request.headers["mcp-session-id"] == "abc"
    assert request.headers["mcp-protocol-version"] == "2025-06-18"
    assert "mcp-method" not in request.headers
    assert msgspec.json.decode(request.body)["params"] == {}


@pytest.mark.parametrize("url", ["https://example.com/mcp", "http://:80/mcp", "http://host:port/mcp"])
def test_urls_that_cannot_be_load_tested_are_refused(url):
    with pytest.raises(ValueError, match=url.replace("?", r"\?")):
        Target.parse(url)


@pytest.mark.parametrize("content_type", [b"application/json", b"text/event-stream"])
def test_an_answer_nested_deeper_than_the_stack_is_invalid(content_type):
    """Found by fuzzing: msgspec's RecursionError came out of the load tester's reading of answers."""
    body = b'{"jsonrpc":"2.0","id":1,"result":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    if content_type == b"text/event-stream":
        body = b"data: " + body + b"\n\n"
    assert classify(content_type, body) == INVALID
    assert response_message(content_type, body) is None
