"""SQLite history of series points (the I/O side of the series store).

Stored time-major: one row per append, `batches(t, series, vals)`, holding the
series ids and values of that append as two little-endian arrays (int32,
float64), with an index on t; keys are stored once in `series(id, key)`.

Why not one row per point with an index on (key, t): an append of 10,000
keys then touches one index page per key. Measured on the lab machine, such
an append took 40 ms on a fresh file and 150-210 ms once the file held 3M
points (growing with the file), and wrote some 40 MB of pages to the WAL
each time. A batch row costs under a millisecond and writes what it holds.
The price: the history of one key over a range reads every batch in the
range (fine for the forecaster, which reads all keys at once).

The same file holds the client profiles (`profile_store`) and the fitted
forecast models (`model_store`), each in tables of its own format.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

import numpy as np

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, series BLOB NOT NULL, vals BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS batches_t ON batches (t);
"""
_IDS = np.dtype("<i4")
_VALS = np.dtype("<f8")


class History:
    """An SQLite file of (series key, time, value) points, written one append at a time."""

    def __init__(self, path: str) -> None:
        """Open (or create) the database at `path` (ValueError if it has another schema)."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version != SCHEMA_VERSION and (version or tables):
                raise ValueError(f"{path}: not a series history of schema {SCHEMA_VERSION} "
                                 f"(user_version {version})")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a crash
            self._db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
        except BaseException:
            self._db.close()
            raise
        self._ids: dict[str, int] = dict(self._db.execute("SELECT key, id FROM series"))
        self._keys: dict[int, str] = {i: k for k, i in self._ids.items()}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _ids_for(self, keys: Sequence[str]) -> np.ndarray:
        """Series ids of `keys`, registering new keys (inside the caller's transaction)."""
        ids = self._ids
        new = [key for key in dict.fromkeys(keys) if key not in ids]
        if new:
            first = self._db.execute("SELECT coalesce(max(id), 0) + 1 FROM series").fetchone()[0]
            rows = [(first + i, key) for i, key in enumerate(new)]
            self._db.executemany("INSERT INTO series (id, key) VALUES (?, ?)", rows)
            ids.update((key, i) for i, key in rows)
            self._keys.update(rows)
        return np.fromiter((ids[key] for key in keys), dtype=_IDS, count=len(keys))

    def append(self, now: float, keys: Sequence[str], values: Sequence[float] | np.ndarray) -> None:
        """Store one point per key at time `now`, in one transaction (NaN stays NaN)."""
        vals = np.asarray(values, dtype=_VALS)
        if len(vals) != len(keys):
            raise ValueError("keys and values differ in length")
        with self._lock:
            known = dict(self._ids)
            self._db.execute("BEGIN")
            try:
                ids = self._ids_for(keys)
                self._db.execute("INSERT INTO batches (t, series, vals) VALUES (?, ?, ?)",
                                 (float(now), ids.tobytes(), vals.tobytes()))
            except BaseException:
                self._db.execute("ROLLBACK")
                self._ids = known
                self._keys = {i: k for k, i in known.items()}
                raise
            self._db.execute("COMMIT")

    def latest_time(self) -> float | None:
        """Time of the newest point (None if there is none)."""
        with self._lock:
            row = self._db.execute("SELECT max(t) FROM batches").fetchone()
        return None if row[0] is None else float(row[0])

    def last(self, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The last `n` points of each series appended in the last `n` appends, oldest first.

        Reads batches newest first: the newest `n` name the live series, then
        older ones only until each live series has `n` points (or none are left).
        """
        if n < 1:
            return {}
        times: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        live: np.ndarray | None = None
        with self._lock:
            cursor = self._db.execute(
                "SELECT t, series, vals FROM batches ORDER BY t DESC, id DESC")
            try:
                while True:
                    rows = cursor.fetchmany(n)
                    for t, sid, val in rows:
                        sid_arr = np.frombuffer(sid, dtype=_IDS)
                        ids.append(sid_arr)
                        vals.append(np.frombuffer(val, dtype=_VALS))
                        times.append(np.full(len(sid_arr), t))
                    if not ids:
                        return {}
                    counts = np.bincount(np.concatenate(ids))
                    if live is None:
                        live = np.flatnonzero(counts)
                    if len(rows) < n or (counts[live] >= n).all():
                        break
            finally:
                cursor.close()
            names = self._keys
        all_ids, all_t, all_v = np.concatenate(ids), np.concatenate(times), np.concatenate(vals)
        order = np.lexsort((-all_t, all_ids))  # by id, newest first within an id
        all_ids, all_t, all_v = all_ids[order], all_t[order], all_v[order]
        starts = np.searchsorted(all_ids, live)
        out = {}
        for sid, start in zip(live.tolist(), starts.tolist(), strict=True):
            end = start + min(n, int(counts[sid]))
            out[names[sid]] = (all_t[start:end][::-1].copy(), all_v[start:end][::-1].copy())
        return out

    def points(self, key: str, start: float = -np.inf,
               end: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of series `key` with start <= t < end, oldest first.

        Reads every batch in the range (see the module docstring).
        """
        times: list[float] = []
        values: list[float] = []
        with self._lock:
            sid = self._ids.get(key)
            if sid is None:
                return np.empty(0), np.empty(0)
            rows = self._db.execute(
                "SELECT t, series, vals FROM batches WHERE t >= ? AND t < ? ORDER BY t, id",
                (start, end))
            last_blob, where = None, np.empty(0, np.int64)
            for t, sids, vals in rows:
                if sids != last_blob:  # appends usually repeat the same keys in the same order
                    last_blob, where = sids, np.flatnonzero(np.frombuffer(sids, dtype=_IDS) == sid)
                if len(where):
                    times.append(t)
                    values.append(float(np.frombuffer(vals, dtype=_VALS)[where[-1]]))
        return np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)

    def prune(self, before: float) -> int:
        """Delete the points older than `before`; return how many appends' worth went."""
        with self._lock:
            return self._db.execute("DELETE FROM batches WHERE t < ?", (before,)).rowcount
