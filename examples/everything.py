"""An app with every fixture the MCP conformance suite expects of a server, in
both protocol eras, plus ``add``. ``make serve`` serves it.

The fixture names, texts and shapes follow the suite's server scenarios; the
input-required tools work in both eras: a server-to-client request on a legacy
session, an ``InputRequiredResult`` with sealed ``requestState`` in 2026-07-28.
"""

from typing import Annotated, Any

import msgspec
import trio

from mocopr import (
    Audio,
    Context,
    EmbeddedResource,
    Image,
    McpServer,
    TextContent,
    TextResourceContents,
    ToolResult,
    UserMessage,
)
from mocopr.app import client_requests

# A 1x1 PNG and a tiny WAV, as the suite's fixtures use.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

app = McpServer(
    "mocopr-everything",
    version="1.0.0",
    instructions="A demonstration server with every MCP feature; `add` adds two integers.",
)


@app.tool()
def test_simple_text() -> str:
    """Returns a simple text response."""
    return "This is a simple text response for testing."


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@app.tool()
def test_image_content() -> Any:
    """Returns an image."""
    return Image(msgspec.convert(PNG, bytes), mime_type="image/png")


@app.tool()
def test_audio_content() -> Any:
    """Returns audio."""
    return Audio(msgspec.convert(WAV, bytes), mime_type="audio/wav")


@app.tool()
def test_embedded_resource() -> Any:
    """Returns an embedded resource."""
    return EmbeddedResource(
        resource=TextResourceContents(
            uri="test://embedded-resource",
            mimeType="text/plain",
            text="This is an embedded resource content.",
        )
    )


@app.tool()
def test_multiple_content_types() -> Any:
    """Returns text, an image and an embedded resource."""
    return [
        TextContent(text="Multiple content types test:"),
        Image(msgspec.convert(PNG, bytes), mime_type="image/png"),
        EmbeddedResource(
            resource=TextResourceContents(
                uri="test://mixed-content-resource",
                mimeType="application/json",
                text='{"test":"data","value":123}',
            )
        ),
    ]


@app.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three log messages while it runs."""
    for step, text in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if step:
            await trio.sleep(0.05)
        await ctx.info(text)
    return "Tool with logging executed successfully"


@app.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs at several levels; in 2026-07-28 only when the request sets a log level."""
    await ctx.debug("debug message")
    await ctx.info("info message")
    await ctx.warning("warning message")
    return "Logging tool executed"


@app.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 out of 100."""
    for step, progress in enumerate((0, 50, 100)):
        if step:
            await trio.sleep(0.05)
        await ctx.report_progress(progress, 100, f"Completed step {progress} of 100")
    return str(ctx.progress_token)


@app.tool()
def test_error_handling() -> ToolResult:
    """Always fails, as a tool result the model can read."""
    return ToolResult(content=["This tool intentionally returns an error for testing"], isError=True)


@app.tool()
async def test_reconnection() -> str:
    """Answers after a short pause."""
    await trio.sleep(0.1)
    return (
        "Reconnection test completed successfully. If you received this, "
        "the client properly reconnected after stream closure."
    )


@app.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's LLM to answer the prompt."""
    result = await ctx.sample([{"role": "user", "content": {"type": "text", "text": prompt}}], max_tokens=100)
    content = result.get("content", {})
    text = content.get("text", "") if isinstance(content, dict) else ""
    return f"LLM response: {text}"


