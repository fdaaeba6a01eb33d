"""Serving an app over Streamable HTTP in one process: listen, accept, and
serve each connection in its own task."""

import logging
import signal

import trio

from mocopr.app.server import McpServer
from mocopr.transport.http_server import serve_listeners
from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.streamable_http import StreamableHttpEndpoint

log = logging.getLogger("mocopr.http")


async def serve_http(
    app: McpServer,
    settings: HttpSettings,
    *,
    handle_signals: bool = False,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``settings.host:settings.port`` until cancelled (or SIGTERM/SIGINT).

    ``task_status.started`` receives the listeners, so a caller that asked for
    port 0 can learn the port the kernel chose.
    """
    endpoint = StreamableHttpEndpoint(app, settings)
    app.start_serving()
    listeners = await trio.open_tcp_listeners(settings.port, host=settings.host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(endpoint.sessions.reap_forever)
        if handle_signals:
            nursery.start_soon(_stop_on_signal, endpoint, nursery.cancel_scope)
        await nursery.start(serve_listeners, listeners, endpoint.handle, settings)
        task_status.started(listeners)


async def _stop_on_signal(endpoint: StreamableHttpEndpoint, scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("%s received; shutting down", signal.Signals(signum).name)
            endpoint.dispatcher.close()
            endpoint.sessions.close_all()
            scope.cancel()
            return
