"""The settings themselves: one frozen dataclass per section of the TOML file,
each field a named setting with its default and a comment that says what it
governs, and :class:`Config`, the effective configuration of one start.

Parsing, from the file, the environment and flags, is :mod:`mocopr.config.sources`'s
job; this module is what the rest of the runtime reads.
"""

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

import msgspec

from mocopr.config.bind import Bind, parse_bind
from mocopr.config.errors import ConfigError, problem
from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.stdio import DEFAULT_MAX_MESSAGE_SIZE

AcceptOverflow = Literal["backlog", "reject"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, which a container, cgroup
    or ``taskset`` may have narrowed, rather than the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ServerConfig:
    """The process tree: where the supervisor listens, how many workers it runs, and
    every limit and timeout it enforces on them."""

    #: Listening addresses: HOST:PORT, [IPv6]:PORT or fd://N (an inherited listening socket).
    bind: tuple[str, ...] = ("127.0.0.1:8000",)
    #: Worker processes (0 in a source means one per CPU this process may use).
    workers: int = field(default_factory=usable_cpus)
    #: The admin listener (/health, /metrics), separate from the MCP one; "" disables it.
    admin: str = "127.0.0.1:8001"
    #: Connections open at once across all workers: the acceptor's limit.
    max_connections: int = 10_000
    max_connections_per_worker: int = 10_000
    max_inflight_per_worker: int = 1000
    #: At ``max_connections``: "backlog" stops accepting and lets the kernel's listen backlog
    #: hold new connections; "reject" accepts them and answers 503 with Retry-After.
    accept_overflow: AcceptOverflow = "backlog"
    #: The listen backlog of each listening socket.
    backlog: int = 1024
    #: Seconds between a worker's heartbeats.
    heartbeat_interval: float = 1.0
    #: Seconds without a heartbeat after which a worker is replaced.
    heartbeat_timeout: float = 10.0
    #: Seconds in-flight requests get to finish on SIGTERM or reload.
    graceful_timeout: float = 30.0
    #: Seconds a new worker has to become ready.
    worker_boot_timeout: float = 30.0
    #: More restarts than this within ``crash_loop_window`` seconds stop the server.
    crash_loop_restarts: int = 5
    crash_loop_window: float = 60.0
    #: Where to write the supervisor's pid; "" writes none.
    pid_file: str = ""
    log_level: LogLevel = "info"
    #: Bytes in each shared-memory ring between workers.
    ring_capacity: int = 1024 * 1024
    #: The modern era's requestState HMAC key (hex), shared by every worker; "" makes one per start.
    state_key: str = ""
    #: Pin each worker to one CPU.
    pin_workers: bool = True

    @property
    def binds(self) -> tuple[Bind, ...]:
        return tuple(parse_bind(text) for text in self.bind)


def _http_fields() -> list[tuple[str, Any, Any]]:
    hints = get_type_hints(HttpSettings)
    return [
        (f.name, hints[f.name], field(default=f.default, default_factory=f.default_factory))
        for f in dataclasses.fields(HttpSettings)
        if f.name not in ("host", "port")
    ]


#: The ``[http]`` section: every field of HttpSettings except host and port, which come from
#: ``server.bind``. Made from HttpSettings, so names, types and defaults cannot drift apart.
HttpConfig = dataclasses.make_dataclass("HttpConfig", _http_fields(), frozen=True)
HttpConfig.__module__ = __name__


@dataclass(frozen=True)
class StdioConfig:
    """``mocopr serve --stdio``: one client on stdin and stdout."""

    #: The largest message accepted, in bytes.
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE


SECTIONS: dict[str, type] = {"server": ServerConfig, "http": HttpConfig, "stdio": StdioConfig}
#: Keys whose values ``to_toml(redact=True)`` leaves out.
SECRETS = frozenset({"server.state_key"})


@dataclass(frozen=True)
class Config:
    """The effective configuration: every value typed and checked."""

    #: The app to serve: module:attribute or path/to/file.py:attribute ("" = not given yet).
    app: str = ""
    server: ServerConfig = field(default_factory=ServerConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    stdio: StdioConfig = field(default_factory=StdioConfig)
    #: Where each value that is not a default came from: dotted key -> file path, variable or flag.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def http_settings(self, bind_index: int = 0) -> HttpSettings:
        """The HTTP server's settings for one of ``server.bind``. The host matters beyond
        listening: a loopback host turns on the loopback-only Host and Origin checks.

        An ``fd://N`` bind is resolved by asking the socket this process holds as fd N;
        a process that does not hold it (a worker) needs a config whose binds were
        replaced by their real addresses, e.g. ``with_server(bind=(str(Bind.of_socket(s)),))``.
        """
        bind = self.server.binds[bind_index]
        if bind.fd is not None:
            bind = self._inherited_address(bind.fd)
        values = {f.name: getattr(self.http, f.name) for f in dataclasses.fields(self.http)}
        return HttpSettings(host=bind.host, port=bind.port, **values)

    def _inherited_address(self, fd: int) -> Bind:
        reason = f"fd://{fd} is not a listening TCP socket in this process"
        error = ConfigError([problem("server.bind", self.origins.get("server.bind", "default"), reason)])
        try:
            duplicate = os.dup(fd)  # our own descriptor, so closing it leaves the inherited one open
        except OSError:
            raise error from None
        try:
            sock = socket.socket(fileno=duplicate)
        except OSError:
            os.close(duplicate)
            raise error from None
        with sock:
            listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or not listening:
                raise error
            return Bind.of_socket(sock)

    def with_server(self, **changes: Any) -> "Config":
        """This config with some ``[server]`` values replaced, e.g. to keep the running
        ``bind`` and ``workers`` across a reload. The values are not checked again."""
        return dataclasses.replace(self, server=dataclasses.replace(self.server, **changes))

    def to_toml(self, *, redact: bool = False) -> str:
        """The whole effective configuration as TOML that ``load_config`` reads back to an
        equal Config (the supervisor hands it to its children this way). ``redact``
        leaves secrets out, for printing."""
        lines = [f"app = {_toml_value(self.app)}"] if self.app else []
        for name in SECTIONS:
            section = getattr(self, name)
            lines += ["", f"[{name}]"]
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if redact and value and f"{name}.{f.name}" in SECRETS:
                    lines.append(f"# {f.name} is set; not shown")
                else:
                    lines.append(f"{f.name} = {_toml_value(value)}")
        return "\n".join(lines).lstrip("\n") + "\n"

    def describe(self) -> str:
        """One paragraph on what ``mocopr serve`` would do with this configuration."""
        server = self.server
        app = self.app or "no app yet (give APP on the command line, or app = ... in the file)"
        where = ", ".join(
            f"{bind} (an inherited socket)" if bind.fd is not None else f"http://{bind}{self.http.endpoint}"
            for bind in server.binds
        )
        workers = f"{server.workers} worker{'s' if server.workers != 1 else ''}"
        pinned = ", each pinned to a CPU," if server.pin_workers else ""
        admin = f"admin listener on {server.admin}" if server.admin else "no admin listener"
        overflow = "wait in the kernel backlog" if server.accept_overflow == "backlog" else "get 503"
        sources = ", ".join(sorted(set(self.origins.values())))
        provenance = f"Set by {sources}; the rest are defaults." if sources else "Every value is a default."
        return (
            f"Serves {app} with {workers}{pinned} at {where}; {admin}. "
            f"At most {server.max_connections} connections ({server.max_connections_per_worker} per worker, "
            f"{server.max_inflight_per_worker} requests in flight per worker); more {overflow}. "
            f"Request bodies up to {_size(self.http.max_body_size)}, heads up to "
            f"{_size(self.http.max_header_size)}; SIGTERM drains for up to {server.graceful_timeout:g} s; "
            f"log level {server.log_level}. {provenance}"
        )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return msgspec.json.encode(value).decode()  # JSON strings and string arrays are valid TOML


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"
