"""Fast OpenFlow 1.3 packer: `messages` values straight to wire bytes with precompiled structs."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable

from sdn_shadow.openflow.messages import (
    GROUP_TYPES,
    MATCH_FIELDS,
    METER_BAND_TYPES,
    METER_UNITS,
    OFPG_ANY,
    OFPM_MAX,
    OFPP_ANY,
    OFPVID_PRESENT,
    Action,
    ApplyActions,
    Barrier,
    Ct,
    FlowAdd,
    FlowDelete,
    GotoTable,
    Group,
    GroupAction,
    GroupAdd,
    GroupDelete,
    GroupModify,
    Instruction,
    Match,
    MatchValue,
    Message,
    Meter,
    MeterAdd,
    MeterDelete,
    MeterInstruction,
    MeterModify,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
)
from sdn_shadow.openflow.oxm import CT_FIELDS as CT_FIELDS
from sdn_shadow.openflow.oxm import MOVE_BITS as MOVE_BITS
from sdn_shadow.openflow.oxm import OXM_FIELDS as OXM_FIELDS
from sdn_shadow.openflow.shapes import flow_add_packer

OFP_VERSION = 0x04
OFPT_ERROR = 1
OFPT_ECHO_REQUEST = 2
OFPT_ECHO_REPLY = 3
OFPT_FLOW_MOD = 14
OFPT_GROUP_MOD = 15
OFPT_BARRIER_REQUEST = 20
OFPT_BARRIER_REPLY = 21
OFPT_METER_MOD = 29
OFPFC_ADD = 0
OFPFC_DELETE = 3
OFPFC_DELETE_STRICT = 4
OFPGC_ADD = 0
OFPGC_MODIFY = 1
OFPGC_DELETE = 2
OFPMC_ADD = 0
OFPMC_MODIFY = 1
OFPMC_DELETE = 2
OFPMF_BURST = 1 << 2
OFPMF_STATS = 1 << 3
#: Most bands per meter in OVS 3.1's userspace datapath (`ovs-ofctl meter-features`).
OVS_MAX_BANDS = 8
OFP_NO_BUFFER = 0xFFFFFFFF
OFPMT_OXM = 1
NX_EXPERIMENTER_ID = 0x00002320
NXAST_REG_MOVE = 6
NXAST_CT = 35
NXAST_OUTPUT_TRUNC = 39
NX_CT_F_COMMIT = 1
NX_CT_RECIRC_NONE = 0xFF

_OFPIT_GOTO_TABLE = 1
_OFPIT_WRITE_METADATA = 2
_OFPIT_WRITE_ACTIONS = 3
_OFPIT_APPLY_ACTIONS = 4
_OFPIT_METER = 6
_OFPAT_OUTPUT = 0
_OFPAT_PUSH_VLAN = 17
_OFPAT_POP_VLAN = 18
_OFPAT_GROUP = 22
_OFPAT_SET_FIELD = 25
_OFPAT_EXPERIMENTER = 0xFFFF

# --- precompiled layouts ---------------------------------------------------

_HEADER = struct.Struct("!BBHI")  # version, type, length, xid
# header + cookie, cookie_mask, table_id, command, idle, hard, priority,
# buffer_id, out_port, out_group, flags, pad[2]
_FLOW_MOD = struct.Struct("!BBHIQQBBHHHIIIH2x")
# _FLOW_MOD minus the fields an OFPFC_ADD leaves zero (cookie_mask, command, timeouts, flags)
_FLOW_ADD = struct.Struct("!BBHIQ8xB5xHIII4x")
_GROUP_MOD = struct.Struct("!BBHIHBxI")  # header + command, type, pad, group_id
_BUCKET = struct.Struct("!HHII4x")  # len, weight, watch_port, watch_group, pad
_MATCH_HEADER = struct.Struct("!HH")  # type, length (without padding)
_OXM_HEADER = struct.Struct("!I")
_INST_GOTO = struct.Struct("!HHB3x")
_INST_METADATA = struct.Struct("!HH4xQQ")
_INST_ACTIONS = struct.Struct("!HH4x")
_INST_METER = struct.Struct("!HHI")
_METER_MOD = struct.Struct("!BBHIHHI")  # header + command, flags, meter_id
_METER_BAND = struct.Struct("!HHIIB3x")  # type, len, rate, burst_size, prec_level, pad
_ACT_OUTPUT = struct.Struct("!HHIH6x")
_ACT_GROUP = struct.Struct("!HHI")
_ACT_PUSH_VLAN = struct.Struct("!HHH2x")
_ACT_POP_VLAN = struct.Struct("!HH4x")
_ACT_SET_FIELD = struct.Struct("!HHI")  # type, len, OXM header (value follows)
_NX_OUTPUT_TRUNC = struct.Struct("!HHIHHI")  # type, len, vendor, subtype, port16, max_len
_NX_REG_MOVE = struct.Struct("!HHIHHHHII")  # ..., n_bits, src_ofs, dst_ofs, src, dst
# ..., flags, zone_src, zone_imm (zone_ofs_nbits), recirc_table, pad[3], alg
_NX_CT = struct.Struct("!HHIHHIHB3xH")
_PAD = tuple(bytes(n) for n in range(8))
_EMPTY_MATCH = _MATCH_HEADER.pack(OFPMT_OXM, 4) + _PAD[4]
_BARRIER_LEN = _HEADER.size



#: Packs one (unmasked) match or set-field value.
_Encoder = Callable[[int | str], bytes]


def _mac(value: int | str) -> bytes:
    """Six bytes of a colon-separated MAC string."""
    if not isinstance(value, str):
        raise ValueError(f"bad MAC address {value!r}")
    raw = bytes.fromhex(value.replace(":", ""))
    if len(raw) != 6:
        raise ValueError(f"bad MAC address {value!r}")
    return raw


def _ip(value: int | str) -> bytes:
    """Four bytes of a dotted IPv4 string."""
    if not isinstance(value, str):
        raise ValueError(f"bad IPv4 address {value!r}")
    try:
        return socket.inet_aton(value)
    except (OSError, TypeError) as exc:
        raise ValueError(f"bad IPv4 address {value!r}") from exc


def _value_encoder(name: str, size: int) -> _Encoder:
    """Encoder of one (unmasked) value of field `name`."""
    kind = MATCH_FIELDS[name][1]
    if kind == "mac":
        return _mac
    if kind == "ip":
        return _ip
    return lambda value: int(value).to_bytes(size, "big")


#: name -> (OXM header, masked OXM header, value encoder).
_OXM: dict[str, tuple[int, int, _Encoder]] = {
    name: (
        (oxm_class << 16) | (num << 9) | size,
        (oxm_class << 16) | (num << 9) | 0x100 | (2 * size),
        _value_encoder(name, size),
    )
    for name, (oxm_class, num, size) in OXM_FIELDS.items()
}


#: name -> (packed OXM header, packed masked OXM header, value encoder).
_OXM_TLV = {
    name: (_OXM_HEADER.pack(header), _OXM_HEADER.pack(masked), encode)
    for name, (header, masked, encode) in _OXM.items()
}


def _field(name: str) -> tuple[int, int, _Encoder]:
    """OXM header, masked header and encoder of field `name` (ValueError if unsupported)."""
    try:
        return _OXM[name]
    except KeyError:
        raise ValueError(f"unsupported OXM field {name!r}") from None


# Plain dicts (cheaper than lru_cache) keyed by (name, value), emptied at _CACHE_LIMIT:
# hashing a dataclass costs about as much as packing it, so actions are not cached.
_CACHE_LIMIT = 1 << 16
_TLV_CACHE: dict[tuple[str, MatchValue], bytes] = {}  # match item -> OXM TLV
_SET_FIELD_CACHE: dict[tuple[str, MatchValue], bytes] = {}  # -> OFPAT_SET_FIELD action


def _remember(cache: dict[tuple[str, MatchValue], bytes], key: tuple[str, MatchValue],
              value: bytes) -> bytes:
    """Store `value` under `key`, emptying `cache` first if it is full; return `value`."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _tlv(item: tuple[str, MatchValue]) -> bytes:
    """Encode (and cache) one match item as an OXM TLV; masked if its value is (value, mask)."""
    name, value = item
    try:
        header, masked_header, encode = _OXM_TLV[name]
    except KeyError:
        raise ValueError(f"unsupported OXM field {name!r}") from None
    if isinstance(value, tuple):
        val, mask = value
        tlv = masked_header + encode(val) + encode(mask)
    else:
        tlv = header + encode(value)
    return _remember(_TLV_CACHE, item, tlv)


