"""mocopr behind real reverse proxies, set up from the recipes in deploy/ with only their ports
filled in: the official SDK client through nginx and HAProxy in both eras; the 421 that a proxy
which does not pass the Host on gets, and what it says; whose address the node believes, from
the forwarding headers (the address module alone, then through nginx)."""

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import trio
from mcp import Client, MCPError
from mcp.types import ResourceUpdatedNotification

from mocopr.config import ConfigError, load_config
from mocopr.transport.forwarded import client_address, parse_networks
from mocopr.transport.security import FirstSeen, HostGuard
from tests.http_server import ROOT, Server, running_server
from tests.raw_http import RawConnection, Response, post_head

pytestmark = pytest.mark.timeout(120)

NGINX_RECIPE = ROOT / "deploy" / "nginx.conf"
HAPROXY_RECIPE = ROOT / "deploy" / "haproxy.cfg"
HOST_LINE = "proxy_set_header Host $host:$server_port;"
#: Where the proxies connect from: the node believes their X-Forwarded-For.
TRUSTED = "127.0.0.1"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
#: The main context around the recipe, which belongs in nginx's http block: everything nginx
#: writes stays in the test's folder, and nginx stays in the foreground, where it is stopped.
NGINX_MAIN = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/mocopr.conf;
}}
"""
#: A request's method and answer's status in each proxy's log: nginx's "combined" format, and
#: HAProxy's httplog (the status comes first there).
NGINX_LOGGED = re.compile(r'"(?P<method>[A-Z]+) /mcp HTTP/1\.1" (?P<status>\d{3}) ')
HAPROXY_LOGGED = re.compile(r' (?P<status>\d{3}) .*"(?P<method>[A-Z]+) /mcp HTTP/1\.1"')


def program(name: str, package: str) -> str:
    """The path of a proxy's program; a clear failure, not a skip, when it is missing."""
    found = shutil.which(name, path=os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin")))
    if found is None:
        pytest.fail(
            f"{name} is not installed: `make test` installs it as root (Debian: apt-get install {package})"
        )
    return found


def free_port() -> int:
    """A port of 127.0.0.1 that is free now: neither proxy can say which one it took."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill(recipe: str, listen: int, upstream: int) -> str:
    filled = recipe.replace("{{LISTEN}}", f"127.0.0.1:{listen}")
    filled = filled.replace("{{UPSTREAM}}", f"127.0.0.1:{upstream}")
    assert "{{" not in filled, "the recipe has a placeholder this test does not know"
    return filled


@dataclass
class Proxy:
    port: int
    #: Where the proxy logs each request it passed on.
    log: Path
    logged: re.Pattern[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def requests(self) -> list[tuple[str, int]]:
        """The method and status of every request the proxy has logged so far."""
        text = self.log.read_text() if self.log.exists() else ""
        return [(found["method"], int(found["status"])) for found in self.logged.finditer(text)]


@contextmanager
def running(argv: list[str], port: int, output: Path) -> Iterator[None]:
    """Run a proxy in the foreground until the block ends, once it accepts connections on
    ``port``; then stop it, and its children with it."""
    with output.open("w") as sink:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    pytest.fail(f"{argv[0]} exited with {process.returncode}:\n{output.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"{argv[0]} does not accept on port {port}:\n{output.read_text()}")
                    time.sleep(0.05)
            yield
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def nginx(folder: Path, upstream: int, recipe: str | None = None) -> Iterator[Proxy]:
    """nginx with ``recipe`` (deploy/nginx.conf unless given) in front of the node at ``upstream``."""
    port = free_port()
    (folder / "mocopr.conf").write_text(fill(recipe or NGINX_RECIPE.read_text(), port, upstream))
    (folder / "nginx.conf").write_text(NGINX_MAIN.format(folder=folder))
    argv = [program("nginx", "nginx-light"), "-p", str(folder), "-c", str(folder / "nginx.conf")]
    with running([*argv, "-e", str(folder / "error.log")], port, folder / "output.log"):
        yield Proxy(port, folder / "access.log", NGINX_LOGGED)


@contextmanager
def haproxy(folder: Path, upstream: int) -> Iterator[Proxy]:
    """HAProxy with deploy/haproxy.cfg in front of the node at ``upstream``; it logs to stdout."""
    port = free_port()
    config = folder / "haproxy.cfg"
    config.write_text(fill(HAPROXY_RECIPE.read_text(), port, upstream))
    executable = program("haproxy", "haproxy")
    checked = subprocess.run([executable, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with running([executable, "-db", "-f", str(config)], port, folder / "output.log"):
        yield Proxy(port, folder / "output.log", HAPROXY_LOGGED)


PROXIES = {"nginx": nginx, "haproxy": haproxy}


@pytest.fixture(scope="module")
def node() -> Iterator[Server]:
    """One mocopr node (one worker, so that each refusal is logged by one process), trusting
    proxies on 127.0.0.1 to say who the client is."""
    with running_server(
        "examples/everything.py:app", "--workers", "1", env={"MOCOPR_HTTP_TRUSTED_PROXIES": TRUSTED}
    ) as server:
        yield server


async def wait_until(predicate, what: str, timeout: float = 20):
    """Poll ``predicate`` until it returns something true; a log is written a moment after the
    answer it records."""
    with trio.move_on_after(timeout):
        while not (value := predicate()):
            await trio.sleep(0.05)
        return value
    raise AssertionError(what)


async def post_init(port: int, host: str, *extra: str) -> Response:
    """An ``initialize`` POST with this Host header and ``extra`` header lines."""
    body = msgspec.json.encode(INIT)
    connection = await RawConnection.open(port)
    await connection.send(post_head(f"Content-Length: {len(body)}", *extra, host=host) + body)
    with trio.fail_after(20):
        response = await connection.read_response()
    await connection.aclose()
    return response


def lines_with(server: Server, text: str) -> list[str]:
    return [line for line in list(server.log) if text in line]


# -- the official client through each proxy ---------------------------------------------------


@pytest.mark.parametrize("kind", PROXIES)
async def test_legacy_client_through_the_proxy(node, tmp_path, kind):
    updates = trio.Event()

    async def on_message(message):
        if isinstance(message, ResourceUpdatedNotification):
            updates.set()

    progress = []

    async def on_progress(value, total, message):
        progress.append(value)

    with PROXIES[kind](tmp_path, node.port) as proxy:
        async with Client(proxy.url, mode="legacy", cache=None, message_handler=on_message) as c:
            assert c.protocol_version == "2025-11-25"
            assert "add" in [tool.name for tool in (await c.list_tools()).tools]
            assert (await c.call_tool("add", {"a": 40, "b": 2})).structured_content == {"result": 42}
            await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert progress == [0, 50, 100]  # an SSE answer, event by event
            with pytest.warns(Warning):
                await c.subscribe_resource("test://watched-resource")
            # An update reaches a subscriber on the GET stream only; until that stream is open
            # there is no one to send it to, so trigger until one arrives.
            with trio.fail_after(20):
                while not updates.is_set():
                    await c.call_tool("test_trigger_resource_update", {})
                    with trio.move_on_after(0.2):
                        await updates.wait()
        # Leaving the block sends DELETE, which ends the session.
        await wait_until(
            lambda: {("GET", 200), ("DELETE", 200)} <= set(proxy.requests()),
            "the proxy logged no GET stream and DELETE",
        )
        assert ("POST", 200) in proxy.requests()


@pytest.mark.parametrize("kind", PROXIES)
async def test_modern_client_through_the_proxy(node, tmp_path, kind):
    with PROXIES[kind](tmp_path, node.port) as proxy:
        async with Client(proxy.url, mode="auto", cache=None) as c:
            assert c.protocol_version == "2026-07-28"
            assert "add" in [tool.name for tool in (await c.list_tools()).tools]
            assert (await c.call_tool("add", {"a": 1, "b": 2})).structured_content == {"result": 3}
            # The modern era's stream: one long-lived SSE answer to subscriptions/listen.
            async with c.listen(tools_list_changed=True) as subscription:
                await c.call_tool("test_trigger_tool_change", {})
                with trio.fail_after(20):
                    event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        assert await wait_until(lambda: ("POST", 200) in proxy.requests(), "the proxy logged no POST")


# -- a proxy that does not pass the Host on ---------------------------------------------------


async def test_nginx_default_host_gets_a_421_that_names_the_fix(node, tmp_path):
    recipe = NGINX_RECIPE.read_text()
    assert HOST_LINE in recipe
    with nginx(tmp_path, node.port, recipe.replace(HOST_LINE, "")) as proxy:
        refused = await post_init(proxy.port, f"127.0.0.1:{proxy.port}")
        assert refused.status == 421
        message = refused.json()["error"]["message"]
        # nginx's default Host is the upstream's name, "mocopr".
        assert "Host 'mocopr' is not allowed" in message
        assert "localhost, 127.0.0.1 or [::1]" in message
        assert HOST_LINE in message and "http.allowed_hosts" in message
        with (
            trio.fail_after(30),
            pytest.RaisesGroup(
                pytest.RaisesExc(MCPError, match=re.escape(HOST_LINE)), flatten_subgroups=True
            ),
        ):
            async with Client(proxy.url, mode="legacy", cache=None):
                pass
    # A refusal sent afterwards, straight to the node, marks how far the log has got: by then
    # any second warning about 'mocopr' would be there.
    assert (await post_init(node.port, "marker.example")).status == 421
    await wait_until(lambda: lines_with(node, "Host 'marker.example'"), "no warning for the marker")
    [warning] = lines_with(node, "Host 'mocopr'")
    assert "WARNING" in warning and "421 for a request from 127.0.0.1" in warning
    assert HOST_LINE in warning and "http.allowed_hosts" in warning


# -- whose address the node believes ----------------------------------------------------------


async def test_the_node_logs_the_client_that_nginx_names(node, tmp_path):
    with nginx(tmp_path, node.port) as proxy:
        assert (await post_init(proxy.port, "direct.example")).status == 421
        forwarded = await post_init(proxy.port, "forwarded.example", "X-Forwarded-For: 198.51.100.7")
        assert forwarded.status == 421
    [direct] = await wait_until(lambda: lines_with(node, "Host 'direct.example:"), "no warning")
    [relayed] = await wait_until(lambda: lines_with(node, "Host 'forwarded.example:"), "no warning")
    # nginx appends the address it sees (127.0.0.1, trusted like itself) to the client's list.
    assert "from 127.0.0.1:" in direct
    assert "from 198.51.100.7:" in relayed


async def test_refusals_are_logged_once_per_value_and_headers_untrusted_by_default(serve, caplog):
    port = await serve()
    caplog.set_level(logging.WARNING, logger="mocopr.http")
    spoofed = "X-Forwarded-For: 198.51.100.7"
    for host in ("one.example", "one.example", "two.example"):
        assert (await post_init(port, host, spoofed)).status == 421
    for _ in range(2):
        assert (await post_init(port, "localhost", "Origin: http://evil.example")).status == 403
    warnings = [record.getMessage() for record in caplog.records if record.name == "mocopr.http"]
    assert [line.split(":")[0] for line in warnings] == [
        "421 for a request from 127.0.0.1",
        "421 for a request from 127.0.0.1",
        "403 for a request from 127.0.0.1",
    ]
    assert "'one.example'" in warnings[0] and "'two.example'" in warnings[1]
    assert "Origin 'http://evil.example' is not allowed" in warnings[2]
    assert "http.allowed_origins" in warnings[2]


# -- the messages -----------------------------------------------------------------------------


def test_host_refusal_names_the_allowed_hosts_and_the_host_to_add():
    listed = HostGuard("0.0.0.0", ("mcp.example.com", "api.example.com"), ())
    message = listed.host_refusal("upstream:8000")
    assert message.startswith("Misdirected request: Host 'upstream:8000' is not allowed; ")
    assert "allowed: api.example.com, mcp.example.com (http.allowed_hosts)." in message
    assert "add 'upstream' to http.allowed_hosts (MOCOPR_HTTP_ALLOWED_HOSTS)" in message
    assert HOST_LINE in message
    missing = listed.host_refusal(None)
    assert "a request needs a Host header" in missing and "add the name clients use" in missing
    long = listed.host_refusal("x" * 5000)
    assert len(long) < 1000 and "'" + "x" * 100 + "...'" in long


def test_origin_refusal_names_the_allowed_origins():
    guard = HostGuard("127.0.0.1", (), ("https://app.example.com",))
    message = guard.origin_refusal("https://other.example/")
    assert message.startswith("Forbidden: Origin 'https://other.example/' is not allowed; ")
    assert "allowed: https://app.example.com (http.allowed_origins)" in message
    assert "add 'https://other.example' to http.allowed_origins" in message


def test_first_seen_is_bounded():
    seen = FirstSeen(size=2)
    assert [seen.first(value) for value in ("a", "a", None, None, "c", "a")] == [
        True,
        False,
        True,
        False,
        False,  # full: no more values are remembered, or logged
        False,
    ]


# -- the address module -----------------------------------------------------------------------

PROXY_NETS = parse_networks(["10.0.0.0/8", "::1", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # Nobody vouches: the peer, whatever the headers say.
        ("203.0.113.5", {"x-forwarded-for": "198.51.100.7"}, "203.0.113.5"),
        ("10.0.0.1", {}, "10.0.0.1"),
        (None, {"x-forwarded-for": "198.51.100.7"}, None),
        # A trusted proxy names the client; hops are walked from the right past trusted ones,
        # so what the client wrote to the left of its own address is ignored.
        ("10.0.0.1", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7"),
        ("10.0.0.1", {"x-forwarded-for": "203.0.113.9, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"),
        ("10.0.0.1", {"x-forwarded-for": "10.1.2.3,10.0.0.2"}, "10.1.2.3"),  # every hop trusted
        ("10.0.0.1", {"x-forwarded-for": "198.51.100.7:5555"}, "198.51.100.7"),
        # Malformed or unknown: the peer.
        ("10.0.0.1", {"x-forwarded-for": "not-an-address"}, "10.0.0.1"),
        ("10.0.0.1", {"x-forwarded-for": "198.51.100.7, garbage"}, "10.0.0.1"),
        ("10.0.0.1", {"x-forwarded-for": "198.51.100.7,,10.0.0.2"}, "10.0.0.1"),
        ("10.0.0.1", {"x-forwarded-for": ""}, "10.0.0.1"),
        ("10.0.0.1", {"x-forwarded-for": "[2001:db8::7"}, "10.0.0.1"),
        # IPv6, bracketed or not, with ports; an IPv4 peer on a dual-stack socket.
        ("::1", {"x-forwarded-for": "2001:db8::7"}, "2001:db8::7"),
        ("::1", {"x-forwarded-for": "[2001:db8::7]:443, 2001:db8:ffff::1"}, "2001:db8::7"),
        ("::ffff:10.0.0.1", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7"),
        ("::ffff:203.0.113.5", {"x-forwarded-for": "198.51.100.7"}, "::ffff:203.0.113.5"),
        # RFC 7239, quoting and all.
        ("10.0.0.1", {"forwarded": "for=198.51.100.7;proto=https;by=10.0.0.1"}, "198.51.100.7"),
        ("10.0.0.1", {"forwarded": 'for=203.0.113.9, For="[2001:db8::7]:4711"'}, "2001:db8::7"),
        ("10.0.0.1", {"forwarded": 'for=198.51.100.7, for="10.0.0.2"; proto=http'}, "198.51.100.7"),
        ("10.0.0.1", {"forwarded": 'for="198.51.100.\\7"'}, "198.51.100.7"),
        ("10.0.0.1", {"forwarded": "for=[2001:db8::7]"}, "10.0.0.1"),  # unquoted brackets
        ("10.0.0.1", {"forwarded": 'for="198.51.100.7'}, "10.0.0.1"),  # unterminated
        ("10.0.0.1", {"forwarded": "for=198.51.100.7, proto=https"}, "10.0.0.1"),  # a hop without for
        ("10.0.0.1", {"forwarded": "for=unknown"}, "10.0.0.1"),
        ("10.0.0.1", {"forwarded": "for=_hidden"}, "10.0.0.1"),
        # X-Forwarded-For, which the common proxies append to, wins over a client's Forwarded.
        ("10.0.0.1", {"x-forwarded-for": "198.51.100.7", "forwarded": "for=203.0.113.9"}, "198.51.100.7"),
    ],
)
def test_client_address(peer, headers, client):
    assert client_address(peer, headers, PROXY_NETS) == client


def test_no_trusted_proxies_believes_no_header():
    assert client_address("10.0.0.1", {"x-forwarded-for": "198.51.100.7"}, ()) == "10.0.0.1"


def test_trusted_proxies_in_the_configuration():
    config = load_config(env={"MOCOPR_HTTP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"})
    assert config.http.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert config.http_settings().trusted_proxies == config.http.trusted_proxies
    with pytest.raises(ConfigError) as bad:
        load_config(env={"MOCOPR_HTTP_TRUSTED_PROXIES": "10.0.0.1/8,nginx"})
    assert str(bad.value) == (
        "config error: http.trusted_proxies (from MOCOPR_HTTP_TRUSTED_PROXIES): "
        "'10.0.0.1/8' is not an IP address or network: 10.0.0.1/8 has host bits set"
    )
    with pytest.raises(
        ConfigError, match=r"http.trusted_proxies \(from --trusted-proxies\): expected a list"
    ):
        load_config(env={}, flags={"http.trusted_proxies": 3})
