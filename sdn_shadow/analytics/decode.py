"""Decode the headers analysis needs from a raw frame; malformed frames decode to None.

Hand-written rather than scapy dissection: it reads only the few header
fields the features use, bounds-checks every one, and runs many times faster
than building scapy layers, so analysis keeps up with reading the file.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

ETHERNET, RAW, LINUX_SLL, LINUX_SLL2 = 1, 101, 113, 276
NULL, LOOP, RAW_V4, RAW_V6 = 0, 108, 228, 229
_RAW_TYPES = (RAW, 12, 14)
_VLAN = (0x8100, 0x88A8, 0x9100)
_IPV4, _IPV6, _ARP = 0x0800, 0x86DD, 0x0806
_V6_EXTENSIONS = (0, 43, 60)
_FRAGMENT = 44

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_U16 = struct.Struct("!H")
_PORTS = struct.Struct("!HH")


class Packet(NamedTuple):
    """The header fields of one frame that the features use (addresses are raw bytes).

    `proto` is an IP protocol number, 0 for ARP and -1 for anything else.
    For ARP, `src`/`dst` are the sender/target protocol addresses,
    `src_mac`/`dst_mac` the sender/target hardware addresses and `op` the
    opcode. For ICMP, `sport`/`dport` are type and code and `quoted` the
    (destination, protocol, destination port) of the datagram an error quotes.
    """

    time: float
    length: int
    proto: int
    src: bytes = b""
    dst: bytes = b""
    sport: int = 0
    dport: int = 0
    flags: int = 0
    op: int = 0
    src_mac: bytes = b""
    dst_mac: bytes = b""
    quoted: tuple[bytes, int, int] | None = None


def address(raw: bytes) -> str:
    """Text form of a raw IPv4/IPv6 address or MAC address."""
    if len(raw) == 6:
        return raw.hex(":")
    return str(ipaddress.ip_address(raw)) if len(raw) in (4, 16) else raw.hex()


def decode(time: float, data: bytes, linktype: int, length: int) -> Packet | None:
    """The packet's header fields, a Packet with proto -1 if not IP/ARP, None if malformed."""
    try:
        return _decode(time, data, linktype, length)
    except (struct.error, IndexError):
        return None


def _decode(time: float, data: bytes, linktype: int, length: int) -> Packet | None:
    src_mac = b""
    if linktype == ETHERNET:
        if len(data) < 14:
            return None
        src_mac = data[6:12]
        ethertype = _U16.unpack_from(data, 12)[0]
        pos = 14
        while ethertype in _VLAN:
            ethertype = _U16.unpack_from(data, pos + 2)[0]
            pos += 4
    elif linktype in _RAW_TYPES or linktype in (RAW_V4, RAW_V6):
        if not data:
            return None
        version = data[0] >> 4
        ethertype = _IPV4 if version == 4 else _IPV6 if version == 6 else -1
        pos = 0
    elif linktype == LINUX_SLL:
        if len(data) < 16:
            return None
        ethertype, pos = _U16.unpack_from(data, 14)[0], 16
        if _U16.unpack_from(data, 4)[0] == 6:
            src_mac = data[6:12]
    elif linktype == LINUX_SLL2:
        if len(data) < 20:
            return None
        ethertype, pos = _U16.unpack_from(data, 0)[0], 20
    elif linktype in (NULL, LOOP):
        if len(data) < 4:
            return None
        family = data[0] or data[3]  # a small number in the writer's byte order
        ethertype = _IPV4 if family == 2 else _IPV6 if family in (10, 24, 28, 30) else -1
        pos = 4
    else:
        return Packet(time, length, -1)
    if ethertype == _IPV4:
        return _ipv4(time, data, pos, length, src_mac)
    if ethertype == _IPV6:
        return _ipv6(time, data, pos, length, src_mac)
    if ethertype == _ARP:
        return _arp(time, data, pos, length)
    return Packet(time, length, -1, src_mac=src_mac)


def _ipv4(time: float, data: bytes, pos: int, length: int, src_mac: bytes) -> Packet | None:
    first = data[pos]
    ihl = (first & 0x0F) * 4
    if first >> 4 != 4 or ihl < 20 or len(data) < pos + ihl:
        return None
    proto = data[pos + 9]
    src, dst = data[pos + 12:pos + 16], data[pos + 16:pos + 20]
    if _U16.unpack_from(data, pos + 6)[0] & 0x1FFF:  # a later fragment: no transport header
        return Packet(time, length, proto, src, dst, src_mac=src_mac)
    return _transport(time, data, pos + ihl, length, proto, src, dst, src_mac)


def _ipv6(time: float, data: bytes, pos: int, length: int, src_mac: bytes) -> Packet | None:
    if len(data) < pos + 40 or data[pos] >> 4 != 6:
        return None
    proto = data[pos + 6]
    src, dst = data[pos + 8:pos + 24], data[pos + 24:pos + 40]
    pos += 40
    while proto in _V6_EXTENSIONS or proto == _FRAGMENT:
        if proto == _FRAGMENT:
            if _U16.unpack_from(data, pos + 2)[0] & 0xFFF8:
                return Packet(time, length, data[pos], src, dst, src_mac=src_mac)
            proto, pos = data[pos], pos + 8
        else:
            proto, pos = data[pos], pos + (data[pos + 1] + 1) * 8
    return _transport(time, data, pos, length, proto, src, dst, src_mac)


def _transport(time: float, data: bytes, pos: int, length: int, proto: int, src: bytes,
               dst: bytes, src_mac: bytes) -> Packet | None:
    if proto == TCP:
        if len(data) < pos + 14 or data[pos + 12] >> 4 < 5:
            return None
        sport, dport = _PORTS.unpack_from(data, pos)
        return Packet(time, length, proto, src, dst, sport, dport, data[pos + 13], src_mac=src_mac)
    if proto == UDP:
        if len(data) < pos + 8:
            return None
        sport, dport = _PORTS.unpack_from(data, pos)
        return Packet(time, length, proto, src, dst, sport, dport, src_mac=src_mac)
    if proto in (ICMP, ICMPV6):
        if len(data) < pos + 2:
            return None
        kind, code = data[pos], data[pos + 1]
        quoted = _quoted(data, pos + 8) if proto == ICMP and kind == 3 else None
        return Packet(time, length, proto, src, dst, kind, code, src_mac=src_mac, quoted=quoted)
    return Packet(time, length, proto, src, dst, src_mac=src_mac)


def _quoted(data: bytes, pos: int) -> tuple[bytes, int, int] | None:
    """(destination, protocol, destination port) of the IPv4 datagram an ICMP error quotes."""
    if len(data) < pos + 20 or data[pos] >> 4 != 4:
        return None
    ihl = (data[pos] & 0x0F) * 4
    proto = data[pos + 9]
    dport = _U16.unpack_from(data, pos + ihl + 2)[0] if len(data) >= pos + ihl + 4 else 0
    return (data[pos + 16:pos + 20], proto, dport)


def _arp(time: float, data: bytes, pos: int, length: int) -> Packet | None:
    if len(data) < pos + 8:
        return None
    hlen, plen = data[pos + 4], data[pos + 5]
    op = _U16.unpack_from(data, pos + 6)[0]
    body = pos + 8
    if hlen != 6 or plen != 4:
        return Packet(time, length, -1)
    if len(data) < body + 20:
        return None
    return Packet(time, length, 0, src=data[body + 6:body + 10], dst=data[body + 16:body + 20],
                  op=op, src_mac=data[body:body + 6], dst_mac=data[body + 10:body + 16])
