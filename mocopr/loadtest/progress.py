"""The live progress of a run on the terminal: how far along, the latest second's rate and p99,
and the errors so far (rich, on stderr, gone when the run ends so the report stands alone)."""

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from mocopr.loadtest.tester import Progress


class LiveProgress:
    """A progress bar fed by ``LoadTester``'s ``on_progress``; safe to update from any thread."""

    def __init__(self, total_seconds: float, console: Console) -> None:
        self.bar = RichProgress(
            TextColumn("[bold]loadtest"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("load", total=total_seconds, status="starting")

    def __enter__(self) -> "LiveProgress":
        self.bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.bar.stop()

    def update(self, progress: Progress) -> None:
        rate, p99, errors = progress.throughput_rps, progress.p99_ms, progress.errors
        status = f"{rate:>9,.0f} req/s   p99 {p99:8.2f} ms   errors {errors:,}"
        self.bar.update(self.task, completed=min(progress.elapsed, progress.total), status=status)
