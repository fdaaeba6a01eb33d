"""The settings every process of a server reads: the supervisor, the acceptor and
the workers alike, and ``mocopr serve`` in one process or over stdio.

A room below both ``server`` and ``workers``, so that each imports downward.
:mod:`~mocopr.config.schema` is the settings and their defaults,
:mod:`~mocopr.config.sources` reads them from TOML, ``MOCOPR_*`` variables and
flags, checked by :mod:`~mocopr.config.values`.
"""

from mocopr.config.bind import Bind, parse_bind
from mocopr.config.errors import ConfigError
from mocopr.config.schema import Config, HttpConfig, ServerConfig, StdioConfig, usable_cpus
from mocopr.config.sources import PARSERS, check_config, env_name, load_config

__all__ = [
    "PARSERS",
    "Bind",
    "Config",
    "ConfigError",
    "HttpConfig",
    "ServerConfig",
    "StdioConfig",
    "check_config",
    "env_name",
    "load_config",
    "parse_bind",
    "usable_cpus",
]
