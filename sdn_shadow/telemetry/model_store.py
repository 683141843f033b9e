"""SQLite persistence of fitted forecast models (the I/O side of `forecast.round`'s models).

A model is kept as data, never as code or a pickle: the estimator's class
path, its `get_params()` (JSON), the code version that fitted it, the fit
time, the series keys of its rows (JSON), the period each series uses and
why (JSON, `forecast.live_period`) and its learned attributes: numpy
arrays as raw little-endian bytes with their dtype and shape (one row of
`model_arrays` each), everything else (numbers, strings, small lists) as
JSON. Reading is bounded: sizes are checked in SQL before a blob is
fetched, only plain numeric dtypes are read, and a blob must be exactly as
long as its dtype and shape say. A row that fails any check is skipped
with the reason, and its series are refitted.

Beside the models, the live recalibration of their intervals is kept the
same way (`CalibrationRecord`: its level, the series keys, the save time,
and arrays; tables `calibration` and `calibration_arrays`), with a format of
its own: a file from before it had them gains the tables and keeps its
models, and a kept calibration of another format is dropped alone.

The tables can live in the series history's file, as the client profiles'
do: their format is a row of `model_meta`; on a fresh file the history's
`user_version` is set so that `History` accepts the file whichever opens it
first. Tables of another format are a cache of no use: they are dropped.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdn_shadow.telemetry.history import SCHEMA_VERSION as HISTORY_SCHEMA_VERSION

FORMAT_VERSION = 2  # 2: the series' periods
CALIBRATION_FORMAT = 1  # the live calibration's tables
CALIBRATION = "live"  # the one kept calibration's name
MAX_CALIBRATION_BYTES = 512 << 20  # all arrays of the kept calibration
MAX_MODEL_BYTES = 512 << 20  # all arrays of one model
MAX_TEXT = 64 << 20  # keys JSON (10k keys: ~300 KB)
MAX_SMALL_TEXT = 1 << 20  # params and scalar attributes JSON
MAX_ARRAYS = 64
MAX_DIMS = 8
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
ATTRIBUTE = re.compile(r"[a-z][a-z0-9_]{0,62}_")
ATTRIBUTE_OR_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a model's or a calibration's array
DTYPES = frozenset({"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8",
                    "<f4", "<f8"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY, format INTEGER NOT NULL, estimator TEXT NOT NULL,
    version TEXT NOT NULL, fitted_at REAL NOT NULL, params TEXT NOT NULL,
    keys TEXT NOT NULL, scalars TEXT NOT NULL, periods TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_arrays (
    model TEXT NOT NULL, name TEXT NOT NULL, dtype TEXT NOT NULL, shape TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (model, name));
CREATE TABLE IF NOT EXISTS calibration (
    name TEXT PRIMARY KEY, format INTEGER NOT NULL, level REAL NOT NULL,
    saved_at REAL NOT NULL, keys TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calibration_arrays (
    calibration TEXT NOT NULL, name TEXT NOT NULL, dtype TEXT NOT NULL, shape TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (calibration, name));
"""
_CALIBRATION_TABLES = ("calibration", "calibration_arrays")
_TABLES = ("model_meta", "models", "model_arrays", *_CALIBRATION_TABLES)


@dataclass(frozen=True)
class ModelRecord:
    """One fitted model as data: what `ModelStore` saves and loads."""

    name: str  # the model's slot ("full", "young")
    estimator: str  # class path, "module.Class"
    version: str  # the code version that fitted it
    fitted_at: float
    params: dict[str, Any]
    keys: tuple[str, ...]  # the series of its rows, in order
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    scalars: dict[str, Any] = field(default_factory=dict)  # JSON-able learned attributes
    periods: dict[str, Any] = field(default_factory=dict)  # series key -> its period choice