def _match_frame(body_len: int) -> tuple[bytes, bytes]:
    """(ofp_match header, padding) around `body_len` bytes of OXM TLVs."""
    length = 4 + body_len
    return _MATCH_HEADER.pack(OFPMT_OXM, length), _PAD[-length % 8]


#: body length -> (ofp_match header, padding), for the usual lengths.
_MATCH_FRAMES = tuple(_match_frame(n) for n in range(512))


def _match(match: Match) -> bytes:
    """An OFPMT_OXM `ofp_match` with fields in (OXM class, number) order, padded to 8 bytes.

    OVS checks prerequisites field by field (eth_type before ipv4_src, ip_proto
    before tcp_dst), so the name order of a canonical match won't do. A TLV
    starts with its class and field number and a field appears once, so sorting
    the TLV bytes sorts by (class, number): the order OS-Ken uses too. That puts
    the NXM_NX_CT_* fields (class 0x0001) first, which is fine: they have no
    prerequisites.
    """
    if not match:
        return _EMPTY_MATCH
    get = _TLV_CACHE.get
    tlvs = []
    for item in match:
        tlvs.append(get(item) or _tlv(item))
    if len(tlvs) > 1:
        tlvs.sort()
    body = b"".join(tlvs)
    n = len(body)
    header, pad = _MATCH_FRAMES[n] if n < 512 else _match_frame(n)
    return header + body + pad


