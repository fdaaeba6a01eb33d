"""Signals in a child process: the supervisor's commands come over its control
channel, but a stray SIGTERM (a process-group kill) must also end it cleanly."""

import signal

import trio


async def cancel_on_signal(scope: trio.CancelScope, signum: int = signal.SIGTERM) -> None:
    """Cancel ``scope`` when ``signum`` arrives (once)."""
    with trio.open_signal_receiver(signum) as signals:
        async for _ in signals:
            scope.cancel()
            return
