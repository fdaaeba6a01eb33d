"""The Prometheus exposition of the runtime's metrics, through prometheus_client:
the admin listener's collector sums every worker's slot of the shared-memory
metrics table (:mod:`mocopr.ipc.metrics_table`) and reads the load table."""

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from mocopr.ipc.load_table import SERVING, LoadTable
from mocopr.ipc.metrics_table import BUCKETS, METHODS, OUTCOMES, REJECTIONS, MetricsTable


class RuntimeCollector(Collector):
    """prometheus_client collector over the metrics and load tables (and the supervisor's restarts)."""

    def __init__(self, metrics: MetricsTable, load: LoadTable, restarts: Callable[[], int]) -> None:
        self._metrics = metrics
        self._load = load
        self._restarts = restarts

    def collect(self) -> Iterator[object]:
        totals = self._metrics.totals()
        requests = CounterMetricFamily(
            "mocopr_requests", "MCP requests answered", labels=["method", "outcome"]
        )
        latency = HistogramMetricFamily(
            "mocopr_request_duration_seconds", "Time to answer a request", labels=["method"]
        )
        for m, method in enumerate(METHODS):
            for o, outcome in enumerate(OUTCOMES):
                count = totals.count(m, o)
                if count:
                    requests.add_metric([method, outcome], count)
            counts = totals.buckets(m)
            if any(counts):
                cumulative, running = [], 0
                for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    running += count
                    cumulative.append((bound, running))
                latency.add_metric([method], cumulative, totals.seconds(m))
        yield requests
        yield latency
        rejected = CounterMetricFamily(
            "mocopr_rejections", "Requests and connections refused, by reason", labels=["reason"]
        )
        slots = self._load.snapshot()
        for r, reason in enumerate(REJECTIONS):
            rejected.add_metric([reason], totals.rejections(r))
        yield rejected
        live = [slot for slot in slots if slot["state"] in SERVING]
        yield GaugeMetricFamily(
            "mocopr_connections", "Open client connections", value=sum(s["live_connections"] for s in live)
        )
        yield GaugeMetricFamily(
            "mocopr_inflight_requests", "Requests being answered", value=sum(s["inflight"] for s in live)
        )
        yield GaugeMetricFamily("mocopr_workers", "Workers serving or draining", value=len(live))
        yield CounterMetricFamily(
            "mocopr_worker_restarts", "Workers replaced after dying or hanging", value=self._restarts()
        )
