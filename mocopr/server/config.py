"""The configuration of ``mocopr serve`` as a multiprocess service.

Four sources, each overriding the one before: the defaults here, a TOML file
(``--config FILE``), ``MOCOPR_*`` environment variables, and command-line flags.
A service is configured once and then runs unattended, so every value is checked
before anything starts, and every mistake is one line naming the key, the source
it came from and what was expected. Unknown keys are mistakes too: they are
usually typos, and a typo that is silently ignored leaves a default in force
that the operator believes they changed.

Environment variables are named ``MOCOPR_`` + section + key, upper-cased
(``MOCOPR_SERVER_WORKERS``, ``MOCOPR_HTTP_MAX_BODY_SIZE``, ``MOCOPR_APP``); list
values there are comma-separated. ``MOCOPR_STATE_KEY``, which an app reads on its
own, also sets ``server.state_key``. Other ``MOCOPR_*`` names are the runtime's
business and are left alone, except those that look like a misplaced key
(``MOCOPR_WORKERS``) or an unknown key of a section (``MOCOPR_SERVER_WROKERS``).
"""

import dataclasses
import difflib
import ipaddress
import math
import os
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args, get_origin, get_type_hints

import msgspec

from mocopr.transport.http_settings import HttpSettings
from mocopr.transport.stdio import DEFAULT_MAX_MESSAGE_SIZE

ENV_PREFIX = "MOCOPR_"

AcceptOverflow = Literal["backlog", "reject"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class ConfigError(Exception):
    """The configuration is invalid. ``errors`` holds one line per problem, each naming
    the key, where its value came from and why it is wrong; the message is those lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, which a container, cgroup
    or ``taskset`` may have narrowed, rather than the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# -- listening addresses -------------------------------------------------------------------


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
            raise ValueError(f"fd://N takes a file descriptor number, got {_show(value)}")
        return Bind(fd=int(number))
    host, sep, port = text.rpartition(":")
    if not sep or not host or any(c.isspace() for c in host):
        raise ValueError(f"expected HOST:PORT, [IPv6]:PORT or fd://N, got {_show(value)}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address, in {_show(value)}") from None
    elif ":" in host or "[" in host or "]" in host:
        raise ValueError(f"an IPv6 address goes in brackets, as [::1]:8000; got {_show(value)}")
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"expected a port from 0 to 65535 after the last colon, got {_show(value)}")
    return Bind(host, int(port))


# -- the sections --------------------------------------------------------------------------


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


_SECTIONS: dict[str, type] = {"server": ServerConfig, "http": HttpConfig, "stdio": StdioConfig}
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
        problem = f"fd://{fd} is not a listening TCP socket in this process"
        error = ConfigError([_line("server.bind", self.origins.get("server.bind", "default"), problem)])
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
        for name in _SECTIONS:
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


# -- values: checking and converting -------------------------------------------------------

#: Checks one raw value and returns it typed, or raises ValueError with the reason.
#: ``textual`` is true for environment variables and flags, whose values may be strings
#: standing for numbers, booleans and lists; TOML values must already have the right type.
Parser = Callable[[Any, bool], Any]


def _show(value: object) -> str:
    """A value as the user wrote it, JSON-quoted so that a string is visibly a string."""
    try:
        shown = msgspec.json.encode(value).decode()
    except TypeError:
        shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _expected(what: str, value: object) -> ValueError:
    return ValueError(f"expected {what}, got {_show(value)}")


def _from_text(convert: Callable[[str], Any], value: Any, textual: bool) -> Any:
    """``convert(value)`` for a textual string, else ``value`` unchanged for the type check."""
    if textual and isinstance(value, str):
        try:
            return convert(value.strip())
        except ValueError:
            return value
    return value


def _integer(minimum: int) -> Parser:
    expected = f"an integer >= {minimum}"

    def parse(value: Any, textual: bool) -> int:
        number = _from_text(int, value, textual)
        if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
            raise _expected(expected, value)
        return number

    return parse


def _number(minimum: float, *, inclusive: bool) -> Parser:
    expected = f"a number {'>=' if inclusive else '>'} {minimum:g}"

    def parse(value: Any, textual: bool) -> float:
        number = _from_text(float, value, textual)
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
            or number < minimum
            or (number == minimum and not inclusive)
        ):
            raise _expected(expected, value)
        return float(number)

    return parse


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _boolean(value: Any, textual: bool) -> bool:
    if textual and isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def _choice(options: tuple[str, ...]) -> Parser:
    expected = "one of " + ", ".join(_show(option) for option in options)

    def parse(value: Any, textual: bool) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise _expected(expected, value)
        return value.strip().lower()

    return parse


def _string(value: Any, textual: bool) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def _strings(value: Any, textual: bool) -> tuple[str, ...]:
    """A list of strings; a single string is split on commas, as environment variables must be."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _expected("a list of strings", value)


def _binds(value: Any, textual: bool) -> tuple[str, ...]:
    try:
        texts = _strings(value, textual)
    except ValueError:
        raise _expected("an address or a list of them (HOST:PORT, [IPv6]:PORT, fd://N)", value) from None
    if not texts:
        raise _expected("at least one address", value)
    binds = tuple(str(parse_bind(text)) for text in texts)
    for bind in binds:
        if binds.count(bind) > 1:
            raise ValueError(f"{bind} is listed twice")
    return binds


def _address_or_off(value: Any, textual: bool) -> str:
    text = _string(value, textual).strip()
    return str(parse_bind(text)) if text else ""


def _hex_key(value: Any, textual: bool) -> str:
    expected = 'hex digits of a key of at least 16 bytes (or "" for a new key each start)'
    text = _string(value, textual).strip().lower()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"expected {expected}, got a value that is not hex") from None
    if text and len(key) < 16:
        raise ValueError(f"expected {expected}, got a {len(key)}-byte key")
    return text


