"""The tools of the stdio and codec benchmarks, written once so that ``mocopr_app.py`` and ``sdk_app.py``
serve the very same functions: ``add`` is the round-trip tool, ``add_async`` the same tool written as a
coroutine; ``echo`` and ``echo_async`` are the codec benchmark's tools."""


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def add_async(a: int, b: int) -> int:
    """Add two integers, as a coroutine."""
    return a + b


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


async def echo_async(text: str) -> str:
    """Return the text unchanged, as a coroutine."""
    return text


#: In the order both apps register them (and list them).
TOOLS = (add, add_async, echo, echo_async)
