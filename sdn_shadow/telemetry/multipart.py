"""OpenFlow 1.3 multipart framing: split a reply sequence into bodies, pack stats requests."""

from __future__ import annotations

import struct
from dataclasses import dataclass

OFP_VERSION = 0x04
OFPT_HELLO = 0
OFPT_ERROR = 1
OFPT_ECHO_REQUEST = 2
OFPT_ECHO_REPLY = 3
OFPT_MULTIPART_REQUEST = 18
OFPT_MULTIPART_REPLY = 19
OFPMP_FLOW = 1
OFPMP_PORT_STATS = 4
OFPMP_METER = 9
OFPMPF_REPLY_MORE = 0x0001
OFPTT_ALL = 0xFF
OFPP_ANY = 0xFFFFFFFF
OFPG_ANY = 0xFFFFFFFF
OFPM_ALL = 0xFFFFFFFF
OFPMT_OXM = 1

HEADER = struct.Struct("!BBHI")  # version, type, length, xid
MULTIPART = struct.Struct("!BBHIHH4x")  # header + multipart type, flags, pad
_FLOW_REQUEST = struct.Struct("!B3xII4xQQHH4x")  # table, out_port, out_group, cookie(+mask), match
_ID_REQUEST = struct.Struct("!I4x")  # port_no (port stats) or meter_id (meter stats)


class DecodeError(ValueError):
    """Bytes that are not a well-formed OpenFlow 1.3 reply of the expected kind."""


@dataclass(frozen=True, slots=True)
class Part:
    """One multipart reply message: where its body lies in the buffer, and its header fields."""

    start: int  # offset of the body (after the 16-byte multipart header)
    end: int  # offset just past the message
    xid: int
    flags: int


def split(buf: bytes | bytearray | memoryview, mp_type: int) -> list[Part]:
    """The bodies of the OFPT_MULTIPART_REPLY messages of type `mp_type` concatenated in `buf`.

    All messages must share one xid (one reply sequence) and none may follow a
    message whose OFPMPF_REPLY_MORE flag is clear. The last one may still have
    it set: a caller may decode each message as it arrives.
    """
    size = len(buf)
    parts: list[Part] = []
    offset = 0
    while offset < size:
        if size - offset < MULTIPART.size:
            raise DecodeError(f"truncated multipart header at offset {offset} "
                              f"({size - offset} bytes left)")
        version, msg_type, length, xid, kind, flags = MULTIPART.unpack_from(buf, offset)
        where = f"message at offset {offset}"
        if version != OFP_VERSION:
            raise DecodeError(f"{where}: OpenFlow version {version:#x}, expected 0x04")
        if msg_type != OFPT_MULTIPART_REPLY:
            raise DecodeError(f"{where}: message type {msg_type}, expected multipart reply (19)")
        if length < MULTIPART.size:
            raise DecodeError(f"{where}: length {length} is shorter than its header")
        if offset + length > size:
            raise DecodeError(f"{where}: length {length} runs past the end of the buffer "
                              f"({size - offset} bytes left)")
        if kind != mp_type:
            raise DecodeError(f"{where}: multipart type {kind}, expected {mp_type}")
        if parts:
            if xid != parts[0].xid:
                raise DecodeError(f"{where}: xid {xid} in a reply sequence of xid {parts[0].xid}")
            if not parts[-1].flags & OFPMPF_REPLY_MORE:
                raise DecodeError(f"{where}: follows the last message of its reply sequence")
        parts.append(Part(offset + MULTIPART.size, offset + length, xid, flags))
        offset += length
    return parts


def is_last(message: bytes | bytearray | memoryview) -> bool:
    """Whether a multipart reply message ends its sequence (OFPMPF_REPLY_MORE clear)."""
    if len(message) < MULTIPART.size:
        raise DecodeError(f"truncated multipart header ({len(message)} bytes)")
    return not MULTIPART.unpack_from(message, 0)[5] & OFPMPF_REPLY_MORE


def _request(mp_type: int, body: bytes, xid: int) -> bytes:
    """An OFPT_MULTIPART_REQUEST of `mp_type` with `body` (flags 0)."""
    return MULTIPART.pack(OFP_VERSION, OFPT_MULTIPART_REQUEST, MULTIPART.size + len(body), xid,
                          mp_type, 0) + body


def flow_stats_request(xid: int, table_id: int = OFPTT_ALL) -> bytes:
    """Flow stats request for every flow of `table_id` (any port, group, cookie; empty match)."""
    body = _FLOW_REQUEST.pack(table_id, OFPP_ANY, OFPG_ANY, 0, 0, OFPMT_OXM, 4)
    return _request(OFPMP_FLOW, body, xid)


def port_stats_request(xid: int, port_no: int = OFPP_ANY) -> bytes:
    """Port stats request for `port_no` (default: all ports)."""
    return _request(OFPMP_PORT_STATS, _ID_REQUEST.pack(port_no), xid)


def meter_stats_request(xid: int, meter_id: int = OFPM_ALL) -> bytes:
    """Meter stats request for `meter_id` (default: all meters)."""
    return _request(OFPMP_METER, _ID_REQUEST.pack(meter_id), xid)