def _port16(port: int) -> int:
    """An OpenFlow 1.1+ port number as the 16-bit number Nicira actions carry."""
    if port < 0xFF00:
        return port
    if port >= 0xFFFFFF00:
        return port & 0xFFFF
    raise ValueError(f"port {port:#x} has no 16-bit equivalent")


def _set_field_frame(name: str) -> tuple[bytes, _Encoder, bytes]:
    """(OFPAT_SET_FIELD header + OXM header, value encoder, padding) for field `name`."""
    header, _, encode = _OXM[name]
    length = 8 + OXM_FIELDS[name][2]
    pad = -length % 8
    return _ACT_SET_FIELD.pack(_OFPAT_SET_FIELD, length + pad, header), encode, _PAD[pad]


_SET_FIELD = {name: _set_field_frame(name) for name in OXM_FIELDS}


def _pack_set_field(action: SetField) -> bytes:
    """OFPAT_SET_FIELD with one OXM TLV, padded to 8 bytes (never a conntrack field)."""
    key = (action.field, action.value)
    packed = _SET_FIELD_CACHE.get(key)
    if packed is not None:
        return packed
    if action.field in CT_FIELDS:  # ovs-ofctl: "cannot set CT fields outside of ct action"
        raise ValueError(f"{action!r}: only a Ct action's exec() can set {action.field}")
    return _remember(_SET_FIELD_CACHE, key, _set_field_bytes(action))


def _set_field_bytes(action: SetField) -> bytes:
    """OFPAT_SET_FIELD with one OXM TLV, padded to 8 bytes, uncached."""
    try:
        prefix, encode, pad = _SET_FIELD[action.field]
    except KeyError:
        raise ValueError(f"unsupported OXM field {action.field!r}") from None
    if isinstance(action.value, tuple):
        raise ValueError(f"OpenFlow 1.3 set_field cannot be masked: {action!r}")
    if action.field == "vlan_vid" and not (isinstance(action.value, int)
                                           and action.value & OFPVID_PRESENT):
        raise ValueError(f"set_field vlan_vid needs OFPVID_PRESENT (0x1000): {action!r}")
    return prefix + encode(action.value) + pad


def _pack_output_trunc(action: OutputTrunc) -> bytes:
    """Nicira NXAST_OUTPUT_TRUNC (its port is 16 bits)."""
    return _NX_OUTPUT_TRUNC.pack(
        _OFPAT_EXPERIMENTER, 16, NX_EXPERIMENTER_ID, NXAST_OUTPUT_TRUNC,
        _port16(action.port), action.max_len,
    )  # fmt: skip


