"""Cheap decoding of OpenFlow 1.3 flow, port and meter stats replies into numpy arrays.

OS-Ken builds a Python object per entry, per match field and per action
(some 40 us a flow on the lab machine). Here one Python step per variable-length entry finds where
it starts; numpy then reads the fixed-layout fields of all entries at once.
Matches stay bytes until a caller asks for one (`FlowStats.match`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from sdn_shadow.openflow.messages import Match
from sdn_shadow.telemetry import oxm
from sdn_shadow.telemetry.multipart import (
    OFPMP_FLOW,
    OFPMP_METER,
    OFPMP_PORT_STATS,
    OFPMPF_REPLY_MORE,
    OFPMT_OXM,
    DecodeError,
    Part,
    split,
)

__all__ = [
    "DecodeError",
    "FlowStats",
    "MeterStats",
    "PortStats",
    "decode_flow_stats",
    "decode_meter_stats",
    "decode_port_stats",
]

Buffer = bytes | bytearray | memoryview

_U16 = struct.Struct("!H")
_METER_LEN = struct.Struct("!4xH")  # meter_id, len

FLOW_ENTRY_SIZE = 56  # ofp_flow_stats up to and including the first 8 bytes of its match
_MATCH_AT = 48  # ofp_match starts here in ofp_flow_stats
#: ofp_flow_stats fixed part (the match's type and length, not its fields).
_FLOW_DTYPE = np.dtype({
    "names": ["length", "table_id", "duration_sec", "duration_nsec", "priority",
              "idle_timeout", "hard_timeout", "flags", "cookie", "packet_count", "byte_count",
              "match_type", "match_length"],
    "formats": [">u2", "u1", ">u4", ">u4", ">u2", ">u2", ">u2", ">u2", ">u8", ">u8", ">u8",
                ">u2", ">u2"],
    "offsets": [0, 2, 4, 8, 12, 14, 16, 18, 24, 32, 40, 48, 50],
    "itemsize": FLOW_ENTRY_SIZE,
})

PORT_ENTRY_SIZE = 112
_PORT_COUNTERS = ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped",
                  "rx_errors", "tx_errors", "rx_frame_err", "rx_over_err", "rx_crc_err",
                  "collisions"]
#: ofp_port_stats (OpenFlow 1.3: fixed size, no properties).
_PORT_DTYPE = np.dtype({
    "names": ["port_no", *_PORT_COUNTERS, "duration_sec", "duration_nsec"],
    "formats": [">u4"] + [">u8"] * 12 + [">u4", ">u4"],
    "offsets": [0, *range(8, 104, 8), 104, 108],
    "itemsize": PORT_ENTRY_SIZE,
})

METER_ENTRY_SIZE = 40
BAND_SIZE = 16
_METER_DTYPE = np.dtype({
    "names": ["meter_id", "len", "flow_count", "packet_in_count", "byte_in_count",
              "duration_sec", "duration_nsec"],
    "formats": [">u4", ">u2", ">u4", ">u8", ">u8", ">u4", ">u4"],
    "offsets": [0, 4, 12, 16, 24, 32, 36],
    "itemsize": METER_ENTRY_SIZE,
})
_BAND_DTYPE = np.dtype([("packet_count", ">u8"), ("byte_count", ">u8")])


def _complete(parts: list[Part]) -> bool:
    """Whether the last message ends its reply sequence (an empty buffer is not a reply)."""
    return bool(parts) and not parts[-1].flags & OFPMPF_REPLY_MORE


def _gather(buf: bytes, offsets: list[int], dtype: np.dtype) -> np.ndarray:
    """The fixed-size records of `dtype` starting at `offsets` in `buf`, as one array."""
    size = dtype.itemsize
    joined = b"".join([buf[o:o + size] for o in offsets])
    return np.frombuffer(joined, dtype=dtype)


def _native(records: np.ndarray, name: str, dtype: type[np.generic]) -> np.ndarray:
    """Field `name` of big-endian `records` as a native array of `dtype`."""
    return records[name].astype(dtype)


@dataclass(frozen=True, slots=True)
class FlowStats:
    """Flow stats entries, one array element each; matches stay bytes in `buf` until asked for."""

    buf: bytes
    table_id: np.ndarray  # uint8
    priority: np.ndarray  # uint16
    cookie: np.ndarray  # uint64
    packet_count: np.ndarray  # uint64
    byte_count: np.ndarray  # uint64
    duration_sec: np.ndarray  # uint32
    duration_nsec: np.ndarray  # uint32
    idle_timeout: np.ndarray  # uint16
    hard_timeout: np.ndarray  # uint16
    flags: np.ndarray  # uint16
    match_offset: np.ndarray  # int64: where the entry's OXM TLVs start in `buf`
    match_length: np.ndarray  # int64: their length in bytes (no ofp_match header, no padding)
    xid: int | None
    complete: bool  # the reply sequence ended (last message without OFPMPF_REPLY_MORE)

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.table_id)

    @property
    def duration(self) -> np.ndarray:
        """Age of each entry in seconds (float64)."""
        return self.duration_sec + self.duration_nsec * 1e-9

    def match_bytes(self, i: int) -> bytes:
        """The raw OXM TLVs of entry `i` (a cheap, exact identity for its match)."""
        start = int(self.match_offset[i])
        return self.buf[start:start + int(self.match_length[i])]

    def match(self, i: int) -> Match:
        """Canonical match of entry `i` (`messages.canonical_match` form; DecodeError if bad)."""
        return oxm.parse(self.match_bytes(i))

    def key(self, i: int) -> tuple[int, int, Match]:
        """(table_id, priority, match) of entry `i`: the `Flow.key` of what the switch holds."""
        return (int(self.table_id[i]), int(self.priority[i]), self.match(i))

    def flow_keys(self) -> list[tuple[int, int, Match]]:
        """`key(i)` of every entry."""
        parse, buf = oxm.parse, self.buf
        ends = (self.match_offset + self.match_length).tolist()
        return [(t, p, parse(buf[s:e])) for t, p, s, e in zip(
            self.table_id.tolist(), self.priority.tolist(), self.match_offset.tolist(), ends,
            strict=True)]


def decode_flow_stats(buf: Buffer) -> FlowStats:
    """Decode OFPMP_FLOW reply messages (one, or several of one sequence, concatenated)."""
    data = bytes(buf)
    parts = split(data, OFPMP_FLOW)
    unpack = _U16.unpack_from
    offsets: list[int] = []
    append = offsets.append
    for part in parts:
        offset, end = part.start, part.end
        last = end - FLOW_ENTRY_SIZE
        while offset < end:
            if offset > last:
                raise DecodeError(f"truncated flow stats entry at offset {offset} "
                                  f"({end - offset} bytes left in its message)")
            (length,) = unpack(data, offset)
            if length < FLOW_ENTRY_SIZE or offset + length > end:
                raise DecodeError(f"flow stats entry at offset {offset}: bad length {length} "
                                  f"({end - offset} bytes left in its message)")
            append(offset)
            offset += length
    records = _gather(data, offsets, _FLOW_DTYPE)
    match_length = records["match_length"].astype(np.int64)
    bad = (records["match_type"] != OFPMT_OXM) | (match_length < 4) | (
        _MATCH_AT + ((match_length + 7) & ~7) > records["length"])
    if bad.any():
        i = int(np.argmax(bad))
        raise DecodeError(f"flow stats entry at offset {offsets[i]}: bad match (type "
                          f"{records['match_type'][i]}, length {match_length[i]}, entry length "
                          f"{records['length'][i]})")
    return FlowStats(
        buf=data,
        table_id=_native(records, "table_id", np.uint8),
        priority=_native(records, "priority", np.uint16),
        cookie=_native(records, "cookie", np.uint64),
        packet_count=_native(records, "packet_count", np.uint64),
        byte_count=_native(records, "byte_count", np.uint64),
        duration_sec=_native(records, "duration_sec", np.uint32),
        duration_nsec=_native(records, "duration_nsec", np.uint32),
        idle_timeout=_native(records, "idle_timeout", np.uint16),
        hard_timeout=_native(records, "hard_timeout", np.uint16),
        flags=_native(records, "flags", np.uint16),
        match_offset=np.asarray(offsets, dtype=np.int64) + (_MATCH_AT + 4),
        match_length=match_length - 4,
        xid=parts[0].xid if parts else None,
        complete=_complete(parts),
    )


@dataclass(frozen=True, slots=True)
class PortStats:
    """Port stats entries, one array element each (uint64; all-ones means "not kept")."""

    port_no: np.ndarray  # uint32
    rx_packets: np.ndarray
    tx_packets: np.ndarray
    rx_bytes: np.ndarray
    tx_bytes: np.ndarray
    rx_dropped: np.ndarray
    tx_dropped: np.ndarray
    rx_errors: np.ndarray
    tx_errors: np.ndarray
    rx_frame_err: np.ndarray
    rx_over_err: np.ndarray
    rx_crc_err: np.ndarray
    collisions: np.ndarray
    duration_sec: np.ndarray  # uint32
    duration_nsec: np.ndarray  # uint32
    xid: int | None
    complete: bool

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.port_no)

    @property
    def duration(self) -> np.ndarray:
        """Time each port has been up, in seconds (float64)."""
        return self.duration_sec + self.duration_nsec * 1e-9


def decode_port_stats(buf: Buffer) -> PortStats:
    """Decode OFPMP_PORT_STATS reply messages (fixed 112-byte entries)."""
    data = bytes(buf)
    parts = split(data, OFPMP_PORT_STATS)
    chunks = []
    for part in parts:
        size = part.end - part.start
        if size % PORT_ENTRY_SIZE:
            raise DecodeError(f"port stats body at offset {part.start}: {size} bytes is not a "
                              f"whole number of {PORT_ENTRY_SIZE}-byte entries")
        chunks.append(np.frombuffer(data, _PORT_DTYPE, size // PORT_ENTRY_SIZE, part.start))
    records = np.concatenate(chunks) if chunks else np.empty(0, _PORT_DTYPE)
    counters = {name: _native(records, name, np.uint64) for name in _PORT_COUNTERS}
    return PortStats(
        port_no=_native(records, "port_no", np.uint32),
        **counters,
        duration_sec=_native(records, "duration_sec", np.uint32),
        duration_nsec=_native(records, "duration_nsec", np.uint32),
        xid=parts[0].xid if parts else None,
        complete=_complete(parts),
    )


@dataclass(frozen=True, slots=True)
class MeterStats:
    """Meter stats entries; the bands of entry i are `band_*[band_start[i]:band_start[i + 1]]`."""

    meter_id: np.ndarray  # uint32
    flow_count: np.ndarray  # uint32
    packet_in_count: np.ndarray  # uint64
    byte_in_count: np.ndarray  # uint64
    duration_sec: np.ndarray  # uint32
    duration_nsec: np.ndarray  # uint32
    band_start: np.ndarray  # int64, len(self) + 1 elements
    band_packet_count: np.ndarray  # uint64, all bands of all entries
    band_byte_count: np.ndarray  # uint64
    xid: int | None
    complete: bool

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.meter_id)

    @property
    def duration(self) -> np.ndarray:
        """Age of each meter in seconds (float64)."""
        return self.duration_sec + self.duration_nsec * 1e-9

    def bands(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(packet counts, byte counts) of entry `i`'s bands, in band order."""
        lo, hi = int(self.band_start[i]), int(self.band_start[i + 1])
        return self.band_packet_count[lo:hi], self.band_byte_count[lo:hi]


