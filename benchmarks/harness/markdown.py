"""The reports' Markdown: tables, ratios and verdicts, a whole report, and the section of RESULTS.md
that a script writes (between two marker lines, so that the curated text around it stays)."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from .paths import ROOT

Group = TypeVar("Group", contravariant=True)  # a column that reads any run reads a run of a subtype


@dataclass(frozen=True)
class Column(Generic[Group]):
    """A table's column: its heading, and its cell for a group of runs."""

    heading: str
    cell: Callable[[Group], str]


def table(headings: Sequence[str], rows: Iterable[Sequence[str]], labels: int = 1) -> list[str]:
    """A table whose first ``labels`` columns name the row (aligned left) and the others are figures
    (aligned right)."""
    alignment = ["---"] * labels + ["--:"] * (len(headings) - labels)
    return [table_row(headings), "|" + "|".join(alignment) + "|", *map(table_row, rows)]


def column_table(columns: Sequence[Column[Group]], groups: Iterable[Group], labels: int = 1) -> list[str]:
    """A table of one row per group, each cell given by its column."""
    rows = ([column.cell(group) for column in columns] for group in groups)
    return table([column.heading for column in columns], rows, labels)


def table_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def each_run(values: Iterable[float]) -> str:
    """Every run's figure, as a table cell: ``1,234 / 1,250 / 1,198``."""
    return " / ".join(f"{value:,.0f}" for value in values)


def ratio(mine: float, theirs: float, unit: str = "", as_share: bool = False) -> str:
    """``**2.5x** (1,000 / 400 answers/s)``; ``as_share``: ``**40%** (...)``."""
    quotient = f"{mine / theirs:.0%}" if as_share else f"{mine / theirs:.1f}x"
    return f"**{quotient}** ({mine:,.0f} / {theirs:,.0f}{unit})"


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def document(lines: Iterable[str]) -> str:
    """The report, with this checkout's location left out of its paths, so that it reads the same
    wherever it was made: commands run from the repository's root."""
    text = "\n".join(lines) + "\n"
    return text.replace(f"{ROOT}/", "").replace(str(ROOT), ".")


def publish(lines: Iterable[str], also_to: Path | None) -> str:
    """Print the report (``document``), and write it to ``also_to`` too where given; its text."""
    text = document(lines)
    print(text)
    if also_to:
        also_to.write_text(text)
    return text


def replace_section(results: Path, begin: str, end: str, text: str) -> None:
    """Replace the section of ``results`` between the lines ``begin`` and ``end`` with ``text``, its
    headings one level down, so that the curated figures around it stay as they are."""
    before, found_begin, rest = results.read_text().partition(begin)
    _, found_end, after = rest.partition(end)
    if not found_begin or not found_end:
        raise SystemExit(f"{results} has no section marked {begin} ... {end}")
    demoted = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
    results.write_text(f"{before}{begin}\n{demoted}\n{end}{after}")
