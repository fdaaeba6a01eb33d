"""Requests a handler makes of the client: elicitation, sampling, roots.

Build them with :func:`elicitation`, :func:`sampling` and :func:`roots`, and
ask with ``Context.ask`` (several at once) or the one-request shortcuts on
``Context``. Answers are checked for the shape their method promises, because
in the modern era they come back inside a client's retry and are client input.
"""

from dataclasses import dataclass
from typing import Any

from mocopr.protocol.errors import INVALID_PARAMS, McpError


@dataclass(frozen=True, slots=True)
class InputRequest:
    #: The client capability the request needs (``elicitation``, ``sampling``, ``roots``).
    capability: str
    method: str
    params: dict[str, Any]
    #: For elicitation: ``form`` or ``url``, which clients declare separately.
    mode: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


def elicitation(message: str, requested_schema: dict[str, Any]) -> InputRequest:
    """Ask the user to fill in a form; the answer is an ``ElicitResult``."""
    params = {"mode": "form", "message": message, "requestedSchema": requested_schema}
    return InputRequest("elicitation", "elicitation/create", params, "form")


def url_elicitation(message: str, url: str, elicitation_id: str) -> InputRequest:
    """Send the user to a URL; the answer is an ``ElicitResult``."""
    params = {"mode": "url", "message": message, "url": url, "elicitationId": elicitation_id}
    return InputRequest("elicitation", "elicitation/create", params, "url")


def sampling(messages: list[dict[str, Any]], max_tokens: int, **options: Any) -> InputRequest:
    """Ask the client's LLM; ``options`` are further ``sampling/createMessage``
    params such as ``systemPrompt`` or ``modelPreferences``. The answer is a
    ``CreateMessageResult``."""
    return InputRequest(
        "sampling",
        "sampling/createMessage",
        {"messages": messages, "maxTokens": max_tokens, **options},
    )


def roots() -> InputRequest:
    """Ask for the client's roots; the answer is a ``ListRootsResult``."""
    return InputRequest("roots", "roots/list", {})


def for_version(request: InputRequest, version: str) -> InputRequest:
    """Drop the params a protocol version does not know."""
    params = request.params
    if request.method == "elicitation/create":
        if version < "2025-11-25":
            params = {k: v for k, v in params.items() if k != "mode"}
        elif version >= "2026-07-28":
            params = {k: v for k, v in params.items() if k != "elicitationId"}
    return InputRequest(request.capability, request.method, params, request.mode)


_ANSWER_KEYS = {
    "elicitation/create": "action",
    "sampling/createMessage": "content",
    "roots/list": "roots",
}


def check_answer(request: InputRequest, answer: Any) -> dict[str, Any]:
    """An answer of the shape the request's method promises, or -32602."""
    key = _ANSWER_KEYS[request.method]
    if not isinstance(answer, dict) or key not in answer:
        raise McpError(
            INVALID_PARAMS,
            f"Invalid input response for {request.method}: expected an object with {key!r}",
        )
    return answer
