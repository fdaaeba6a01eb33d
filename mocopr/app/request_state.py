"""Sealed ``requestState`` for multi round-trip requests (modern era).

The state travels through the client, so it is attacker-controlled input: it is
signed with HMAC-SHA256 under a key that every worker process shares, so a retry
may land on any of them. It binds the answers gathered so far to the method,
target and arguments of the original request (a retry sends the same params
again), so answers given for one call cannot complete another, and it expires
after a short time.
"""

import base64
import hashlib
import hmac
import os
import time
from typing import Any

import msgspec

from mocopr.protocol.errors import INVALID_PARAMS, McpError

DEFAULT_TTL_SECONDS = 600.0


class _Payload(msgspec.Struct, array_like=True):
    method: str
    target: str
    expires: float
    answers: dict[str, Any]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Payload).decode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def bind(target: str, arguments: Any) -> str:
    """``target`` (a tool, prompt or resource) together with the arguments it was
    called with, in a form that does not depend on their order or spacing."""
    if not arguments:
        return target
    digest = hashlib.blake2b(_encode_sorted(arguments), digest_size=16).hexdigest()
    return f"{target}?{digest}"


def new_key() -> bytes:
    return os.urandom(32)


class StateSealer:
    """Seals and opens ``requestState`` blobs with one shared key."""

    def __init__(self, key: bytes, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        if len(key) < 16:
            raise ValueError("the requestState key must be at least 16 bytes")
        self._key = key
        self.ttl_seconds = ttl_seconds

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def seal(self, method: str, target: str, answers: dict[str, Any]) -> str:
        payload = _encode(_Payload(method, target, time.time() + self.ttl_seconds, answers))
        return base64.urlsafe_b64encode(self._mac(payload) + payload).decode("ascii")

    def open(self, state: str, method: str, target: str) -> dict[str, Any]:
        """The answers sealed in ``state``; -32602 if it is forged, stale or for another request."""
        try:
            raw = base64.urlsafe_b64decode(state.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise McpError(INVALID_PARAMS, "Invalid requestState") from None
        mac, payload = raw[:32], raw[32:]
        if len(mac) != 32 or not hmac.compare_digest(mac, self._mac(payload)):
            raise McpError(INVALID_PARAMS, "Invalid requestState: signature does not match")
        data = _decode(payload)
        if data.method != method or data.target != target:
            raise McpError(INVALID_PARAMS, "Invalid requestState: it belongs to another request")
        if data.expires < time.time():
            raise McpError(INVALID_PARAMS, "Invalid requestState: expired")
        return data.answers
