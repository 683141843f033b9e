"""OXM match TLVs (as switches report them) -> the canonical `Match` of `openflow.messages`."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from operator import itemgetter

from sdn_shadow.openflow.messages import MATCH_FIELDS, Match, MatchValue, canonical_match

# The one table of OXM classes, field numbers and sizes is the packer's.
from sdn_shadow.openflow.wire import OXM_FIELDS
from sdn_shadow.telemetry.multipart import DecodeError

_OXM_HEADER = struct.Struct("!I")
OFPXMC_EXPERIMENTER = 0xFFFF

#: Value decoders giving the form OS-Ken reports and `canonical_match` keeps for an
#: unmasked value (lower-case MAC, dotted IPv4, int).
_DECODERS: dict[str, Callable[[bytes], int | str]] = {
    "mac": lambda raw: raw.hex(":"),
    "ip": socket.inet_ntoa,
    "int": lambda raw: int.from_bytes(raw, "big"),
}


def _known_headers() -> dict[int, tuple[str, int, str, bool]]:
    """Full OXM header -> (name, value size, kind, masked) for each field of `MATCH_FIELDS`."""
    table = {}
    for name, (oxm_class, num, size) in OXM_FIELDS.items():
        kind = MATCH_FIELDS[name][1]
        base = (oxm_class << 16) | (num << 9)
        table[base | size] = (name, size, kind, False)
        table[base | 0x100 | (2 * size)] = (name, size, kind, True)
    return table


_KNOWN = _known_headers()
#: (OXM class, field number) -> (name, value size) of the fields we model.
_BY_NUMBER = {(cls, num): (name, size) for name, (cls, num, size) in OXM_FIELDS.items()}

_CACHE_LIMIT = 1 << 16
#: raw OXM TLV bytes -> canonical match (polls report the same matches again and again).
_CACHE: dict[bytes, Match] = {}


def clear_cache() -> None:
    """Forget the matches parsed so far (benchmarks use it to time a cold parse)."""
    _CACHE.clear()


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


def _raw_item(header: int, body: bytes) -> tuple[str, MatchValue]:
    """An OXM field we don't model, kept as hex (DecodeError if it is a known field misframed)."""
    oxm_class, field, masked, length = header >> 16, header >> 9 & 0x7F, header >> 8 & 1, \
        header & 0xFF
    if (oxm_class, field) in _BY_NUMBER:
        name, size = _BY_NUMBER[oxm_class, field]
        raise DecodeError(f"OXM field {name}: length {length}, expected {size * (1 + masked)}")
    name = raw_name(oxm_class, field)
    if oxm_class == OFPXMC_EXPERIMENTER and length >= 4:  # the body starts with its id
        name, body = f"{name}:{body[:4].hex()}", body[4:]
    half = len(body) // 2
    return name, ((body[:half].hex(), body[half:].hex()) if masked else body.hex())


def parse(tlvs: bytes) -> Match:
    """Canonical match of the OXM TLVs `tlvs` (the ofp_match body, without header or padding).

    Equal to `canonical_match` of the items OS-Ken decodes from the same bytes.
    Fields outside `MATCH_FIELDS` (IPv6, experimenter fields...) are kept raw
    under `raw_name(class, field)` (plus `:<experimenter id>` for class 0xffff)
    as a hex string, or (hex value, hex mask). Raises DecodeError for a
    truncated TLV, a known field of the wrong length, or a field that appears twice.
    """
    cached = _CACHE.get(tlvs)
    if cached is not None:
        return cached
    items: list[tuple[str, MatchValue]] = []  # already canonical
    masked: list[tuple[str, MatchValue]] = []  # for canonical_match
    unpack, known, decoders = _OXM_HEADER.unpack_from, _KNOWN, _DECODERS
    size = len(tlvs)
    offset = 0
    while offset < size:
        if size - offset < 4:
            raise DecodeError(f"truncated OXM header at match offset {offset}")
        (header,) = unpack(tlvs, offset)
        start, offset = offset + 4, offset + 4 + (header & 0xFF)
        if offset > size:
            raise DecodeError(f"OXM TLV {header:#010x} runs past the end of its match")
        spec = known.get(header)
        if spec is None:
            items.append(_raw_item(header, tlvs[start:offset]))
            continue
        name, width, kind, is_masked = spec
        decode = decoders[kind]
        if not is_masked:
            items.append((name, decode(tlvs[start:offset])))
            continue
        value, mask = tlvs[start:start + width], tlvs[start + width:offset]
        if kind == "ip" and not _is_prefix(mask):
            items.append((name, _any_mask_ip(value, mask)))
        else:
            masked.append((name, (decode(value), decode(mask))))  # type: ignore[arg-type]
    if len({name for name, _ in items} | {name for name, _ in masked}) != len(items) + len(masked):
        raise DecodeError("an OXM field appears twice in one match")
    if masked:
        items += canonical_match(masked)  # drops all-zero masks, shortens all-ones ones
    result = tuple(sorted(items, key=itemgetter(0)))
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[bytes(tlvs)] = result
    return result