@app.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user for a username and an email address."""
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    result = await ctx.elicit(message, schema)
    return f"User response: action={result.get('action')}, content={result.get('content')}"


@app.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicits a form whose fields carry default values."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {
                "type": "string",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "default": True},
        },
        "required": [],
    }
    result = await ctx.elicit("Please review and update the form fields with defaults", schema)
    return f"Elicitation completed: action={result.get('action')}, content={result.get('content')}"


@app.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicits every kind of enum field."""
    options = [
        {"const": f"value{i}", "title": f"{n} Option"} for i, n in enumerate(("First", "Second", "Third"), 1)
    ]
    choices = [
        {"const": f"value{i}", "title": f"{n} Choice"} for i, n in enumerate(("First", "Second", "Third"), 1)
    ]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "oneOf": options},
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array", "minItems": 1, "maxItems": 3,
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
            },
            "titledMulti": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"anyOf": choices}},
        },
    }  # fmt: skip
    result = await ctx.elicit("Please select options from the enum fields", schema)
    return f"Elicitation completed: action={result.get('action')}, content={result.get('content')}"


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@app.tool(input_schema=JSON_SCHEMA_2020_12)
def json_schema_2020_12_tool(**arguments: Any) -> str:
    """Publishes a JSON Schema 2020-12 input schema verbatim."""
    return f"Received: {msgspec.json.encode(arguments).decode()}"


@app.tool()
def test_x_mcp_header(
    region: Annotated[str, msgspec.Meta(extra_json_schema={"x-mcp-header": "Region"})] = "<none>",
) -> str:
    """Echoes an argument that HTTP clients mirror into the Mcp-Param-Region header."""
    return f"region={region}"


@app.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs the client's sampling capability."""
    await ctx.sample([{"role": "user", "content": {"type": "text", "text": "hi"}}], max_tokens=10)
    return "sampled"


# -- multi round-trip (input required) -----------------------------------------------------

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CONFIRM_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def _text_of(sampled: dict[str, Any]) -> str:
    content = sampled.get("content")
    return content.get("text", "") if isinstance(content, dict) else ""


@app.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks for the user's name, then greets them."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


@app.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's LLM a question."""
    question = [{"role": "user", "content": {"type": "text", "text": "What is the capital of France?"}}]
    answer = await ctx.sample(question, max_tokens=100, key="capital_question")
    return f"The LLM said: {_text_of(answer)}"


@app.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks for the client's roots."""
    roots = await ctx.list_roots(key="client_roots")
    return f"Roots: {', '.join(str(root.get('uri')) for root in roots)}"


@app.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Asks for a confirmation, carrying state across the round trip."""
    answer = await ctx.elicit("Please confirm", CONFIRM_SCHEMA, key="confirm")
    return f"state-ok: confirmed={(answer.get('content') or {}).get('ok')}"


@app.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Like the request-state tool; a tampered requestState is refused."""
    answer = await ctx.elicit("Please confirm", CONFIRM_SCHEMA, key="confirm")
    return f"confirmed={(answer.get('content') or {}).get('ok')}"


@app.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks for a name, a sampled greeting and the roots, all at once."""
    greeting = [{"role": "user", "content": {"type": "text", "text": "Generate a greeting"}}]
    answers = await ctx.ask(
        {
            "user_name": client_requests.elicitation("What is your name?", NAME_SCHEMA),
            "greeting": client_requests.sampling(greeting, 50),
            "client_roots": client_requests.roots(),
        }
    )
    name = (answers["user_name"].get("content") or {}).get("name")
    return f"{_text_of(answers['greeting'])} {name}; roots: {len(answers['client_roots']['roots'])}"


@app.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Asks two questions, one round each."""
    name = await ctx.elicit("Step 1: What is your name?", NAME_SCHEMA, key="step1")
    color_schema = {
        "type": "object",
        "properties": {"color": {"type": "string"}},
        "required": ["color"],
    }
    color = await ctx.elicit("Step 2: What is your favorite color?", color_schema, key="step2")
    return f"{(name.get('content') or {}).get('name')} likes {(color.get('content') or {}).get('color')}"


