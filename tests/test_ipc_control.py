"""Control channels: messages and descriptors between real processes, a TCP connection handed to a child
that serves it, end of stream when the peer goes, and every way a packet can be bad."""

import array
import os
import socket
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from mocopr.ipc.control import MAX_FDS, MAX_MESSAGE, ControlChannel, ControlError, socketpair
from mocopr.ipc.fds import close_fds

TESTS = Path(__file__).resolve().parent
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}


def child(function: str, *args: object) -> list[str]:
    """The command that runs ``function(*args)`` of this module in a fresh interpreter."""
    return [sys.executable, "-c", f"import test_ipc_control as t; t.{function}(*{args!r})"]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def pair() -> Iterator[tuple[ControlChannel, ControlChannel]]:
    a, b = socketpair()
    left, right = ControlChannel(a), ControlChannel(b)
    yield left, right
    left.close()
    right.close()


# In a child process ------------------------------------------------------------------------------------


def serve_adopted_connection(control_fd: int) -> None:
    """Adopt the connection the parent hands over, answer one line in upper case, report, and exit."""

    async def main() -> None:
        channel = ControlChannel(socket.socket(fileno=control_fd))
        message, (fd,) = await channel.receive()
        connection = socket.socket(fileno=fd)
        peer = connection.getpeername()
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(connection))
        line = b""
        while not line.endswith(b"\n"):
            line += await stream.receive_some()
        await stream.send_all(line.upper())
        await stream.aclose()
        await channel.send({"served": message["id"], "peer": list(peer)})
        channel.close()

    trio.run(main)


def say_hello_and_exit(control_fd: int) -> None:
    async def main() -> None:
        channel = ControlChannel(socket.socket(fileno=control_fd))
        await channel.send("hello")

    trio.run(main)


def wait_forever(control_fd: int) -> None:
    async def main() -> None:
        channel = ControlChannel(socket.socket(fileno=control_fd))
        await channel.send("ready")
        await trio.sleep_forever()

    trio.run(main)


# Across processes --------------------------------------------------------------------------------------


async def test_a_tcp_connection_handed_to_a_child_is_served_there() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    ours, theirs = socketpair()
    channel = ControlChannel(ours)
    try:
        with trio.fail_after(30):
            client = trio.socket.socket()
            await client.connect(listener.getsockname())
            accepted, _ = listener.accept()
            async with trio.open_nursery() as nursery:
                command = child("serve_adopted_connection", theirs.fileno())
                nursery.start_soon(
                    partial(trio.run_process, command, pass_fds=(theirs.fileno(),), env=CHILD_ENV)
                )
                await channel.send({"op": "adopt", "id": 7}, [accepted.fileno()])
                accepted.close()  # the acceptor's part ends with the hand-off
                await client.send(b"hello over there\n")
                answer = b""
                while chunk := await client.recv(100):  # until the child closes: its copy was the last
                    answer += chunk
                report, fds = await channel.receive()
            assert answer == b"HELLO OVER THERE\n"
            assert report == {"served": 7, "peer": list(client.getsockname())}
            assert fds == []
            client.close()
    finally:
        channel.close()
        theirs.close()
        listener.close()


async def test_eof_when_the_child_exits() -> None:
    ours, theirs = socketpair()
    channel = ControlChannel(ours)
    try:
        with trio.fail_after(30):
            command = child("say_hello_and_exit", theirs.fileno())
            await trio.run_process(command, pass_fds=(theirs.fileno(),), env=CHILD_ENV)
            theirs.close()
            assert await channel.receive() == ("hello", [])
            with pytest.raises(EOFError):
                await channel.receive()
    finally:
        channel.close()


async def test_eof_when_the_child_is_killed() -> None:
    ours, theirs = socketpair()
    channel = ControlChannel(ours)
    try:
        with trio.fail_after(30):
            command = child("wait_forever", theirs.fileno())
            process = await trio.lowlevel.open_process(command, pass_fds=(theirs.fileno(),), env=CHILD_ENV)
            theirs.close()
            try:
                assert await channel.receive() == ("ready", [])
                process.kill()
                with pytest.raises(EOFError):
                    await channel.receive()
            finally:
                process.kill()
                await process.wait()
    finally:
        channel.close()


# In one process ----------------------------------------------------------------------------------------


