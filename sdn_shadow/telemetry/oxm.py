"""OXM match TLVs (as switches report them) -> the canonical `Match` of `openflow.messages`."""

from __future__ import annotations

import socket
import struct

from sdn_shadow.openflow.messages import MATCH_FIELDS, Match, MatchValue, canonical_match

# The one table of OXM field numbers and sizes is the packer's.
from sdn_shadow.openflow.wire import _OXM_FIELDS, OFPXMC_OPENFLOW_BASIC
from sdn_shadow.telemetry.multipart import DecodeError

_OXM_HEADER = struct.Struct("!I")
OFPXMC_EXPERIMENTER = 0xFFFF

#: OXM field number -> (name, value size in bytes, value kind) for OFPXMC_OPENFLOW_BASIC.
_BY_NUMBER: dict[int, tuple[str, int, str]] = {
    num: (name, size, MATCH_FIELDS[name][1]) for name, (num, size) in _OXM_FIELDS.items()
}

_CACHE_LIMIT = 1 << 16
#: raw OXM TLV bytes -> canonical match (polls report the same matches again and again).
_CACHE: dict[bytes, Match] = {}


def _value(kind: str, raw: bytes) -> int | str:
    """One field value in the form OS-Ken reports it (MAC and IPv4 as strings)."""
    if kind == "mac":
        return raw.hex(":")
    if kind == "ip":
        return socket.inet_ntoa(raw)
    return int.from_bytes(raw, "big")


def _is_prefix(mask: bytes) -> bool:
    """Whether an IPv4 mask is a prefix (ones then zeros)."""
    inverted = ~int.from_bytes(mask, "big") & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


def _any_mask_ip(value: bytes, mask: bytes) -> tuple[str, str]:
    """Canonical (value, mask) of an IPv4 field with a non-prefix mask.

    `canonical_match` only takes prefix masks (it goes through `ipaddress`), but
    OpenFlow allows any mask; the form is the same: value bits outside the mask cleared.
    """
    masked = int.from_bytes(value, "big") & int.from_bytes(mask, "big")
    return socket.inet_ntoa(masked.to_bytes(4, "big")), socket.inet_ntoa(mask)


def raw_name(oxm_class: int, field: int) -> str:
    """The name an OXM field outside `MATCH_FIELDS` gets in a decoded match."""
    return f"oxm:{oxm_class:#06x}:{field}"


def parse(tlvs: bytes) -> Match:
    """Canonical match of the OXM TLVs `tlvs` (the ofp_match body, without header or padding).

    Fields outside `MATCH_FIELDS` (IPv6, experimenter fields...) are kept raw
    under `raw_name(class, field)` (plus `:<experimenter id>` for class 0xffff)
    as a hex string, or (hex value, hex mask).
    Raises DecodeError for a truncated TLV, a known field of the wrong length,
    or a field that appears twice.
    """
    cached = _CACHE.get(tlvs)
    if cached is not None:
        return cached
    known: list[tuple[str, MatchValue]] = []
    direct: list[tuple[str, MatchValue]] = []  # already canonical
    raw: list[tuple[str, MatchValue]] = []
    seen: set[str] = set()
    size = len(tlvs)
    offset = 0
    while offset < size:
        if size - offset < 4:
            raise DecodeError(f"truncated OXM header at match offset {offset}")
        (header,) = _OXM_HEADER.unpack_from(tlvs, offset)
        oxm_class, field, masked, length = header >> 16, header >> 9 & 0x7F, header >> 8 & 1, \
            header & 0xFF
        start, offset = offset + 4, offset + 4 + length
        if offset > size:
            raise DecodeError(f"OXM field {field} of class {oxm_class:#x} runs past its match")
        body = tlvs[start:offset]
        spec = _BY_NUMBER.get(field) if oxm_class == OFPXMC_OPENFLOW_BASIC else None
        if spec is None:
            name = raw_name(oxm_class, field)
            if oxm_class == OFPXMC_EXPERIMENTER and length >= 4:  # body starts with its id
                name, body = f"{name}:{body[:4].hex()}", body[4:]
            half = len(body) // 2
            value: MatchValue = (body[:half].hex(), body[half:].hex()) if masked else body.hex()
            raw.append((name, value))
        else:
            name, width, kind = spec
            if length != width * (1 + masked):
                raise DecodeError(f"OXM field {name}: length {length}, expected "
                                  f"{width * (1 + masked)}")
            if masked and kind == "ip" and not _is_prefix(body[width:]):
                direct.append((name, _any_mask_ip(body[:width], body[width:])))
            else:
                value = _value(kind, body[:width])
                if masked:
                    value = (value, _value(kind, body[width:]))  # type: ignore[assignment]
                known.append((name, value))
        if name in seen:
            raise DecodeError(f"OXM field {name} appears twice in one match")
        seen.add(name)
    result = canonical_match(known)
    if raw or direct:
        result = tuple(sorted(result + tuple(direct) + tuple(raw), key=lambda item: item[0]))
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[bytes(tlvs)] = result
    return result
