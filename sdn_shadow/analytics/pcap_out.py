"""Write classic pcap files that rotate by size and capture time, keeping the newest few."""

from __future__ import annotations

import math
import struct
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

_HEADER = struct.Struct("<IHHiIII")  # magic, version 2.4, zone, sigfigs, snaplen, link type
_RECORD = struct.Struct("<IIII")  # seconds, microseconds, captured length, wire length
_MAGIC = 0xA1B2C3D4


class RotatingPcapWriter:
    """Classic pcap files (microseconds, little-endian) PREFIX-YYYYmmddTHHMMSS-NNNN.pcap.

    A new file starts when the next record would take the current one past
    `max_bytes` (a record too big for any file still goes in, alone) or comes
    `max_seconds` or more of capture time after the current file's first record.
    The name's time is that first record's capture time in UTC and NNNN counts
    the files this writer made (skipping names that exist). Beyond `max_files`
    the oldest files this writer made are deleted; nothing else ever is. A file
    opens with its first record, so an idle writer leaves none. None lifts a limit.
    """

    def __init__(self, directory: str | Path, prefix: str, max_bytes: int | None = 64 << 20,
                 max_seconds: float | None = 3600.0, max_files: int | None = 10,
                 linktype: int = 1, snaplen: int = 65535) -> None:
        if not prefix or "/" in prefix or prefix.startswith("."):
            raise ValueError(f"pcap prefix must be a plain file name start, not {prefix!r}")
        if max_bytes is not None and max_bytes < _HEADER.size + _RECORD.size + 1:
            raise ValueError(f"max_bytes must leave room for a record, not {max_bytes!r}")
        if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds must be a positive number, not {max_seconds!r}")
        if max_files is not None and max_files < 1:
            raise ValueError(f"max_files must be at least 1, not {max_files!r}")
        if not 0 < snaplen < 1 << 31 or not 0 <= linktype < 1 << 28:
            raise ValueError(f"bad snaplen {snaplen!r} or link type {linktype!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix, self.linktype, self.snaplen = prefix, linktype, snaplen
        self.max_bytes, self.max_seconds, self.max_files = max_bytes, max_seconds, max_files
        self.files: deque[Path] = deque()  # the files this writer made and kept, oldest first
        self.records = 0
        self._handle: BinaryIO | None = None
        self._size = 0
        self._opened_at = 0.0
        self._sequence = 0
        self._closed = False

    @property
    def current(self) -> Path | None:
        """The file being written, if one is open."""
        return self.files[-1] if self._handle is not None else None

    def write(self, time: float, data: bytes, wire_length: int | None = None) -> None:
        """Append one record (cut to the snaplen), first rotating if the file is full or old."""
        if self._closed:
            raise ValueError("write to a closed RotatingPcapWriter")
        if not (math.isfinite(time) and 0 <= time < 1 << 32):
            raise ValueError(f"capture time {time!r} does not fit a pcap record")
        seconds, micros = divmod(round(time * 1e6), 1_000_000)
        captured = min(len(data), self.snaplen)
        size = _RECORD.size + captured
        if self._handle is not None and (
                (self.max_bytes is not None and self._size + size > self.max_bytes)
                or (self.max_seconds is not None and time - self._opened_at >= self.max_seconds)):
            self._finish()
        handle = self._handle or self._open(time, seconds)
        wire = max(len(data), wire_length or 0)
        handle.write(_RECORD.pack(seconds, micros, captured, wire) + data[:captured])
        self._size += size
        self.records += 1

    def flush(self) -> None:
        """Push buffered records to the current file (so readers see them)."""
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        """Finish the current file; later writes are an error. Closing twice is fine."""
        self._finish()
        self._closed = True

    def __enter__(self) -> RotatingPcapWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _open(self, time: float, seconds: int) -> BinaryIO:
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%dT%H%M%S")
        while True:
            self._sequence += 1
            path = self.directory / f"{self.prefix}-{stamp}-{self._sequence:04d}.pcap"
            try:
                handle = open(path, "xb")  # noqa: SIM115 - closed by _finish
            except FileExistsError:
                continue
            break
        handle.write(_HEADER.pack(_MAGIC, 2, 4, 0, 0, self.snaplen, self.linktype))
        self._handle, self._size, self._opened_at = handle, _HEADER.size, time
        self.files.append(path)
        while self.max_files is not None and len(self.files) > self.max_files:
            self.files.popleft().unlink(missing_ok=True)
        return handle

    def _finish(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