@app.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks only for the inputs the client declared it can give."""
    declared = ctx.client_capabilities
    wanted: dict[str, client_requests.InputRequest] = {}
    if "elicitation" in declared:
        wanted["user_name"] = client_requests.elicitation("What is your name?", NAME_SCHEMA)
    if "sampling" in declared:
        question = [{"role": "user", "content": {"type": "text", "text": "Say hello"}}]
        wanted["greeting"] = client_requests.sampling(question, 20)
    if "roots" in declared:
        wanted["client_roots"] = client_requests.roots()
    answers = await ctx.ask(wanted) if wanted else {}
    return f"Answered: {', '.join(sorted(answers)) or 'nothing'}"


@app.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Elicits without sending the client an independent request in 2026-07-28."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name')}!"


# -- list changes --------------------------------------------------------------------------


@app.tool()
def test_trigger_tool_change() -> str:
    """Adds or removes a tool, so clients hear that the tool list changed."""
    if not app.remove_tool("test_dynamic_tool"):
        app.add_tool(lambda: "dynamic", name="test_dynamic_tool", description="Added at run time.")
    return "Tool list changed"


@app.tool()
def test_trigger_prompt_change() -> str:
    """Adds or removes a prompt, so clients hear that the prompt list changed."""
    if not app.remove_prompt("test_dynamic_prompt"):
        app.add_prompt(lambda: "dynamic", name="test_dynamic_prompt", description="Added at run time.")
    return "Prompt list changed"


@app.tool()
def test_trigger_resource_update(uri: str = "test://watched-resource") -> str:
    """Announces that a resource was updated."""
    app.notify_resource_updated(uri)
    return f"Updated {uri}"


# -- resources -----------------------------------------------------------------------------


@app.resource(
    "test://static-text", name="static-text", title="Static Text Resource",
    description="A static text resource for testing", mime_type="text/plain",
)  # fmt: skip
def static_text() -> str:
    return "This is the content of the static text resource."


@app.resource(
    "test://static-binary", name="static-binary", title="Static Binary Resource",
    description="A static binary resource (a PNG image) for testing", mime_type="image/png",
)  # fmt: skip
def static_binary() -> bytes:
    return msgspec.convert(PNG, bytes)


@app.resource(
    "test://watched-resource", name="watched-resource", description="A resource that can be subscribed to",
    mime_type="text/plain",
)  # fmt: skip
def watched_resource() -> str:
    return "Watched resource content"


@app.resource(
    "test://template/{id}/data", name="template-data", title="Template Resource",
    description="A resource template with an id parameter", mime_type="application/json",
)  # fmt: skip
def template_data(id: str) -> str:
    return msgspec.json.encode({"id": id, "templateTest": True, "data": f"Data for ID: {id}"}).decode()


# -- prompts -------------------------------------------------------------------------------


@app.prompt()
def test_simple_prompt() -> str:
    """A simple prompt without arguments."""
    return "This is a simple prompt for testing."


@app.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with two required arguments.

    Args:
        arg1: The first argument.
        arg2: The second argument.
    """
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@app.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list:
    """A prompt that embeds a resource.

    Args:
        resourceUri: The URI of the resource to embed.
    """
    resource = TextResourceContents(
        uri=resourceUri, mimeType="text/plain", text="Embedded resource content for testing."
    )
    return [
        UserMessage(EmbeddedResource(resource=resource)),
        UserMessage("Please process the embedded resource above."),
    ]


@app.prompt()
def test_prompt_with_image() -> list:
    """A prompt that includes an image."""
    return [
        UserMessage(Image(msgspec.convert(PNG, bytes), mime_type="image/png")),
        UserMessage("Please analyze the image above."),
    ]


@app.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the client for context before it renders."""
    schema = {
        "type": "object",
        "properties": {"context": {"type": "string"}},
        "required": ["context"],
    }
    answer = await ctx.elicit("What context should the prompt use?", schema, key="user_context")
    return f"Use this context: {(answer.get('content') or {}).get('context')}"


# -- completion ----------------------------------------------------------------------------

SUGGESTIONS = {
    "arg1": ["test-value-1", "test-value-2", "another"],
    "arg2": ["x", "y"],
    "id": ["1", "2", "123"],
}


@app.completion()
def complete(ref: Any, argument: Any, context: dict[str, str]) -> list[str]:
    return [value for value in SUGGESTIONS.get(argument.name, []) if value.startswith(argument.value)]
