"""Render `messages` flows, groups and meters as `ovs-ofctl -O OpenFlow13` text."""

from __future__ import annotations

from sdn_shadow.openflow.messages import (
    MATCH_FIELDS,
    OFPG_ANY,
    OFPP_ANY,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    OFPVID_PRESENT,
    Action,
    ApplyActions,
    Bucket,
    Ct,
    Flow,
    GotoTable,
    Group,
    GroupAction,
    Instruction,
    Match,
    MatchValue,
    Meter,
    MeterInstruction,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
)
from sdn_shadow.openflow.wire import CT_FIELDS, MOVE_BITS, check_group, check_meter

#: OXM name -> the name ovs-ofctl parses in a match (ovs-fields(7)).
MATCH_NAMES: dict[str, str] = {
    "in_port": "in_port",
    "metadata": "metadata",
    "eth_dst": "eth_dst",
    "eth_src": "eth_src",
    "eth_type": "eth_type",
    "vlan_vid": "vlan_vid",
    "ip_proto": "ip_proto",
    "ipv4_src": "ip_src",
    "ipv4_dst": "ip_dst",
    "tcp_src": "tcp_src",
    "tcp_dst": "tcp_dst",
    "udp_src": "udp_src",
    "udp_dst": "udp_dst",
    "icmpv4_type": "icmp_type",
    "arp_op": "arp_op",
    "arp_spa": "arp_spa",
    "arp_tpa": "arp_tpa",
    "arp_sha": "arp_sha",
    "arp_tha": "arp_tha",
    "ct_state": "ct_state",
    "ct_zone": "ct_zone",
    "ct_mark": "ct_mark",
}
assert MATCH_NAMES.keys() == MATCH_FIELDS.keys(), "ofctl.py must cover messages.MATCH_FIELDS"

#: OXM name -> ovs-ofctl name in set_field / move. OVS's `in_port` is the 16-bit
#: NXM field; the 32-bit OXM_OF_IN_PORT, which the wire encoding uses, is `in_port_oxm`.
FIELD_NAMES: dict[str, str] = {**MATCH_NAMES, "in_port": "in_port_oxm"}

#: Reserved OpenFlow 1.3 ports by the names ovs-ofctl parses.
PORT_NAMES: dict[int, str] = {
    OFPP_IN_PORT: "IN_PORT",
    0xFFFFFFF9: "TABLE",
    0xFFFFFFFA: "NORMAL",
    0xFFFFFFFB: "FLOOD",
    0xFFFFFFFC: "ALL",
    OFPP_CONTROLLER: "CONTROLLER",
    0xFFFFFFFE: "LOCAL",
    OFPP_ANY: "ANY",
}

_HEX_FIELDS = frozenset({"metadata", "eth_type", "vlan_vid", "ct_mark"})

#: ct_state bits by the flag names ovs-ofctl parses (ovs-fields(7)), in bit order.
CT_STATE_FLAGS: dict[int, str] = {
    0x01: "new", 0x02: "est", 0x04: "rel", 0x08: "rpl",
    0x10: "inv", 0x20: "trk", 0x40: "snat", 0x80: "dnat",
}  # fmt: skip
_CT_STATE_KNOWN = sum(CT_STATE_FLAGS)
_ALL_ONES_METADATA = 0xFFFFFFFFFFFFFFFF


def port_to_ofctl(port: int) -> str:
    """An OpenFlow 1.3 port number as ovs-ofctl text (a number, or a reserved port's name)."""
    if 0 <= port < 0xFF00:
        return str(port)
    try:
        return PORT_NAMES[port]
    except KeyError:
        raise ValueError(f"port {port:#x} is not usable with Open vSwitch") from None


def _ct_state(value: MatchValue) -> str:
    """ct_state as flags (`+trk-new`: bit set / clear under the mask), or hex when exact.

    An exact value matches all 32 bits, which flags cannot say (`+new` masks bit
    0 only); OVS reads `0x21` as new|trk with mask 0xffffffff, as on the wire.
    """
    if not isinstance(value, tuple):
        if int(value) & ~_CT_STATE_KNOWN:  # ovs-ofctl: "unknown ct_state flag(s)"
            raise ValueError(f"ct_state {value:#x} has bits OVS does not know")
        return f"{value:#x}"
    val, mask = int(value[0]), int(value[1])
    if mask & ~_CT_STATE_KNOWN:
        raise ValueError(f"ct_state mask {mask:#x} has bits OVS does not know")
    return "".join(
        ("+" if val & bit else "-") + name for bit, name in CT_STATE_FLAGS.items() if mask & bit
    )


