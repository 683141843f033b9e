"""The core's event list, bounded: the newest `MAX_EVENTS` are kept, cursors stay absolute.

An event's position (its `id` in `GET /events`, the cursor `since`) counts
every event ever recorded, so a reader's cursor stays valid when old events
are dropped: `len()` is the count recorded, indexing and slicing take those
absolute positions, and positions before `first` are gone (slices start at
`first`). Iteration, `reversed` and equality cover the kept events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from sdn_shadow.core.model import Event

MAX_EVENTS = 10_000  # events kept in memory (older ones are in the log only)


class EventLog(Sequence[Event]):
    """Events in the order recorded; at most `limit` of the newest are kept."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self.limit = limit
        self._kept: deque[Event] = deque(maxlen=limit)
        self._total = 0

    @property
    def first(self) -> int:
        """The position of the oldest event kept."""
        return self._total - len(self._kept)

    def append(self, item: Event) -> None:
        """Record one event (the oldest kept goes when the log is full)."""
        self._kept.append(item)
        self._total += 1

    def extend(self, items: Iterable[Event]) -> None:
        """Record events in order."""
        for item in items:
            self.append(item)

    def __iadd__(self, items: Iterable[Event]) -> EventLog:
        self.extend(items)
        return self

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[Event]:
        return iter(self._kept)

    def __reversed__(self) -> Iterator[Event]:
        return reversed(self._kept)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventLog):
            return list(self._kept) == list(other._kept)
        return isinstance(other, list) and list(self._kept) == other

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._total)
            if step != 1:
                raise ValueError("event slices take no step")
            start = max(start, self.first)
            return [self._kept[i - self.first] for i in range(start, max(start, stop))]
        at = index + self._total if index < 0 else index
        if not self.first <= at < self._total:
            raise IndexError(f"event {index} is not kept (kept: {self.first}..{self._total})")
        return self._kept[at - self.first]

    def __repr__(self) -> str:
        return f"EventLog({self.first}..{self._total}, limit={self.limit})"
