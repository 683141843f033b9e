"""Read pcap and pcapng files record by record, tolerating a cut-off end."""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_IDB, _OPB, _SPB, _EPB = 1, 2, 3, 6
_TSRESOL = 9
_MAX_RECORD = 256 * 1024 * 1024
_CHUNK = 1 << 20


class CaptureError(ValueError):
    """The file is not a pcap or pcapng capture (or cannot be read at all)."""


@dataclass(frozen=True)
class Record:
    """One captured frame: time in seconds, link type, captured bytes and length on the wire."""

    time: float
    linktype: int
    data: bytes
    wire_length: int


@dataclass
class ReadStats:
    """What reading left out: a cut-off last record, blocks it could not use."""

    records: int = 0
    truncated: bool = False
    skipped_blocks: int = 0
    notes: list[str] = field(default_factory=list)


def read_capture(path: str | Path, stats: ReadStats | None = None) -> Iterator[Record]:
    """Every record of a pcap or pcapng file; a cut-off end stops reading and sets `truncated`.

    Raises CaptureError before the first record if the file is neither format.
    """
    stats = stats if stats is not None else ReadStats()
    try:
        handle = open_regular(path, CaptureError)
    except OSError as err:
        raise CaptureError(f"{path}: {err.strerror}") from err
    head = handle.read(4)
    if head in PCAP_MAGICS:
        records = _pcap_records(handle, head, stats)
    elif head == PCAPNG_SHB:
        records = _pcapng_records(handle, stats)
    else:
        handle.close()
        shown = f"starts with bytes {head.hex(' ')}" if head else "is empty"
        raise CaptureError(f"{path}: not a pcap or pcapng capture (it {shown})")
    return _closing(handle, records, path)


def open_regular(path: str | Path, error: type[ValueError]) -> BinaryIO:
    """`path` opened for reading if it is a regular file, else `error("PATH: reason")`
    (OSError when it cannot be opened at all).

    Opened without blocking, so a FIFO is refused at once instead of waiting for a writer.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path}: not a regular file (a FIFO, device or directory)")
    return os.fdopen(fd, "rb")


def _closing(handle: BinaryIO, records: Iterator[Record], path: str | Path) -> Iterator[Record]:
    with handle:
        try:
            yield from records
        except _BadHeader as err:
            raise CaptureError(f"{path}: {err}") from None


class _BadHeader(Exception):
    """The file header is unusable (raised before any record)."""


class _Buffer:
    """Reads a file in large chunks; `take(n)` returns n bytes or None at a short end."""

    def __init__(self, handle: BinaryIO, start: bytes = b"") -> None:
        self.handle = handle
        self.data = start
        self.pos = 0

    def take(self, n: int) -> bytes | None:
        if self.pos + n > len(self.data):
            rest = self.data[self.pos:]
            more = self.handle.read(max(_CHUNK, n - len(rest)))
            self.data = rest + more
            self.pos = 0
            if n > len(self.data):
                self.pos = len(self.data)
                return None
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def at_end(self) -> bool:
        if self.pos < len(self.data):
            return False
        self.data, self.pos = self.handle.read(_CHUNK), 0
        return not self.data


def _pcap_records(handle: BinaryIO, magic: bytes, stats: ReadStats) -> Iterator[Record]:
    order, unit = PCAP_MAGICS[magic]
    buf = _Buffer(handle)
    header = buf.take(20)
    if header is None:
        raise _BadHeader("pcap file header is cut off")
    linktype = struct.unpack(order + "I", header[16:20])[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")
    while not buf.at_end():
        head = buf.take(16)
        if head is None:
            stats.truncated = True
            return
        sec, frac, caplen, wirelen = record.unpack(head)
        if caplen > _MAX_RECORD:
            stats.truncated = True
            stats.notes.append(f"record {stats.records + 1} claims {caplen} bytes; stopped there")
            return
        data = buf.take(caplen)
        if data is None:
            stats.truncated = True
            return
        stats.records += 1
        yield Record(sec + frac * unit, linktype, data, wirelen)


def _pcapng_records(handle: BinaryIO, stats: ReadStats) -> Iterator[Record]:
    buf = _Buffer(handle, PCAPNG_SHB)
    order = "<"
    interfaces: list[tuple[int, float]] = []
    last_time = 0.0
    first = True
    while not buf.at_end():
        head = buf.take(8)
        if head is not None and head[:4] == PCAPNG_SHB:
            magic = buf.take(4)
            if magic is None and first:
                raise _BadHeader("pcapng section header is cut off")
            if magic is None:
                stats.truncated = True
                return
            order = "<" if struct.unpack("<I", magic)[0] == _BYTE_ORDER_MAGIC else ">"
            if struct.unpack(order + "I", magic)[0] != _BYTE_ORDER_MAGIC:
                raise _BadHeader("pcapng section header has no byte-order magic")
            length = struct.unpack(order + "I", head[4:8])[0]
            body = buf.take(length - 12) if 12 <= length <= _MAX_RECORD else None
            if body is None:
                if first:
                    raise _BadHeader("pcapng section header is cut off or has a bad length")
                stats.truncated = True
                return
            interfaces = []
            first = False
            continue
        if head is None:
            if first:
                raise _BadHeader("pcapng section header is cut off")
            stats.truncated = True
            return
        kind, length = struct.unpack(order + "II", head)
        if length < 12 or length % 4 or length > _MAX_RECORD:
            stats.truncated = True
            stats.notes.append(f"block of length {length} after {stats.records} records; "
                               "stopped there")
            return
        body = buf.take(length - 8)
        if body is None:
            stats.truncated = True
            return
        body = body[:-4]
        if kind == _IDB:
            interfaces.append(_interface(body, order))
        elif kind in (_EPB, _OPB):
            if len(body) < 20:
                stats.skipped_blocks += 1
                continue
            if kind == _EPB:
                iface, high, low, caplen, wirelen = struct.unpack_from(order + "IIIII", body)
                data = body[20:20 + caplen]
            else:
                iface, _, high, low, caplen, wirelen = struct.unpack_from(order + "HHIIII", body)
                data = body[20:20 + caplen]
            if iface >= len(interfaces) or len(data) < caplen:
                stats.skipped_blocks += 1
                continue
            linktype, unit = interfaces[iface]
            last_time = ((high << 32) | low) * unit
            stats.records += 1
            yield Record(last_time, linktype, data, wirelen)
        elif kind == _SPB:
            if not interfaces or len(body) < 4:
                stats.skipped_blocks += 1
                continue
            wirelen = struct.unpack_from(order + "I", body)[0]
            stats.records += 1
            yield Record(last_time, interfaces[0][0], body[4:4 + wirelen], wirelen)
        else:
            stats.skipped_blocks += 1


def _interface(body: bytes, order: str) -> tuple[int, float]:
    """(link type, seconds per timestamp unit) of an interface description block."""
    if len(body) < 8:
        return (-1, 1e-6)
    linktype = struct.unpack_from(order + "H", body)[0]
    unit = 1e-6
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, pos)
        if code == 0:
            break
        if code == _TSRESOL and size >= 1 and pos + 5 <= len(body):
            resol = body[pos + 4]
            unit = 2.0 ** -(resol & 0x7F) if resol & 0x80 else 10.0 ** -resol
        pos += 4 + size + (-size % 4)
    return (linktype, unit)
