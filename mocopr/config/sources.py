"""Where the configuration of ``mocopr serve`` comes from.

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
import os
import tomllib
from collections.abc import Mapping
from typing import Any, NamedTuple, get_type_hints

from mocopr.config import values
from mocopr.config.errors import ConfigError, problem, show
from mocopr.config.schema import SECTIONS, Config, usable_cpus

ENV_PREFIX = "MOCOPR_"

#: Keys whose values need more than their type says.
_SPECIAL: dict[str, values.Parser] = {
    "server.bind": values.binds,
    "server.workers": values.integer(0),
    "server.admin": values.address_or_off,
    "server.graceful_timeout": values.number(0, inclusive=True),
    "server.crash_loop_restarts": values.integer(0),
    "server.ring_capacity": values.integer(4096),
    "server.state_key": values.hex_key,
    "http.endpoint": values.endpoint,
    "http.trusted_proxies": values.networks,
}


def _build_parsers() -> dict[str, values.Parser]:
    parsers: dict[str, values.Parser] = {"app": values.app_spec}
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            parsers[key] = _SPECIAL.get(key) or values.parser_for(hints[f.name])
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
        return problem(key, source, "unknown key; the host and port come from server.bind")
    if key in PARSERS:  # a quoted "section.key" at the top level of the file
        section, _, name = key.partition(".")
        return problem(key, source, f"unknown key at the top level; write {name} = ... under [{section}]")
    suggestion = _suggest(key)
    return problem(key, source, "unknown key" + (f"; did you mean {suggestion}?" if suggestion else ""))


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
        if name in SECTIONS:
            if not isinstance(value, dict):
                errors.append(problem(name, path, f"expected a table [{name}], got {show(value)}"))
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
            close = difflib.get_close_matches(name, list(SECTIONS), n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else f"; the sections are {', '.join(SECTIONS)}"
            errors.append(problem(f"[{name}]", path, "unknown section" + hint))
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
        if section in SECTIONS or any(known.rpartition(".")[2] == rest for known in PARSERS):
            suggestion = _suggest(f"{section}.{tail}" if section in SECTIONS else rest)
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
                errors.append(problem(key, raw.source, str(exc)))
            else:
                origins[key] = raw.source
    if errors:
        raise ConfigError(errors)
    if values.get("server.workers") == 0:
        values["server.workers"] = usable_cpus()
    sections = {name: cls(**_section_values(values, name)) for name, cls in SECTIONS.items()}
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
        errors.append(problem(key, origins.get(key, "default"), reason))
    if server.admin and server.admin in server.bind and not server.admin.endswith(":0"):
        key = blame("server.admin", "server.bind")
        reason = f"the admin listener cannot share {server.admin} with server.bind"
        errors.append(problem(key, origins.get(key, "default"), reason))
    if errors:
        raise ConfigError(errors)


def check_config(path: str, env: Mapping[str, str] | None = None) -> str:
    """``mocopr check-config FILE``: one paragraph on what the file (with the environment,
    as ``mocopr serve`` would see it) configures; ConfigError if it is not valid."""
    return f"{path} is valid. " + load_config(path, env=env).describe()