def decode_meter_stats(buf: Buffer) -> MeterStats:
    """Decode OFPMP_METER reply messages (40-byte entries, each followed by 16-byte bands)."""
    data = bytes(buf)
    parts = split(data, OFPMP_METER)
    unpack = _METER_LEN.unpack_from
    offsets: list[int] = []
    band_chunks: list[bytes] = []
    band_start = [0]
    for part in parts:
        offset, end = part.start, part.end
        while offset < end:
            if end - offset < METER_ENTRY_SIZE:
                raise DecodeError(f"truncated meter stats entry at offset {offset} "
                                  f"({end - offset} bytes left in its message)")
            (length,) = unpack(data, offset)
            if (length < METER_ENTRY_SIZE or (length - METER_ENTRY_SIZE) % BAND_SIZE
                    or offset + length > end):
                raise DecodeError(f"meter stats entry at offset {offset}: bad length {length} "
                                  f"({end - offset} bytes left in its message)")
            offsets.append(offset)
            band_chunks.append(data[offset + METER_ENTRY_SIZE:offset + length])
            band_start.append(band_start[-1] + (length - METER_ENTRY_SIZE) // BAND_SIZE)
            offset += length
    records = _gather(data, offsets, _METER_DTYPE)
    bands = np.frombuffer(b"".join(band_chunks), dtype=_BAND_DTYPE)
    return MeterStats(
        meter_id=_native(records, "meter_id", np.uint32),
        flow_count=_native(records, "flow_count", np.uint32),
        packet_in_count=_native(records, "packet_in_count", np.uint64),
        byte_in_count=_native(records, "byte_in_count", np.uint64),
        duration_sec=_native(records, "duration_sec", np.uint32),
        duration_nsec=_native(records, "duration_nsec", np.uint32),
        band_start=np.asarray(band_start, dtype=np.int64),
        band_packet_count=_native(bands, "packet_count", np.uint64),
        band_byte_count=_native(bands, "byte_count", np.uint64),
        xid=parts[0].xid if parts else None,
        complete=_complete(parts),
    )
