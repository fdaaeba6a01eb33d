"""The command line: version, and one-line errors for an APP that cannot be loaded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mocopr

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mocopr", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"mocopr {mocopr.__version__}"


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("no_such_module:app", "cannot import module 'no_such_module'"),
        ("tests.apps.sample:nothing", "has no attribute 'nothing'"),
        ("tests.apps.sample:state", "is a dict, not an McpServer"),
        ("missing/file.py:app", "no such file: missing/file.py"),
        ("noattribute", "expected module:attribute or path/to/file.py:attribute"),
    ],
)
def test_bad_app_is_one_clear_line(app, message):
    done = run("serve", app, "--stdio")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert lines[0].startswith(("mocopr: error: ", "config error: "))


def test_app_file_that_fails_to_import(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no database')\n")
    done = run("serve", f"{broken}:app", "--stdio")
    assert done.returncode == 2
    assert done.stderr.strip() == f"mocopr: error: loading {broken} failed: RuntimeError: no database"


def test_module_path_is_the_current_directory(tmp_path):
    (tmp_path / "myapp.py").write_text("from mocopr import McpServer\napp = McpServer('mine')\n")
    request = '{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
    done = subprocess.run(
        [sys.executable, "-m", "mocopr", "serve", "myapp:app", "--stdio"],
        cwd=tmp_path, input=request, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == '{"jsonrpc":"2.0","id":1,"result":{}}\n'


def test_loadtest_command_against_a_real_server(tmp_path):
    from tests.http_server import running_server

    report = tmp_path / "report.json"
    with running_server("tests/apps/sample.py:app", "--single-process") as server:
        options = ["--clients", "4", "--duration", "2", "--processes", "1", "--quiet", "--json", str(report)]
        done = run("loadtest", server.url, "--tool", "add", "--arguments", '{"a": 1, "b": 2}', *options)
    assert done.returncode == 0, done.stderr
    overall = json.loads(report.read_text())["overall"]
    assert overall["ok"] > 0 and overall["ok"] == overall["requests"] and overall["errors"]["total"] == 0