def _app_spec(value: Any, textual: bool) -> str:
    text = _string(value, textual).strip()
    target, _, attribute = text.rpartition(":")
    if text and (not target or not attribute):
        raise _expected("module:attribute or path/to/file.py:attribute", value)
    return text


def _endpoint(value: Any, textual: bool) -> str:
    text = _string(value, textual)
    if not text.startswith("/"):
        raise _expected("a path starting with /", value)
    return text


#: Keys whose values need more than their type says.
_SPECIAL: dict[str, Parser] = {
    "server.bind": _binds,
    "server.workers": _integer(0),
    "server.admin": _address_or_off,
    "server.graceful_timeout": _number(0, inclusive=True),
    "server.crash_loop_restarts": _integer(0),
    "server.ring_capacity": _integer(4096),
    "server.state_key": _hex_key,
    "http.endpoint": _endpoint,
}


def _parser_for(annotation: Any) -> Parser:
    """By type: counts and sizes are at least 1, durations more than 0."""
    if annotation is bool:
        return _boolean
    if annotation is int:
        return _integer(1)
    if annotation is float:
        return _number(0, inclusive=False)
    if annotation is str:
        return _string
    if get_origin(annotation) is Literal:
        return _choice(get_args(annotation))
    if annotation == tuple[str, ...]:
        return _strings
    raise TypeError(f"no configuration parser for the type {annotation!r}")


def _build_parsers() -> dict[str, Parser]:
    parsers: dict[str, Parser] = {"app": _app_spec}
    for section, cls in _SECTIONS.items():
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            parsers[key] = _SPECIAL.get(key) or _parser_for(hints[f.name])
    return parsers


#: Every key, dotted (``server.workers``), with its parser.
PARSERS = _build_parsers()


