"""Bounded windows of (time, value) points per series key, in numpy ring buffers (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Windows:
    """The last `window` points of each series; all keys share two (keys x window) arrays."""

    def __init__(self, window: int, capacity: int = 64) -> None:
        """Empty windows of `window` points; room for `capacity` keys before growing."""
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self._slot: dict[str, int] = {}
        self._times = np.full((max(capacity, 1), window), np.nan)
        self._values = np.full((max(capacity, 1), window), np.nan)
        self._head = np.zeros(max(capacity, 1), np.int64)  # next write position
        self._count = np.zeros(max(capacity, 1), np.int64)

    def __len__(self) -> int:
        """Number of series."""
        return len(self._slot)

    def __contains__(self, key: str) -> bool:
        """Whether series `key` has points."""
        return key in self._slot

    def series_keys(self) -> list[str]:
        """Series keys, in the order they first appeared."""
        return list(self._slot)

    def _grow(self, needed: int) -> None:
        """Make room for `needed` keys (doubling)."""
        capacity = len(self._head)
        if needed <= capacity:
            return
        new = max(needed, 2 * capacity)
        extra = new - capacity
        self._times = np.vstack([self._times, np.full((extra, self.window), np.nan)])
        self._values = np.vstack([self._values, np.full((extra, self.window), np.nan)])
        self._head = np.concatenate([self._head, np.zeros(extra, np.int64)])
        self._count = np.concatenate([self._count, np.zeros(extra, np.int64)])

    def _slots(self, keys: Sequence[str]) -> np.ndarray:
        """Row of each key, adding rows for new keys."""
        slot = self._slot
        rows = [slot.get(key, -1) for key in keys]
        if -1 in rows:
            for i, row in enumerate(rows):
                if row == -1:
                    rows[i] = slot.setdefault(keys[i], len(slot))
            self._grow(len(slot))
        return np.asarray(rows, dtype=np.int64)

    def append(self, now: float | np.ndarray, keys: Sequence[str],
               values: Sequence[float] | np.ndarray) -> None:
        """Add one point per key (unique keys) at time `now` (one for all, or one per key)."""
        rows = self._slots(keys)
        pos = self._head[rows]
        self._times[rows, pos] = now
        self._values[rows, pos] = values
        self._head[rows] = (pos + 1) % self.window
        self._count[rows] = np.minimum(self._count[rows] + 1, self.window)

    def load(self, key: str, times: np.ndarray, values: np.ndarray) -> None:
        """Append a series' points (oldest first) in one go, e.g. history read back at start."""
        row = int(self._slots([key])[0])
        times, values = np.asarray(times)[-self.window:], np.asarray(values)[-self.window:]
        if len(times) != len(values):
            raise ValueError("times and values differ in length")
        pos = (self._head[row] + np.arange(len(times))) % self.window
        self._times[row, pos], self._values[row, pos] = times, values
        self._head[row] = (self._head[row] + len(times)) % self.window
        self._count[row] = min(self._count[row] + len(times), self.window)

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of series `key`, oldest first (empty arrays if unknown)."""
        row = self._slot.get(key)
        if row is None:
            return np.empty(0), np.empty(0)
        count = int(self._count[row])
        idx = (self._head[row] - count + np.arange(count)) % self.window
        return self._times[row, idx], self._values[row, idx]

    def matrix(self, keys: Sequence[str], n: int) -> np.ndarray:
        """The last `n` values of each key as a (len(keys), n) array, newest in the last column.

        Rows are aligned by position (the i-th newest point of every key in
        the same column), which matches time when keys are appended together;
        missing points (short or unknown series, n > window) are NaN.
        """
        out = np.full((len(keys), n), np.nan)
        found = [(i, self._slot[key]) for i, key in enumerate(keys) if key in self._slot]
        k = min(n, self.window)
        if not found or k == 0:
            return out
        at, rows = (np.asarray(x, dtype=np.int64) for x in zip(*found, strict=True))
        idx = (self._head[rows, None] - k + np.arange(k)) % self.window
        vals = self._values[rows[:, None], idx]
        vals[np.arange(k) < k - self._count[rows, None]] = np.nan
        out[at, n - k:] = vals
        return out
