"""A reference point for the HTTP benchmarks, not an MCP server: the least a trio process can do to
answer wrk's requests.

Each connection gets a task that loops on ``sock.recv`` and answers every read with one ``sock.send``
of a fixed HTTP/1.1 response whose body is a ``tools/call add`` result (so ``wrk/mcp_check.lua``
counts it as correct): no HTTP parsing, no JSON, no dispatch. It assumes that one read is one whole
request, which holds for wrk's small, unpipelined requests. A request with the exact header line
``Connection: close`` (as ``wrk/close.lua`` sends it) is answered with ``connection: close`` and the
connection is closed, so the same server also gives the floor for new connections per second.

Why: whatever an HTTP server on trio does per request, it does at least this (an accept, a task per
connection, a recv, a send, trio's scheduling), so this figure bounds what any trio HTTP server, mocopr
included, can serve on this machine with this load generator.

    python benchmarks/trio_floor.py                   # one process, port chosen by the kernel
    python benchmarks/trio_floor.py --processes 2     # two processes accepting on one socket

Once listening it prints ``trio_floor: serving at http://127.0.0.1:PORT/mcp`` on stderr. With
``--processes N`` the parent forks N children that each listen on the port with ``SO_REUSEPORT`` and
run one trio loop, and waits for SIGTERM or SIGINT, which it passes on to them. ``SO_REUSEPORT`` lets
the kernel spread the connections by a hash of their addresses; with one listening socket shared by
all, the process that happens to be idle takes nearly all of them (measured: 1 and 31 of 32), and
two processes serve little more than one.
"""

import argparse
import contextlib
import multiprocessing
import signal
import socket
import sys
from multiprocessing.synchronize import Event as EventType

import trio

BODY = (
    b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"3"}],'
    b'"structuredContent":{"result":3},"resultType":"complete"}}'
)
KEEP_ALIVE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(BODY) + BODY
)
CLOSE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
    % len(BODY)
    + BODY
)
CLOSE_HEADER = b"\r\nConnection: close\r\n"
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
BACKLOG = 4096
READY_TIMEOUT = 30.0


async def answer(conn: trio.socket.SocketType) -> None:
    """Answer every read on one connection with the fixed response, until the peer goes."""
    with conn:
        try:
            while data := await conn.recv(65536):
                if CLOSE_HEADER in data:
                    await conn.send(CLOSE_RESPONSE)
                    return
                await conn.send(KEEP_ALIVE_RESPONSE)
        except OSError:
            return


async def serve(fd: int) -> None:
    """Accept forever on the listening socket ``fd``, one task per connection."""
    listener = trio.socket.from_stdlib_socket(socket.socket(fileno=fd))
    async with trio.open_nursery() as nursery:
        while True:
            conn, _ = await listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            nursery.start_soon(answer, conn)


def bound_socket(port: int, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port``, not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def run_child(port: int, listening: EventType) -> None:
    """One forked process: SIGTERM and SIGINT back at their defaults (exit), its own listening socket
    on the shared port (``listening`` is set then), then serve."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    sock = bound_socket(port, reuse_port=True)
    sock.listen(BACKLOG)
    listening.set()
    trio.run(serve, sock.detach())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fixed HTTP answer on 127.0.0.1 with bare trio.")
    parser.add_argument("--port", type=int, default=0, help="0 (the default): the kernel chooses")
    parser.add_argument("--processes", type=int, default=1, help="processes accepting on the socket")
    args = parser.parse_args(argv)
    if args.processes <= 1:
        sock = bound_socket(args.port, reuse_port=False)
        sock.listen(BACKLOG)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        print(f"trio_floor: serving at {url} (1 process)", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            trio.run(serve, sock.detach())
        return 0
    # The parent's socket holds the port (bound, never listening, so it takes no connection).
    holder = bound_socket(args.port, reuse_port=True)
    port = holder.getsockname()[1]
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    fork = multiprocessing.get_context("fork")
    listening = [fork.Event() for _ in range(args.processes)]
    children = [fork.Process(target=run_child, args=(port, event)) for event in listening]
    try:
        for child in children:
            child.start()
        if not all(event.wait(READY_TIMEOUT) for event in listening):
            print("trio_floor: a child did not start listening", file=sys.stderr, flush=True)
            return 1
        url = f"http://127.0.0.1:{port}/mcp"
        print(f"trio_floor: serving at {url} ({args.processes} processes)", file=sys.stderr, flush=True)
        signal.sigwait(STOP_SIGNALS)
    finally:
        for child in children:
            if child.pid is not None:
                child.terminate()
        for child in children:
            if child.pid is not None:
                child.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
