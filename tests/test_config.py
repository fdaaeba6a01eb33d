"""The service configuration: four sources in order of precedence, and one clear line,
naming the key and its source, for every mistake."""

import dataclasses
import os
import socket
import tomllib
from pathlib import Path

import pytest

from mocopr.config import (
    PARSERS,
    Bind,
    Config,
    ConfigError,
    check_config,
    load_config,
    parse_bind,
    usable_cpus,
)
from mocopr.transport.http_settings import HttpSettings

SAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "mocopr.toml"


@pytest.fixture
def write(tmp_path: Path):
    def write(text: str) -> str:
        path = tmp_path / "mocopr.toml"
        path.write_text(text)
        return str(path)

    return write


def error_of(*args, **kwargs) -> str:
    kwargs.setdefault("env", {})
    with pytest.raises(ConfigError) as caught:
        load_config(*args, **kwargs)
    return str(caught.value)


# -- defaults and precedence ---------------------------------------------------------------


def test_defaults():
    config = load_config(env={})
    assert config.app == ""
    assert config.server.bind == ("127.0.0.1:8000",)
    assert config.server.workers == usable_cpus() >= 1
    assert config.server.admin == "127.0.0.1:8001"
    assert config.server.accept_overflow == "backlog"
    assert config.server.ring_capacity == 1024 * 1024
    assert config.server.pin_workers is True
    assert config.stdio.max_message_size == 16 * 1024 * 1024
    assert config.origins == {}


def test_http_defaults_are_those_of_http_settings():
    names = {f.name for f in dataclasses.fields(HttpSettings)} - {"host", "port"}
    http = load_config(env={}).http
    assert {f.name for f in dataclasses.fields(http)} == names
    assert load_config(env={}).http_settings() == HttpSettings()


def test_each_source_overrides_the_one_before(write):
    path = write(
        """
        app = "file:app"
        [server]
        workers = 3
        backlog = 10
        log_level = "debug"
        [http]
        max_body_size = 1000
        """
    )
    env = {"MOCOPR_SERVER_WORKERS": "5", "MOCOPR_SERVER_BACKLOG": "20", "MOCOPR_APP": "env:app"}
    flags = {"server.workers": 7, "app": "flag:app"}
    config = load_config(path, env=env, flags=flags)
    assert config.app == "flag:app"
    assert config.server.workers == 7  # flag > env > file
    assert config.server.backlog == 20  # env > file
    assert config.server.log_level == "debug"  # file > default
    assert config.http.max_body_size == 1000
    assert config.server.max_connections == 10_000  # default
    assert config.origins["server.workers"] == "--workers"
    assert config.origins["server.backlog"] == "MOCOPR_SERVER_BACKLOG"
    assert config.origins["server.log_level"] == path
    assert "server.max_connections" not in config.origins


def test_environment_values_are_text():
    env = {
        "MOCOPR_SERVER_PIN_WORKERS": "off",
        "MOCOPR_SERVER_GRACEFUL_TIMEOUT": "2.5",
        "MOCOPR_SERVER_BIND": "127.0.0.1:9000, [::1]:9000",
        "MOCOPR_HTTP_ALLOWED_HOSTS": "example.com,api.example.com",
        "MOCOPR_SERVER_LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin",
    }
    config = load_config(env=env)
    assert config.server.pin_workers is False
    assert config.server.graceful_timeout == 2.5
    assert config.server.bind == ("127.0.0.1:9000", "[::1]:9000")
    assert config.http.allowed_hosts == ("example.com", "api.example.com")
    assert config.server.log_level == "warning"


def test_flags_may_be_strings_lists_or_none():
    flags = {"server.workers": "2", "server.bind": ["127.0.0.1:9000", "127.0.0.1:9001"], "server.admin": None}
    config = load_config(env={}, flags=flags)
    assert config.server.workers == 2
    assert config.server.bind == ("127.0.0.1:9000", "127.0.0.1:9001")
    assert config.server.admin == "127.0.0.1:8001"


def test_zero_workers_means_one_per_usable_cpu():
    assert load_config(env={}, flags={"server.workers": 0}).server.workers == usable_cpus()


def test_state_key_from_the_variable_apps_read_the_canonical_name_wins():
    key, other = "ab" * 32, "cd" * 32
    assert load_config(env={"MOCOPR_STATE_KEY": key}).server.state_key == key
    env = {"MOCOPR_STATE_KEY": key, "MOCOPR_SERVER_STATE_KEY": other}
    assert load_config(env=env).server.state_key == other


def test_other_mocopr_variables_are_the_runtimes_own():
    assert load_config(env={"MOCOPR_WORKER_SLOT": "3"}) == load_config(env={})


# -- errors --------------------------------------------------------------------------------


