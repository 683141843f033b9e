"""Rewrite captured frames into a lab network's addresses, keeping every checksum valid."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable

from sdn_shadow.analytics.capture_file import Record
from sdn_shadow.analytics.decode import ETHERNET, LINUX_SLL, RAW, RAW_V4

_IPV4, _ARP, _VLAN, _TCP, _UDP, _ICMP = 0x0800, 0x0806, (0x8100, 0x88A8, 0x9100), 6, 17, 1
_MAC_PREFIX = b"\x02\x53\x48"  # locally administered unicast ("SH"), then a 24-bit counter
_BROADCAST = b"\xff" * 6
_ICMP_ERRORS, _ENDS = (3, 4, 5, 11, 12), (b"\0\0\0\0", b"\xff\xff\xff\xff")
_U16 = struct.Struct("!H")


class AddressError(ValueError):
    """The target CIDR has too few free host addresses for the capture's hosts."""


def _kept(raw: bytes) -> bool:
    """Not a host: 0.0.0.0, 255.255.255.255, multicast; group or all-zero MACs."""
    mac = len(raw) == 6
    return bool(raw[0] & 1) or not any(raw) if mac else 224 <= raw[0] < 240 or raw in _ENDS


def _parse(text: str) -> bytes:
    """4 raw bytes for an IPv4 address, 6 for a MAC."""
    raw = bytes.fromhex(text.replace(":", "")) if text.count(":") == 5 else b""
    return raw if len(raw) == 6 else ipaddress.IPv4Address(text).packed


class AddressMap:
    """A consistent, one-to-one mapping of a capture's IPv4 and MAC addresses into a lab CIDR.

    `fixed` pins addresses (IPv4 or MAC, even to excluded ones: it is deliberate); others get
    the next free host of `cidr` in order of first appearance, never an excluded or pinned
    one (MACs: 02:53:48:xx:xx:xx). 0.0.0.0, broadcast, multicast and group MACs stay as is.
    """

    def __init__(self, cidr: str, fixed: dict[str, str] | None = None,
                 exclude: set[str] | None = None) -> None:
        self.network = net = ipaddress.IPv4Network(cidr)  # its ValueError names the CIDR
        if _kept(net.network_address.packed):
            raise ValueError(f"rewrite network {cidr}: not a unicast range")
        edge = 0 if net.prefixlen >= 31 else 1  # /31 and /32 have no network/broadcast address
        first, last = int(net.network_address) + edge, int(net.broadcast_address) - edge
        self._pools = {4: (i.to_bytes(4, "big") for i in range(first, last + 1)),
                       6: (_MAC_PREFIX + i.to_bytes(3, "big") for i in range(1, 1 << 24))}
        self._map: dict[bytes, bytes] = {}
        self._excluded = {_parse(a) for a in exclude or ()}
        for old_text, new_text in (fixed or {}).items():
            old, new = _parse(old_text), _parse(new_text)
            if len(old) != len(new) or _kept(new) or new in self._map.values():
                raise ValueError(f"cannot pin {old_text} to {new_text}: not a unicast address "
                                 "of the same kind, or already pinned")
            self._map[old] = new
        self._taken = set(self._map.values())
        self.hosts, self.assigned = last - first + 1, 0
        self.available = self.hosts - sum(
            1 for a in self._excluded | self._taken
            if len(a) == 4 and first <= int.from_bytes(a, "big") <= last)

    def translate(self, raw: bytes | bytearray) -> bytes:
        """The lab address for a capture address: 4 raw bytes (IPv4) or 6 (MAC)."""
        raw = bytes(raw)
        new = self._map.get(raw)
        if new is None:
            new = self._map[raw] = raw if _kept(raw) else self._fresh(raw)
        return new

    def assign_all(self, records: Iterable[Record]) -> None:
        """Map every IPv4 address of a capture up front, or raise AddressError mapping none."""
        seen = _Recorder()
        for record in records:
            rewrite_frame(record.data, record.linktype, seen)  # type: ignore[arg-type]
        new = [a for a in seen if len(a) == 4 and a not in self._map and not _kept(a)]
        if self.assigned + len(new) > self.available:
            raise AddressError(self._shortage(self.assigned + len(new)))
        for raw in new:
            self.translate(raw)

    def mapping(self) -> dict[str, str]:
        """Every address mapped so far that changed, as text (for reports)."""
        text = {4: lambda a: str(ipaddress.IPv4Address(a)), 6: lambda a: a.hex(":")}
        return {text[len(a)](a): text[len(b)](b) for a, b in self._map.items() if a != b}

    def _fresh(self, raw: bytes) -> bytes:
        for new in self._pools[len(raw)]:
            if new not in self._taken and new not in self._excluded:
                self._taken.add(new)
                self.assigned += len(raw) == 4
                return new
        if len(raw) == 6:
            raise AddressError("ran out of 02:53:48:xx:xx:xx MAC addresses")
        raise AddressError(self._shortage(self.assigned + 1) + " (at least)")

    def _shortage(self, needed: int) -> str:
        return (f"{self.network} has {self.available} free host addresses ({self.hosts} less "
                f"{self.hosts - self.available} excluded or pinned) but the capture needs {needed}")


