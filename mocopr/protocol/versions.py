"""Protocol versions and the two eras they belong to.

Legacy versions open a session with ``initialize``; the modern version carries
its protocol version and client capabilities in every request's ``_meta``.
Version strings are ISO dates, so they order correctly as plain strings.
"""

from enum import Enum

LEGACY_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)

LATEST_LEGACY = LEGACY_VERSIONS[-1]
LATEST_MODERN = MODERN_VERSIONS[-1]

#: Every version this server speaks, newest first, as advertised by ``server/discover``.
SUPPORTED_VERSIONS: tuple[str, ...] = (*reversed(MODERN_VERSIONS), *reversed(LEGACY_VERSIONS))

#: What an HTTP request without an ``MCP-Protocol-Version`` header is assumed to speak.
DEFAULT_HTTP_VERSION = "2025-03-26"


class Era(Enum):
    LEGACY = "legacy"
    MODERN = "modern"


def era_of(version: str) -> Era | None:
    """The era a version belongs to, or None for a version this server does not speak."""
    if version in MODERN_VERSIONS:
        return Era.MODERN
    if version in LEGACY_VERSIONS:
        return Era.LEGACY
    return None


def negotiate_legacy(requested: str) -> str:
    """The version to answer an ``initialize`` with.

    Every legacy spec says: echo the client's version when supported, otherwise
    answer with the latest version the server supports (here, the latest legacy
    one, because ``initialize`` only exists in the legacy era).
    """
    return requested if requested in LEGACY_VERSIONS else LATEST_LEGACY


def allows_batches(version: str) -> bool:
    """JSON-RPC batches exist in exactly one MCP version."""
    return version == "2025-03-26"


def tool_input_errors_are_results(version: str) -> bool:
    """From 2025-11-25 on, invalid tool arguments are a tool execution error
    (``isError: true``) that the model can read, not a JSON-RPC error."""
    return version >= "2025-11-25"


def resource_not_found_code(version: str) -> int:
    """2026-07-28 moved "resource not found" from -32002 to -32602."""
    return -32602 if version >= "2026-07-28" else -32002