def _pack_reg_move(action: RegMove) -> bytes:
    """Nicira NXAST_REG_MOVE with OXM headers for source and destination."""
    src, dst = _field(action.src)[0], _field(action.dst)[0]
    for name, ofs in ((action.src, action.src_ofs), (action.dst, action.dst_ofs)):
        if action.n_bits < 1 or ofs < 0 or ofs + action.n_bits > MOVE_BITS[name]:
            raise ValueError(f"{action!r}: bits out of range for {name}")
    if action.dst in CT_FIELDS:  # ovs-ofctl: "cannot set CT fields outside of ct action"
        raise ValueError(f"{action!r}: only a Ct action's exec() can set {action.dst}")
    return _NX_REG_MOVE.pack(
        _OFPAT_EXPERIMENTER, _NX_REG_MOVE.size, NX_EXPERIMENTER_ID, NXAST_REG_MOVE,
        action.n_bits, action.src_ofs, action.dst_ofs, src, dst,
    )  # fmt: skip


def _pack_ct(action: Ct) -> bytes:
    """Nicira NXAST_CT with an immediate zone, then its exec() actions (OFPAT_SET_FIELDs)."""
    if action.table is None:
        table = NX_CT_RECIRC_NONE
    elif 0 <= action.table < NX_CT_RECIRC_NONE:
        table = action.table
    else:  # ovs-ofctl: "invalid table 0xff"
        raise ValueError(f"{action!r}: recirculation table must be in 0..254")
    nested = b"".join(_set_field_bytes(a) for a in action.actions)
    return _NX_CT.pack(
        _OFPAT_EXPERIMENTER, _NX_CT.size + len(nested), NX_EXPERIMENTER_ID, NXAST_CT,
        NX_CT_F_COMMIT if action.commit else 0, 0, action.zone, table, 0,
    ) + nested  # fmt: skip


_ACTION_PACKERS: dict[type, Callable[..., bytes]] = {
    Output: lambda a: _ACT_OUTPUT.pack(_OFPAT_OUTPUT, 16, a.port, a.max_len),
    GroupAction: lambda a: _ACT_GROUP.pack(_OFPAT_GROUP, 8, a.group_id),
    PushVlan: lambda a: _ACT_PUSH_VLAN.pack(_OFPAT_PUSH_VLAN, 8, a.ethertype),
    PopVlan: lambda a: _ACT_POP_VLAN.pack(_OFPAT_POP_VLAN, 8),
    SetField: _pack_set_field,
    OutputTrunc: _pack_output_trunc,
    RegMove: _pack_reg_move,
    Ct: _pack_ct,
}


def _actions(actions: tuple[Action, ...]) -> bytes:
    """An action list."""
    packers = _ACTION_PACKERS
    out = b""
    for action in actions:
        packer = packers.get(type(action))
        if packer is None:
            raise TypeError(f"not an action: {action!r}")
        out += packer(action)
    return out


def _pack_action_list(kind: int) -> Callable[[ApplyActions | WriteActions], bytes]:
    """Packer of an apply-actions or write-actions instruction."""

    def pack_actions(inst: ApplyActions | WriteActions) -> bytes:
        body = _actions(inst.actions)
        return _INST_ACTIONS.pack(kind, 8 + len(body)) + body

    return pack_actions


_INSTRUCTION_PACKERS: dict[type, Callable[..., bytes]] = {
    ApplyActions: _pack_action_list(_OFPIT_APPLY_ACTIONS),
    WriteActions: _pack_action_list(_OFPIT_WRITE_ACTIONS),
    WriteMetadata: lambda i: _INST_METADATA.pack(_OFPIT_WRITE_METADATA, 24, i.metadata, i.mask),
    GotoTable: lambda i: _INST_GOTO.pack(_OFPIT_GOTO_TABLE, 8, i.table_id),
    MeterInstruction: lambda i: _INST_METER.pack(_OFPIT_METER, 8, i.meter_id),
}


def _instructions(instructions: tuple[Instruction, ...]) -> bytes:
    """An instruction list (`Flow` already put it in OpenFlow order).

    Not cached: an identity cache cost more on misses (0.7 us) than it saved,
    and a cache keyed by value must hash dataclasses, which costs about as
    much as packing them.
    """
    packers = _INSTRUCTION_PACKERS
    out = b""
    for inst in instructions:
        packer = packers.get(type(inst))
        if packer is None:
            raise TypeError(f"not an instruction: {inst!r}")
        out += packer(inst)
    return out