async def test_messages_and_descriptors_arrive_whole(pair: tuple[ControlChannel, ControlChannel]) -> None:
    left, right = pair
    read_end, write_end = os.pipe()
    try:
        with trio.fail_after(5):
            await left.send({"op": "drain", "grace": 1.5, 3: [None, True, b"\x00"]})
            await left.send(["with", "fds"], [read_end, write_end])
            assert await right.receive() == ({"op": "drain", "grace": 1.5, 3: [None, True, b"\x00"]}, [])
            message, (r, w) = await right.receive()
        assert message == ["with", "fds"]
        assert not os.get_inheritable(r) and not os.get_inheritable(w)  # close-on-exec
        os.write(w, b"ping")
        assert os.read(read_end, 4) == b"ping"  # the same pipe, through new descriptors
        close_fds([r, w])
    finally:
        close_fds([read_end, write_end])


async def test_a_message_of_max_size_passes_and_one_byte_more_is_refused(
    pair: tuple[ControlChannel, ControlChannel],
) -> None:
    left, right = pair
    largest = b"x" * (MAX_MESSAGE - 3)  # msgpack bin 16: 3 bytes of header
    with pytest.raises(ValueError, match="MAX_MESSAGE"):
        await left.send(largest + b"x")
    with trio.fail_after(5):
        await left.send(largest)
        assert await right.receive() == (largest, [])


async def test_max_fds_pass_and_one_more_is_refused(pair: tuple[ControlChannel, ControlChannel]) -> None:
    left, right = pair
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        with pytest.raises(ValueError, match="MAX_FDS"):
            await left.send("too many", [fd] * (MAX_FDS + 1))
        with trio.fail_after(5):
            await left.send("just enough", [fd] * MAX_FDS)
            message, fds = await right.receive()
        assert message == "just enough"
        assert len(fds) == MAX_FDS
        close_fds(fds)
    finally:
        os.close(fd)


async def test_a_full_socket_makes_send_wait_until_the_peer_reads(
    pair: tuple[ControlChannel, ControlChannel],
) -> None:
    left, right = pair
    count = 200  # of 32 KiB: several times what the socket buffers
    sent = 0

    async def send_all() -> None:
        nonlocal sent
        for index in range(count):
            await left.send([index, b"x" * 32768])
            sent += 1

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_all)
            await trio.testing.wait_all_tasks_blocked()
            assert 0 < sent < count
            for index in range(count):
                assert await right.receive() == ([index, b"x" * 32768], [])
    assert sent == count


async def test_messages_sent_before_close_are_read_before_eof(
    pair: tuple[ControlChannel, ControlChannel],
) -> None:
    left, right = pair
    with trio.fail_after(5):
        await right.send("never read")  # makes the kernel report ECONNRESET to right
        await left.send("last words")
        left.close()
        assert await right.receive() == ("last words", [])
        for _ in range(2):
            with pytest.raises(EOFError):
                await right.receive()
        with pytest.raises(BrokenPipeError):
            await right.send("anyone?")


async def test_an_oversized_packet_is_reported_and_the_channel_goes_on(
    pair: tuple[ControlChannel, ControlChannel],
) -> None:
    left, right = pair
    raw = socket.socket(fileno=os.dup(left.fileno()))
    try:
        raw.send(b"\xc4" + b"x" * MAX_MESSAGE)  # a peer that ignores MAX_MESSAGE
        with trio.fail_after(5):
            with pytest.raises(ControlError, match="truncated"):
                await right.receive()
            await left.send("next")
            assert await right.receive() == ("next", [])
    finally:
        raw.close()


async def test_descriptors_of_a_bad_packet_are_closed(pair: tuple[ControlChannel, ControlChannel]) -> None:
    left, right = pair
    raw = socket.socket(fileno=os.dup(left.fileno()))
    fd = os.open(os.devnull, os.O_RDONLY)
    before = open_fds()
    try:
        with trio.fail_after(5):
            for payload, count, error in [
                (b"\x91", MAX_FDS + 4, "truncated"),  # more descriptors than the buffer holds
                (b"\xc1", 3, "not one msgpack message"),  # a byte msgpack never uses
                (b"\x92\x01", 3, "not one msgpack message"),  # an array cut short
                (b"\x01\x02", 3, "not one msgpack message"),  # two messages in one packet
            ]:
                rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd] * count))]
                raw.sendmsg([payload], rights)
                with pytest.raises(ControlError, match=error):
                    await right.receive()
                assert open_fds() == before
    finally:
        raw.close()
        os.close(fd)


async def test_closing_wakes_a_waiting_receive() -> None:
    a, b = socketpair()
    channel = ControlChannel(a)
    try:
        with trio.fail_after(5), pytest.RaisesGroup(trio.ClosedResourceError):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(channel.receive)
                await trio.testing.wait_all_tasks_blocked()
                channel.close()
    finally:
        b.close()


def test_socketpair_is_seqpacket_nonblocking_and_close_on_exec() -> None:
    for sock in socketpair():
        with sock:
            assert sock.type == socket.SOCK_SEQPACKET
            assert not sock.getblocking()
            assert not sock.get_inheritable()
