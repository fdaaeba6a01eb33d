"""What each signal means to the processes of a server.

The supervisor is the one process that takes commands by signal: SIGTERM and
SIGINT drain and stop, SIGHUP reloads. Its children (the acceptor and the
workers) take theirs over their control channel, so that a signal sent to the
whole process group (a terminal's Ctrl-C, ``kill -- -PGID``) does not cut a
drain short in each of them at once; only a SIGTERM aimed at a child itself,
where it listens for one, ends it cleanly.
"""

import signal

import trio

#: To the supervisor: drain, then exit.
STOP = (signal.SIGTERM, signal.SIGINT)
#: To the supervisor: read the configuration again and replace the workers one by one.
RELOAD = signal.SIGHUP
#: Every signal the supervisor acts on.
COMMANDS = (*STOP, RELOAD)


def leave_commands_to_supervisor() -> None:
    """In a child: ignore the supervisor's command signals, which reach the whole group."""
    for signum in COMMANDS:
        signal.signal(signum, signal.SIG_IGN)


async def cancel_on_signal(scope: trio.CancelScope, signum: int = signal.SIGTERM) -> None:
    """Cancel ``scope`` when ``signum`` arrives (once)."""
    with trio.open_signal_receiver(signum) as signals:
        async for _ in signals:
            scope.cancel()
            return
