"""Figures over repeated runs. Every benchmark repeats its cases on a small, shared machine, where one
run can fall on a slow phase; the median of the repeats is the figure reported, beside the runs."""

import statistics
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

Item = TypeVar("Item")
Key = TypeVar("Key", bound=Hashable)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def group_by(items: Iterable[Item], key: Callable[[Item], Key]) -> dict[Key, list[Item]]:
    """The items by key, the keys in the order they first come."""
    groups: dict[Key, list[Item]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def medians_by(
    items: Iterable[Item], key: Callable[[Item], Key], value: Callable[[Item], float]
) -> dict[Key, float]:
    """The median ``value`` of the items of each key."""
    return {k: median(map(value, group)) for k, group in group_by(items, key).items()}
