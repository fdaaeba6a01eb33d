"""The app API and the dispatcher, in process: both eras, every method."""

import base64
import time
from types import SimpleNamespace
from typing import Annotated, Any

import msgspec
import pytest
import trio

from mocopr import Context, Image, McpServer, ToolResult, UserMessage
from mocopr.app import request_state
from mocopr.protocol import errors, messages
from tests.apps.extras import WORDS
from tests.apps.extras import app as extras_app

MODERN = "2026-07-28"


def build_app(**options: Any) -> McpServer:
    app = McpServer("test-app", version="9.9", instructions="Use add.", page_size=2, **options)

    @app.tool(annotations={"readOnlyHint": True})
    def add(a: int, b: Annotated[int, msgspec.Meta(ge=0)] = 1) -> int:
        """Add two numbers.

        Args:
            a: the first
            b: the second
        """
        return a + b

    @app.tool()
    async def fail() -> str:
        raise RuntimeError("it broke")

    @app.tool()
    def picture() -> Image:
        return Image(b"\x89PNG", mime_type="image/png")

    @app.tool()
    def explicit() -> ToolResult:
        return ToolResult(content=["a", "b"], structuredContent={"n": 2}, isError=True)

    @app.tool()
    async def ask(ctx: Context) -> str:
        answer = await ctx.elicit("Name?", {"type": "object", "properties": {"name": {"type": "string"}}})
        second = await ctx.elicit("Age?", {"type": "object", "properties": {"age": {"type": "integer"}}})
        return f"{answer['content']['name']} is {second['content']['age']}"

    @app.tool()
    async def delete(path: str, ctx: Context) -> str:
        answer = await ctx.elicit(f"Delete {path}?", {"type": "object", "properties": {}})
        return f"deleted {path}" if answer["action"] == "accept" else "kept"

    @app.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.report_progress(1, 2, "half")
        await ctx.debug("debug line")
        await ctx.warning("warning line")
        return "done"

    @app.resource("test://static", mime_type="text/plain")
    def static() -> str:
        return "static text"

    @app.resource("test://blob")
    def blob() -> bytes:
        return b"\x00\x01"

    @app.resource("test://items/{item_id}")
    def item(item_id: int) -> dict:
        return {"id": item_id}

    @app.prompt()
    def greet(name: str, style: str = "plain") -> str:
        """Greets someone."""
        return f"Hello {name} ({style})"

    @app.prompt()
    def dialogue() -> list:
        return [
            UserMessage("hi"),
            {"role": "assistant", "content": {"type": "text", "text": "hello"}},
        ]

    @app.completion()
    def complete(ref, argument, context):
        return [v for v in ("alpha", "beta", "alps") if v.startswith(argument.value)]

    return app


@pytest.fixture
async def client(make_client):
    c = make_client(build_app())
    await c.initialize()
    return c


async def test_initialize_negotiates_and_advertises(make_client):
    c = make_client(build_app())
    answer = await c.initialize("2025-03-26")
    result = answer["result"]
    assert result["protocolVersion"] == "2025-03-26"
    assert result["serverInfo"] == {"name": "test-app", "version": "9.9"}
    assert result["instructions"] == "Use add."
    assert {"tools", "resources", "prompts", "logging", "completions"} <= set(result["capabilities"])
    unknown = await make_client(build_app()).initialize("2030-01-01")
    assert unknown["result"]["protocolVersion"] == "2025-11-25"


async def test_legacy_request_before_initialize_is_refused(make_client):
    c = make_client(build_app())
    answer = await c.request("tools/list")
    assert answer["error"]["code"] == errors.NOT_INITIALIZED
    assert "result" in await c.request("ping")


async def test_tool_schema_comes_from_hints_and_docstring(client):
    tools = (await client.request("tools/list"))["result"]["tools"]
    add = next(t for t in tools if t["name"] == "add")
    assert add["description"] == "Add two numbers."
    assert add["inputSchema"]["required"] == ["a"]
    assert add["inputSchema"]["properties"]["b"] == {
        "type": "integer", "minimum": 0, "default": 1, "description": "the second",
    }  # fmt: skip
    assert add["outputSchema"]["properties"]["result"] == {"type": "integer"}
    assert add["annotations"] == {"readOnlyHint": True}