def _value(name: str, value: MatchValue) -> str:
    """A match or set_field value of field `name` (masked values as value/mask)."""
    if name == "ct_state":
        return _ct_state(value)
    kind = MATCH_FIELDS[name][1]
    if isinstance(value, tuple):
        val, mask = value
        if kind == "int":
            return f"{int(val):#x}/{int(mask):#x}"
        return f"{val}/{mask}"
    if kind != "int":
        return str(value)
    if name == "in_port":
        return port_to_ofctl(int(value))
    return f"{value:#x}" if name in _HEX_FIELDS else str(value)


#: MATCH_FIELDS lists fields in OXM order, which puts prerequisites (eth_type, ip_proto) first.
_ORDER = {name: i for i, name in enumerate(MATCH_FIELDS)}


def match_to_ofctl(match: Match) -> str:
    """A match as comma-separated ovs-ofctl `field=value` pairs, in OXM order ("" for all)."""
    unknown = [name for name, _ in match if name not in MATCH_NAMES]
    if unknown:
        raise ValueError(f"unsupported match field {unknown[0]!r}")
    items = sorted(match, key=lambda item: _ORDER[item[0]])
    return ",".join(f"{MATCH_NAMES[name]}={_value(name, value)}" for name, value in items)


def _subfield(name: str, ofs: int, n_bits: int) -> str:
    """`field[]` for a whole field, `field[start..end]` for part of one."""
    try:
        ofctl, width = FIELD_NAMES[name], MOVE_BITS[name]
    except KeyError:
        raise ValueError(f"unsupported field {name!r}") from None
    if n_bits < 1 or ofs < 0 or ofs + n_bits > width:
        raise ValueError(f"bits {ofs}..{ofs + n_bits - 1} out of range for {name}")
    if ofs == 0 and n_bits == width:
        return f"{ofctl}[]"
    return f"{ofctl}[{ofs}..{ofs + n_bits - 1}]"


def _ct(action: Ct) -> str:
    """`ct(commit,zone=...,table=...,exec(...))` with only the parts `action` has."""
    params = ["commit"] * action.commit + [f"zone={action.zone}"]
    if action.table is not None:
        if not 0 <= action.table < 0xFF:  # ovs-ofctl: "invalid table 0xff"
            raise ValueError(f"{action!r}: recirculation table must be in 0..254")
        params.append(f"table={action.table}")
    if action.actions:
        params.append(f"exec({','.join(_set_field(a) for a in action.actions)})")
    return f"ct({','.join(params)})"


def _set_field(action: SetField) -> str:
    """`set_field:value->field`, conntrack fields included (a `Ct` exec() may set ct_mark)."""
    if action.field not in FIELD_NAMES:
        raise ValueError(f"unsupported set_field field {action.field!r}")
    if isinstance(action.value, tuple):
        raise ValueError(f"OpenFlow 1.3 set_field cannot be masked: {action!r}")
    if action.field == "vlan_vid" and not int(action.value) & OFPVID_PRESENT:
        raise ValueError(f"set_field vlan_vid needs OFPVID_PRESENT (0x1000): {action!r}")
    value = action.value
    if action.field == "vlan_vid":  # decimal, the way OVS prints it (4196 = 0x1064)
        text = str(value)
    elif action.field == "in_port":
        text = port_to_ofctl(int(value))
    else:
        text = _value(action.field, value)
    return f"set_field:{text}->{FIELD_NAMES[action.field]}"


