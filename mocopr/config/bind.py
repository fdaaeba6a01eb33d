"""Listening addresses: ``HOST:PORT``, ``[IPv6]:PORT``, or ``fd://N`` for a socket
inherited from whoever started the server (systemd socket activation)."""

import ipaddress
import socket
from dataclasses import dataclass

from mocopr.config.errors import show


@dataclass(frozen=True)
class Bind:
    """A listening address: a TCP ``host`` and ``port``, or ``fd``, a listening socket
    inherited from whoever started the server (systemd socket activation, a process manager)."""

    host: str = ""
    port: int = 0
    fd: int | None = None

    def __str__(self) -> str:
        if self.fd is not None:
            return f"fd://{self.fd}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def of_socket(cls, sock: socket.socket) -> "Bind":
        """The TCP address ``sock`` is bound to: what an ``fd://N`` bind turned out to be,
        for processes that do not hold the descriptor (see ``Config.http_settings``)."""
        host, port = sock.getsockname()[:2]
        return cls(host, port)


def parse_bind(value: str) -> Bind:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``fd://N`` into a Bind; ValueError says what is wrong."""
    text = value.strip()
    if text.startswith("fd://"):
        number = text.removeprefix("fd://")
        if not (number.isascii() and number.isdigit()):
            raise ValueError(f"fd://N takes a file descriptor number, got {show(value)}")
        return Bind(fd=int(number))
    host, sep, port = text.rpartition(":")
    if not sep or not host or any(c.isspace() for c in host):
        raise ValueError(f"expected HOST:PORT, [IPv6]:PORT or fd://N, got {show(value)}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address, in {show(value)}") from None
    elif ":" in host or "[" in host or "]" in host:
        raise ValueError(f"an IPv6 address goes in brackets, as [::1]:8000; got {show(value)}")
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"expected a port from 0 to 65535 after the last colon, got {show(value)}")
    return Bind(host, int(port))
