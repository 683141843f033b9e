"""Datapath-free OpenFlow 1.3 messages: flows, groups, meters, actions as frozen, hashable values.

Decision code builds these; `wire.py` packs them to bytes for the switch and
`ofctl.py` renders them as `ovs-ofctl` text. Every value is canonical (MACs in
lower case, all-ones masks dropped, match fields sorted) so two flows that
mean the same thing compare equal, and a flow's cookie can carry a hash of
its content: reconciliation then compares cookies instead of decoding
instructions read back from the switch.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import SupportsIndex, SupportsInt

OFPVID_PRESENT = 0x1000
OFPP_IN_PORT = 0xFFFFFFF8
OFPP_CONTROLLER = 0xFFFFFFFD
OFPP_ANY = 0xFFFFFFFF
OFPG_ANY = 0xFFFFFFFF
OFPTT_ALL = 0xFF
OFPM_MAX = 0xFFFF0000
OFPM_ALL = 0xFFFFFFFF
ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_VLAN = 0x8100
IPPROTO = {"icmp": 1, "tcp": 6, "udp": 17}

#: Bits of the Nicira `ct_state` match field (set after a `Ct` action recirculates).
CT_NEW, CT_EST, CT_REL, CT_RPL, CT_INV, CT_TRK = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

MatchValue = int | str | tuple[int, int] | tuple[str, str]
Match = tuple[tuple[str, MatchValue], ...]
#: What identifies a flow entry in a switch: (table, priority, match).
FlowKey = tuple[int, int, Match]

#: Match fields we use, with their width in bits (for masks) and value kind.
MATCH_FIELDS: dict[str, tuple[int, str]] = {
    "in_port": (32, "int"),
    "metadata": (64, "int"),
    "eth_dst": (48, "mac"),
    "eth_src": (48, "mac"),
    "eth_type": (16, "int"),
    "vlan_vid": (13, "int"),
    "ip_proto": (8, "int"),
    "ipv4_src": (32, "ip"),
    "ipv4_dst": (32, "ip"),
    "tcp_src": (16, "int"),
    "tcp_dst": (16, "int"),
    "udp_src": (16, "int"),
    "udp_dst": (16, "int"),
    "icmpv4_type": (8, "int"),
    "arp_op": (16, "int"),
    "arp_spa": (32, "ip"),
    "arp_tpa": (32, "ip"),
    "arp_sha": (48, "mac"),
    "arp_tha": (48, "mac"),
    # Nicira extensions (NXM_NX_*, OXM class 0x0001): connection tracking state
    "ct_state": (32, "int"),
    "ct_zone": (16, "int"),
    "ct_mark": (32, "int"),
}


def _canonical_value(name: str, value: object) -> MatchValue:
    """Return `value` for match field `name` in canonical form; drop all-ones masks.

    A fabric's plan names the same MACs, IPs and ports over and over, so
    hashable values are remembered (parsing an IPv4 address is the costly part).
    """
    kind = MATCH_FIELDS[name][1]
    if type(value) is int and kind == "int":  # the commonest cases, as they come
        return value
    if type(value) is str and kind == "mac":
        return value.lower()
    if isinstance(value, str | int | tuple):
        try:
            return _canonical_cached(name, value)
        except TypeError:  # a tuple holding something unhashable
            pass
    return _canonical_uncached(name, value)


@lru_cache(maxsize=1 << 16)
def _canonical_cached(name: str, value: object) -> MatchValue:
    return _canonical_uncached(name, value)


def _canonical_uncached(name: str, value: object) -> MatchValue:
    bits, kind = MATCH_FIELDS[name]
    if isinstance(value, tuple):
        val, mask = value
        if kind == "ip":
            net = ipaddress.IPv4Network(f"{val}/{mask}", strict=False)
            if net.prefixlen == 32:
                return str(net.network_address)
            return (str(net.network_address), str(net.netmask))
        if kind == "mac":
            val, mask = str(val).lower(), str(mask).lower()
            if mask == "ff:ff:ff:ff:ff:ff":
                return val
            # clear the bits the mask ignores, as for ints and IPs (and as switches report it)
            masked = int(val.replace(":", ""), 16) & int(mask.replace(":", ""), 16)
            return (":".join(f"{b:02x}" for b in masked.to_bytes(6, "big")), mask)
        if int(mask) == (1 << bits) - 1:
            return int(val)
        return (int(val) & int(mask), int(mask))
    if kind == "ip":
        if "/" in str(value):
            net = ipaddress.IPv4Network(str(value), strict=False)
            return _canonical_value(name, (str(net.network_address), str(net.netmask)))
        return str(ipaddress.IPv4Address(value))
    if kind == "mac":
        return str(value).lower()
    if isinstance(value, int | str):  # nearly always
        return int(value)
    return _as_int(value)


def _as_int(value: object) -> int:
    """`int(value)` for anything else (a numpy integer, ...): TypeError as `int` raises it."""
    if isinstance(value, bytes | bytearray | memoryview | SupportsInt | SupportsIndex):
        return int(value)
    raise TypeError(f"int() argument must be a string, a bytes-like object or a real number, "
                    f"not '{type(value).__name__}'")


def _wildcard(value: MatchValue) -> bool:
    """An all-zero mask matches anything: the same as leaving the field out."""
    if not isinstance(value, tuple):
        return False
    mask = value[1]
    return mask in (0, "0.0.0.0", "00:00:00:00:00:00")


def canonical_match(items: dict[str, object] | list[tuple[str, object]]) -> Match:
    """Canonicalise a match (ours, or OS-Ken `OFPMatch` items read back from a switch)."""
    pairs = items.items() if isinstance(items, dict) else items
    values = ((k, _canonical_value(k, v)) for k, v in pairs)
    return tuple(sorted((k, v) for k, v in values if not _wildcard(v)))


def match(**fields: object) -> Match:
    """Build a canonical match from OXM field names (`in_port=1, ipv4_dst='10.0.0.0/24'`)."""
    for name in fields:
        if name not in MATCH_FIELDS:
            raise ValueError(f"unsupported match field {name!r}")
    return canonical_match(fields)


# --- actions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Output:
    """Output to a port (`max_len` only matters for OFPP_CONTROLLER)."""

    port: int
    max_len: int = 0xFFE5


@dataclass(frozen=True, slots=True)
class OutputTrunc:
    """Nicira `output_trunc`: output to `port` truncated to `max_len` bytes."""

    port: int
    max_len: int


@dataclass(frozen=True, slots=True)
class GroupAction:
    """Process the packet through group `group_id`."""

    group_id: int


@dataclass(frozen=True, slots=True)
class PushVlan:
    """Push an 802.1Q tag (set its VID with a following `SetField('vlan_vid', ...)`)."""

    ethertype: int = ETH_TYPE_VLAN


@dataclass(frozen=True, slots=True)
class PopVlan:
    """Pop the outermost 802.1Q tag."""


@dataclass(frozen=True, slots=True)
class SetField:
    """Set a header field (OXM name and canonical value)."""

    field: str
    value: int | str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _canonical_value(self.field, self.value))


@dataclass(frozen=True, slots=True)
class RegMove:
    """Nicira `move`: copy `n_bits` from field `src` to field `dst` (OXM names)."""

    src: str
    dst: str
    n_bits: int
    src_ofs: int = 0
    dst_ofs: int = 0


@dataclass(frozen=True, slots=True)
class Ct:
    """Nicira `ct`: pass the packet through the connection tracker of `zone`.

    With `table`, the tracked copy is recirculated into that table with
    `ct_state` (and `ct_mark`) set, and the untracked original goes no
    further. `commit` records the connection; `actions` (only
    `SetField("ct_mark", ...)`) run on the committed entry, as `exec(...)`.
    """

    zone: int
    commit: bool = False
    table: int | None = None
    actions: tuple[SetField, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.zone <= 0xFFFF:
            raise ValueError(f"ct zone {self.zone} is not 16 bits")
        if self.actions and not self.commit:
            raise ValueError("ct exec() actions need commit")
        if any(a.field != "ct_mark" for a in self.actions):
            raise ValueError("ct exec() may only set ct_mark")


Action = Output | OutputTrunc | GroupAction | PushVlan | PopVlan | SetField | RegMove | Ct


# --- instructions ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplyActions:
    """Apply `actions` now, in order."""

    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class WriteActions:
    """Add `actions` to the action set (executed when the pipeline ends)."""

    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class WriteMetadata:
    """Write `metadata` under `mask`."""

    metadata: int
    mask: int = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class GotoTable:
    """Continue in table `table_id`."""

    table_id: int


@dataclass(frozen=True, slots=True)
class MeterInstruction:
    """Send the packet through meter `meter_id` (OFPIT_METER) before anything else."""

    meter_id: int


Instruction = MeterInstruction | ApplyActions | WriteActions | WriteMetadata | GotoTable

#: Instruction order required by OpenFlow 1.3 (and checked by OVS): meter,
#: apply-actions, (clear-actions,) write-actions, write-metadata, goto-table.
INSTRUCTION_ORDER = {
    MeterInstruction: 0, ApplyActions: 1, WriteActions: 3, WriteMetadata: 4, GotoTable: 5,
}  # fmt: skip


def content_hash(*parts: object) -> int:
    """Stable 56-bit hash of `repr(parts)` (Python's `hash` is salted per process)."""
    return _digest(repr(parts))


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(), "big")


