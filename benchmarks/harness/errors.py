"""The one way a case fails: it cannot be measured, and the figures of a run without it say so."""


class BenchmarkError(Exception):
    """A case that cannot be measured: its server did not start, died, or answered wrongly."""


class WrongAnswer(BenchmarkError):
    """A server answered a call with something other than its correct result."""
