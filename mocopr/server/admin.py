"""The admin listener: ``/health`` (JSON) and ``/metrics`` (Prometheus), served
by the supervisor on its own address, apart from the MCP port and local by
default, so that probes and scrapers never queue behind client traffic."""

import json
import time
from collections.abc import Callable
from typing import Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mocopr.ipc.load_table import DRAINING, READY, STARTING
from mocopr.server.metrics import RuntimeCollector
from mocopr.transport.http1 import Request
from mocopr.transport.http_server import Responder, serve_listeners
from mocopr.transport.http_settings import HttpSettings

STATE_NAMES = {STARTING: "starting", READY: "ready", DRAINING: "draining"}
JSON = [(b"content-type", b"application/json")]


class AdminListener:
    """Answers ``GET /health`` and ``GET /metrics`` from what the supervisor knows."""

    def __init__(self, health: Callable[[], dict[str, Any]], collector: RuntimeCollector) -> None:
        self._health = health
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)

    async def handle(self, request: Request, responder: Responder) -> None:
        if request.method != "GET":
            await responder.respond(405, [(b"allow", b"GET")])
        elif request.path == "/health":
            report = self._health()
            status = 200 if report["state"] in ("running", "reloading") else 503
            await responder.respond(status, JSON, json.dumps(report).encode())
        elif request.path == "/metrics":
            await responder.respond(
                200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], generate_latest(self.registry)
            )
        else:
            await responder.respond(404, [(b"content-type", b"text/plain")], b"Not Found\n")

    async def serve(
        self, host: str, port: int, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        settings = HttpSettings(host=host, port=port, keep_alive_timeout=5.0)
        listeners = await trio.open_tcp_listeners(port, host=host)
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_listeners, listeners, self.handle, settings)
            task_status.started(listeners[0].socket.getsockname()[1])


def worker_report(slot: dict[str, int], restarts: int, now_ns: int | None = None) -> dict[str, Any]:
    """What /health says of one worker, from its load-table slot."""
    now_ns = time.monotonic_ns() if now_ns is None else now_ns
    return {
        "slot": slot["slot"],
        "pid": slot["pid"],
        "cpu": None if slot["cpu"] < 0 else slot["cpu"],
        "state": STATE_NAMES.get(slot["state"], "empty"),
        "generation": slot["generation"],
        "age_seconds": round((now_ns - slot["started_ns"]) / 1e9, 3),
        "heartbeat_age_seconds": round((now_ns - slot["heartbeat_ns"]) / 1e9, 3),
        "connections": slot["live_connections"],
        "inflight": slot["inflight"],
        "evictable": slot["evictable"],
        "requests": slot["total_requests"],
        "restarts": restarts,
    }
