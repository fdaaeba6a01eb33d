"""Host and Origin validation: the defence against DNS rebinding that the MCP
transport requires. A bad Origin gets 403, a bad Host 421.

A refusal says why, in the answer and in the log: a reverse proxy that does not
pass the client's Host on (nginx's default sends the upstream's name) is refused
on every request, and the operator has only the message to go by.
"""

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "::1", "[::1]"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, str]:
    """``host[:port]`` into its name and port (``[v6]:port`` kept bracketed)."""
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest.removeprefix(":")
    name, _, port = value.partition(":")
    return name, port


#: How much of a refused value a message shows: enough to recognise it, not a 16 KiB header.
_SHOWN = 100
_LOOPBACK_NAMES = "localhost, 127.0.0.1 or [::1] on any port"


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


class FirstSeen:
    """The values seen so far, up to a bound: a refusal is logged the first time its value comes
    by, and once the bound is reached no more are, so that a client cycling through made-up
    values grows neither the memory nor the log."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._seen: set[str | None] = set()

    def first(self, value: str | None) -> bool:
        if value in self._seen or len(self._seen) >= self._size:
            return False
        self._seen.add(value)
        return True


class HostGuard:
    """Decides whether a request's Host and Origin headers are acceptable.

    Verdicts are remembered (a client sends the same Host and Origin on every
    request), up to a bound so that a client cycling through made-up values cannot
    grow the memo.
    """

    MEMO_SIZE = 256

    def __init__(
        self, bind_host: str, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...]
    ) -> None:
        bound_to_loopback = _is_loopback(bind_host)
        self._any_host = "*" in allowed_hosts or (not allowed_hosts and not bound_to_loopback)
        self._hosts = {h.lower() for h in allowed_hosts}
        self._loopback_only = not allowed_hosts and bound_to_loopback
        self._any_origin = "*" in allowed_origins
        self._origins = {o.lower().rstrip("/") for o in allowed_origins}
        self._host_memo: dict[str, bool] = {}
        self._origin_memo: dict[str, bool] = {}

    def host_ok(self, host: str | None) -> bool:
        if self._any_host:
            return True
        if not host:
            return False
        return self._remembered(self._host_memo, host, self._judge_host)

    def _remembered(self, memo: dict[str, bool], value: str, judge: Callable[[str], bool]) -> bool:
        verdict = memo.get(value)
        if verdict is None:
            verdict = judge(value)
            if len(memo) < self.MEMO_SIZE:
                memo[value] = verdict
        return verdict

    def _judge_host(self, host: str) -> bool:
        host = host.lower()
        if host in self._hosts:
            return True
        name, _ = _split_host(host)
        if self._loopback_only:
            return _is_loopback(name)
        return name in self._hosts

    def host_refusal(self, host: str | None) -> str:
        """Why ``host`` (a Host header, None if there is none) is refused, and the two ways to
        let it in: a proxy that passes the client's Host on, or the name in ``allowed_hosts``."""
        if self._loopback_only:
            allowed = f"{_LOOPBACK_NAMES} (bound to loopback, http.allowed_hosts is empty)"
        else:
            allowed = ", ".join(sorted(self._hosts)) + " (http.allowed_hosts)"
        seen = f"Host {_shown(host)} is not allowed" if host else "a request needs a Host header"
        name = _shown(_split_host(host)[0]) if host else "the name clients use"
        return (
            f"Misdirected request: {seen}; allowed: {allowed}. "
            "Behind a reverse proxy, have it pass the client's Host on "
            "(nginx: proxy_set_header Host $host:$server_port;), "
            f"or add {name} to http.allowed_hosts (MOCOPR_HTTP_ALLOWED_HOSTS)."
        )

    def origin_ok(self, origin: str | None) -> bool:
        if origin is None or self._any_origin:
            return True
        return self._remembered(self._origin_memo, origin, self._judge_origin)

    def _judge_origin(self, origin: str) -> bool:
        origin = origin.lower().rstrip("/")
        if origin in self._origins:
            return True
        if self._origins:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and _is_loopback(parts.hostname or "")

    def origin_refusal(self, origin: str) -> str:
        """Why ``origin`` is refused, and how to let a page from there in."""
        if self._origins:
            allowed = ", ".join(sorted(self._origins)) + " (http.allowed_origins)"
        else:
            allowed = f"http or https on {_LOOPBACK_NAMES} (http.allowed_origins is empty)"
        return (
            f"Forbidden: Origin {_shown(origin)} is not allowed; allowed: {allowed}. "
            f"To serve pages from there, add {_shown(origin.rstrip('/'))} to http.allowed_origins "
            "(MOCOPR_HTTP_ALLOWED_ORIGINS)."
        )
