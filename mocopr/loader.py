"""Finding the app a command line names: ``module:attribute`` (with the current
directory on the import path, as uvicorn does) or ``path/to/file.py:attribute``."""

import importlib
import importlib.util
import sys
from pathlib import Path

from mocopr.app.server import McpServer


class AppLoadError(Exception):
    """The app could not be loaded; the message is one line for the user."""


def load_app(spec: str) -> McpServer:
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute:
        raise AppLoadError(f"APP must be module:attribute or path/to/file.py:attribute, not {spec!r}")
    if target.endswith(".py") or "/" in target:
        module = _load_file(Path(target))
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name and target.startswith(exc.name):
                raise AppLoadError(f"cannot import module {target!r}: no module named {exc.name!r}") from None
            raise AppLoadError(f"cannot import module {target!r}: {exc}") from None
        except Exception as exc:
            raise AppLoadError(f"importing {target!r} failed: {type(exc).__name__}: {exc}") from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise AppLoadError(f"module {target!r} has no attribute {attribute!r}") from None
    if not isinstance(app, McpServer):
        raise AppLoadError(f"{spec} is a {type(app).__name__}, not an McpServer")
    return app


def _load_file(path: Path) -> object:
    if not path.is_file():
        raise AppLoadError(f"no such file: {path}")
    name = f"_mocopr_app_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise AppLoadError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"loading {path} failed: {type(exc).__name__}: {exc}") from None
    return module