def action_to_ofctl(action: Action) -> str:
    """One action in ovs-actions(7) syntax."""
    if isinstance(action, Output):
        if action.port == OFPP_CONTROLLER:
            return f"controller:{action.max_len}"
        return f"output:{port_to_ofctl(action.port)}"
    if isinstance(action, GroupAction):
        return f"group:{action.group_id}"
    if isinstance(action, PushVlan):
        return f"push_vlan:{action.ethertype:#06x}"
    if isinstance(action, PopVlan):
        return "pop_vlan"
    if isinstance(action, SetField):
        if action.field in CT_FIELDS:  # ovs-ofctl: "cannot set CT fields outside of ct action"
            raise ValueError(f"{action!r}: only a Ct action's exec() can set {action.field}")
        return _set_field(action)
    if isinstance(action, OutputTrunc):
        return f"output(port={port_to_ofctl(action.port)},max_len={action.max_len})"
    if isinstance(action, RegMove):
        src = _subfield(action.src, action.src_ofs, action.n_bits)
        dst = _subfield(action.dst, action.dst_ofs, action.n_bits)
        if action.dst in CT_FIELDS:  # ovs-ofctl: "cannot set CT fields outside of ct action"
            raise ValueError(f"{action!r}: only a Ct action's exec() can set {action.dst}")
        return f"move:{src}->{dst}"
    if isinstance(action, Ct):
        return _ct(action)
    raise TypeError(f"not an action: {action!r}")


def actions_to_ofctl(actions: tuple[Action, ...]) -> str:
    """An action list, comma-separated ("drop" when empty)."""
    return ",".join(action_to_ofctl(a) for a in actions) or "drop"


def _instruction(inst: Instruction) -> str:
    """One instruction ("" for an empty apply-actions)."""
    if isinstance(inst, ApplyActions):
        return ",".join(action_to_ofctl(a) for a in inst.actions)
    if isinstance(inst, WriteActions):
        return f"write_actions({','.join(action_to_ofctl(a) for a in inst.actions)})"
    if isinstance(inst, WriteMetadata):
        if inst.mask == _ALL_ONES_METADATA:
            return f"write_metadata:{inst.metadata:#x}"
        return f"write_metadata:{inst.metadata:#x}/{inst.mask:#x}"
    if isinstance(inst, GotoTable):
        return f"goto_table:{inst.table_id}"
    if isinstance(inst, MeterInstruction):
        return f"meter:{inst.meter_id}"
    raise TypeError(f"not an instruction: {inst!r}")


def instructions_to_ofctl(instructions: tuple[Instruction, ...]) -> str:
    """Instructions as the value of ovs-ofctl `actions=` ("drop" when they do nothing)."""
    return ",".join(filter(None, map(_instruction, instructions))) or "drop"


def flow_to_ofctl(flow: Flow) -> str:
    """One `ovs-ofctl -O OpenFlow13 add-flows` line: table, priority, cookie, match, actions."""
    head = f"table={flow.table_id},priority={flow.priority},cookie={flow.cookie:#x}"
    match = match_to_ofctl(flow.match)
    actions = instructions_to_ofctl(flow.instructions)
    return f"{head},{match},actions={actions}" if match else f"{head},actions={actions}"


def _bucket(bucket: Bucket, group_type: str) -> str:
    """One `bucket=` clause: weight (select groups), watches, then actions."""
    params = []
    if group_type == "select":
        params.append(f"weight:{bucket.weight}")
    if bucket.watch_port != OFPP_ANY:
        params.append(f"watch_port:{port_to_ofctl(bucket.watch_port)}")
    if bucket.watch_group != OFPG_ANY:
        params.append(f"watch_group:{bucket.watch_group}")
    params.append(f"actions={actions_to_ofctl(bucket.actions)}")
    return "bucket=" + ",".join(params)


def group_to_ofctl(group: Group) -> str:
    """One line for `ovs-ofctl -O OpenFlow13 add-groups` (ValueError if OVS would reject it)."""
    check_group(group)
    buckets = "".join("," + _bucket(b, group.type) for b in group.buckets)
    return f"group_id={group.group_id},type={group.type}{buckets}"


def meter_to_ofctl(meter: Meter) -> str:
    """The argument of `ovs-ofctl -O OpenFlow13 add-meter` (ValueError if OVS would reject it)."""
    check_meter(meter)
    flags = [meter.unit] + ["burst"] * meter.burst + ["stats"] * meter.stats
    bands = []
    for band in meter.bands:
        text = f"type={band.type},rate={band.rate}"
        if band.burst_size:
            text += f",burst_size={band.burst_size}"
        if band.type == "dscp_remark":
            text += f",prec_level={band.prec_level}"
        bands.append(text)
    # ovs-ofctl takes `band=` once: each further band starts at its `type=`
    return f"meter={meter.meter_id},{','.join(flags)},band={','.join(bands)}"
