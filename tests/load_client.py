"""A small modern-era MCP client over raw keep-alive HTTP, for tests that put a
real server under bounded load while they break it."""

import contextlib
from dataclasses import dataclass, field

import msgspec
import trio

from tests.raw_http import MODERN_META, RawConnection, mcp_post


class RequestFailed(Exception):
    pass


@dataclass
class ToolCaller:
    """Calls tools over one keep-alive connection at a time.

    Like HTTP clients do, a request on a reused connection that the server had
    already closed (nothing came back) is sent once more on a new connection;
    any other failure counts.
    """

    port: int
    connection: RawConnection | None = None
    calls: int = 0
    failures: list[str] = field(default_factory=list)

    async def call(self, name: str, arguments: dict | None = None) -> dict:
        message = {
            "jsonrpc": "2.0", "id": self.calls + 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments or {}, "_meta": MODERN_META},
        }  # fmt: skip
        headers, body = mcp_post(message, modern=True)
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = await RawConnection.open(self.port)
            broke = "closed before an answer"
            try:
                await self.connection.request("POST", headers, body)
                response = await self.connection.read_response()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                response, broke = None, repr(exc)
            if response is None or response.status == 0:
                await self.close()
                if reused and attempt == 1:
                    continue
                which = "a retry's new" if attempt == 2 else "a new"
                raise RequestFailed(f"{name}: {which} connection broke: {broke}")
            if response.headers.get("connection", "").lower() == "close":
                await self.close()
            self.calls += 1
            if response.status != 200:
                raise RequestFailed(f"{name}: HTTP {response.status}: {response.body[:200]!r}")
            answer = msgspec.json.decode(response.body)
            if "error" in answer:
                raise RequestFailed(f"{name}: {answer['error']}")
            return answer["result"]
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            with contextlib.suppress(trio.BrokenResourceError, OSError):
                await connection.aclose()

    async def hammer(self, until: trio.Event, limit: int = 100_000) -> None:
        """Call ``add`` until ``until`` is set (or ``limit`` calls), recording failures."""
        for i in range(limit):
            if until.is_set():
                return
            try:
                result = await self.call("add", {"a": i, "b": 1})
                if result["structuredContent"] != {"result": i + 1}:
                    self.failures.append(f"wrong answer {result}")
            except RequestFailed as exc:
                self.failures.append(str(exc))
