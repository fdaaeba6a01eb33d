"""How a configuration mistake is said: one line naming the key, the source its
value came from and what was expected, all the lines of one load together."""

import msgspec


class ConfigError(Exception):
    """The configuration is invalid. ``errors`` holds one line per problem, each naming
    the key, where its value came from and why it is wrong; the message is those lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def problem(key: str, source: str, reason: str) -> str:
    """One line of a ConfigError."""
    return f"config error: {key} (from {source}): {reason}"


def show(value: object) -> str:
    """A value as the user wrote it, JSON-quoted so that a string is visibly a string."""
    try:
        shown = msgspec.json.encode(value).decode()
    except TypeError:
        shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