@lru_cache(maxsize=1 << 14)
def _instructions_repr(instructions: tuple[Instruction, ...]) -> str:
    """`repr` of an instruction tuple: many flows share one, and dataclass reprs are slow."""
    return repr(instructions)


def _flow_hash(table_id: int, priority: int, match: Match,
               instructions: tuple[Instruction, ...]) -> int:
    """`content_hash(table_id, priority, match, instructions)`, the same value, faster."""
    try:
        text = _instructions_repr(instructions)
    except TypeError:  # an unhashable value inside: no cache
        text = repr(instructions)
    table = _REPRS.get((type(table_id), table_id))
    if table is None:  # a table id is usually an enum member, whose repr is slow
        table = _REPRS[(type(table_id), table_id)] = repr(table_id)
    return _digest(f"({table}, {priority!r}, {match!r}, {text})")


_REPRS: dict[tuple[type, int], str] = {}


def _in_order(instructions: tuple[Instruction, ...]) -> bool:
    """Whether `instructions` are already in `INSTRUCTION_ORDER`."""
    ranks = [INSTRUCTION_ORDER[type(i)] for i in instructions]
    return all(a <= b for a, b in zip(ranks, ranks[1:], strict=False))


# --- flows and groups ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow entry; its cookie is the owner's subsystem id (top byte) + a content hash."""

    table_id: int
    priority: int
    subsystem: int
    match: Match
    instructions: tuple[Instruction, ...] = ()
    cookie: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        ordered = self.instructions
        if type(ordered) is not tuple or len(ordered) > 1 and not _in_order(ordered):
            ordered = tuple(sorted(ordered, key=lambda i: INSTRUCTION_ORDER[type(i)]))
            object.__setattr__(self, "instructions", ordered)
        # else the caller's tuple itself: flows built from one shared tuple share it
        digest = _flow_hash(self.table_id, self.priority, self.match, ordered)
        object.__setattr__(self, "cookie", (self.subsystem << 56) | digest)

    @property
    def key(self) -> FlowKey:
        """What identifies the entry in a switch: table, priority, match."""
        return (self.table_id, self.priority, self.match)