def test_the_example_error(write):
    path = write('[http]\nmax_body_size = "big"\n')
    assert error_of(path) == (
        f'config error: http.max_body_size (from {path}): expected an integer >= 1, got "big"'
    )


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("server.workers", "many", 'expected an integer >= 0, got "many"'),
        ("server.backlog", "0", 'expected an integer >= 1, got "0"'),
        ("server.heartbeat_interval", "-1", 'expected a number > 0, got "-1"'),
        ("server.graceful_timeout", "nan", 'expected a number >= 0, got "nan"'),
        ("server.pin_workers", "maybe", 'expected true or false, got "maybe"'),
        ("server.accept_overflow", "drop", 'expected one of "backlog", "reject", got "drop"'),
        ("server.log_level", "loud", 'expected one of "debug", "info", "warning", "error", "critical"'),
        ("server.ring_capacity", "100", 'expected an integer >= 4096, got "100"'),
        ("server.state_key", "zz", "expected hex digits of a key of at least 16 bytes"),
        ("server.state_key", "abcd", "got a 2-byte key"),
        ("server.bind", "8000", 'expected HOST:PORT, [IPv6]:PORT or fd://N, got "8000"'),
        ("server.bind", "::1:8000", "an IPv6 address goes in brackets"),
        ("server.bind", "[nope]:8000", "'nope' in brackets is not an IPv6 address"),
        ("server.bind", "127.0.0.1:70000", "expected a port from 0 to 65535"),
        ("server.bind", "fd://three", 'fd://N takes a file descriptor number, got "fd://three"'),
        ("server.bind", "127.0.0.1:1,127.0.0.1:1", "127.0.0.1:1 is listed twice"),
        ("server.bind", ",", 'expected at least one address, got ","'),
        ("server.admin", "localhost", 'expected HOST:PORT, [IPv6]:PORT or fd://N, got "localhost"'),
        ("http.endpoint", "mcp", 'expected a path starting with /, got "mcp"'),
        ("http.response_mode", "xml", 'expected one of "auto", "json", "sse", got "xml"'),
        ("app", "myapp", 'expected module:attribute or path/to/file.py:attribute, got "myapp"'),
    ],
)
def test_bad_environment_values_name_the_variable(key, value, reason):
    variable = "MOCOPR_" + key.replace(".", "_").upper()
    message = error_of(env={variable: value})
    assert message.startswith(f"config error: {key} (from {variable}): ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ("[server]\nworkers = 1.5", "server.workers (from {path}): expected an integer >= 0, got 1.5"),
        ('[server]\nworkers = "4"', 'server.workers (from {path}): expected an integer >= 0, got "4"'),
        ("[server]\npin_workers = 1", "server.pin_workers (from {path}): expected true or false, got 1"),
        ("[server]\nbind = [1]", "server.bind (from {path}): expected an address or a list of them"),
        ("[http]\nallowed_hosts = [1, 2]", "http.allowed_hosts (from {path}): expected a list of strings"),
        ("[server]\nmax_connections = true", "server.max_connections (from {path}): expected an integer"),
        ("server = 3", "server (from {path}): expected a table [server], got 3"),
    ],
)
def test_toml_values_must_have_the_right_type(write, toml, line):
    path = write(toml)
    assert error_of(path).startswith("config error: " + line.format(path=path))


def test_bad_flag_names_the_flag():
    assert error_of(flags={"server.workers": -1}) == (
        "config error: server.workers (from --workers): expected an integer >= 0, got -1"
    )
    assert "app (from the APP argument)" in error_of(flags={"app": "nocolon"})


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ("[server]\nwrokers = 2", "server.wrokers (from {path}): unknown key; did you mean server.workers?"),
        (
            "[server]\nmax_body_size = 1",
            "server.max_body_size (from {path}): unknown key; did you mean http.",
        ),
        ("workers = 2", "workers (from {path}): unknown key; did you mean server.workers?"),
        (
            "[http]\nport = 80",
            "http.port (from {path}): unknown key; the host and port come from server.bind",
        ),
        ("[sever]\nworkers = 2", "[sever] (from {path}): unknown section; did you mean [server]?"),
        ("[zzz]\n", "[zzz] (from {path}): unknown section; the sections are server, http, stdio"),
        (
            '"server.workers" = 2',
            "server.workers (from {path}): unknown key at the top level; write workers = ... under [server]",
        ),
    ],
)
def test_unknown_keys_in_the_file(write, toml, line):
    path = write(toml)
    assert error_of(path).startswith("config error: " + line.format(path=path))


def test_unknown_environment_variables_and_flags():
    assert error_of(env={"MOCOPR_SERVER_WROKERS": "2"}) == (
        "config error: MOCOPR_SERVER_WROKERS (environment variable): unknown setting; "
        "did you mean MOCOPR_SERVER_WORKERS?"
    )
    assert error_of(env={"MOCOPR_WORKERS": "2"}) == (
        "config error: MOCOPR_WORKERS (environment variable): unknown setting; "
        "did you mean MOCOPR_SERVER_WORKERS?"
    )
    assert error_of(flags={"server.wrokers": 2}) == (
        "config error: server.wrokers (from --wrokers): unknown key; did you mean server.workers?"
    )


def test_every_problem_is_reported_at_once(write):
    path = write("[server]\nworkers = -1\nbacklog = 0\n")
    lines = error_of(path, env={"MOCOPR_HTTP_MAX_BODY_SIZE": "x"}).splitlines()
    assert [line.split(" (from ")[0] for line in lines] == [
        "config error: server.workers",
        "config error: server.backlog",
        "config error: http.max_body_size",
    ]