# --- messages --------------------------------------------------------------


def _pack_flow_add(msg: FlowAdd, xid: int) -> bytes:
    """OFPT_FLOW_MOD / OFPFC_ADD."""
    flow = msg.flow
    match = _match(flow.match)
    insts = _instructions(flow.instructions)
    head = _FLOW_ADD.pack(
        OFP_VERSION, OFPT_FLOW_MOD, 48 + len(match) + len(insts), xid,
        flow.cookie, flow.table_id, flow.priority, OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY,
    )  # fmt: skip
    return head + match + insts


def _pack_flow_delete(msg: FlowDelete, xid: int) -> bytes:
    """OFPT_FLOW_MOD / OFPFC_DELETE(_STRICT)."""
    match = _match(msg.match)
    return _FLOW_MOD.pack(
        OFP_VERSION, OFPT_FLOW_MOD, 48 + len(match), xid,
        msg.cookie, msg.cookie_mask, msg.table_id,
        OFPFC_DELETE_STRICT if msg.strict else OFPFC_DELETE, 0, 0, msg.priority,
        OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0,
    ) + match  # fmt: skip


def check_group(group: Group) -> None:
    """Raise ValueError if OVS would reject `group` (bad type, weights, watches, bucket count)."""
    if group.type not in GROUP_TYPES:
        raise ValueError(f"group {group.group_id}: unknown type {group.type!r}")
    if group.type == "indirect" and len(group.buckets) != 1:
        raise ValueError(f"group {group.group_id}: an indirect group needs exactly one bucket")
    for bucket in group.buckets:
        if bucket.weight and group.type != "select":
            raise ValueError(f"group {group.group_id}: only select groups have bucket weights")
        live = bucket.watch_port != OFPP_ANY or bucket.watch_group != OFPG_ANY
        if live and group.type in ("all", "indirect"):
            raise ValueError(f"group {group.group_id}: {group.type} buckets cannot watch")
        if not live and group.type == "ff":
            raise ValueError(f"group {group.group_id}: ff buckets need watch_port/watch_group")


def _buckets(group: Group) -> bytes:
    """The validated bucket list of `group`."""
    check_group(group)
    out = []
    for bucket in group.buckets:
        actions = _actions(bucket.actions)
        out.append(
            _BUCKET.pack(16 + len(actions), bucket.weight, bucket.watch_port, bucket.watch_group)
        )
        out.append(actions)
    return b"".join(out)


def _group_mod(command: int, group: Group, xid: int) -> bytes:
    """OFPT_GROUP_MOD carrying `group`'s type and buckets."""
    body = _buckets(group)
    return _GROUP_MOD.pack(
        OFP_VERSION, OFPT_GROUP_MOD, 16 + len(body), xid,
        command, GROUP_TYPES[group.type], group.group_id,
    ) + body  # fmt: skip


def _pack_group_delete(msg: GroupDelete, xid: int) -> bytes:
    """OFPT_GROUP_MOD / OFPGC_DELETE (type all, no buckets)."""
    return _GROUP_MOD.pack(OFP_VERSION, OFPT_GROUP_MOD, 16, xid, OFPGC_DELETE, 0, msg.group_id)


def check_meter(meter: Meter) -> None:
    """Raise ValueError if OVS would reject `meter` (id, unit, rates, burst sizes, band count)."""
    name = f"meter {meter.meter_id}"
    if not 0 < meter.meter_id <= OFPM_MAX:
        raise ValueError(f"{name}: id must be in 1..{OFPM_MAX:#x}")
    if meter.unit not in METER_UNITS:
        raise ValueError(f"{name}: unknown unit {meter.unit!r}")
    if not 0 < len(meter.bands) <= OVS_MAX_BANDS:
        raise ValueError(f"{name}: needs 1 to {OVS_MAX_BANDS} bands")
    for band in meter.bands:
        if band.type not in METER_BAND_TYPES:
            raise ValueError(f"{name}: unknown band type {band.type!r}")
        if not 0 < band.rate <= 0xFFFFFFFF:
            raise ValueError(f"{name}: band rate must be in 1..2**32-1")
        # over the wire OVS ignores a burst size without the flag, and makes one up with it
        if meter.burst and not 0 < band.burst_size <= 0xFFFFFFFF:
            raise ValueError(f"{name}: a burst meter needs burst_size in 1..2**32-1")
        if not meter.burst and band.burst_size:
            raise ValueError(f"{name}: burst_size needs burst=True")
        if band.type == "dscp_remark" and not 0 < band.prec_level <= 0xFF:
            raise ValueError(f"{name}: a dscp_remark band needs prec_level in 1..255")
        if band.type != "dscp_remark" and band.prec_level:
            raise ValueError(f"{name}: only dscp_remark bands have a prec_level")


