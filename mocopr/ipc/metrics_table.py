"""Request metrics of every worker, in shared memory: the names of what is counted
and the layout of the counters, shared by the workers that record and the
supervisor that exposes them (:mod:`mocopr.server.metrics`).

A worker records into its own slot with plain int64 stores (as in the load
table), so recording costs a few hundred nanoseconds per request rather than
the locks and files of prometheus_client's multiprocess mode. When a worker is
reaped its counts are folded into a retired total first, so counters never go
backwards.
"""

import bisect
from multiprocessing.shared_memory import SharedMemory
from typing import Self

from mocopr.ipc import shm

METHODS = (
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/templates/list",
    "resources/read", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get",
    "completion/complete", "logging/setLevel", "server/discover", "subscriptions/listen", "other",
)  # fmt: skip
OUTCOMES = ("ok", "error", "cancelled")
#: Latency bucket upper bounds, in seconds (+Inf is implicit).
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REJECTIONS = (
    "inflight",
    "sessions",
    "connections",
    "body_too_large",
    "headers_too_large",
    "timeout",
    "bad_request",
    # Connections closed at the connection limit to admit a new one: one that had sent nothing,
    # or a kept-alive one between requests.
    "evicted_unused",
    "evicted_idle",
)
#: HTTP statuses the connection layer refuses with, by rejection reason.
STATUS_REASONS = {413: "body_too_large", 431: "headers_too_large", 408: "timeout", 400: "bad_request"}

_METHOD_INDEX = {method: index for index, method in enumerate(METHODS)}
_OUTCOME_INDEX = {outcome: index for index, outcome in enumerate(OUTCOMES)}
_BOUNDS_NS = [int(bound * 1e9) for bound in BUCKETS]

# A slot: counts[method][outcome], buckets[method][bucket] (+Inf last), sum_ns[method], rejections[reason].
_COUNTS = 0
_BUCKETS = _COUNTS + len(METHODS) * len(OUTCOMES)
_SUMS = _BUCKETS + len(METHODS) * (len(BUCKETS) + 1)
_REJECTIONS = _SUMS + len(METHODS)
SLOT_WORDS = _REJECTIONS + len(REJECTIONS)


class Recorder:
    """One worker's view of its own metrics slot."""

    __slots__ = ("_base", "_words")

    def __init__(self, words: memoryview, slot: int) -> None:
        self._words = words
        self._base = slot * SLOT_WORDS

    def observe(self, method: str, outcome: str, elapsed_ns: int) -> None:
        words, base = self._words, self._base
        m = _METHOD_INDEX.get(method, len(METHODS) - 1)
        words[base + _COUNTS + m * len(OUTCOMES) + _OUTCOME_INDEX[outcome]] += 1
        bucket = bisect.bisect_left(_BOUNDS_NS, elapsed_ns)
        words[base + _BUCKETS + m * (len(BUCKETS) + 1) + bucket] += 1
        words[base + _SUMS + m] += elapsed_ns

    def reject(self, reason: str) -> None:
        self._words[self._base + _REJECTIONS + REJECTIONS.index(reason)] += 1


class MetricsTable:
    """``slots`` metrics slots in one shared-memory segment, parallel to the load table's."""

    def __init__(self, segment: SharedMemory, slots: int) -> None:
        self._segment = segment
        self._words = segment.buf[: slots * SLOT_WORDS * 8].cast("q")
        self.name = segment.name
        self.slots = slots
        self._retired = [0] * SLOT_WORDS

    @classmethod
    def create(cls, slots: int) -> Self:
        return cls(shm.create(slots * SLOT_WORDS * 8), slots)

    @classmethod
    def attach(cls, name: str, slots: int) -> Self:
        return cls(shm.attach(name), slots)

    def recorder(self, slot: int) -> Recorder:
        return Recorder(self._words, slot)

    def retire(self, slot: int) -> None:
        """Fold a reaped worker's counts into the retired total and zero its slot."""
        base = slot * SLOT_WORDS
        for offset in range(SLOT_WORDS):
            self._retired[offset] += self._words[base + offset]
            self._words[base + offset] = 0

    def totals(self) -> "Totals":
        """Every counter summed over the live slots and the retired workers."""
        totals = list(self._retired)
        words = self._words
        for base in range(0, self.slots * SLOT_WORDS, SLOT_WORDS):
            for offset in range(SLOT_WORDS):
                totals[offset] += words[base + offset]
        return Totals(totals)

    def close(self) -> None:
        self._words.release()
        self._segment.close()

    def unlink(self) -> None:
        self._segment.unlink()


class Totals:
    """The counters of every worker summed, read by name rather than by offset."""

    __slots__ = ("_words",)

    def __init__(self, words: list[int]) -> None:
        self._words = words

    def count(self, method: int, outcome: int) -> int:
        """Requests of ``METHODS[method]`` answered with ``OUTCOMES[outcome]``."""
        return self._words[_COUNTS + method * len(OUTCOMES) + outcome]

    def buckets(self, method: int) -> list[int]:
        """Requests of ``METHODS[method]`` per latency bucket (not cumulative), +Inf last."""
        start = _BUCKETS + method * (len(BUCKETS) + 1)
        return self._words[start : start + len(BUCKETS) + 1]

    def seconds(self, method: int) -> float:
        """The time spent answering requests of ``METHODS[method]``."""
        return self._words[_SUMS + method] / 1e9

    def rejections(self, reason: int) -> int:
        """Requests and connections refused for ``REJECTIONS[reason]``."""
        return self._words[_REJECTIONS + reason]