async def walk(client, method: str, key: str, field: str) -> list[str]:
    """Every item of a list, page by page: each page but the last full, then no cursor."""
    names, cursor = [], None
    while True:
        result = (await client.request(method, {"cursor": cursor} if cursor else {}))["result"]
        names += [item[field] for item in result[key]]
        cursor = result.get("nextCursor")
        if cursor is None:
            assert 1 <= len(result[key]) <= 2
            return names
        assert len(result[key]) == 2


def with_more_of_everything(app: McpServer) -> McpServer:
    """Enough prompts, resources and templates for three pages of each."""
    for index in range(3):
        app.add_prompt(lambda: "more", name=f"more_prompt_{index}")
        app.add_resource(lambda: "more", f"test://more/{index}", name=f"more_{index}")
    for index in range(4):
        app.add_resource(lambda n: n, f"test://more/{index}/{{n}}", name=f"more_template_{index}")
    return app


@pytest.mark.parametrize(
    ("method", "key", "field", "expected"),
    [
        ("tools/list", "tools", "name", ["add", "fail", "picture", "explicit", "ask", "delete", "chatty"]),
        ("prompts/list", "prompts", "name", ["greet", "dialogue"] + [f"more_prompt_{i}" for i in range(3)]),
        (
            "resources/list",
            "resources",
            "uri",
            ["test://static", "test://blob"] + [f"test://more/{i}" for i in range(3)],
        ),
        (
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
            ["test://items/{item_id}"] + [f"test://more/{i}/{{n}}" for i in range(4)],
        ),
    ],
)
async def test_pagination_walks_every_list_once(make_client, method, key, field, expected):
    c = make_client(with_more_of_everything(build_app()))
    await c.initialize()
    assert await walk(c, method, key, field) == expected
    bad = await c.request(method, {"cursor": "not-a-cursor"})
    assert bad["error"]["code"] == errors.INVALID_PARAMS


async def test_call_returns_content_and_structured_content(client):
    result = (await client.request("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}))["result"]
    assert result == {
        "content": [{"type": "text", "text": "5"}],
        "structuredContent": {"result": 5},
    }


@pytest.mark.parametrize(("version", "as_result"), [("2025-06-18", False), ("2025-11-25", True)])
async def test_invalid_arguments_are_shaped_by_version(make_client, version, as_result):
    c = make_client(build_app())
    await c.initialize(version)
    answer = await c.request("tools/call", {"name": "add", "arguments": {"a": "two"}})
    if as_result:
        assert answer["result"]["isError"] is True
        assert "Expected `int`, got `str`" in answer["result"]["content"][0]["text"]
    else:
        assert answer["error"]["code"] == errors.INVALID_PARAMS
    below = await c.request("tools/call", {"name": "add", "arguments": {"a": 1, "b": -1}})
    assert below.get("result", {}).get("isError") or below["error"]["code"] == errors.INVALID_PARAMS


FORECAST_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "units": {"type": ["string", "null"]},
        "when": {"$ref": "#/$defs/date"},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def forecast_app() -> McpServer:
    app = McpServer("forecast")

    @app.tool(input_schema=FORECAST_SCHEMA)
    def forecast(**arguments: Any) -> str:
        return msgspec.json.encode(arguments, order="sorted").decode()

    return app


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ({}, "Object missing required field `city`"),
        ({"city": 5}, "Expected `string`, got `integer` - at `$.city`"),
        ({"city": "Oslo", "days": 1.5}, "Expected `integer`, got `number` - at `$.days`"),
        ({"city": "Oslo", "days": True}, "Expected `integer`, got `boolean` - at `$.days`"),
        ({"city": "Oslo", "units": 3}, "Expected `string | null`, got `integer` - at `$.units`"),
        ({"city": "Oslo", "wind": True}, "Object contains unknown field `wind`"),
    ],
)
async def test_an_explicit_input_schema_holds_calls_to_its_required_types_and_closure(
    make_client, arguments, refusal
):
    c = make_client(forecast_app())
    await c.initialize("2025-06-18")
    answer = await c.request("tools/call", {"name": "forecast", "arguments": arguments})
    assert answer["error"] == {
        "code": errors.INVALID_PARAMS,
        "message": f"Invalid arguments for tool forecast: {refusal}",
    }


