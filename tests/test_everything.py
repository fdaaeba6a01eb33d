"""The demo app's conformance fixtures: in process for the wire shapes the suite
checks, over stdio with the official SDK client in both modes, and over stdio
with a raw client where the order of messages on the wire is the point."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import CreateMessageResult, ElicitResult, ListRootsResult, Root, TextContent

from examples.everything import JSON_SCHEMA_2020_12, app
from mocopr.protocol import errors
from tests.test_stdio_bad_input import RawClient, serve

ROOT = Path(__file__).resolve().parent.parent
ALL_CAPS = {"io.modelcontextprotocol/clientCapabilities": {"sampling": {}, "elicitation": {}, "roots": {}}}


@pytest.fixture
def client(make_client):
    return make_client(app)


async def test_fixture_lists(client):
    tools = (await client.modern("tools/list"))["result"]["tools"]
    names = [tool["name"] for tool in tools]
    assert names[0] == "test_simple_text" and "add" in names
    assert all(tool.get("description") for tool in tools)
    schema_tool = next(tool for tool in tools if tool["name"] == "json_schema_2020_12_tool")
    assert schema_tool["inputSchema"] == JSON_SCHEMA_2020_12
    header_tool = next(tool for tool in tools if tool["name"] == "test_x_mcp_header")
    assert header_tool["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"
    prompts = (await client.modern("prompts/list"))["result"]["prompts"]
    assert all(prompt.get("description") for prompt in prompts)
    resources = (await client.modern("resources/list"))["result"]["resources"]
    assert [r["uri"] for r in resources] == [
        "test://static-text",
        "test://static-binary",
        "test://watched-resource",
    ]


async def test_the_2020_12_tool_holds_calls_to_its_schema(client):
    call = {"name": "json_schema_2020_12_tool", "arguments": {"name": "Ada", "nickname": "A"}}
    refused = (await client.modern("tools/call", call))["result"]
    assert refused["isError"] is True
    assert refused["content"][0]["text"].endswith("Object contains unknown field `nickname`")
    call["arguments"] = {"name": "Ada", "email": "ada@example.com"}
    accepted = (await client.modern("tools/call", call))["result"]
    assert accepted["content"][0]["text"] == 'Received: {"name":"Ada","email":"ada@example.com"}'


async def test_fixture_contents(client):
    audio = (await client.modern("tools/call", {"name": "test_audio_content"}))["result"]["content"][0]
    assert audio["type"] == "audio" and audio["mimeType"] == "audio/wav"
    mixed = (await client.modern("tools/call", {"name": "test_multiple_content_types"}))["result"]["content"]
    assert [block["type"] for block in mixed] == ["text", "image", "resource"]
    template = (await client.modern("resources/read", {"uri": "test://template/123/data"}))["result"]
    assert '"id":"123"' in template["contents"][0]["text"]
    missing = await client.modern("resources/read", {"uri": "test://nonexistent"})
    assert missing["error"]["code"] == errors.INVALID_PARAMS
    assert missing["error"]["data"] == {"uri": "test://nonexistent"}


async def test_input_required_keys_and_rounds(client):
    first = (
        await client.modern("tools/call", {"name": "test_input_required_result_elicitation"}, **ALL_CAPS)
    )["result"]
    assert first["resultType"] == "input_required" and list(first["inputRequests"]) == ["user_name"]
    assert first["inputRequests"]["user_name"]["params"]["requestedSchema"]["required"] == ["name"]
    answers = {
        "user_name": {"action": "accept", "content": {"name": "Alice"}},
        "unknown_extra_key": {},
    }
    done = await client.modern(
        "tools/call",
        {"name": "test_input_required_result_elicitation", "inputResponses": answers},
        **ALL_CAPS,
    )
    assert done["result"]["content"][0]["text"] == "Hello, Alice!"
    several = await client.modern(
        "tools/call", {"name": "test_input_required_result_multiple_inputs"}, **ALL_CAPS
    )
    methods = {r["method"] for r in several["result"]["inputRequests"].values()}
    assert methods == {"elicitation/create", "sampling/createMessage", "roots/list"}
    assert isinstance(several["result"]["requestState"], str)


async def test_input_responses_of_the_wrong_shape_do_not_complete(client):
    bad = await client.modern(
        "tools/call",
        {"name": "test_input_required_result_elicitation", "inputResponses": {"user_name": 12345}},
        **ALL_CAPS,
    )
    assert bad["error"]["code"] == errors.INVALID_PARAMS
    wrong_key = await client.modern(
        "tools/call",
        {
            "name": "test_input_required_result_elicitation",
            "inputResponses": {"wrong_key": {"action": "accept"}},
        },
        **ALL_CAPS,
    )
    assert wrong_key["result"]["resultType"] == "input_required"


async def test_multi_round_states_differ_and_tampering_fails(client):
    name = "test_input_required_result_multi_round"
    first = (await client.modern("tools/call", {"name": name}, **ALL_CAPS))["result"]
    assert list(first["inputRequests"]) == ["step1"]
    second = (
        await client.modern(
            "tools/call",
            {
                "name": name,
                "requestState": first["requestState"],
                "inputResponses": {"step1": {"action": "accept", "content": {"name": "Ada"}}},
            },
            **ALL_CAPS,
        )
    )["result"]
    assert list(second["inputRequests"]) == ["step2"] and second["requestState"] != first["requestState"]
    tampered = await client.modern(
        "tools/call",
        {
            "name": name,
            "requestState": second["requestState"] + "-TAMPERED",
            "inputResponses": {"step2": {"action": "accept", "content": {"color": "red"}}},
        },
        **ALL_CAPS,
    )
    assert "error" in tampered


async def test_capabilities_are_respected(client):
    only_sampling = {"io.modelcontextprotocol/clientCapabilities": {"sampling": {}}}
    result = (
        await client.modern(
            "tools/call", {"name": "test_input_required_result_capabilities"}, **only_sampling
        )
    )["result"]
    assert [r["method"] for r in result["inputRequests"].values()] == ["sampling/createMessage"]
    missing = await client.modern("tools/call", {"name": "test_missing_capability"})
    assert missing["error"]["code"] == errors.MISSING_REQUIRED_CLIENT_CAPABILITY
    assert missing["error"]["data"] == {"requiredCapabilities": {"sampling": {}}}


async def on_elicit(context, params):
    return ElicitResult(
        action="accept", content={"name": "Alice", "username": "u", "email": "e@x", "color": "red"}
    )


async def on_sample(context, params):
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="Paris"), model="m")


async def on_roots(context):
    return ListRootsResult(roots=[Root(uri="file:///test/root", name="Test Root")])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_input_fixtures_through_the_sdk(mode):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mocopr", "serve", "examples/everything.py:app", "--stdio"],
        cwd=str(ROOT),
    )
    async with Client(
        params, mode=mode, cache=None, elicitation_callback=on_elicit, sampling_callback=on_sample,
        list_roots_callback=on_roots,
    ) as c:  # fmt: skip
        await c.list_tools()
        texts = {}
        for tool in (
            "elicitation",
            "sampling",
            "list_roots",
            "request_state",
            "multiple_inputs",
            "multi_round",
        ):
            result = await c.call_tool(f"test_input_required_result_{tool}", {})
            texts[tool] = result.content[0].text
        prompt = await c.get_prompt("test_input_required_result_prompt", {})
        assert (await c.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        sampled = await c.call_tool("test_sampling", {"prompt": "Capital?"})
    assert texts["elicitation"] == "Hello, Alice!"
    assert texts["sampling"] == "The LLM said: Paris"
    assert texts["list_roots"] == "Roots: file:///test/root"
    assert texts["request_state"] == "state-ok: confirmed=None"
    assert texts["multiple_inputs"] == "Paris Alice; roots: 1"
    assert texts["multi_round"] == "Alice likes red"
    assert prompt.messages[0].content.text == "Use this context: None"
    assert sampled.content[0].text == "LLM response: Paris"


async def test_missing_capability_through_the_sdk():
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mocopr", "serve", "examples/everything.py:app", "--stdio"],
        cwd=str(ROOT),
    )
    async with Client(params, mode="auto", cache=None) as c:
        with pytest.raises(MCPError) as caught:
            await c.call_tool("test_missing_capability", {})
    assert caught.value.code == errors.MISSING_REQUIRED_CLIENT_CAPABILITY


def is_notification(method: str, params: dict[str, Any] | None = None) -> Callable[[Any], bool]:
    """Matches the notification ``method`` (with exactly ``params``, if given)."""
    return lambda message: (
        message.get("method") == method
        and "id" not in message
        and (params is None or message.get("params") == params)
    )


def updated(uri: str) -> Callable[[Any], bool]:
    return is_notification("notifications/resources/updated", {"uri": uri})


TOOLS_CHANGED = is_notification("notifications/tools/list_changed")


async def call(client: RawClient, tool: str, arguments: dict[str, Any] | None = None) -> None:
    answer = await client.request("tools/call", {"name": tool, "arguments": arguments or {}})
    assert "isError" not in answer["result"], answer


@pytest.mark.parametrize("version", ["2024-11-05", "2025-11-25"])
async def test_legacy_notifications_over_stdio(version):
    watched, marker = "test://watched-resource", "test://static-text"
    async with serve(app="examples.everything:app") as client:
        await client.initialize(version)
        for uri in (watched, marker):
            assert (await client.request("resources/subscribe", {"uri": uri}))["result"] == {}
        await call(client, "test_trigger_resource_update", {"uri": watched})
        await client.wait_for(updated(watched))
        for added in (True, False):
            await call(client, "test_trigger_tool_change")
            await client.wait_for(TOOLS_CHANGED)
            tools = (await client.request("tools/list"))["result"]["tools"]
            assert ("test_dynamic_tool" in [tool["name"] for tool in tools]) is added
        assert (await client.request("resources/unsubscribe", {"uri": watched}))["result"] == {}
        client.others.clear()
        await call(client, "test_trigger_resource_update", {"uri": watched})
        await call(client, "test_trigger_resource_update", {"uri": marker})
        # Changes go out in the order they happen, so an update for the unsubscribed
        # resource would have been read before the marker's.
        await client.wait_for(updated(marker))
    assert not [message for message in client.others if updated(watched)(message)]
    assert sum(map(TOOLS_CHANGED, client.seen)) == 2
