"""Control messages between the supervisor, the acceptor and the workers, with file descriptors attached.

A SOCK_SEQPACKET socketpair keeps message boundaries, so one packet is one msgpack message and there is
no framing to write or to get wrong, and it carries descriptors with SCM_RIGHTS: that is how the acceptor
hands an accepted connection to a worker. Packets of one socket arrive in order and whole; one that is
bigger than the receive buffer is cut short by the kernel, and that is reported, never half-decoded.

Descriptors are duplicated into the receiving process by the kernel, so each side owns its own copy:

- ``send`` never closes the descriptors it is given. The sender closes its copies when ``send`` has
  returned (the acceptor: right after the hand-off). If ``send`` raised, nothing was sent and the
  descriptors are still the sender's to use or close.
- ``receive`` returns the descriptors that came with a message, close-on-exec, and from then on they are
  the caller's: it adopts them (``socket.socket(fileno=fd)``) or closes them, even when it does not
  want the message (``fds.close_fds``). When ``receive`` raises instead, it has closed whatever came.

Interrupted system calls are retried by Python itself (PEP 475); a signal handler that raises ends the
call with its exception, before anything was sent or after nothing was received.
"""

import array
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import msgpack
import trio

from mocopr.ipc.fds import close_fds, forget

MAX_MESSAGE = 65536  # bytes of msgpack per message; the receive buffer is exactly this big
MAX_FDS = 16  # descriptors per message; the ancillary buffer is sized for exactly this many
_ANCILLARY = socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize)
_CLOEXEC = socket.MSG_CMSG_CLOEXEC

_T = TypeVar("_T")


class ControlError(Exception):
    """A packet that is not a message: cut short by the kernel, or not msgpack.

    Only that packet is lost: the channel stays usable, and the descriptors it carried are closed.
    """


def socketpair() -> tuple[socket.socket, socket.socket]:
    """A connected AF_UNIX SOCK_SEQPACKET pair, non-blocking and close-on-exec.

    Give one end to a child with ``subprocess.Popen(pass_fds=...)``, which makes that copy inheritable;
    the child wraps it with ``ControlChannel(socket.socket(fileno=fd))``.
    """
    kind = socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
    return socket.socketpair(socket.AF_UNIX, kind)


class ControlChannel:
    """One end of a control socketpair, used from trio.

    One task at a time may send and one may receive (trio refuses two waiting on the same socket);
    ``send`` and ``receive`` are checkpoints, like trio's own socket methods.
    """

    def __init__(self, sock: socket.socket) -> None:
        """Take ownership of ``sock`` (one end of ``socketpair()``) and make it non-blocking.

        A socket rebuilt from an inherited descriptor is non-blocking at the file level but Python
        thinks it blocking; the channel only uses raw non-blocking calls either way.
        """
        sock.setblocking(False)
        self._sock = sock
        self._packer = msgpack.Packer()

    def fileno(self) -> int:
        """The socket's descriptor, e.g. for ``pass_fds``."""
        return self._sock.fileno()

    async def send(self, message: Any, fds: Sequence[int] = ()) -> None:
        """Send ``message`` (anything msgpack encodes) with ``fds`` attached; wait while the socket is full.

        Raises ``ValueError`` for a message over ``MAX_MESSAGE`` bytes or more than ``MAX_FDS``
        descriptors, and ``BrokenPipeError`` once the peer has closed its end. Cancelled, it has sent
        nothing.
        """
        payload = self._packer.pack(message)
        if len(payload) > MAX_MESSAGE:
            raise ValueError(f"control message of {len(payload)} bytes is over MAX_MESSAGE ({MAX_MESSAGE})")
        if len(fds) > MAX_FDS:
            raise ValueError(f"{len(fds)} descriptors in one control message; at most MAX_FDS ({MAX_FDS})")
        if fds:
            # socket.send_fds, plus the flags it drops on 3.11: no SIGPIPE if the peer is gone.
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            attempt = partial(self._sock.sendmsg, [payload], rights, socket.MSG_NOSIGNAL)
        else:
            attempt = partial(self._sock.send, payload, socket.MSG_NOSIGNAL)
        await self._retry(attempt, trio.lowlevel.wait_writable)

    async def receive(self) -> tuple[Any, list[int]]:
        """The next message and the descriptors that came with it (now the caller's to close).

        Raises ``EOFError`` once the peer has closed its end and every message it sent has been read,
        ``ControlError`` for a packet that is not a message, and ``trio.ClosedResourceError`` if this
        channel is closed while waiting.
        """
        return await self._retry(self._receive_now, trio.lowlevel.wait_readable)

    def close(self) -> None:
        """Close the socket; the peer's ``receive`` then sees EOF. A task waiting on it here is woken."""
        forget(self._sock)
        self._sock.close()

    def _receive_now(self) -> tuple[Any, list[int]]:
        # socket.recv_fds, plus the flags it drops on 3.11: received descriptors close on exec.
        while True:
            try:
                payload, ancillary, flags, _ = self._sock.recvmsg(MAX_MESSAGE, _ANCILLARY, _CLOEXEC)
                break
            except ConnectionResetError:
                # The peer closed with messages of ours unread. The kernel reports that once, ahead of
                # the messages it had sent us, which are still there; the end of the stream follows them.
                continue
        received = array.array("i")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received.frombytes(data[: len(data) - len(data) % received.itemsize])
        fds = received.tolist()
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            close_fds(fds)
            raise ControlError(
                f"control packet truncated (over {MAX_MESSAGE} bytes or {MAX_FDS} descriptors); dropped"
            )
        if not payload:  # a message is never empty, so this is the end of the stream
            close_fds(fds)
            raise EOFError("control channel closed by the peer")
        try:
            message = msgpack.unpackb(payload, strict_map_key=False)  # the peer is one of our processes
        except (ValueError, TypeError) as error:
            close_fds(fds)
            raise ControlError(f"control packet is not one msgpack message ({error!r})") from error
        return message, fds

    async def _retry(self, attempt: Callable[[], _T], wait: Callable[[socket.socket], Awaitable[None]]) -> _T:
        """Run the non-blocking ``attempt``, waiting for the socket between tries: trio's own pattern.

        It tries first and waits only on EAGAIN, and is a checkpoint either way: cancellation is seen
        before trying, and a success that did not wait yields to other tasks without being cancellable,
        so a cancelled call never sent or received anything.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            result = attempt()
        except BlockingIOError:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return result
        while True:
            await wait(self._sock)
            try:
                return attempt()
            except BlockingIOError:
                pass