async def test_arguments_an_explicit_input_schema_accepts_reach_the_handler(make_client):
    c = make_client(forecast_app())
    await c.initialize()
    arguments = {"city": "Oslo", "days": 2.0, "units": None, "when": "not checked"}
    result = (await c.request("tools/call", {"name": "forecast", "arguments": arguments}))["result"]
    assert msgspec.json.decode(result["content"][0]["text"]) == arguments


async def test_unknown_tool_is_invalid_params(client):
    answer = await client.request("tools/call", {"name": "nope"})
    assert answer["error"]["code"] == errors.INVALID_PARAMS


async def test_tool_exception_becomes_an_error_result(client):
    result = (await client.request("tools/call", {"name": "fail"}))["result"]
    assert result == {"content": [{"type": "text", "text": "it broke"}], "isError": True}


async def test_media_and_explicit_results(client):
    picture = (await client.request("tools/call", {"name": "picture"}))["result"]["content"][0]
    assert picture == {
        "type": "image",
        "data": base64.b64encode(b"\x89PNG").decode(),
        "mimeType": "image/png",
    }
    explicit = (await client.request("tools/call", {"name": "explicit"}))["result"]
    assert explicit["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert explicit["structuredContent"] == {"n": 2} and explicit["isError"] is True


async def test_resources_templates_and_not_found(client):
    listed = (await client.request("resources/list"))["result"]["resources"]
    assert [r["uri"] for r in listed] == ["test://static", "test://blob"]
    templates = (await client.request("resources/templates/list"))["result"]["resourceTemplates"]
    assert templates[0]["uriTemplate"] == "test://items/{item_id}"
    text = (await client.request("resources/read", {"uri": "test://static"}))["result"]["contents"]
    assert text == [{"uri": "test://static", "text": "static text", "mimeType": "text/plain"}]
    blob = (await client.request("resources/read", {"uri": "test://blob"}))["result"]["contents"][0]
    assert base64.b64decode(blob["blob"]) == b"\x00\x01"
    item = (await client.request("resources/read", {"uri": "test://items/42"}))["result"]["contents"][0]
    assert msgspec.json.decode(item["text"]) == {"id": 42}
    bad_item = await client.request("resources/read", {"uri": "test://items/x"})
    assert bad_item["error"]["code"] == errors.INVALID_PARAMS
    missing = await client.request("resources/read", {"uri": "test://missing"})
    assert missing["error"]["code"] == errors.RESOURCE_NOT_FOUND


async def test_prompts(client):
    prompts = (await client.request("prompts/list"))["result"]["prompts"]
    assert prompts[0]["arguments"] == [
        {"name": "name", "required": True},
        {"name": "style", "required": False},
    ]
    got = (await client.request("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}))["result"]
    assert got["messages"] == [{"role": "user", "content": {"type": "text", "text": "Hello Ada (plain)"}}]
    assert got["description"] == "Greets someone."
    missing = await client.request("prompts/get", {"name": "greet"})
    assert missing["error"]["code"] == errors.INVALID_PARAMS
    dialogue = (await client.request("prompts/get", {"name": "dialogue"}))["result"]["messages"]
    assert [m["role"] for m in dialogue] == ["user", "assistant"]


async def test_completion(client):
    params = {
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "name", "value": "al"},
    }
    result = (await client.request("completion/complete", params))["result"]
    assert result["completion"]["values"] == ["alpha", "alps"]
    params["ref"] = {"type": "ref/prompt", "name": "nope"}
    assert (await client.request("completion/complete", params))["error"]["code"] == errors.INVALID_PARAMS


async def test_progress_and_log_levels_in_the_legacy_era(client):
    await client.request("logging/setLevel", {"level": "warning"})
    await client.request("tools/call", {"name": "chatty", "_meta": {"progressToken": "tok"}})
    methods = [(m["method"], m["params"]) for m in client.sent]
    assert (
        "notifications/progress",
        {"progressToken": "tok", "progress": 1, "total": 2, "message": "half"},
    ) in methods
    logs = [p["data"] for m, p in methods if m == "notifications/message"]
    assert logs == ["warning line"]
    bad = await client.request("logging/setLevel", {"level": "loud"})
    assert bad["error"]["code"] == errors.INVALID_PARAMS


async def test_modern_logs_only_when_asked(make_client):
    c = make_client(build_app())
    await c.modern("tools/call", {"name": "chatty"})
    assert not [m for m in c.sent if m["method"] == "notifications/message"]
    await c.modern("tools/call", {"name": "chatty"}, **{"io.modelcontextprotocol/logLevel": "debug"})
    assert [m["params"]["data"] for m in c.sent if m["method"] == "notifications/message"] == [
        "debug line", "warning line",
    ]  # fmt: skip


async def test_modern_results_carry_result_type_and_cache_hints(make_client):
    c = make_client(build_app())
    listed = (await c.modern("tools/list"))["result"]
    assert listed["resultType"] == "complete" and listed["ttlMs"] == 0 and listed["cacheScope"] == "public"
    assert listed["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "test-app"
    called = (await c.modern("tools/call", {"name": "add", "arguments": {"a": 1}}))["result"]
    assert called["resultType"] == "complete" and "ttlMs" not in called
    read = (await c.modern("resources/read", {"uri": "test://static"}))["result"]
    assert read["ttlMs"] == 0
    missing = await c.modern("resources/read", {"uri": "test://none"})
    assert missing["error"]["code"] == errors.INVALID_PARAMS


async def test_discover_and_unsupported_version(make_client):
    c = make_client(build_app())
    discovered = (await c.modern("server/discover"))["result"]
    assert discovered["supportedVersions"][0] == MODERN
    assert "tools" in discovered["capabilities"] and discovered["instructions"] == "Use add."
    wrong = await c.request(
        "tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}
    )
    assert wrong["error"]["code"] == errors.UNSUPPORTED_PROTOCOL_VERSION
    assert wrong["error"]["data"] == {"supported": [MODERN], "requested": "2099-01-01"}
    ping = await c.modern("ping")
    assert ping["error"]["code"] == errors.METHOD_NOT_FOUND


async def test_mrtr_round_trips_until_every_answer_is_in(make_client):
    c = make_client(build_app())
    caps = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    first = (await c.modern("tools/call", {"name": "ask"}, **caps))["result"]
    assert first["resultType"] == "input_required"
    (key,) = first["inputRequests"]
    assert first["inputRequests"][key]["method"] == "elicitation/create"
    second = (
        await c.modern(
            "tools/call",
            {
                "name": "ask",
                "requestState": first["requestState"],
                "inputResponses": {key: {"action": "accept", "content": {"name": "Ada"}}},
            },
            **caps,
        )
    )["result"]
    assert second["resultType"] == "input_required"
    (key2,) = second["inputRequests"]
    assert key2 != key
    done = (
        await c.modern(
            "tools/call",
            {
                "name": "ask",
                "requestState": second["requestState"],
                "inputResponses": {key2: {"action": "accept", "content": {"age": 36}}},
            },
            **caps,
        )
    )["result"]
    assert done["content"][0]["text"] == "Ada is 36"


async def test_mrtr_state_is_sealed(make_client):
    c = make_client(build_app())
    caps = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    first = (await c.modern("tools/call", {"name": "ask"}, **caps))["result"]
    state = first["requestState"]
    forged = state[:-4] + ("AAAA" if state[-4:] != "AAAA" else "BBBB")
    answer = await c.modern("tools/call", {"name": "ask", "requestState": forged}, **caps)
    assert answer["error"]["code"] == errors.INVALID_PARAMS
    elsewhere = await c.modern(
        "prompts/get", {"name": "greet", "arguments": {"name": "x"}, "requestState": state}
    )
    assert elsewhere["error"]["code"] == errors.INVALID_PARAMS


ELICITATION = {messages.META_CLIENT_CAPABILITIES: {"elicitation": {}}}


async def first_round(client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that asks for input; the retry params that accept its first question."""
    first = await client.modern("tools/call", {"name": name, "arguments": arguments}, **ELICITATION)
    (key,) = first["result"]["inputRequests"]
    return {"requestState": first["result"]["requestState"], "inputResponses": {key: {"action": "accept"}}}


async def test_mrtr_state_holds_only_for_the_same_arguments(make_client):
    c = make_client(build_app())
    retry = await first_round(c, "delete", {"path": "notes.txt"})
    elsewhere = await c.modern(
        "tools/call", {"name": "delete", "arguments": {"path": "thesis.tex"}, **retry}, **ELICITATION
    )
    assert elsewhere["error"] == {
        "code": errors.INVALID_PARAMS,
        "message": "Invalid requestState: it belongs to another request",
    }
    same = await c.modern(
        "tools/call", {"name": "delete", "arguments": {"path": "notes.txt"}, **retry}, **ELICITATION
    )
    assert same["result"]["content"] == [{"type": "text", "text": "deleted notes.txt"}]


def test_sealed_state_binds_arguments_whatever_their_order():
    bound = request_state.bind("tool:t", {"a": 1, "b": {"c": 2, "d": 3}})
    assert bound == request_state.bind("tool:t", {"b": {"d": 3, "c": 2}, "a": 1})
    assert bound != request_state.bind("tool:t", {"a": 1, "b": {"c": 2, "d": 4}})
    assert bound != request_state.bind("tool:u", {"a": 1, "b": {"c": 2, "d": 3}})


@pytest.mark.parametrize(("age", "expired"), [(29.0, False), (31.0, True)])
async def test_mrtr_state_older_than_its_ttl_is_refused(make_client, monkeypatch, age, expired):
    c = make_client(build_app(state_ttl_seconds=30))
    sealed_at = time.time()
    retry = await first_round(c, "delete", {"path": "notes.txt"})
    monkeypatch.setattr(request_state, "time", SimpleNamespace(time=lambda: sealed_at + age))
    answer = await c.modern(
        "tools/call", {"name": "delete", "arguments": {"path": "notes.txt"}, **retry}, **ELICITATION
    )
    if expired:
        assert answer["error"] == {"code": errors.INVALID_PARAMS, "message": "Invalid requestState: expired"}
    else:
        assert answer["result"]["content"] == [{"type": "text", "text": "deleted notes.txt"}]


async def test_mrtr_needs_the_client_capability(make_client):
    c = make_client(build_app())
    answer = await c.modern("tools/call", {"name": "ask"})
    assert answer["error"]["code"] == errors.MISSING_REQUIRED_CLIENT_CAPABILITY
    assert answer["error"]["data"] == {"requiredCapabilities": {"elicitation": {}}}


async def test_legacy_elicitation_is_a_request_to_the_client(make_client):
    c = make_client(build_app())
    await c.initialize(capabilities={"elicitation": {}})
    outcome = {}

    async def call():
        outcome["answer"] = await c.request("tools/call", {"name": "ask"})

    async def answer_requests():
        answered = 0
        while answered < 2:
            await trio.sleep(0)
            for message in [m for m in c.sent if "id" in m and m.get("method") == "elicitation/create"]:
                c.sent.remove(message)
                content = {"name": "Bo"} if answered == 0 else {"age": 7}
                reply = {
                    "jsonrpc": "2.0",
                    "id": message["id"],
                    "result": {"action": "accept", "content": content},
                }
                assert await c.raw(reply) is None
                answered += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call)
        nursery.start_soon(answer_requests)
    assert outcome["answer"]["result"]["content"][0]["text"] == "Bo is 7"


BATCH = [
    {"jsonrpc": "2.0", "id": 10, "method": "ping"},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}},
]
MODERN_META = {
    messages.META_PROTOCOL_VERSION: MODERN,
    messages.META_CLIENT_CAPABILITIES: {},
}
MODERN_LIST = {"jsonrpc": "2.0", "id": 12, "method": "tools/list", "params": {"_meta": MODERN_META}}


async def send_batch(client, batch: list[dict]) -> Any:
    """What the dispatcher answers to ``batch``, decoded (None for no answer)."""
    data = messages.decode_message(msgspec.json.encode(batch))
    answer = await client.dispatcher.dispatch_batch(data, client.peer)
    return None if answer is None else msgspec.json.decode(answer)


async def test_a_batch_is_answered_item_by_item_in_2025_03_26(make_client):
    c = make_client(build_app())
    await c.initialize("2025-03-26")
    answer = {item["id"]: item for item in await send_batch(c, BATCH)}
    assert answer[10]["result"] == {}
    assert answer[11]["result"]["structuredContent"] == {"result": 2}
    assert set(answer) == {10, 11}


@pytest.mark.parametrize(
    ("version", "batch", "refusal"),
    [
        ("2024-11-05", BATCH, "Batches are not supported in protocol version 2024-11-05"),
        ("2025-06-18", BATCH, "Batches are not supported in protocol version 2025-06-18"),
        ("2025-11-25", BATCH, "Batches are not supported in protocol version 2025-11-25"),
        (None, BATCH, "Batches are not supported before initialize"),
        (None, [MODERN_LIST, MODERN_LIST], f"Batches are not supported in protocol version {MODERN}"),
    ],
    ids=["2024-11-05", "2025-06-18", "2025-11-25", "before-initialize", "modern"],
)
async def test_a_batch_is_refused_whole_outside_2025_03_26(make_client, version, batch, refusal):
    c = make_client(build_app())
    if version is not None:
        await c.initialize(version)
    answer = await send_batch(c, batch)
    assert answer == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": errors.INVALID_REQUEST, "message": refusal},
    }
    assert c.sent == []


async def test_initialize_and_modern_requests_are_refused_inside_an_allowed_batch(make_client):
    c = make_client(build_app())
    await c.initialize("2025-03-26")
    session = c.peer.session
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x"}},
    }
    answer = {item["id"]: item for item in await send_batch(c, [initialize, MODERN_LIST, BATCH[0]])}
    assert answer[1]["error"] == {
        "code": errors.INVALID_REQUEST,
        "message": "initialize must not be part of a batch",
    }
    assert answer[12]["error"]["code"] == errors.INVALID_REQUEST
    assert answer[10]["result"] == {}
    assert c.peer.session is session and session.protocol_version == "2025-03-26"


async def test_runtime_changes_reach_a_modern_listener(make_client):
    app = build_app()
    app.start_serving()
    c = make_client(app)

    async def listen():
        await c.modern(
            "subscriptions/listen",
            {
                "notifications": {
                    "toolsListChanged": True,
                    "resourceSubscriptions": ["test://static"],
                }
            },
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(listen)
        while not c.sent:
            await trio.sleep(0)
        assert c.sent[0]["method"] == "notifications/subscriptions/acknowledged"
        app.add_tool(lambda: "new", name="new_tool")
        app.add_prompt(lambda: "p", name="not_listened")
        app.notify_resource_updated("test://static")
        app.notify_resource_updated("test://other")
        while len(c.sent) < 3:
            await trio.sleep(0)
        c.dispatcher.close()
    methods = [m["method"] for m in c.sent]
    assert methods == [
        "notifications/subscriptions/acknowledged",
        "notifications/tools/list_changed",
        "notifications/resources/updated",
    ]
    assert all(m["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 1 for m in c.sent)
    tools = (await c.modern("tools/list", {"cursor": None}))["result"]
    assert tools["tools"]
    assert app.remove_tool("new_tool") and not app.remove_tool("new_tool")


async def test_modern_request_needs_client_capabilities(make_client):
    c = make_client(build_app())
    answer = await c.request("tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}})
    assert answer["error"]["code"] == errors.INVALID_PARAMS


# -- what tests/apps/extras.py shows ---------------------------------------------------------


@pytest.fixture
async def extras_client(make_client):
    c = make_client(extras_app)
    await c.initialize()
    return c


@pytest.mark.parametrize(
    ("name", "arguments", "schema", "structured"),
    [
        (
            "point",
            {"x": 1, "y": 2},
            {"properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}, "required": ["x", "y"]},
            {"x": 1, "y": 2},
        ),
        (
            "forecast",
            {"city": "Oslo"},
            {
                "properties": {"celsius": {"type": "number"}, "city": {"type": "string"}},
                "required": ["celsius", "city"],
            },
            {"city": "Oslo", "celsius": 21.5},
        ),
        (
            "release",
            {},
            {
                "properties": {
                    "major": {"type": "integer"},
                    "minor": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["major", "minor", "tags"],
            },
            {"major": 1, "minor": 2, "tags": ["stable"]},
        ),
    ],
    ids=["dataclass", "typeddict", "struct"],
)
async def test_an_object_return_type_is_the_output_schema_itself(
    extras_client, name, arguments, schema, structured
):
    tools = {tool["name"]: tool for tool in (await extras_client.request("tools/list"))["result"]["tools"]}
    assert tools[name]["outputSchema"] == {"type": "object", **schema}
    result = (await extras_client.request("tools/call", {"name": name, "arguments": arguments}))["result"]
    assert result["structuredContent"] == structured
    assert msgspec.json.decode(result["content"][0]["text"]) == structured


async def test_a_resource_link_is_a_block_that_resolves(extras_client):
    result = await extras_client.request("tools/call", {"name": "link", "arguments": {"name": "a.txt"}})
    assert result["result"] == {
        "content": [
            {
                "type": "resource_link",
                "uri": "extras://files/a.txt",
                "name": "a.txt",
                "title": "The file a.txt",
                "mimeType": "text/plain",
                "size": 12,
            }
        ]
    }
    read = (await extras_client.request("resources/read", {"uri": "extras://files/a.txt"}))["result"]
    assert read["contents"][0]["text"] == "contents of a.txt"


async def call_facts(client, request_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    answer = await client.raw(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": "request_facts", "_meta": meta},
        }
    )
    assert answer is not None and answer["id"] == request_id
    return answer["result"]["structuredContent"]


async def test_context_tells_a_legacy_handler_about_its_request(extras_client):
    facts = await call_facts(extras_client, "legacy-7", {})
    assert facts == {
        "requestId": "legacy-7",
        "protocolVersion": "2025-11-25",
        "era": "legacy",
        "clientInfo": {"name": "t", "version": "1"},
        "sessionId": extras_client.peer.session.id,
    }


async def test_context_tells_a_modern_handler_about_its_request(make_client):
    meta = {**MODERN_META, messages.META_CLIENT_INFO: {"name": "modern-client", "version": "2"}}
    facts = await call_facts(make_client(extras_app), "modern-7", meta)
    assert facts == {
        "requestId": "modern-7",
        "protocolVersion": MODERN,
        "era": "modern",
        "clientInfo": {"name": "modern-client", "version": "2"},
        "sessionId": None,
    }


async def test_a_resource_handler_that_raises_is_an_internal_error_in_both_eras(extras_client):
    internal = {"code": errors.INTERNAL_ERROR, "message": "Internal error"}
    legacy = await extras_client.request("resources/read", {"uri": "extras://broken"})
    assert legacy["error"] == internal
    modern = await extras_client.modern("resources/read", {"uri": "extras://broken"})
    assert modern["error"] == internal


async def complete(client, ref: dict[str, str], name: str, value: str) -> dict[str, Any]:
    params = {"ref": ref, "argument": {"name": name, "value": value}}
    answer = await client.request("completion/complete", params)
    return answer["result"]["completion"] if "result" in answer else answer["error"]


async def test_completion_of_a_resource_template_argument(extras_client):
    template = {"type": "ref/resource", "uri": "extras://files/{name}"}
    completion = await complete(extras_client, template, "name", "n")
    assert completion == {"values": ["notes.txt", "news.md"], "total": 2, "hasMore": False}
    unknown = await complete(extras_client, {"type": "ref/resource", "uri": "extras://nothing/{x}"}, "x", "")
    assert unknown["code"] == errors.INVALID_PARAMS


async def test_completion_stops_at_100_values_and_says_there_are_more(extras_client):
    prompt = {"type": "ref/prompt", "name": "spell"}
    everything = await complete(extras_client, prompt, "word", "")
    assert everything == {"values": WORDS[:100], "total": 150, "hasMore": True}
    few = await complete(extras_client, prompt, "word", "word14")
    assert few == {"values": WORDS[140:150], "total": 10, "hasMore": False}