def flows_alike(table_id: int, priority: int, subsystem: int,
                instructions: tuple[Instruction, ...]) -> Callable[[Match], Flow]:
    """A maker of flows that differ only in their (canonical) match: each is the `Flow`
    the constructor makes, but the fixed parts of its cookie's text are made once."""
    ordered = Flow(table_id, priority, subsystem, (), instructions).instructions
    table = _REPRS.get((type(table_id), table_id)) or repr(table_id)
    head, tail = f"({table}, {priority!r}, ", f", {_instructions_repr(ordered)})"
    top = subsystem << 56
    new, put = object.__new__, object.__setattr__

    def make(match: Match) -> Flow:
        flow = new(Flow)
        put(flow, "table_id", table_id)
        put(flow, "priority", priority)
        put(flow, "subsystem", subsystem)
        put(flow, "match", match)
        put(flow, "instructions", ordered)
        put(flow, "cookie", top | _digest(head + repr(match) + tail))
        return flow

    return make


@dataclass(frozen=True, slots=True)
class Bucket:
    """A group bucket."""

    actions: tuple[Action, ...]
    weight: int = 0
    watch_port: int = OFPP_ANY
    watch_group: int = OFPG_ANY


GROUP_TYPES = {"all": 0, "select": 1, "indirect": 2, "ff": 3}


