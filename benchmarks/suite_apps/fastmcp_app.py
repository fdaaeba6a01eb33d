"""FastMCP (the standalone ``fastmcp`` package) with the ``add`` tool of ``http_sdk_app.py`` and
``http_mocopr_app.py``, as ASGI app factories for ``uvicorn --factory`` (which ``suite.py`` runs):

    uvicorn --factory --app-dir benchmarks/suite_apps fastmcp_app:stateless_json_app --port 0
    uvicorn --factory --app-dir benchmarks/suite_apps fastmcp_app:stateful_json_app --port 0

``stateless_json_app`` is FastMCP's Streamable HTTP transport with ``stateless_http=True,
json_response=True`` (no session, each answer plain JSON, as the SDK's stateless-json mode);
``stateful_json_app`` keeps sessions (the legacy era's ``initialize`` and ``Mcp-Session-Id``) and
answers in plain JSON. Both serve ``/mcp``.
"""

from fastmcp import FastMCP
from starlette.applications import Starlette

mcp = FastMCP("bench", version="1.0.0")


@mcp.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def stateless_json_app() -> Starlette:
    """No sessions, JSON answers: the modern-era workload."""
    return mcp.http_app(path="/mcp", stateless_http=True, json_response=True)


def stateful_json_app() -> Starlette:
    """Sessions, JSON answers: the legacy-era workload."""
    return mcp.http_app(path="/mcp", stateless_http=False, json_response=True)
