"""JSON-RPC 2.0 framing with msgspec: decode an incoming message in one C pass,
encode outgoing ones from pre-encoded constant parts.

An incoming message is decoded into :class:`Envelope`, whose ``params`` stay raw
JSON bytes until the method is known; each method then decodes its own params
struct (and a tool its own argument type) straight from those bytes. That keeps
the hot path to a few C-level decodes with no intermediate dicts.
"""

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, Raw, UnsetType, field

from mocopr.protocol import errors
from mocopr.protocol.versions import MODERN_VERSIONS

RequestId = int | str
T = TypeVar("T")

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"


class Envelope(msgspec.Struct, gc=False):
    """Any JSON-RPC message: a request, a notification or a response."""

    jsonrpc: str | UnsetType = UNSET
    id: RequestId | None | UnsetType = UNSET
    method: str | UnsetType = UNSET
    params: Raw | UnsetType = UNSET
    result: Raw | UnsetType = UNSET
    error: Raw | UnsetType = UNSET

    @property
    def is_request(self) -> bool:
        return self.method is not UNSET and self.id is not UNSET

    @property
    def is_notification(self) -> bool:
        return self.method is not UNSET and self.id is UNSET

    @property
    def is_response(self) -> bool:
        return self.method is UNSET and (self.result is not UNSET or self.error is not UNSET)


class RequestMeta(msgspec.Struct, gc=False, frozen=True):
    """The ``_meta`` of a request: the progress token and, in the modern era,
    the protocol version, client capabilities, identity and log level."""

    progress_token: int | str | None = field(name="progressToken", default=None)
    protocol_version: str | None = field(name=META_PROTOCOL_VERSION, default=None)
    client_capabilities: dict[str, Any] | None = field(name=META_CLIENT_CAPABILITIES, default=None)
    client_info: dict[str, Any] | None = field(name=META_CLIENT_INFO, default=None)
    log_level: str | None = field(name=META_LOG_LEVEL, default=None)


EMPTY_META = RequestMeta()


class Params(msgspec.Struct, gc=False):
    """Params every request may carry."""

    meta: RequestMeta = field(name="_meta", default=EMPTY_META)


class PaginatedParams(Params, gc=False):
    cursor: str | None = None


class InputParams(Params, gc=False):
    """Params of requests that may be retried with answers to an ``InputRequiredResult``."""

    input_responses: dict[str, Any] | None = field(name="inputResponses", default=None)
    request_state: str | None = field(name="requestState", default=None)


class CallToolParams(InputParams, gc=False):
    name: str = ""
    arguments: Raw = Raw(b"{}")


class GetPromptParams(InputParams, gc=False):
    name: str = ""
    arguments: dict[str, str] | None = None


class ReadResourceParams(InputParams, gc=False):
    uri: str = ""


class UriParams(Params, gc=False):
    uri: str = ""


class TargetParams(msgspec.Struct, gc=False):
    """Just the name or URI a request is about, read before it is dispatched."""

    name: str | None = None
    uri: str | None = None


class InitializeParams(Params, gc=False):
    protocolVersion: str = ""
    capabilities: dict[str, Any] = field(default_factory=dict)
    clientInfo: dict[str, Any] = field(default_factory=dict)


class SetLevelParams(Params, gc=False):
    level: str = ""


class CompletionRef(msgspec.Struct, gc=False):
    type: str
    name: str | None = None
    uri: str | None = None


class CompletionArgument(msgspec.Struct, gc=False):
    name: str
    value: str


class CompletionContext(msgspec.Struct, gc=False, frozen=True):
    arguments: dict[str, str] = field(default_factory=dict)


class CompleteParams(Params, gc=False):
    ref: CompletionRef | None = None
    argument: CompletionArgument | None = None
    context: CompletionContext | None = None


class SubscriptionFilter(msgspec.Struct, gc=False, omit_defaults=True, frozen=True):
    toolsListChanged: bool = False
    promptsListChanged: bool = False
    resourcesListChanged: bool = False
    resourceSubscriptions: list[str] | UnsetType = UNSET


class ListenParams(Params, gc=False):
    notifications: SubscriptionFilter = SubscriptionFilter()


class CancelledParams(msgspec.Struct, gc=False):
    requestId: RequestId | None = None
    reason: str | None = None


class ErrorObject(msgspec.Struct, gc=False):
    code: int
    message: str
    data: Any = None


_decoder_single = msgspec.json.Decoder(Envelope)
_decoder_any = msgspec.json.Decoder(Envelope | list[Envelope])
_params_decoders: dict[type, msgspec.json.Decoder] = {}
_encoder = msgspec.json.Encoder()

encode = _encoder.encode


def missing_meta(key: str) -> errors.McpError:
    """The error for a modern request whose ``_meta`` lacks ``key``."""
    return errors.McpError(errors.INVALID_PARAMS, f"Missing _meta[{key!r}]")