@dataclass(frozen=True, slots=True)
class Group:
    """A group entry. Ids are chosen by the owner; see `pipeline.group_id`."""

    group_id: int
    type: str
    buckets: tuple[Bucket, ...]


#: Meter rate units (OFPMF_KBPS, OFPMF_PKTPS) and band types (OFPMBT_*).
METER_UNITS = {"kbps": 1, "pktps": 2}
METER_BAND_TYPES = {"drop": 1, "dscp_remark": 2}


@dataclass(frozen=True, slots=True)
class MeterBand:
    """Above `rate` drop (or dscp_remark by `prec_level`); `burst_size` needs a burst meter."""

    rate: int
    burst_size: int = 0
    type: str = "drop"
    prec_level: int = 0


def _band_key(band: MeterBand) -> tuple[int, str, int, int]:
    """Canonical band order: by rate (the switch picks the highest band exceeded)."""
    return (band.rate, band.type, band.burst_size, band.prec_level)


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter entry (rates in kbit/s or packets/s); bands are kept sorted by rate."""

    meter_id: int
    bands: tuple[MeterBand, ...]
    unit: str = "kbps"
    burst: bool = False
    stats: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(sorted(self.bands, key=_band_key)))


# --- messages --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowAdd:
    """Add (or replace, same key) `flow`."""

    flow: Flow


@dataclass(frozen=True, slots=True)
class FlowDelete:
    """Delete flows; `strict` needs the exact priority and match."""

    table_id: int = OFPTT_ALL
    match: Match = ()
    priority: int = 0
    cookie: int = 0
    cookie_mask: int = 0
    strict: bool = False


@dataclass(frozen=True, slots=True)
class GroupAdd:
    """Add `group`."""

    group: Group


@dataclass(frozen=True, slots=True)
class GroupModify:
    """Replace the buckets of an existing group (its flows keep pointing at it)."""

    group: Group


@dataclass(frozen=True, slots=True)
class GroupDelete:
    """Delete group `group_id` (OFPG_ALL deletes every group)."""

    group_id: int


@dataclass(frozen=True, slots=True)
class MeterAdd:
    """Add `meter` (the switch rejects an id already in use)."""

    meter: Meter


@dataclass(frozen=True, slots=True)
class MeterModify:
    """Replace the flags and bands of an existing meter (its flows keep using it)."""

    meter: Meter


@dataclass(frozen=True, slots=True)
class MeterDelete:
    """Delete meter `meter_id` and every flow using it (OFPM_ALL deletes every meter)."""

    meter_id: int


@dataclass(frozen=True, slots=True)
class Barrier:
    """Barrier request: the switch answers when everything before it is done."""


Message = (
    FlowAdd | FlowDelete | GroupAdd | GroupModify | GroupDelete
    | MeterAdd | MeterModify | MeterDelete | Barrier
)  # fmt: skip


def delete_strict(flow: Flow) -> FlowDelete:
    """A strict delete of exactly `flow`'s entry (and only if the owner's cookie matches)."""
    return FlowDelete(
        table_id=flow.table_id,
        match=flow.match,
        priority=flow.priority,
        cookie=flow.cookie,
        cookie_mask=0xFFFFFFFFFFFFFFFF,
        strict=True,
    )