class _Recorder(dict):
    """Stands in for an AddressMap to collect, in order, the addresses a rewrite meets."""

    def translate(self, raw: bytes | bytearray) -> bytes:
        return self.setdefault(bytes(raw), bytes(raw))


# Checksums. IPv4 headers (also quoted ones) are whole, so recomputed. TCP/UDP/ICMP checksums
# are recomputed when the capture holds the whole datagram (IP total length), which also repairs
# checksums left unfilled by offload. When the snaplen cut the datagram, or it is a first
# fragment, or quoted in an ICMP error, recomputing over partial bytes would be wrong: then
# the old checksum is adjusted for the changed bytes (RFC 1624 eqn. 3); right stays right.

def _sum(data: bytes | bytearray) -> int:
    """Ones' complement sum of 16-bit big-endian words (2**16 = 1 mod 0xFFFF)."""
    n = int.from_bytes(data + b"\0" * (len(data) % 2), "big")
    return 0xFFFF if n and not n % 0xFFFF else n % 0xFFFF


def _adjust(check: int, old: bytes | bytearray, new: bytes | bytearray) -> int:
    """RFC 1624 eqn. 3: the checksum after word-aligned bytes `old` became `new`."""
    return ~_sum(struct.pack("!HHH", ~check & 0xFFFF, ~_sum(old) & 0xFFFF, _sum(new))) & 0xFFFF


def _recompute(out: bytearray, field: int, start: int, stop: int, prefix: bytes = b"") -> int:
    """Write the checksum of `prefix + out[start:stop]` (field zeroed) at `field`."""
    out[field:field + 2] = b"\0\0"
    _U16.pack_into(out, field, check := ~_sum(prefix + out[start:stop]) & 0xFFFF)
    return check


def _link(data: bytes, linktype: int) -> tuple[int, int] | None:
    """(ethertype, offset of the network header) of an Ethernet, raw IP or Linux SLL frame."""
    if linktype == ETHERNET and len(data) >= 14:
        ethertype, pos = _U16.unpack_from(data, 12)[0], 14
        while ethertype in _VLAN:
            ethertype, pos = _U16.unpack_from(data, pos + 2)[0], pos + 4
        return ethertype, pos
    if linktype in (RAW, 12, 14, RAW_V4) and data and data[0] >> 4 == 4:
        return _IPV4, 0
    return (_U16.unpack_from(data, 14)[0], 16) if linktype == LINUX_SLL else None


def rewrite_frame(data: bytes, linktype: int, amap: AddressMap, src_mac: bytes | None = None,
                  dst_mac: bytes | None = None) -> bytes | None:
    """The frame as Ethernet with lab addresses and valid checksums; None if not IPv4/ARP or bad.

    MACs go through `amap`; then `src_mac` replaces every source MAC and `dst_mac`
    every unicast destination (broadcast/multicast ones stay). Raw IP and Linux SLL
    frames get an Ethernet header 02:00:<IPv4 dst or group MAC> <- 02:00:<IPv4 src>
    (ARP: broadcast or the target MAC <- the sender MAC).
    """
    try:
        ethertype, pos = _link(data, linktype) or (0, 0)
        if linktype != ETHERNET:
            out, pos = bytearray(12) + _U16.pack(ethertype) + data[pos:], 14
        else:
            out = bytearray(data)
        if not (_ipv4(out, pos, amap) if ethertype == _IPV4 else
                _arp(out, pos, amap) if ethertype == _ARP else False):
            return None
    except (struct.error, IndexError):
        return None
    if linktype == ETHERNET:
        out[0:6], out[6:12] = amap.translate(data[0:6]), amap.translate(data[6:12])
    elif ethertype == _ARP:
        out[0:6] = _BROADCAST if out[pos + 7] == 1 else out[pos + 18:pos + 24]
        out[6:12] = out[pos + 8:pos + 14]
    else:
        dst = out[pos + 16:pos + 20]
        out[0:6] = (_BROADCAST if dst == _BROADCAST[:4] else
                    bytes([1, 0, 0x5E, dst[1] & 0x7F]) + dst[2:] if 224 <= dst[0] < 240 else
                    b"\x02\0" + dst)
        out[6:12] = b"\x02\0" + out[pos + 12:pos + 16]
    out[0:6] = dst_mac if dst_mac is not None and not out[0] & 1 else out[0:6]
    out[6:12] = src_mac if src_mac is not None else out[6:12]
    return bytes(out)


