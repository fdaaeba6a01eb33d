"""An ordered, named collection of tools, prompts or resources, with cursor
pagination and a cached listing that is rebuilt only after a change."""

import base64
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from mocopr.protocol.errors import INVALID_PARAMS, McpError

Item = TypeVar("Item")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode("ascii")


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, offset = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().partition(":")
        if kind == "o" and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeError):
        pass
    raise McpError(INVALID_PARAMS, "Invalid cursor")


class Catalog(Generic[Item]):
    """Items by key in registration order; ``on_change`` is told of every change."""

    def __init__(self, describe: Callable[[Item], dict[str, Any]], on_change: Callable[[], None]) -> None:
        self._items: dict[str, Item] = {}
        self._describe = describe
        self._on_change = on_change
        self._listing: list[dict[str, Any]] | None = None
        self._any_waits: bool | None = None

    def add(self, key: str, item: Item) -> None:
        self._items[key] = item
        self._changed()

    def remove(self, key: str) -> bool:
        if self._items.pop(key, None) is None:
            return False
        self._changed()
        return True

    def get(self, key: str) -> Item | None:
        return self._items.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def any_waits(self) -> bool:
        """Whether any item's handler may wait (async or blocking), remembered until a change."""
        if self._any_waits is None:
            self._any_waits = any(item.waits for item in self._items.values())  # type: ignore[attr-defined]
        return self._any_waits

    def _changed(self) -> None:
        self._listing = None
        self._any_waits = None
        self._on_change()

    def page(self, cursor: str | None, size: int) -> tuple[list[dict[str, Any]], str | None]:
        """One page of descriptions and the cursor of the next page, if any."""
        listing = self._listing
        if listing is None:
            listing = self._listing = [self._describe(item) for item in self._items.values()]
        start = decode_cursor(cursor) if cursor else 0
        end = start + size
        return listing[start:end], (encode_cursor(end) if end < len(listing) else None)