@dataclass(frozen=True)
class CalibrationRecord:
    """The live recalibration as data: its level, the series of its rows, when it was
    saved and its arrays (`forecast.live_calibration.state_arrays`)."""

    level: float
    keys: tuple[str, ...]
    saved_at: float
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class ModelStore:
    """Fitted forecast models in an SQLite file, a row per model slot."""

    def __init__(self, path: str) -> None:
        """Open (or create) the model tables at `path`; tables of another format are dropped."""
        self._lock = threading.Lock()
        self.dropped: str | None = None  # why old tables were dropped, if they were
        self.dropped_calibration: str | None = None  # why a kept calibration was
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._init_schema()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except BaseException:
            self._db.close()
            raise

    def _init_schema(self) -> None:
        db = self._db
        fresh = (db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
                 and db.execute("PRAGMA user_version").fetchone()[0] == 0)
        has_meta = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'model_meta'").fetchone()[0]
        if has_meta:
            row = db.execute("SELECT value FROM model_meta WHERE name = 'format'").fetchone()
            if row is None or row[0] != FORMAT_VERSION:
                self.dropped = (f"saved models are of format {None if row is None else row[0]}, "
                                f"this controller reads {FORMAT_VERSION}")
                for table in _TABLES:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT OR IGNORE INTO model_meta VALUES ('format', ?)", (FORMAT_VERSION,))
        row = db.execute("SELECT value FROM model_meta WHERE name = 'calibration_format'"
                         ).fetchone()
        if row is not None and row[0] != CALIBRATION_FORMAT:
            self.dropped_calibration = (f"the kept calibration is of format {row[0]}, this "
                                        f"controller reads {CALIBRATION_FORMAT}")
            for table in _CALIBRATION_TABLES:
                db.execute(f"DELETE FROM {table}")
        db.execute("INSERT OR REPLACE INTO model_meta VALUES ('calibration_format', ?)",
                   (CALIBRATION_FORMAT,))
        if fresh:
            db.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ModelStore:
        """The store itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    def save(self, records: Iterable[ModelRecord]) -> int:
        """Replace the stored model of each record's slot, all in one transaction; the bytes
        of arrays written (ValueError, and nothing written, if a record cannot be kept)."""
        rows = [_encode(r) for r in records]
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for model, arrays in rows:
                    self._db.execute("DELETE FROM model_arrays WHERE model = ?", (model[0],))
                    self._db.execute(
                        "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        model)
                    self._db.executemany("INSERT INTO model_arrays VALUES (?, ?, ?, ?, ?)",
                                         arrays)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return sum(len(a[4]) for _, arrays in rows for a in arrays)

    def delete(self, name: str) -> None:
        """Forget the model of slot `name`."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM model_arrays WHERE model = ?", (name,))
            self._db.execute("DELETE FROM models WHERE name = ?", (name,))
            self._db.execute("COMMIT")

    def load(self) -> tuple[list[ModelRecord], list[str]]:
        """The stored models that pass every check, and why each other one was skipped."""
        records: list[ModelRecord] = []
        problems: list[str] = []
        with self._lock:
            heads = self._db.execute(
                "SELECT name, format, estimator, version, fitted_at, length(params), "
                "length(keys), length(scalars), length(periods) FROM models "
                "ORDER BY name").fetchall()
            for head in heads:
                try:
                    records.append(self._read(head))
                except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as e:
                    problems.append(f"saved model {str(head[0])[:64]!r} skipped: {e}")
        return records, problems

    def save_calibration(self, record: CalibrationRecord) -> int:
        """Replace the kept calibration (one transaction); the bytes of arrays written
        (ValueError, and nothing written, if it cannot be kept)."""
        try:
            row = (CALIBRATION, CALIBRATION_FORMAT, float(record.level),
                   float(record.saved_at), json.dumps(list(record.keys)))
        except TypeError as e:
            raise ValueError(f"calibration: {e}") from None
        arrays = _encode_arrays(CALIBRATION, record.arrays)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM calibration_arrays")
                self._db.execute("DELETE FROM calibration")
                self._db.execute("INSERT INTO calibration VALUES (?, ?, ?, ?, ?)", row)
                self._db.executemany("INSERT INTO calibration_arrays VALUES (?, ?, ?, ?, ?)",
                                     arrays)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return sum(len(a[4]) for a in arrays)

    def load_calibration(self) -> tuple[CalibrationRecord | None, list[str]]:
        """The kept calibration if it passes every check (None: none kept), and why not."""
        problems = [] if self.dropped_calibration is None else [self.dropped_calibration]
        with self._lock:
            head = self._db.execute(
                "SELECT format, level, saved_at, length(keys) FROM calibration "
                "WHERE name = ?", (CALIBRATION,)).fetchone()
            if head is None:
                return None, problems
            try:
                return self._read_calibration(head), problems
            except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as e:
                return None, [*problems, f"the kept calibration skipped: {e}"]

    def _read_calibration(self, head: tuple[Any, ...]) -> CalibrationRecord:
        """The calibration row, checked (inside the lock); ValueError says what is wrong."""
        fmt, level, saved_at, n_keys = head
        if fmt != CALIBRATION_FORMAT:
            raise ValueError(f"format {fmt!r}, this controller reads {CALIBRATION_FORMAT}")
        for name, value in (("level", level), ("save time", saved_at)):
            if (not isinstance(value, int | float) or isinstance(value, bool)
                    or not math.isfinite(value)):
                raise ValueError(f"{name} is not a finite number")
        if (n_keys or 0) > MAX_TEXT:
            raise ValueError("its keys are too large")
        text = self._db.execute("SELECT keys FROM calibration WHERE name = ?",
                                (CALIBRATION,)).fetchone()[0]
        keys = json.loads(text)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys are not a JSON list of strings")
        if len(set(keys)) != len(keys):
            raise ValueError("keys repeat")
        arrays = _read_arrays(self._db, "calibration_arrays", "calibration", CALIBRATION,
                              MAX_CALIBRATION_BYTES, ATTRIBUTE_OR_NAME)
        return CalibrationRecord(float(level), tuple(keys), float(saved_at), arrays)

    def _read(self, head: tuple[Any, ...]) -> ModelRecord:
        """One model row, checked (inside the lock); ValueError says what is wrong."""
        name, fmt, estimator, version, fitted_at, n_params, n_keys, n_scalars, n_periods = head
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError("not a model slot name")
        if fmt != FORMAT_VERSION:
            raise ValueError(f"format {fmt!r}, this controller reads {FORMAT_VERSION}")
        if not isinstance(estimator, str) or len(estimator) > 200:
            raise ValueError("estimator is not a class path")
        if not isinstance(version, str) or len(version) > 200:
            raise ValueError("version is not a short text")
        if (not isinstance(fitted_at, int | float) or isinstance(fitted_at, bool)
                or not math.isfinite(fitted_at)):
            raise ValueError("fit time is not a finite number")
        if (n_params or 0) > MAX_SMALL_TEXT or (n_scalars or 0) > MAX_SMALL_TEXT \
                or (n_keys or 0) > MAX_TEXT or (n_periods or 0) > MAX_TEXT:
            raise ValueError("its text columns are too large")
        params, keys, scalars, periods = self._db.execute(
            "SELECT params, keys, scalars, periods FROM models WHERE name = ?",
            (name,)).fetchone()
        params, keys, scalars = json.loads(params), json.loads(keys), json.loads(scalars)
        periods = json.loads(periods)
        if not all(isinstance(v, dict) for v in (params, scalars, periods)):
            raise ValueError("params, scalars or periods are not JSON objects")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys are not a JSON list of strings")
        if len(set(keys)) != len(keys):
            raise ValueError("keys repeat")
        if not all(isinstance(k, str) and ATTRIBUTE.fullmatch(k) for k in scalars):
            raise ValueError("a scalar attribute has a bad name")
        return ModelRecord(name, estimator, version, float(fitted_at), params, tuple(keys),
                           _read_arrays(self._db, "model_arrays", "model", name,
                                        MAX_MODEL_BYTES, ATTRIBUTE), scalars, periods)


