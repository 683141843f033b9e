"""Read a `timestamp,value` CSV into times and values, with one-line errors for bad input."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.analytics.capture_file import open_regular


class SeriesFileError(ValueError):
    """A series file that cannot be used; the message is one line naming file (and line)."""


def read_series_csv(path: str | Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times (seconds since the epoch, UTC if naive) and values of a `timestamp,value` file.

    The header must be `timestamp,value`; timestamps are ISO 8601 or epoch
    seconds and strictly increasing; values are finite numbers.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise SeriesFileError(f"{path}: is a directory, not a CSV file")
        with open_regular(path, SeriesFileError) as stream:  # a FIFO is refused, not awaited
            text = stream.read().decode("utf-8")
    except FileNotFoundError:
        raise SeriesFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SeriesFileError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise SeriesFileError(f"{path}: cannot read ({err.strerror})") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        raise SeriesFileError(f"{path}: empty file (expected a 'timestamp,value' header)")
    if [h.strip().lower() for h in header] != ["timestamp", "value"]:
        raise SeriesFileError(f"{path}:1: header must be 'timestamp,value' (got "
                              f"{','.join(header)!r})")
    times, values = [], []
    for line, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise SeriesFileError(f"{path}:{line}: expected 2 fields, got {len(row)}")
        times.append(_timestamp(path, line, row[0]))
        values.append(_value(path, line, row[1]))
        if len(times) > 1 and times[-1] <= times[-2]:
            raise SeriesFileError(f"{path}:{line}: timestamp {row[0].strip()!r} is not after "
                                  f"the previous one")
    if not values:
        raise SeriesFileError(f"{path}: no data rows")
    return np.array(times), np.array(values)


def _timestamp(path: Path, line: int, cell: str) -> float:
    cell = cell.strip()
    try:
        seconds = float(cell)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise SeriesFileError(f"{path}:{line}: timestamp {cell!r} is not a finite number")
        return seconds
    try:
        stamp = datetime.fromisoformat(cell)
    except ValueError:
        raise SeriesFileError(f"{path}:{line}: timestamp {cell!r} is neither ISO 8601 nor "
                              f"epoch seconds") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _value(path: Path, line: int, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise SeriesFileError(f"{path}:{line}: value {cell.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise SeriesFileError(f"{path}:{line}: value {cell.strip()!r} is not finite")
    return value
