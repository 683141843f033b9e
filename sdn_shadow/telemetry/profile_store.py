"""SQLite persistence of client profiles (the I/O side of `profiles`).

One row per profile in `profiles`, its phase-bin statistics as one
little-endian float64 blob (4 x n_bins: count, mean, log mean, log M2).
The table can live in the series history's file: `PRAGMA user_version`
is the history's schema, so this table's version is a row of
`profile_meta`, and on a fresh file the history's version is set so that
`History` accepts the file whichever opens it first.
"""

from __future__ import annotations

import sqlite3
import threading

import numpy as np

from sdn_shadow.telemetry.history import SCHEMA_VERSION as HISTORY_SCHEMA_VERSION
from sdn_shadow.telemetry.profiles import ProfileBook

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS profile_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (
    key TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    n INTEGER NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL, peak REAL NOT NULL,
    recent_peak REAL NOT NULL, period REAL, bins BLOB NOT NULL);
"""
_COLUMNS = ("key", "first_seen", "last_seen", "n", "mean", "m2", "peak", "recent_peak", "period")
_BINS = ("bin_n", "bin_mean", "bin_log_mean", "bin_log_m2")
_F8 = np.dtype("<f8")


class ProfileStore:
    """Client profiles in an SQLite file, saved whole, one transaction per save."""

    def __init__(self, path: str) -> None:
        """Open (or create) the profiles table at `path` (ValueError if of another schema)."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._init_schema(path)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except BaseException:
            self._db.close()
            raise

    def _init_schema(self, path: str) -> None:
        """Create the tables, or check the version of the ones there (inside a transaction)."""
        db = self._db
        fresh = (db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
                 and db.execute("PRAGMA user_version").fetchone()[0] == 0)
        has_meta = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'profile_meta'").fetchone()[0]
        if has_meta:
            row = db.execute("SELECT value FROM profile_meta WHERE name = 'schema'").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                raise ValueError(f"{path}: profiles are not of schema {SCHEMA_VERSION} "
                                 f"({None if row is None else row[0]})")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT OR IGNORE INTO profile_meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        if fresh:
            db.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ProfileStore:
        """The store itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    def save(self, book: ProfileBook) -> None:
        """Replace the stored profiles with the book's, in one transaction."""
        rows = []
        for r in book.to_records():
            bins = np.asarray([r[name] for name in _BINS], dtype=_F8)
            rows.append((*(r[name] for name in _COLUMNS), bins.tobytes()))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM profiles")
                self._db.executemany(
                    f"INSERT INTO profiles ({', '.join(_COLUMNS)}, bins) "
                    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def records(self) -> list[dict]:
        """The stored profiles as `ProfileBook.to_records` gives them, in the order saved."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)}, bins FROM profiles ORDER BY rowid").fetchall()
        out = []
        for row in rows:
            record = dict(zip(_COLUMNS, row[:-1], strict=True))
            bins = np.frombuffer(row[-1], dtype=_F8).reshape(len(_BINS), -1)
            record.update((name, tuple(values.tolist())) for name, values in zip(_BINS, bins,
                                                                                strict=True))
            record["bin_n"] = tuple(int(c) for c in record["bin_n"])
            out.append(record)
        return out

    def load(self, **settings: float | int | str | None) -> ProfileBook:
        """A `ProfileBook` with `settings` (see its constructor) holding the stored profiles."""
        return ProfileBook.from_records(self.records(), **settings)