def _read_arrays(db: sqlite3.Connection, table: str, owner: str, key: str, limit: int,
                 names: re.Pattern[str]) -> dict[str, np.ndarray]:
    """The arrays of `table` whose `owner` column is `key`, checked: names matching `names`,
    sizes in SQL before a blob is read, at most `limit` bytes in all, plain numeric
    dtypes, exact shapes."""
    heads = db.execute(
        f"SELECT name, dtype, shape, length(data), typeof(data) FROM {table} "
        f"WHERE {owner} = ? ORDER BY name", (key,)).fetchall()
    if len(heads) > MAX_ARRAYS:
        raise ValueError(f"{len(heads)} arrays (at most {MAX_ARRAYS})")
    total = 0
    for name, dtype, shape_text, size, kind in heads:
        if not isinstance(name, str) or not names.fullmatch(name):
            raise ValueError("an array has a bad name")
        if dtype not in DTYPES or kind != "blob":
            raise ValueError(f"array {name}: dtype {str(dtype)[:16]!r} is not read")
        total += size
        if total > limit:
            raise ValueError(f"arrays over {limit} bytes")
        _shape(shape_text, np.dtype(dtype).itemsize, size, name)
    arrays = {}
    for name, dtype, shape_text, data in db.execute(
            f"SELECT name, dtype, shape, data FROM {table} WHERE {owner} = ?", (key,)):
        shape = _shape(shape_text, np.dtype(dtype).itemsize, len(data), name)
        array = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)
        arrays[name] = array.astype(array.dtype.newbyteorder("="), copy=True)
    return arrays


