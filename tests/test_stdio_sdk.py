"""End to end over stdio: `mocopr serve --stdio` in a subprocess, driven by the
official SDK client in both its legacy and its 2026-07-28 (auto) mode."""

import os
import sys
from pathlib import Path

import pytest
import trio
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import (
    CreateMessageResult,
    ElicitResult,
    Implementation,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
    TextContent,
)

ROOT = Path(__file__).resolve().parent.parent
MODES = ["legacy", "auto"]
EXTRAS = "tests.apps.extras:app"


def server(app: str = "tests.apps.sample:app") -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mocopr", "serve", app, "--stdio"],
        cwd=str(ROOT),
        env={
            "PYTHONPATH": str(ROOT),
            **(
                {"COVERAGE_PROCESS_START": os.environ["COVERAGE_PROCESS_START"]}
                if "COVERAGE_PROCESS_START" in os.environ
                else {}
            ),
        },
    )


async def on_elicit(context, params):
    return ElicitResult(action="accept", content={"name": "Ada"})


async def on_sample(context, params):
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="42"), model="fake")


def client(mode: str, app: str = "tests.apps.sample:app", **options) -> Client:
    return Client(server(app), mode=mode, cache=None, **options)


@pytest.mark.parametrize("mode", MODES)
async def test_lists_and_calls(mode):
    async with client(mode) as c:
        assert c.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        names, cursor = [], None
        while True:
            page = await c.list_tools(cursor=cursor)
            assert len(page.tools) <= 3
            names += [tool.name for tool in page.tools]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert names[:3] == ["add", "slow", "progress"] and "touch" in names
        result = await c.call_tool("add", {"a": 20, "b": 22})
        assert result.structured_content == {"result": 42}
        assert result.content[0].text == "42"
        failed = await c.call_tool("explode", {})
        assert failed.is_error and failed.content[0].text == "kaboom"


@pytest.mark.parametrize("mode", MODES)
async def test_resources_templates_prompts_completion(mode):
    async with client(mode) as c:
        resources = await c.list_resources()
        assert [str(r.uri) for r in resources.resources] == [
            "sample://greeting",
            "sample://cancelled",
        ]
        read = await c.read_resource("sample://greeting")
        assert read.contents[0].text == "hello there"
        templates = await c.list_resource_templates()
        assert templates.resource_templates[0].uri_template == "sample://users/{user_id}/profile"
        profile = await c.read_resource("sample://users/7/profile")
        assert profile.contents[0].text == '{"id":7,"name":"user7"}'
        with pytest.raises(MCPError) as missing:
            await c.read_resource("sample://nothing")
        assert missing.value.code == (-32002 if mode == "legacy" else -32602)
        prompts = await c.list_prompts()
        assert prompts.prompts[0].name == "code_review"
        prompt = await c.get_prompt("code_review", {"code": "x = 1"})
        assert prompt.messages[0].content.text == "Review this python:\nx = 1"
        completion = await c.complete(
            PromptReference(type="ref/prompt", name="code_review"),
            {"name": "language", "value": "p"},
        )
        assert completion.completion.values == ["python", "pascal", "perl"]


@pytest.mark.parametrize("mode", MODES)
async def test_progress(mode):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with client(mode) as c:
        result = await c.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
        assert result.content[0].text == "progressed"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.parametrize("mode", MODES)
async def test_logging(mode):
    logs = []

    async def on_log(params):
        logs.append((params.level, params.data))

    options = {"log_level": "info"} if mode == "auto" else {}
    async with client(mode, logging_callback=on_log, **options) as c:
        if mode == "legacy":
            with pytest.warns(Warning):
                await c.set_logging_level("info")
        await c.call_tool("chatty", {})
    assert logs == [("info", "an info line"), ("error", "an error line")]


@pytest.mark.parametrize("mode", MODES)
async def test_cancellation_stops_the_handler_and_ping_is_not_held_up(mode):
    async with client(mode) as c:
        with trio.move_on_after(0.5):
            await c.call_tool("slow", {"seconds": 30})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(c.call_tool, "slow", {"seconds": 0.3})
            with trio.fail_after(5):
                assert (await c.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}
        with trio.fail_after(5):
            while (await c.read_resource("sample://cancelled")).contents[0].text != "1":
                await trio.sleep(0.02)


@pytest.mark.parametrize("mode", MODES)
async def test_elicitation_and_sampling(mode):
    async with client(mode, elicitation_callback=on_elicit, sampling_callback=on_sample) as c:
        assert (await c.call_tool("ask_name", {})).content[0].text == "Hello, Ada!"
        assert (await c.call_tool("sample_llm", {"prompt": "?"})).content[0].text == "LLM said: 42"


@pytest.mark.parametrize("mode", MODES)
async def test_errors(mode):
    async with client(mode) as c:
        bad = await c.call_tool("add", {"a": "x", "b": 1})
        assert bad.is_error and "Expected `int`" in bad.content[0].text
        with pytest.raises(MCPError) as unknown:
            await c.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602
        with pytest.raises(MCPError) as missing:
            await c.get_prompt("code_review", {})
        assert missing.value.code == -32602


async def test_modern_listen_hears_runtime_changes():
    async with client("auto") as c:
        async with c.listen(
            tools_list_changed=True, resource_subscriptions=["sample://greeting"]
        ) as subscription:
            await c.call_tool("spawn_tool", {"name": "fresh"})
            await c.call_tool("touch", {"uri": "sample://greeting"})
            events = []
            with trio.fail_after(5):
                async for event in subscription:
                    events.append(type(event).__name__)
                    if len(events) == 2:
                        break
        assert sorted(events) == ["ResourceUpdated", "ToolsListChanged"]
        assert (await c.call_tool("fresh", {})).content[0].text == "I am fresh"


@pytest.mark.parametrize("mode", MODES)
async def test_resource_links_object_results_and_request_metadata(mode):
    async with client(mode, EXTRAS, client_info=Implementation(name="probe", version="7")) as c:
        (block,) = (await c.call_tool("link", {"name": "notes.txt"})).content
        assert isinstance(block, ResourceLink)
        assert (str(block.uri), block.name, block.mime_type) == (
            "extras://files/notes.txt",
            "notes.txt",
            "text/plain",
        )
        assert (await c.read_resource(str(block.uri))).contents[0].text == "contents of notes.txt"
        # The client also checks structured content against the tool's output schema.
        assert (await c.call_tool("point", {"x": 3, "y": 4})).structured_content == {"x": 3, "y": 4}
        facts = (await c.call_tool("request_facts", {})).structured_content
        version = c.protocol_version
    assert facts["protocolVersion"] == version
    assert facts["clientInfo"] == {"name": "probe", "version": "7"}
    assert isinstance(facts["requestId"], int | str)
    if mode == "legacy":
        assert facts["era"] == "legacy" and isinstance(facts["sessionId"], str)
    else:
        assert facts["era"] == "modern" and facts["sessionId"] is None


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_resource_and_completions_past_the_cap(mode):
    async with client(mode, EXTRAS) as c:
        with pytest.raises(MCPError) as broken:
            await c.read_resource("extras://broken")
        assert broken.value.code == -32603
        words = await c.complete(
            PromptReference(type="ref/prompt", name="spell"), {"name": "word", "value": ""}
        )
        files = await c.complete(
            ResourceTemplateReference(type="ref/resource", uri="extras://files/{name}"),
            {"name": "name", "value": "n"},
        )
    assert len(words.completion.values) == 100
    assert (words.completion.total, words.completion.has_more) == (150, True)
    assert files.completion.values == ["notes.txt", "news.md"]
