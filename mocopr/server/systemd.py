"""systemd integration, spoken directly: the notify protocol (``sd_notify``) is one
datagram on an AF_UNIX socket and socket activation (``sd_listen_fds``) is three
environment variables, so no library is needed, and none of this does anything
when the server is not run by systemd.

Only the supervisor talks to systemd: with ``NotifyAccess=main`` messages from
other processes are ignored, and a watchdog ping must mean "every worker is
fresh", which only the supervisor knows.
"""

import logging
import os
import socket
import time

log = logging.getLogger("mocopr.systemd")

#: The first inherited descriptor in socket activation (after stdin, stdout, stderr).
LISTEN_FDS_START = 3


def notify(state: str) -> bool:
    """Send ``state`` (newline-separated ``KEY=VALUE`` lines) to the service manager.

    Returns whether it was sent: False when ``$NOTIFY_SOCKET`` is unset (not run by
    systemd, or not ``Type=notify``), or names something unreachable. A failure is
    logged rather than raised: the service keeps serving, and systemd, if it is
    waiting, times out and says so itself.
    """
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        address = "\0" + address[1:]  # the abstract namespace
    elif not address.startswith("/"):
        if address:
            log.warning("NOTIFY_SOCKET=%r is not a path or an abstract socket; not notifying", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", state.partition("\n")[0], exc)
        return False
    return True


def ready(status: str = "") -> bool:
    """Startup (or a reload) is complete: the service is serving."""
    return notify("READY=1" + (f"\nSTATUS={_one_line(status)}" if status else ""))


def reloading() -> bool:
    """A reload has begun; send ``ready()`` when it is done. ``Type=notify-reload`` requires
    the CLOCK_MONOTONIC timestamp, so systemd can tell this reload from an earlier one."""
    now_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={now_us}")


def stopping() -> bool:
    """Shutdown has begun (draining), so systemd shows the service as deactivating."""
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """A free-form line that ``systemctl status`` shows."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog() -> bool:
    """The keep-alive ping; send it every ``watchdog_interval()`` seconds while healthy."""
    return notify("WATCHDOG=1")


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings: half of ``$WATCHDOG_USEC``, as sd_watchdog_enabled
    advises, so one late ping is not fatal. None when the watchdog is off, or when
    ``$WATCHDOG_PID`` names another process (the variables were inherited, not meant for us).
    """
    try:
        timeout_us = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if timeout_us <= 0 or (pid is not None and pid != str(os.getpid())):
        return None
    return timeout_us / 2 / 1e6


def listen_fds() -> list[socket.socket]:
    """The sockets systemd passed to this process (socket activation), adopted as socket
    objects; [] when there are none or they were meant for another process.

    The variables are removed from ``os.environ`` in every case, and the descriptors
    marked close-on-exec, so that children do not take them for their own. OSError if
    one is not a socket (a ``ListenFIFO=``, say): mocopr can serve only sockets.
    """
    pid = os.environ.pop("LISTEN_PID", "")
    count = os.environ.pop("LISTEN_FDS", "")
    os.environ.pop("LISTEN_FDNAMES", None)
    if pid != str(os.getpid()) or not (count.isascii() and count.isdigit()):
        return []
    sockets = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))
    return sockets


def _one_line(text: str) -> str:
    """The protocol is line-based: a newline in a status would start a new assignment."""
    return " ".join(text.splitlines())
