"""When requests are due (open loop) and when clients start (closed loop), ramp-up included.

Both are pure arithmetic on the run's clock, computed from the request's or client's number
rather than accumulated, so that no drift builds up over a long run.
"""

import math


class OpenLoopSchedule:
    """The due time of the k-th request of a stream whose rate rises linearly from 0 to ``rate``
    (requests/s) over ``ramp_up`` seconds, then stays there.

    Requests due by time t, during the ramp: rate * t**2 / (2 * ramp_up); inverted, the k-th is
    due at sqrt(2 * ramp_up * k / rate). ``phase`` (0 to 1) shifts the stream by that part of
    an interval, so that the streams of several load processes interleave instead of firing
    together.
    """

    def __init__(self, rate: float, ramp_up: float, phase: float = 0.0) -> None:
        self.rate = rate
        self.ramp_up = ramp_up
        self.phase = phase
        self.ramp_requests = rate * ramp_up / 2

    def due(self, k: int) -> float:
        """Seconds from the start of the run at which request ``k`` (from 0) is due."""
        n = k + self.phase
        if n < self.ramp_requests:
            return math.sqrt(2 * self.ramp_up * n / self.rate)
        return self.ramp_up + (n - self.ramp_requests) / self.rate

    def slots_before(self, seconds: float) -> int:
        """How many requests are due before ``seconds`` from the start: the first ``k`` whose
        ``due(k)`` is not earlier. The inverse formula gives a first guess; ``due`` itself, which
        the load loop compares against, settles it, so that rounding cannot make them disagree."""
        if seconds <= self.ramp_up:
            n = self.rate * seconds**2 / (2 * self.ramp_up) if self.ramp_up else 0.0
        else:
            n = self.ramp_requests + (seconds - self.ramp_up) * self.rate
        k = max(0, math.ceil(n - self.phase))
        while k > 0 and self.due(k - 1) >= seconds:
            k -= 1
        while self.due(k) < seconds:
            k += 1
        return k


def client_start(index: int, clients: int, ramp_up: float) -> float:
    """Seconds from the start at which closed-loop client ``index`` of ``clients`` (numbered over
    all processes) begins, so that the number of busy clients rises linearly over the ramp-up."""
    return ramp_up * index / clients