def test_an_override_does_not_hide_a_broken_file(write):
    path = write("[server]\nworkers = -1\n")
    assert "server.workers (from " + path in error_of(path, flags={"server.workers": 2})


def test_rules_between_keys_blame_the_key_that_was_set():
    assert error_of(env={"MOCOPR_SERVER_HEARTBEAT_INTERVAL": "20"}).startswith(
        "config error: server.heartbeat_interval (from MOCOPR_SERVER_HEARTBEAT_INTERVAL): "
        "heartbeat_timeout (10 s) must be longer than heartbeat_interval (20 s)"
    )
    assert error_of(flags={"server.heartbeat_timeout": 0.5}).startswith(
        "config error: server.heartbeat_timeout (from --heartbeat-timeout): "
    )
    assert error_of(flags={"server.admin": "127.0.0.1:8000"}) == (
        "config error: server.admin (from --admin): the admin listener cannot share "
        "127.0.0.1:8000 with server.bind"
    )


def test_file_errors(tmp_path: Path, write):
    missing = tmp_path / "missing.toml"
    assert error_of(str(missing)) == f"config error: cannot read {missing}: No such file or directory"
    path = write("[server\n")
    assert error_of(path).startswith(f"config error: {path} is not valid TOML: ")


# -- binds ---------------------------------------------------------------------------------


def test_parse_bind():
    assert parse_bind("127.0.0.1:8000") == Bind("127.0.0.1", 8000)
    assert parse_bind("localhost:0") == Bind("localhost", 0)
    assert parse_bind("[::1]:8000") == Bind("::1", 8000)
    assert parse_bind("fd://3") == Bind(fd=3)
    assert [str(parse_bind(text)) for text in ("[::1]:8000", "fd://3", "0.0.0.0:80")] == [
        "[::1]:8000",
        "fd://3",
        "0.0.0.0:80",
    ]


def test_ipv6_bind_gives_http_settings():
    config = load_config(env={}, flags={"server.bind": "127.0.0.1:9000,[::1]:9001"})
    assert config.server.binds == (Bind("127.0.0.1", 9000), Bind("::1", 9001))
    settings = config.http_settings(1)
    assert (settings.host, settings.port) == ("::1", 9001)
    assert (config.http_settings().host, config.http_settings().port) == ("127.0.0.1", 9000)


def test_fd_bind_is_resolved_through_the_inherited_socket():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        config = load_config(env={}, flags={"server.bind": f"fd://{listener.fileno()}"})
        assert config.server.binds == (Bind(fd=listener.fileno()),)
        settings = config.http_settings()
        assert (settings.host, settings.port) == listener.getsockname()
        os.fstat(listener.fileno())  # the lookup closed its duplicate, not the socket
        resolved = config.with_server(bind=(str(Bind.of_socket(listener)),))
        assert resolved.http_settings() == settings


def test_fd_bind_that_is_not_a_listening_socket_is_an_error():
    with socket.socket() as not_listening:
        config = load_config(env={}, flags={"server.bind": f"fd://{not_listening.fileno()}"})
        with pytest.raises(
            ConfigError, match=r"server.bind \(from --bind\): fd://\d+ is not a listening TCP"
        ):
            config.http_settings()


# -- printing and checking -----------------------------------------------------------------


def test_to_toml_reads_back_to_the_same_config(write):
    flags = {
        "app": "tests.apps.sample:app",
        "server.bind": ["127.0.0.1:9000", "[::1]:9000"],
        "server.state_key": "ab" * 32,
        "server.graceful_timeout": 1e-5,
        "http.allowed_origins": ["https://example.com"],
        "http.endpoint": '/a"b\\c',
    }
    config = load_config(env={}, flags=flags)
    assert load_config(write(config.to_toml()), env={}) == config
    redacted = config.to_toml(redact=True)
    assert "ab" * 32 not in redacted and "# state_key is set; not shown" in redacted
    tomllib.loads(redacted)


def test_the_sample_lists_every_key_with_its_default():
    document = tomllib.loads(SAMPLE.read_text())
    keys = {f"{section}.{key}" for section, table in document.items() for key in table}
    assert keys | {"app"} == set(PARSERS)
    assert '# app = "' in SAMPLE.read_text()
    assert load_config(str(SAMPLE), env={}) == Config()


def test_check_config_on_the_sample():
    summary = check_config(str(SAMPLE), env={})
    assert summary.startswith(f"{SAMPLE} is valid. Serves no app yet")
    assert "http://127.0.0.1:8000/mcp" in summary and "admin listener on 127.0.0.1:8001" in summary
    assert f"Set by {SAMPLE}; the rest are defaults." in summary
    assert "\n" not in summary


def test_check_config_raises_on_a_bad_file(write):
    path = write("[server]\nworkers = -1\n")
    with pytest.raises(ConfigError, match=r"server.workers"):
        check_config(path, env={})
