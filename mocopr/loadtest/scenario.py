"""What a load test sends: which MCP operations, in what proportion, in which protocol era.

A scenario is plain data, decided once before the load starts, so that the load processes only
replay bytes built from it (see ``wire.py``) and never think about what to send next.
"""

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mocopr.protocol.versions import LATEST_LEGACY, LATEST_MODERN

Era = Literal["modern", "legacy"]

#: The operations a scenario can mix, and the flag that names each one's target.
METHODS: dict[str, str | None] = {
    "tools/list": None,
    "tools/call": "--tool",
    "resources/read": "--resource",
    "prompts/get": "--prompt",
}

#: The protocol version each era speaks; a legacy server may answer ``initialize`` with an older one.
ERA_VERSIONS: dict[str, str] = {"modern": LATEST_MODERN, "legacy": LATEST_LEGACY}

#: How many draws the precomputed operation sequence holds: enough that weights down to 0.1 %
#: are represented, few enough to build in a blink.
SEQUENCE_LENGTH = 1000


class ScenarioError(ValueError):
    """A scenario that cannot be run as asked (a bad mix, a missing tool name, bad JSON)."""


@dataclass(frozen=True)
class Operation:
    """One kind of request in the mix: an MCP method, what it is aimed at, and its weight."""

    method: str
    weight: float
    #: The tool or prompt name, or the resource URI: what ``Mcp-Name`` carries in the modern era.
    target: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The JSON-RPC params, without the modern era's ``_meta`` (``wire.py`` adds that)."""
        if self.method == "resources/read":
            return {"uri": self.target}
        if self.method in ("tools/call", "prompts/get"):
            return {"name": self.target, "arguments": dict(self.arguments)}
        return {}


@dataclass(frozen=True)
class LoadScenario:
    """The operations to mix, by weight, and the era to speak.

    Build one with ``LoadScenario.build(...)`` (what the command-line flags map to) or directly
    from ``Operation`` values.
    """

    operations: tuple[Operation, ...]
    era: Era = "modern"

    def __post_init__(self) -> None:
        if not self.operations:
            raise ScenarioError("the mix has no operation")
        if self.era not in ERA_VERSIONS:
            raise ScenarioError(f"unknown era {self.era!r}: modern or legacy")
        methods = [operation.method for operation in self.operations]
        if len(set(methods)) != len(methods):
            raise ScenarioError("each method may appear once in the mix")
        for operation in self.operations:
            if operation.method not in METHODS:
                raise ScenarioError(f"cannot mix {operation.method!r}: one of {', '.join(METHODS)}")
            if not operation.weight > 0:
                raise ScenarioError(f"the weight of {operation.method} must be positive")
            if METHODS[operation.method] and not operation.target:
                raise ScenarioError(f"{operation.method} in the mix needs {METHODS[operation.method]}")

    @classmethod
    def build(
        cls,
        *,
        mix: str | Mapping[str, float] | None = None,
        tool: str | None = None,
        arguments: str | Mapping[str, Any] | None = None,
        payload_size: int | None = None,
        payload_argument: str = "text",
        resource: str | None = None,
        prompt: str | None = None,
        prompt_arguments: str | Mapping[str, Any] | None = None,
        era: Era = "modern",
    ) -> "LoadScenario":
        """A scenario from the command line's terms.

        Without a mix, every operation whose target is named gets an equal share (``tools/list``
        alone when none is). ``payload_size`` adds an argument of that many characters to the
        tool's arguments, for an echo-like tool: the way to measure the cost of large messages.
        """
        weights = parse_mix(mix) if isinstance(mix, str) else dict(mix or {})
        if not weights:
            named = {"tools/call": tool, "resources/read": resource, "prompts/get": prompt}
            weights = {method: 1.0 for method, target in named.items() if target} or {"tools/list": 1.0}
        tool_arguments = _json_object(arguments, "--arguments")
        if payload_size is not None:
            if payload_size < 0:
                raise ScenarioError("--payload-size must not be negative")
            tool_arguments[payload_argument] = "x" * payload_size
        targets = {"tools/call": tool, "resources/read": resource, "prompts/get": prompt}
        argument_sets = {
            "tools/call": tool_arguments,
            "prompts/get": _json_object(prompt_arguments, "--prompt-arguments"),
        }
        operations = tuple(
            Operation(method, weight, targets.get(method), argument_sets.get(method, {}))
            for method, weight in weights.items()
        )
        return cls(operations, era)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(operation.method for operation in self.operations)

    def sequence(self, seed: int) -> list[int]:
        """Operation indexes in exact proportion to the weights, shuffled.

        Clients walk this list instead of drawing a random number per request: the mix holds
        exactly over every thousand requests, and a draw costs nothing.
        """
        total = sum(operation.weight for operation in self.operations)
        shares = [operation.weight / total * SEQUENCE_LENGTH for operation in self.operations]
        counts = [int(share) for share in shares]
        by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
        for index in by_remainder[: SEQUENCE_LENGTH - sum(counts)]:
            counts[index] += 1
        sequence = [index for index, count in enumerate(counts) for _ in range(count)]
        random.Random(seed).shuffle(sequence)
        return sequence

    def describe(self) -> str:
        """The mix in the form ``--mix`` takes, with targets: for reports."""
        total = sum(operation.weight for operation in self.operations)
        return ", ".join(
            f"{operation.method}{f' {operation.target}' if operation.target else ''}="
            f"{operation.weight / total:.2g}"
            for operation in self.operations
        )


def parse_mix(text: str) -> dict[str, float]:
    """``tools/call=0.7,tools/list=0.1,resources/read=0.2`` as a dict of weights."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        method, sep, weight = item.partition("=")
        method = method.strip()
        if method not in METHODS:
            raise ScenarioError(f"--mix: unknown operation {method!r}: one of {', '.join(METHODS)}")
        try:
            weights[method] = float(weight) if sep else 1.0
        except ValueError:
            raise ScenarioError(f"--mix: the weight of {method} is not a number: {weight!r}") from None
    return weights


def _json_object(value: str | Mapping[str, Any] | None, flag: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{flag} arguments are not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{flag} arguments must be a JSON object")
    return dict(value)
