"""Host and Origin validation: the defence against DNS rebinding that the MCP
transport requires. A bad Origin gets 403, a bad Host 421."""

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
