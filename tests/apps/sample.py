"""The app the end-to-end tests serve: a little of everything, small pages."""

import trio

from mocopr import Context, McpServer

app = McpServer("sample", version="1.2.3", instructions="A test app.", page_size=3)

state = {"cancelled": 0}


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Sleep, then answer; counts cancellations in the ``cancelled`` resource."""
    try:
        await trio.sleep(seconds)
    except trio.Cancelled:
        state["cancelled"] += 1
        raise
    return "slept"


@app.tool()
async def progress(steps: int, ctx: Context) -> str:
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    return "progressed"


@app.tool()
async def chatty(ctx: Context) -> str:
    await ctx.debug("a debug line")
    await ctx.info("an info line")
    await ctx.error("an error line")
    return "logged"


@app.tool()
async def ask_name(ctx: Context) -> str:
    answer = await ctx.elicit(
        "What is your name?",
        {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    )
    if answer.get("action") != "accept":
        return f"no answer ({answer.get('action')})"
    return f"Hello, {answer['content']['name']}!"


@app.tool()
async def sample_llm(prompt: str, ctx: Context) -> str:
    result = await ctx.sample([{"role": "user", "content": {"type": "text", "text": prompt}}], max_tokens=50)
    return f"LLM said: {result['content']['text']}"


@app.tool()
def explode() -> str:
    raise ValueError("kaboom")


@app.tool()
def spawn_tool(name: str) -> str:
    """Add a tool at run time (list-changed notifications follow)."""
    app.add_tool(lambda: f"I am {name}", name=name)
    return "added"


@app.resource("sample://greeting", mime_type="text/plain")
def greeting() -> str:
    return "hello there"


@app.resource("sample://cancelled")
def cancelled() -> str:
    return str(state["cancelled"])


@app.resource("sample://users/{user_id}/profile", mime_type="application/json")
def profile(user_id: int) -> dict:
    return {"id": user_id, "name": f"user{user_id}"}


@app.tool()
def touch(uri: str) -> str:
    """Announce that a resource changed."""
    app.notify_resource_updated(uri)
    return "touched"


@app.prompt()
def code_review(code: str, language: str = "python") -> str:
    """Ask for a review."""
    return f"Review this {language}:\n{code}"


@app.completion()
def complete(ref, argument, context):
    choices = ["python", "pascal", "perl", "rust"]
    return [c for c in choices if c.startswith(argument.value)]


@app.tool()
def whoami() -> int:
    """The process id of the worker answering (for tests of the multiprocess runtime)."""
    import os

    return os.getpid()


@app.tool()
def block(seconds: float) -> str:
    """Block the worker's event loop (a stuck worker, for tests of the supervisor)."""
    import time

    time.sleep(seconds)
    return "unblocked"


@app.tool()
def die(code: int = 3) -> str:
    """End the worker process at once (a crashing worker, for tests of the supervisor)."""
    import os

    os._exit(code)