def _shape(text: object, itemsize: int, size: int, name: str) -> tuple[int, ...]:
    """The shape `text` gives, if a blob of `size` bytes holds exactly that."""
    if not isinstance(text, str) or len(text) > 200:
        raise ValueError(f"array {name}: bad shape")
    shape = json.loads(text)
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise ValueError(f"array {name}: bad shape")
    if math.prod(shape) * itemsize != size:
        raise ValueError(f"array {name}: {size} bytes, its shape {shape} needs "
                         f"{math.prod(shape) * itemsize}")
    return tuple(shape)


def _encode_arrays(owner: str, arrays: dict[str, np.ndarray]) -> list[tuple[Any, ...]]:
    """The array rows of `owner`'s arrays (ValueError if one can't be kept)."""
    rows = []
    for name, value in sorted(arrays.items()):
        if not ATTRIBUTE_OR_NAME.fullmatch(name):
            raise ValueError(f"array {name!r}: not a name")
        array = np.asarray(value)
        dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
        if dtype.str not in DTYPES:
            raise ValueError(f"array {name}: dtype {array.dtype} is not kept")
        data = np.ascontiguousarray(array, dtype=dtype).tobytes()
        rows.append((owner, name, dtype.str, json.dumps(list(array.shape)), data))
    if len(rows) > MAX_ARRAYS:
        raise ValueError(f"{len(rows)} arrays (at most {MAX_ARRAYS})")
    return rows


def _encode(r: ModelRecord) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The `models` row and `model_arrays` rows of a record (ValueError if it can't be kept)."""
    if not NAME.fullmatch(r.name):
        raise ValueError(f"model slot {r.name!r}: not a name")
    if not all(ATTRIBUTE.fullmatch(name) for name in r.arrays):
        raise ValueError(f"an array of {r.name}: not an attribute name")
    arrays = _encode_arrays(r.name, r.arrays)
    if any(not ATTRIBUTE.fullmatch(k) for k in r.scalars):
        raise ValueError("a scalar attribute has a bad name")
    try:
        model = (r.name, FORMAT_VERSION, r.estimator, r.version, float(r.fitted_at),
                 json.dumps(r.params), json.dumps(list(r.keys)), json.dumps(r.scalars),
                 json.dumps(r.periods))
    except TypeError as e:
        raise ValueError(f"model {r.name}: {e}") from None
    return model, arrays