def _ipv4(out: bytearray, p: int, amap: AddressMap) -> bool:
    """Rewrite the addresses of the IPv4 packet at `p` and fix its checksums in place."""
    ihl, total = (out[p] & 0x0F) * 4, _U16.unpack_from(out, p + 2)[0]
    if out[p] >> 4 != 4 or ihl < 20 or len(out) < p + ihl or total < ihl:
        return False
    old = bytes(out[p + 12:p + 20])
    new = out[p + 12:p + 20] = amap.translate(old[:4]) + amap.translate(old[4:])
    _recompute(out, p + 10, p, p + ihl)
    frag, proto, t, end = _U16.unpack_from(out, p + 6)[0], out[p + 9], p + ihl, p + total
    if frag & 0x1FFF:  # a later fragment: no transport header
        return True
    complete = len(out) >= end and not frag & 0x2000
    if proto == _ICMP:
        return _icmp(out, t, end, complete, amap)
    if proto in (_TCP, _UDP):
        if end < t + (18 if proto == _TCP else 8):  # no room for the header in the datagram
            return False
        if proto == _UDP and not frag & 0x2000 and len(out) >= t + 6 \
                and _U16.unpack_from(out, t + 4)[0] != total - ihl:
            return False
        _transport(out, proto, t, end, old, new, complete)
    return True


def _transport(out: bytearray, proto: int, t: int, end: int, old: bytes, new: bytes,
               complete: bool) -> None:
    """Fix the TCP/UDP checksum at `t`: recomputed if `complete`, else adjusted for old->new."""
    field = t + (16 if proto == _TCP else 6)
    if proto not in (_TCP, _UDP) or min(len(out), end) < field + 2:
        return  # not TCP/UDP, or the checksum was cut off
    if proto == _UDP and out[field:field + 2] == b"\0\0":
        return  # sent without a checksum
    if complete:
        check = _recompute(out, field, t, end, new + struct.pack("!BBH", 0, proto, end - t))
    else:
        check = _adjust(_U16.unpack_from(out, field)[0], old, new)
    _U16.pack_into(out, field, 0xFFFF if proto == _UDP and check == 0 else check)


def _icmp(out: bytearray, t: int, end: int, complete: bool, amap: AddressMap) -> bool:
    """Rewrite the header an ICMP error quotes; fix the quoted and the ICMP checksums."""
    stop = min(end, len(out))
    if stop < t + 4:
        return True
    before, q = bytes(out[t:stop]), t + 8
    qihl = (out[q] & 0x0F) * 4 if stop > q else 0
    if out[t] in _ICMP_ERRORS and qihl >= 20 and stop >= q + qihl and out[q] >> 4 == 4:
        old = bytes(out[q + 12:q + 20])
        new = out[q + 12:q + 20] = amap.translate(old[:4]) + amap.translate(old[4:])
        _recompute(out, q + 10, q, q + qihl)
        if not _U16.unpack_from(out, q + 6)[0] & 0x1FFF:
            _transport(out, out[q + 9], q + qihl, stop, old, new, False)
    if complete:
        _recompute(out, t + 2, t, end)
    else:
        _U16.pack_into(out, t + 2, _adjust(_U16.unpack_from(out, t + 2)[0], before, out[t:stop]))
    return True


def _arp(out: bytearray, p: int, amap: AddressMap) -> bool:
    """Rewrite the hardware and protocol addresses of an Ethernet/IPv4 ARP packet."""
    if out[p + 2:p + 6] != b"\x08\x00\x06\x04" or len(out) < p + 28:
        return False
    for at, size in ((p + 8, 6), (p + 14, 4), (p + 18, 6), (p + 24, 4)):
        out[at:at + size] = amap.translate(out[at:at + size])
    return True