def env_name(key: str) -> str:
    """The environment variable for a dotted key: ``server.workers`` -> ``MOCOPR_SERVER_WORKERS``."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def flag_name(key: str) -> str:
    """How the command line spells a dotted key, to say where a value came from."""
    return "the APP argument" if key == "app" else "--" + key.rpartition(".")[2].replace("_", "-")


_ENV_KEYS = {env_name(key): key for key in PARSERS}
#: Names that mean the same key; the canonical name wins when both are set.
_ENV_ALIASES = {"MOCOPR_STATE_KEY": "server.state_key"}


# -- loading -------------------------------------------------------------------------------


class _Raw(NamedTuple):
    value: Any
    source: str
    textual: bool


def _line(key: str, source: str, reason: str) -> str:
    return f"config error: {key} (from {source}): {reason}"


def _suggest(key: str) -> str | None:
    """The key the user probably meant: the same name in another section, or a close spelling."""
    name = key.rpartition(".")[2]
    for known in PARSERS:
        if known.rpartition(".")[2] == name and known != key:
            return known
    close = difflib.get_close_matches(key, list(PARSERS), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(key: str, source: str) -> str:
    if key in ("http.host", "http.port"):
        return _line(key, source, "unknown key; the host and port come from server.bind")
    if key in PARSERS:  # a quoted "section.key" at the top level of the file
        section, _, name = key.partition(".")
        return _line(key, source, f"unknown key at the top level; write {name} = ... under [{section}]")
    suggestion = _suggest(key)
    return _line(key, source, "unknown key" + (f"; did you mean {suggestion}?" if suggestion else ""))


def _read_file(path: str, errors: list[str]) -> dict[str, _Raw]:
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise ConfigError([f"config error: cannot read {path}: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"config error: {path} is not valid TOML: {exc}"]) from None
    layer: dict[str, _Raw] = {}
    for name, value in document.items():
        if name in _SECTIONS:
            if not isinstance(value, dict):
                errors.append(_line(name, path, f"expected a table [{name}], got {_show(value)}"))
                continue
            for key, item in value.items():
                dotted = f"{name}.{key}"
                if dotted in PARSERS:
                    layer[dotted] = _Raw(item, path, False)
                else:
                    errors.append(_unknown(dotted, path))
        elif name == "app":
            layer[name] = _Raw(value, path, False)
        elif isinstance(value, dict):
            close = difflib.get_close_matches(name, list(_SECTIONS), n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else f"; the sections are {', '.join(_SECTIONS)}"
            errors.append(_line(f"[{name}]", path, "unknown section" + hint))
        else:
            errors.append(_unknown(name, path))
    return layer


def _read_env(env: Mapping[str, str], errors: list[str]) -> dict[str, _Raw]:
    layer: dict[str, _Raw] = {}
    for name in sorted(env, key=lambda name: name not in _ENV_ALIASES):  # aliases first, to be overridden
        if not name.startswith(ENV_PREFIX):
            continue
        key = _ENV_KEYS.get(name) or _ENV_ALIASES.get(name)
        if key is not None:
            layer[key] = _Raw(env[name], name, True)
            continue
        rest = name.removeprefix(ENV_PREFIX).lower()
        section, _, tail = rest.partition("_")
        if section in _SECTIONS or any(known.rpartition(".")[2] == rest for known in PARSERS):
            suggestion = _suggest(f"{section}.{tail}" if section in _SECTIONS else rest)
            hint = f"; did you mean {env_name(suggestion)}?" if suggestion else ""
            errors.append(f"config error: {name} (environment variable): unknown setting{hint}")
    return layer


def _read_flags(flags: Mapping[str, Any], errors: list[str]) -> dict[str, _Raw]:
    layer: dict[str, _Raw] = {}
    for key, value in flags.items():
        if value is None:
            continue
        if key in PARSERS:
            layer[key] = _Raw(value, flag_name(key), True)
        else:
            errors.append(_unknown(key, flag_name(key)))
    return layer


def load_config(
    path: str | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """The configuration from defaults < the TOML file at ``path`` < ``env`` (os.environ if
    None) < ``flags``, dotted keys the user passed on the command line (None values are
    ignored, so argparse defaults of None may be passed through).

    Every value given is checked, including ones a higher source overrides: a broken
    file is reported now, not on the day the override goes away. All problems are
    reported together in one ConfigError.
    """
    errors: list[str] = []
    layers = [_read_file(str(path), errors)] if path is not None else []
    layers.append(_read_env(os.environ if env is None else env, errors))
    layers.append(_read_flags(flags or {}, errors))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        for key, raw in layer.items():
            try:
                values[key] = PARSERS[key](raw.value, raw.textual)
            except ValueError as exc:
                errors.append(_line(key, raw.source, str(exc)))
            else:
                origins[key] = raw.source
    if errors:
        raise ConfigError(errors)
    if values.get("server.workers") == 0:
        values["server.workers"] = usable_cpus()
    sections = {name: cls(**_section_values(values, name)) for name, cls in _SECTIONS.items()}
    config = Config(app=values.get("app", ""), origins=origins, **sections)
    _check_together(config)
    return config


def _section_values(values: dict[str, Any], section: str) -> dict[str, Any]:
    prefix = section + "."
    return {key.removeprefix(prefix): value for key, value in values.items() if key.startswith(prefix)}


def _check_together(config: Config) -> None:
    """Rules between keys. The key blamed is the one the user set, so the message
    points at the line to change rather than at a default."""
    server, origins, errors = config.server, config.origins, []

    def blame(first: str, second: str) -> str:
        return first if first in origins or second not in origins else second

    if server.heartbeat_timeout <= server.heartbeat_interval:
        key = blame("server.heartbeat_timeout", "server.heartbeat_interval")
        reason = (
            f"heartbeat_timeout ({server.heartbeat_timeout:g} s) must be longer than "
            f"heartbeat_interval ({server.heartbeat_interval:g} s), or every worker looks hung"
        )
        errors.append(_line(key, origins.get(key, "default"), reason))
    if server.admin and server.admin in server.bind and not server.admin.endswith(":0"):
        key = blame("server.admin", "server.bind")
        reason = f"the admin listener cannot share {server.admin} with server.bind"
        errors.append(_line(key, origins.get(key, "default"), reason))
    if errors:
        raise ConfigError(errors)


def check_config(path: str, env: Mapping[str, str] | None = None) -> str:
    """``mocopr check-config FILE``: one paragraph on what the file (with the environment,
    as ``mocopr serve`` would see it) configures; ConfigError if it is not valid."""
    return f"{path} is valid. " + load_config(path, env=env).describe()


# -- printing ------------------------------------------------------------------------------


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