def meter_flags(meter: Meter) -> int:
    """The OFPMF_* flags of `meter`."""
    flags = METER_UNITS[meter.unit]
    if meter.burst:
        flags |= OFPMF_BURST
    if meter.stats:
        flags |= OFPMF_STATS
    return flags


def _meter_mod(command: int, meter: Meter, xid: int) -> bytes:
    """OFPT_METER_MOD carrying `meter`'s flags and bands."""
    check_meter(meter)
    bands = b"".join(
        _METER_BAND.pack(METER_BAND_TYPES[b.type], 16, b.rate, b.burst_size, b.prec_level)
        for b in meter.bands
    )
    return _METER_MOD.pack(
        OFP_VERSION, OFPT_METER_MOD, 16 + len(bands), xid,
        command, meter_flags(meter), meter.meter_id,
    ) + bands  # fmt: skip


def _pack_meter_delete(msg: MeterDelete, xid: int) -> bytes:
    """OFPT_METER_MOD / OFPMC_DELETE (no flags, no bands)."""
    return _METER_MOD.pack(OFP_VERSION, OFPT_METER_MOD, 16, xid, OFPMC_DELETE, 0, msg.meter_id)


_PACKERS: dict[type, Callable[..., bytes]] = {
    FlowAdd: flow_add_packer(_pack_flow_add),
    FlowDelete: _pack_flow_delete,
    GroupAdd: lambda msg, xid: _group_mod(OFPGC_ADD, msg.group, xid),
    GroupModify: lambda msg, xid: _group_mod(OFPGC_MODIFY, msg.group, xid),
    GroupDelete: _pack_group_delete,
    MeterAdd: lambda msg, xid: _meter_mod(OFPMC_ADD, msg.meter, xid),
    MeterModify: lambda msg, xid: _meter_mod(OFPMC_MODIFY, msg.meter, xid),
    MeterDelete: _pack_meter_delete,
    Barrier: lambda msg, xid: _HEADER.pack(OFP_VERSION, OFPT_BARRIER_REQUEST, _BARRIER_LEN, xid),
}


def _packer(msg: Message) -> Callable[..., bytes]:
    """The packer of `msg`'s type (TypeError for anything else)."""
    try:
        return _PACKERS[type(msg)]
    except KeyError:
        raise TypeError(f"not an OpenFlow message: {msg!r}") from None


def pack(msg: Message, xid: int = 0) -> bytes:
    """One OpenFlow 1.3 message; ValueError if `msg` holds something OpenFlow 1.3 can't carry."""
    try:
        return _packer(msg)(msg, xid)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"cannot pack {msg!r}: {exc}") from exc


def pack_many(msgs: Iterable[Message], first_xid: int = 1) -> bytes:
    """Messages concatenated, with consecutive xids from `first_xid` (wrapping at 2**32)."""
    get_packer = _PACKERS.get
    out: list[bytes] = []
    append = out.append
    xid = first_xid & 0xFFFFFFFF
    msg: object = None
    try:
        for msg in msgs:
            append((get_packer(type(msg)) or _packer(msg))(msg, xid))
            xid = (xid + 1) & 0xFFFFFFFF
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"cannot pack {msg!r}: {exc}") from exc
    return b"".join(out)


def unpack_header(buf: bytes) -> tuple[int, int, int, int]:
    """(version, type, length, xid) of the OpenFlow message at the start of `buf`."""
    return _HEADER.unpack_from(buf, 0)
