"""Latency histograms: HdrHistogram (the ``hdrhistogram`` package), so that the histograms of
several load processes merge exactly, with a recording path fit for a load generator.

hdrh's own ``record_value`` is pure Python at about 6 µs a value; at tens of thousands of
requests a second, twice per request (the operation's histogram and the current second's), that
would make the load tester its own bottleneck. ``bucket_of`` is the same index arithmetic in two
lines, and ``LatencyHistogram.record`` bumps hdrh's own counts array with it; encoding, decoding,
merging and percentiles stay hdrh's.
"""

from hdrh.histogram import HdrHistogram

#: Latencies are recorded in microseconds, from 1 µs to an hour, to 3 significant figures (0.1 %).
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_FIGURES = 3
#: The percentiles every summary reports, and their names in reports.
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99_9": 99.9}


def new_hdr() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


_SHAPE = new_hdr()
assert _SHAPE.unit_magnitude == 0, "bucket_of assumes a lowest trackable value of 1"
_MASK = _SHAPE.sub_bucket_mask
_HALF_MAGNITUDE = _SHAPE.sub_bucket_half_count_magnitude
_HALF = _SHAPE.sub_bucket_half_count


def clamp_us(seconds: float) -> int:
    """A latency in whole microseconds within the histograms' range (longer ones count as an hour)."""
    value = int(seconds * 1_000_000)
    return value if value < HIGHEST_US else HIGHEST_US


def bucket_of(value_us: int) -> int:
    """The counts index at which hdrh records ``value_us`` (``HdrHistogram._counts_index_for``)."""
    bucket = (value_us | _MASK).bit_length() - _HALF_MAGNITUDE - 1
    return ((bucket + 1) << _HALF_MAGNITUDE) + (value_us >> bucket) - _HALF


class LatencyHistogram:
    """An HdrHistogram being recorded into, with the exact count, sum and extremes beside it (the
    mean and the max are reported exactly; the percentiles to the histogram's precision)."""

    __slots__ = ("count", "counts", "hdr", "max_us", "min_us", "total_us")

    def __init__(self) -> None:
        self.hdr = new_hdr()
        self.counts = self.hdr.counts
        self.count = 0
        self.total_us = 0
        self.max_us = 0
        self.min_us = HIGHEST_US

    def record(self, value_us: int, index: int) -> None:
        """Record ``value_us``, whose ``bucket_of`` the caller computed once for all histograms."""
        self.counts[index] += 1
        self.count += 1
        self.total_us += value_us
        if value_us > self.max_us:
            self.max_us = value_us
        if value_us < self.min_us:
            self.min_us = value_us

    def encode(self) -> bytes:
        """hdrh's compressed form, for the trip to the parent process."""
        self.hdr.total_count = self.count
        self.hdr.max_value = self.max_us
        self.hdr.min_value = self.min_us
        return self.hdr.encode()


def decode(encoded: bytes) -> HdrHistogram:
    return HdrHistogram.decode(encoded)


def merge(encoded: list[bytes]) -> HdrHistogram:
    merged = new_hdr()
    for one in encoded:
        merged.add(decode(one))
    return merged


def percentiles_us(hdr: HdrHistogram) -> dict[str, int]:
    """The ``PERCENTILES`` of a histogram, by name, in microseconds (0 for an empty one)."""
    if not hdr.get_total_count():
        return dict.fromkeys(PERCENTILES, 0)
    values = hdr.get_percentile_to_value_dict(list(PERCENTILES.values()))
    return {name: values[percentile] for name, percentile in PERCENTILES.items()}
