"""Series store: bounded in-memory windows for the live path, SQLite history across restarts."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence

import numpy as np

from sdn_shadow.telemetry.history import History
from sdn_shadow.telemetry.ring import Windows


class SeriesStore:
    """Points per series key ("port:s1:1:rx_bps", "network:tenant-a:bps", ...).

    Thread-safe: the stats thread appends while API handlers read. Series
    appended together stay aligned in `matrix`, which is how the forecaster
    reads them; retention applies to the SQLite history, memory keeps `window`.
    """

    def __init__(self, path: str | None, window: int, retention_s: float,
                 prune_every_s: float = 60.0) -> None:
        """Keep `window` points per key in memory; with a `path`, also keep `retention_s`
        seconds of history in SQLite there, and reload the last `window` points per key now."""
        if retention_s <= 0:
            raise ValueError("retention_s must be > 0")
        self.retention_s = float(retention_s)
        self.prune_every_s = float(prune_every_s)
        self._lock = threading.Lock()
        self._windows = Windows(window)
        self._history = History(path) if path is not None else None
        self._last_prune = -math.inf
        if self._history is not None:
            newest = self._history.latest_time()
            if newest is not None:
                self._prune(newest)
            for key, (times, values) in self._history.last(window).items():
                self._windows.load(key, times, values)

    def close(self) -> None:
        """Close the SQLite file (the in-memory windows stay readable)."""
        if self._history is not None:
            self._history.close()

    def __enter__(self) -> SeriesStore:
        """The store itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    def _prune(self, now: float) -> None:
        """Drop history older than the retention period (at most once per `prune_every_s`)."""
        with self._lock:
            due = now - self._last_prune >= self.prune_every_s
            if due:
                self._last_prune = now
        if due and self._history is not None:
            self._history.prune(now - self.retention_s)

    def append(self, now: float, values: Mapping[str, float]) -> None:
        """Add one point at `now` to each series in `values` (one SQLite transaction)."""
        if not values:
            return
        keys = list(values)
        vals = np.fromiter(values.values(), dtype=np.float64, count=len(keys))
        with self._lock:
            self._windows.append(now, keys, vals)
        if self._history is not None:  # outside the lock: readers need not wait for the disk
            self._history.append(now, keys, vals)
            self._prune(now)

    def series_keys(self) -> list[str]:
        """Series keys, in the order they first appeared (including reloaded ones)."""
        with self._lock:
            return self._windows.series_keys()

    def window(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of the last `window` points of `key`, oldest first."""
        with self._lock:
            return self._windows.get(key)

    def matrix(self, keys: Sequence[str], n: int) -> np.ndarray:
        """Last `n` values per key as a (len(keys), n) array for batched forecasting (NaN pad)."""
        with self._lock:
            return self._windows.matrix(keys, n)

    def history(self, key: str, start: float = -math.inf,
                end: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of `key` with start <= t < end: from SQLite, else from memory."""
        if self._history is not None:
            return self._history.points(key, start, end)
        times, values = self.window(key)
        keep = (times >= start) & (times < end)
        return times[keep], values[keep]