def unsupported_version(requested: str) -> errors.McpError:
    """The error for a modern request in a protocol version this server does not speak."""
    return errors.McpError(
        errors.UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(MODERN_VERSIONS), "requested": requested},
    )


#: Stack frames that a message accepted by :func:`decode_message` leaves free when its parts
#: (params, arguments, a result) are decoded or encoded again, deeper in the call stack: msgspec
#: nests a call per level of JSON, and raises RecursionError where the stack runs out.
SPARE_FRAMES = 100


def decode_message(data: bytes) -> Envelope | list[Envelope]:
    """Decode one line or body: a message, or a batch (a JSON array of them).

    Raises :class:`~mocopr.protocol.errors.McpError` with -32700 for bytes that
    are not JSON (or not UTF-8) or nest too deeply (see :data:`SPARE_FRAMES`),
    and -32600 for JSON that is not a message.
    """
    try:
        if not data.isascii():
            # Raw params are not decoded here, so check the whole message is UTF-8 once.
            data.decode("utf-8")
        if data.count(b"[") + data.count(b"{") < SPARE_FRAMES:  # so it nests no deeper than that
            return _decoder_any.decode(data)
        return _decode_with_spare_frames(data, SPARE_FRAMES)
    except msgspec.ValidationError as exc:
        raise errors.McpError(errors.INVALID_REQUEST, f"Invalid request: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise errors.McpError(errors.PARSE_ERROR, f"Parse error: {exc}") from None
    except RecursionError:
        raise errors.McpError(errors.PARSE_ERROR, "Parse error: nested too deeply") from None


def _decode_with_spare_frames(data: bytes, frames: int) -> Envelope | list[Envelope]:
    """Decode ``data`` from ``frames`` calls further down the stack: what decodes there still
    decodes wherever a transport and the dispatcher take it later."""
    return _decoder_any.decode(data) if not frames else _decode_with_spare_frames(data, frames - 1)


def decode_params(params: Raw | UnsetType, params_type: type[T]) -> T:
    """Decode a request's raw params into the method's params struct (-32602 on a mismatch)."""
    decoder = _params_decoders.get(params_type)
    if decoder is None:
        decoder = _params_decoders[params_type] = msgspec.json.Decoder(params_type)
    try:
        return decoder.decode(params if params is not UNSET else b"{}")
    except msgspec.DecodeError as exc:
        raise errors.McpError(errors.INVALID_PARAMS, f"Invalid params: {exc}") from None


def check_envelope(message: Envelope) -> None:
    """Reject a decoded object that is not a JSON-RPC 2.0 message (-32600)."""
    if message.jsonrpc != "2.0":
        raise errors.McpError(errors.INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"')
    if message.method is UNSET and message.result is UNSET and message.error is UNSET:
        raise errors.McpError(errors.INVALID_REQUEST, "Invalid request: no method")
    if message.method is not UNSET and message.id is None:
        raise errors.McpError(errors.INVALID_REQUEST, "Invalid request: id must not be null")


class _ErrorProbe(msgspec.Struct, gc=False):
    error: ErrorObject | None = None


_decode_error_probe = msgspec.json.Decoder(_ErrorProbe).decode


def error_code(answer: bytes) -> int | None:
    """The error code of an encoded response, or None for a result.

    A response made by :func:`encode_result` or :func:`encode_error` says which it is
    right after its id, where neither member name can occur (an encoded id holds no
    unescaped quote): a result is known by a search over its first few bytes. Anything
    else is decoded if it mentions an ``"error"`` key at all.
    """
    if answer.startswith(_RESULT_HEAD):
        result_at = answer.find(_RESULT_MID, len(_RESULT_HEAD))
        if result_at >= 0 and answer.find(_ERROR_MID, len(_RESULT_HEAD), result_at) < 0:
            return None
    elif b'"error":' not in answer:
        return None
    try:
        probe = _decode_error_probe(answer)
    except msgspec.DecodeError:
        return None
    return probe.error.code if probe.error is not None else None


_RESULT_HEAD = b'{"jsonrpc":"2.0","id":'
_RESULT_MID = b',"result":'
_ERROR_MID = b',"error":'


def encode_result(request_id: RequestId, result: Any) -> bytes:
    """A success response; the result is encoded in place with no wrapper object."""
    return b"".join((_RESULT_HEAD, _encoder.encode(request_id), _RESULT_MID, _encoder.encode(result), b"}"))


def encode_error(request_id: RequestId | None, error: errors.McpError) -> bytes:
    """An error response; ``id`` is null when the request's id could not be read."""
    return b"".join(
        (
            _RESULT_HEAD,
            _encoder.encode(request_id),
            _ERROR_MID,
            _encoder.encode(error.to_dict()),
            b"}",
        )
    )


def encode_notification(method: str, params: Any) -> bytes:
    return _encoder.encode({"jsonrpc": "2.0", "method": method, "params": params})


def encode_request(request_id: RequestId, method: str, params: Any) -> bytes:
    return _encoder.encode({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
