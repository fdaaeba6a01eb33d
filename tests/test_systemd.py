"""systemd glue against the real thing's wire format: notify datagrams received on an
AF_UNIX socket the test owns, and socket activation in a child process that really
inherits a listening socket as fd 3 and accepts a connection on it."""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mocopr.server import systemd

ROOT = Path(__file__).resolve().parent.parent
WAIT = 10.0


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's, named by $NOTIFY_SOCKET. The directory
    is made short on purpose: an AF_UNIX path must fit in 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="mocopr-") as directory:
        path = os.path.join(directory, "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
            receiver.bind(path)
            receiver.settimeout(WAIT)
            monkeypatch.setenv("NOTIFY_SOCKET", path)
            yield receiver


@pytest.fixture
def abstract_notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    name = f"mocopr-test-{secrets.token_hex(8)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(WAIT)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        yield receiver


def received(receiver: socket.socket) -> str:
    return receiver.recv(4096).decode()


def test_ready_stopping_watchdog_status(notify_socket: socket.socket):
    assert systemd.ready()
    assert received(notify_socket) == "READY=1"
    assert systemd.ready("serving with 2 workers")
    assert received(notify_socket) == "READY=1\nSTATUS=serving with 2 workers"
    assert systemd.stopping()
    assert received(notify_socket) == "STOPPING=1"
    assert systemd.watchdog()
    assert received(notify_socket) == "WATCHDOG=1"
    assert systemd.status("two\nlines")
    assert received(notify_socket) == "STATUS=two lines"


def test_reloading_carries_the_monotonic_clock(notify_socket: socket.socket):
    before = time.monotonic_ns() // 1000
    assert systemd.reloading()
    after = time.monotonic_ns() // 1000
    first, second = received(notify_socket).split("\n")
    assert first == "RELOADING=1"
    name, _, value = second.partition("=")
    assert name == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_abstract_namespace_socket(abstract_notify_socket: socket.socket):
    assert systemd.ready("abstract")
    assert received(abstract_notify_socket) == "READY=1\nSTATUS=abstract"


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.ready() is False
    monkeypatch.setenv("NOTIFY_SOCKET", "relative/path")
    assert systemd.watchdog() is False


def test_unreachable_notify_socket_is_not_fatal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert systemd.ready() is False


@pytest.mark.parametrize(
    ("usec", "pid", "interval"),
    [
        ("20000000", "self", 10.0),
        ("20000000", None, 10.0),
        ("20000000", "other", None),
        (None, "self", None),
        ("0", "self", None),
        ("soon", "self", None),
    ],
)
def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch, usec, pid, interval):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            own = os.getpid()
            monkeypatch.setenv(name, {"self": str(own), "other": str(own + 1)}.get(value, value))
    assert systemd.watchdog_interval() == interval


def test_listen_fds_meant_for_another_process(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDS", "1")
    monkeypatch.setenv("LISTEN_FDNAMES", "mocopr.socket")
    assert systemd.listen_fds() == []
    assert not {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} & set(os.environ)


def test_listen_fds_without_activation(monkeypatch: pytest.MonkeyPatch):
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        monkeypatch.delenv(name, raising=False)
    assert systemd.listen_fds() == []


#: Does what systemd does between fork and exec: moves the passed sockets to fd 3, 4, ...
#: and sets LISTEN_PID to the pid of the process that will use them (its own), then adopts
#: them, accepts one connection on each, answers with what it saw, and reports on stdout.
ACTIVATED_CHILD = """
import fcntl, json, os, sys
sources = [int(arg) for arg in sys.argv[1:]]
parked = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in sources]
for fd in sources:
    os.close(fd)
for index, fd in enumerate(parked):
    os.dup2(fd, 3 + index)
    os.close(fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(sources)), LISTEN_FDNAMES="a:b")
from mocopr.server.systemd import listen_fds
sockets = listen_fds()
for sock in sockets:
    sock.settimeout(10)
    connection, _ = sock.accept()
    with connection:
        connection.sendall(f"fd {sock.fileno()} accepted".encode())
report = {
    "fds": [sock.fileno() for sock in sockets],
    "inheritable": [os.get_inheritable(sock.fileno()) for sock in sockets],
    "left_in_environ": sorted(name for name in os.environ if name.startswith("LISTEN_")),
}
print(json.dumps(report))
"""


def test_listen_fds_adopts_inherited_listening_sockets():
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    addresses = [listener.getsockname() for listener in listeners]
    fds = [listener.fileno() for listener in listeners]
    child = subprocess.Popen(
        [sys.executable, "-c", ACTIVATED_CHILD, *map(str, fds)],
        cwd=ROOT,
        pass_fds=fds,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for listener in listeners:
            listener.close()  # the child's copies are now the only ones
        answers = []
        for address in addresses:
            with socket.create_connection(address, timeout=WAIT) as client:
                answers.append(client.recv(100).decode())
        out, err = child.communicate(timeout=WAIT * 3)
    finally:
        child.kill()
        child.wait(timeout=WAIT)
    assert child.returncode == 0, err
    assert answers == ["fd 3 accepted", "fd 4 accepted"]
    assert json.loads(out) == {"fds": [3, 4], "inheritable": [False, False], "left_in_environ": []}
