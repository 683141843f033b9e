"""wire.pack against OS-Ken's serializer (the oracle) and OS-Ken's parser (round trip)."""

from __future__ import annotations

import contextlib
import signal
import struct

import pytest
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from bench.osken import DATAPATH, osken_parse_one
from sdn_shadow.openflow import wire
from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_NEW,
    CT_TRK,
    GROUP_TYPES,
    MATCH_FIELDS,
    METER_BAND_TYPES,
    METER_UNITS,
    OFPG_ANY,
    OFPM_ALL,
    OFPM_MAX,
    OFPP_ANY,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    ApplyActions,
    Barrier,
    Bucket,
    Ct,
    Flow,
    FlowAdd,
    FlowDelete,
    GotoTable,
    Group,
    GroupAction,
    GroupAdd,
    GroupDelete,
    GroupModify,
    Meter,
    MeterAdd,
    MeterBand,
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
    canonical_match,
    delete_strict,
    match,
)

OFPP_LOCAL = 0xFFFFFFFE
OFPG_ALL = 0xFFFFFFFC
MASKABLE = {
    "metadata", "eth_dst", "eth_src", "vlan_vid", "ipv4_src", "ipv4_dst", "tcp_src",
    "tcp_dst", "udp_src", "udp_dst", "arp_spa", "arp_tpa", "arp_sha", "arp_tha",
    "ct_state", "ct_mark",
}  # fmt: skip


# --- the oracle: our model -> OS-Ken objects (test-only) --------------------


DP = DATAPATH


def oken_action(action):
    """OS-Ken equivalent of one of our actions."""
    if isinstance(action, Output):
        return parser.OFPActionOutput(action.port, action.max_len)
    if isinstance(action, GroupAction):
        return parser.OFPActionGroup(action.group_id)
    if isinstance(action, PushVlan):
        return parser.OFPActionPushVlan(action.ethertype)
    if isinstance(action, PopVlan):
        return parser.OFPActionPopVlan()
    if isinstance(action, SetField):
        return parser.OFPActionSetField(**{action.field: action.value})
    if isinstance(action, OutputTrunc):
        port16 = action.port & 0xFFFF if action.port >= 0xFFFFFF00 else action.port
        return parser.NXActionOutputTrunc(port=port16, max_len=action.max_len)
    if isinstance(action, RegMove):
        return parser.NXActionRegMove(
            src_field=action.src, dst_field=action.dst, n_bits=action.n_bits,
            src_ofs=action.src_ofs, dst_ofs=action.dst_ofs,
        )  # fmt: skip
    if isinstance(action, Ct):
        return parser.NXActionCT(
            flags=int(action.commit), zone_src="", zone_ofs_nbits=action.zone,
            recirc_table=0xFF if action.table is None else action.table, alg=0,
            actions=[oken_action(a) for a in action.actions],
        )  # fmt: skip
    raise TypeError(action)


def oken_instruction(inst):
    """OS-Ken equivalent of one of our instructions."""
    if isinstance(inst, ApplyActions):
        actions = [oken_action(a) for a in inst.actions]
        return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)
    if isinstance(inst, WriteActions):
        actions = [oken_action(a) for a in inst.actions]
        return parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, actions)
    if isinstance(inst, WriteMetadata):
        return parser.OFPInstructionWriteMetadata(inst.metadata, inst.mask)
    if isinstance(inst, GotoTable):
        return parser.OFPInstructionGotoTable(inst.table_id)
    if isinstance(inst, MeterInstruction):
        return parser.OFPInstructionMeter(inst.meter_id)
    raise TypeError(inst)


def oken_band(band):
    """OS-Ken equivalent of one of our meter bands."""
    if band.type == "drop":
        return parser.OFPMeterBandDrop(band.rate, band.burst_size)
    if band.type == "dscp_remark":
        return parser.OFPMeterBandDscpRemark(band.rate, band.burst_size, band.prec_level)
    raise TypeError(band)


def oken_meter_flags(meter) -> int:
    """OFPMF_* flags of one of our meters, from OS-Ken's constants."""
    flags = {"kbps": ofp.OFPMF_KBPS, "pktps": ofp.OFPMF_PKTPS}[meter.unit]
    if meter.burst:
        flags |= ofp.OFPMF_BURST
    if meter.stats:
        flags |= ofp.OFPMF_STATS
    return flags


def oken_message(msg):
    """OS-Ken equivalent of one of our messages."""
    if isinstance(msg, FlowAdd):
        flow = msg.flow
        return parser.OFPFlowMod(
            DP, cookie=flow.cookie, cookie_mask=0, table_id=flow.table_id,
            command=ofp.OFPFC_ADD, idle_timeout=0, hard_timeout=0, priority=flow.priority,
            buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
            flags=0, match=parser.OFPMatch(**dict(flow.match)),
            instructions=[oken_instruction(i) for i in flow.instructions],
        )  # fmt: skip
    if isinstance(msg, FlowDelete):
        return parser.OFPFlowMod(
            DP, cookie=msg.cookie, cookie_mask=msg.cookie_mask, table_id=msg.table_id,
            command=ofp.OFPFC_DELETE_STRICT if msg.strict else ofp.OFPFC_DELETE,
            priority=msg.priority, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
            out_group=ofp.OFPG_ANY, match=parser.OFPMatch(**dict(msg.match)), instructions=[],
        )  # fmt: skip
    if isinstance(msg, GroupAdd | GroupModify):
        group = msg.group
        buckets = [
            parser.OFPBucket(
                weight=b.weight, watch_port=b.watch_port, watch_group=b.watch_group,
                actions=[oken_action(a) for a in b.actions],
            )  # fmt: skip
            for b in group.buckets
        ]
        command = ofp.OFPGC_ADD if isinstance(msg, GroupAdd) else ofp.OFPGC_MODIFY
        types = {"all": ofp.OFPGT_ALL, "select": ofp.OFPGT_SELECT,
                 "indirect": ofp.OFPGT_INDIRECT, "ff": ofp.OFPGT_FF}  # fmt: skip
        return parser.OFPGroupMod(DP, command, types[group.type], group.group_id, buckets)
    if isinstance(msg, GroupDelete):
        return parser.OFPGroupMod(DP, ofp.OFPGC_DELETE, ofp.OFPGT_ALL, msg.group_id, [])
    if isinstance(msg, MeterAdd | MeterModify):
        meter = msg.meter
        command = ofp.OFPMC_ADD if isinstance(msg, MeterAdd) else ofp.OFPMC_MODIFY
        return parser.OFPMeterMod(
            DP, command=command, flags=oken_meter_flags(meter), meter_id=meter.meter_id,
            bands=[oken_band(b) for b in meter.bands],
        )  # fmt: skip
    if isinstance(msg, MeterDelete):
        return parser.OFPMeterMod(DP, ofp.OFPMC_DELETE, 0, msg.meter_id, [])
    if isinstance(msg, Barrier):
        return parser.OFPBarrierRequest(DP)
    raise TypeError(msg)


def oken_bytes(msg, xid: int) -> bytes:
    """What OS-Ken puts on the wire for `msg`."""
    oken = oken_message(msg)
    oken.set_xid(xid)
    oken.serialize()
    return bytes(oken.buf)


# --- samples -----------------------------------------------------------------

MATCHES = [
    match(),
    match(in_port=1),
    match(in_port=OFPP_LOCAL, metadata=100, eth_dst="00:00:00:00:00:02"),
    match(metadata=(0x1200, 0xFF00), eth_src=("02:00:00:00:00:00", "ff:ff:ff:00:00:00")),
    match(eth_dst=("01:00:00:00:00:00", "01:00:00:00:00:00"), vlan_vid=(0x1000, 0x1000)),
    match(vlan_vid=0x1064, eth_src="aa:bb:cc:dd:ee:ff", eth_type=0x0800, ipv4_dst="10.1.2.3"),
    match(eth_type=0x0800, ip_proto=6, ipv4_src="10.0.0.1", ipv4_dst="10.0.0.0/24",
          tcp_src=1234, tcp_dst=80),
    match(eth_type=0x0800, ip_proto=6, ipv4_src=("10.0.0.0", "255.0.0.0"),
          tcp_src=(0x400, 0xFC00), tcp_dst=(0x50, 0xFFF0)),
    match(eth_type=0x0800, ip_proto=17, udp_src=68, udp_dst=67),
    match(eth_type=0x0800, ip_proto=17, udp_src=(0, 0xFF00), udp_dst=(0x30, 0xFFF0)),
    match(eth_type=0x0800, ip_proto=1, icmpv4_type=8, ipv4_src="192.168.1.0/255.255.255.128"),
    match(eth_type=0x0806, arp_op=1, arp_spa="10.0.0.1", arp_tpa="10.0.0.2",
          arp_sha="00:00:00:00:00:01", arp_tha="00:00:00:00:00:00"),
    match(eth_type=0x0806, arp_op=2, arp_spa="10.0.0.0/8", arp_tpa=("10.0.1.0", "255.255.255.0"),
          arp_sha=("00:00:00:00:00:00", "01:00:00:00:00:00"),
          arp_tha=("00:11:22:00:00:00", "ff:ff:ff:00:00:00")),
    match(eth_type=0x0800, ct_state=CT_TRK | CT_EST, ct_zone=7, ct_mark=0xDEADBEEF),
    match(eth_type=0x0800, ip_proto=6, tcp_dst=22, ct_state=(CT_TRK, CT_TRK | CT_NEW),
          ct_mark=(0x10, 0xF0), in_port=2),
    match(ct_state=(0, CT_TRK), ct_zone=0xFFFF),
]  # fmt: skip

ACTIONS = [
    Output(1),
    Output(OFPP_CONTROLLER, 128),
    Output(OFPP_IN_PORT),
    Output(OFPP_LOCAL, 0),
    OutputTrunc(2, 100),
    OutputTrunc(OFPP_LOCAL, 64),
    GroupAction(7),
    PushVlan(),
    PushVlan(0x88A8),
    PopVlan(),
    SetField("vlan_vid", 0x1064),
    SetField("eth_dst", "00:00:00:00:00:09"),
    SetField("eth_src", "AA:BB:CC:00:00:01"),
    SetField("ipv4_src", "10.0.0.9"),
    SetField("ipv4_dst", "192.168.0.1"),
    SetField("tcp_dst", 8080),
    SetField("udp_src", 5353),
    SetField("metadata", 0x1234),
    SetField("in_port", 3),
    SetField("arp_op", 2),
    SetField("arp_tha", "00:00:00:00:00:07"),
    RegMove("eth_src", "eth_dst", 48),
    RegMove("ipv4_src", "ipv4_dst", 8, src_ofs=0, dst_ofs=8),
    RegMove("in_port", "metadata", 32, dst_ofs=16),
    RegMove("vlan_vid", "tcp_src", 12),
    RegMove("arp_sha", "arp_tha", 24, src_ofs=24, dst_ofs=0),
    RegMove("ct_mark", "metadata", 32),
    RegMove("ct_state", "tcp_dst", 8, dst_ofs=8),
    Ct(0),
    Ct(100, commit=True),
    Ct(7, table=3),
    Ct(0xFFFF, commit=True, table=254, actions=(SetField("ct_mark", 1),)),
    Ct(1, commit=True, actions=(SetField("ct_mark", 0xFFFFFFFF), SetField("ct_mark", 0))),
]

INSTRUCTIONS = [
    (),
    (ApplyActions(()),),
    (ApplyActions((PushVlan(), SetField("vlan_vid", 0x1064), Output(10))),),
    (GotoTable(4),),
    (WriteMetadata(0x64),),
    (WriteMetadata(0x64, 0xFFFF), GotoTable(2)),
    (WriteActions((Output(3), GroupAction(1))),),
    (MeterInstruction(1),),
    (MeterInstruction(OFPM_MAX), ApplyActions((Output(2),))),
    # given out of order on purpose: Flow sorts them
    (GotoTable(9), WriteActions((PopVlan(),)), WriteMetadata(1, 1), ApplyActions(tuple(ACTIONS))),
    (GotoTable(1), WriteMetadata(7), WriteActions((Output(1),)), ApplyActions((PopVlan(),)),
     MeterInstruction(3)),
]  # fmt: skip


def _flow(i: int, m, insts) -> Flow:
    return Flow(table_id=i % 5, priority=100 + i, subsystem=i % 3, match=m, instructions=insts)


FLOWS = [_flow(i, m, INSTRUCTIONS[i % len(INSTRUCTIONS)]) for i, m in enumerate(MATCHES)]
FLOWS += [_flow(i, MATCHES[6], insts) for i, insts in enumerate(INSTRUCTIONS)]
FLOWS += [_flow(i, match(eth_type=0x0800), (ApplyActions((a,)),)) for i, a in enumerate(ACTIONS)]

GROUPS = [
    Group(1, "all", (Bucket((Output(1),)), Bucket((PushVlan(), Output(2))), Bucket(()))),
    Group(2, "select", (Bucket((Output(1),), weight=1), Bucket((Output(2),), weight=3))),
    Group(3, "indirect", (Bucket((SetField("eth_dst", "00:00:00:00:00:01"), Output(3))),)),
    Group(4, "ff", (Bucket((Output(1),), watch_port=1), Bucket((Output(2),), watch_group=2),
                    Bucket((GroupAction(1),), watch_port=2, watch_group=3))),
    Group(5, "select", (Bucket((OutputTrunc(2, 100), RegMove("eth_src", "eth_dst", 48)), 5),)),
    Group(6, "all", ()),
]  # fmt: skip

METERS = [
    Meter(1, (MeterBand(50_000),)),
    Meter(2, (MeterBand(1000, 100), MeterBand(500, 50)), burst=True, stats=False),
    Meter(3, (MeterBand(100),), unit="pktps", stats=False),
    Meter(4, (MeterBand(200, 20),), unit="pktps", burst=True),
    Meter(5, (MeterBand(8000, type="dscp_remark", prec_level=1), MeterBand(10_000))),
    Meter(OFPM_MAX, tuple(MeterBand(1000 * (i + 1)) for i in range(wire.OVS_MAX_BANDS))),
    Meter(7, (MeterBand(0xFFFFFFFF, 0xFFFFFFFF, "dscp_remark", 0xFF),), burst=True),
]

MESSAGES = (
    [FlowAdd(f) for f in FLOWS]
    + [FlowDelete(), FlowDelete(table_id=3), FlowDelete(match=match(in_port=2))]
    + [FlowDelete(table_id=1, match=MATCHES[6], cookie=1 << 56, cookie_mask=0xFF << 56)]
    + [delete_strict(f) for f in FLOWS[:6]]
    + [FlowDelete(table_id=2, match=MATCHES[3], priority=7, strict=True)]
    + [GroupAdd(g) for g in GROUPS]
    + [GroupModify(g) for g in GROUPS]
    + [GroupDelete(3), GroupDelete(OFPG_ALL)]
    + [MeterAdd(m) for m in METERS]
    + [MeterModify(m) for m in METERS]
    + [MeterDelete(1), MeterDelete(OFPM_ALL), Barrier()]
)


def _id(msg) -> str:
    return type(msg).__name__


# --- coverage of the samples (so the equality tests below can't pass vacuously) ---


def test_samples_cover_every_field_action_instruction_and_group_type():
    exact = {name for m in MATCHES for name, v in m if not isinstance(v, tuple)}
    masked = {name for m in MATCHES for name, v in m if isinstance(v, tuple)}
    assert exact == set(MATCH_FIELDS)
    assert masked == MASKABLE
    kinds = {type(a) for a in ACTIONS}
    assert kinds == {Output, OutputTrunc, GroupAction, PushVlan, PopVlan, SetField, RegMove, Ct}
    insts = {type(i) for group in INSTRUCTIONS for i in group}
    assert insts == {MeterInstruction, ApplyActions, WriteActions, WriteMetadata, GotoTable}
    assert {g.type for g in GROUPS} == {"all", "select", "indirect", "ff"}
    assert {m.unit for m in METERS} == set(METER_UNITS)
    assert {b.type for m in METERS for b in m.bands} == set(METER_BAND_TYPES)
    assert {(m.burst, m.stats) for m in METERS} == {(False, False), (False, True),
                                                     (True, False), (True, True)}  # fmt: skip
    assert any(len(m.bands) > 1 for m in METERS)
    assert {type(m) for m in MESSAGES} == {
        FlowAdd, FlowDelete, GroupAdd, GroupModify, GroupDelete,
        MeterAdd, MeterModify, MeterDelete, Barrier,
    }  # fmt: skip
    assert {m.strict for m in MESSAGES if isinstance(m, FlowDelete)} == {True, False}
    assert OFPM_ALL in {m.meter_id for m in MESSAGES if isinstance(m, MeterDelete)}


# --- byte equality with OS-Ken ------------------------------------------------


@pytest.mark.parametrize("msg", MESSAGES, ids=_id)
def test_pack_equals_os_ken(msg):
    xid = 0x12345678
    assert wire.pack(msg, xid).hex() == oken_bytes(msg, xid).hex()


@pytest.mark.parametrize("msg", MESSAGES, ids=_id)
def test_header_length_and_alignment(msg):
    buf = wire.pack(msg, 9)
    assert wire.unpack_header(buf) == (4, buf[1], len(buf), 9)
    assert len(buf) % 8 == 0


def _oxm_field_numbers(flow_mod: bytes) -> list[int]:
    """OXM field numbers of a packed flow mod's match, in wire order."""
    _, length = struct.unpack_from("!HH", flow_mod, 48)
    offset, numbers = 52, []
    while offset < 48 + length:
        (header,) = struct.unpack_from("!I", flow_mod, offset)
        assert header >> 16 == 0x8000  # OFPXMC_OPENFLOW_BASIC
        numbers.append((header >> 9) & 0x7F)
        offset += 4 + (header & 0xFF)
    assert offset == 48 + length
    return numbers


def test_match_fields_in_oxm_order_whatever_the_canonical_order():
    # canonical order is by name (arp_* < eth_type, icmpv4_type < ip_proto); OVS checks
    # prerequisites field by field, so the wire must have eth_type and ip_proto first
    m = match(eth_type=0x0800, ip_proto=1, icmpv4_type=3, ipv4_src="10.0.0.0/8")
    assert [name for name, _ in m] == ["eth_type", "icmpv4_type", "ip_proto", "ipv4_src"]
    assert _oxm_field_numbers(wire.pack(FlowAdd(Flow(0, 1, 0, m)))) == [5, 10, 11, 19]
    arp = match(arp_op=1, arp_tpa="10.0.0.1", eth_type=0x0806, in_port=3)
    assert _oxm_field_numbers(wire.pack(FlowAdd(Flow(0, 1, 0, arp)))) == [0, 5, 21, 23]


def test_ct_fields_carry_the_nicira_class_and_come_first():
    # NXM_NX_CT_* (class 0x0001) sort before OFPXMC_OPENFLOW_BASIC, as in OS-Ken
    m = match(tcp_dst=80, ct_mark=(1, 1), eth_type=0x0800, ct_state=CT_TRK, ip_proto=6, ct_zone=3)
    buf = wire.pack(FlowAdd(Flow(0, 1, 0, m)))
    _, length = struct.unpack_from("!HH", buf, 48)
    offset, headers = 52, []
    while offset < 48 + length:
        (header,) = struct.unpack_from("!I", buf, offset)
        headers.append((header >> 16, (header >> 9) & 0x7F, bool(header & 0x100)))
        offset += 4 + (header & 0xFF)
    assert headers == [(1, 105, False), (1, 106, False), (1, 107, True),
                       (0x8000, 5, False), (0x8000, 10, False), (0x8000, 14, False)]  # fmt: skip


def test_ct_action_layout():
    ct = Ct(0x1234, commit=True, table=5, actions=(SetField("ct_mark", 0xAB),))
    buf = wire.pack(_add(ct))
    action = buf[-40:]  # the only action, last in the only instruction
    assert struct.unpack_from("!HHIHHIHB3xH", action) == (
        0xFFFF, 40, 0x2320, 35, 1, 0, 0x1234, 5, 0,
    )  # fmt: skip
    # nested OFPAT_SET_FIELD with the NXM_NX_CT_MARK header, padded to 16 bytes
    assert action[24:] == struct.pack("!HHII4x", 25, 16, 0x0001D604, 0xAB)
    assert struct.unpack_from("!HHIHHIHB3xH", wire.pack(_add(Ct(9)))[-24:])[4:] == (
        0, 0, 9, 0xFF, 0,
    )  # fmt: skip


def test_pack_many_uses_consecutive_xids():
    msgs = MESSAGES[:5] + [Barrier()]
    assert wire.pack_many(msgs, first_xid=40) == b"".join(
        wire.pack(m, 40 + i) for i, m in enumerate(msgs)
    )
    buf = wire.pack_many(msgs)
    xids, offset = [], 0
    while offset < len(buf):
        _, _, length, xid = wire.unpack_header(buf[offset:])
        xids.append(xid)
        offset += length
    assert offset == len(buf)
    assert xids == [1, 2, 3, 4, 5, 6]
    assert wire.pack_many([Barrier(), Barrier()], first_xid=0xFFFFFFFF)[4:8] == b"\xff" * 4
    assert wire.pack_many([Barrier(), Barrier()], first_xid=0xFFFFFFFF)[12:16] == bytes(4)
    assert wire.pack_many([]) == b""


def test_pack_many_accepts_a_generator():
    expected = b"".join(wire.pack(FlowAdd(f), 7 + i) for i, f in enumerate(FLOWS[:3]))
    assert wire.pack_many((FlowAdd(f) for f in FLOWS[:3]), 7) == expected


def test_caches_do_not_change_the_result():
    first = wire.pack_many(MESSAGES)
    wire._TLV_CACHE.clear()
    wire._SET_FIELD_CACHE.clear()
    assert wire.pack_many(MESSAGES) == first
    assert wire.pack_many(MESSAGES) == first


def test_ct_exec_does_not_let_a_bare_ct_mark_set_field_through_the_cache():
    wire.pack(_add(Ct(1, commit=True, actions=(SetField("ct_mark", 5),))))
    with pytest.raises(ValueError, match="exec"):
        wire.pack(_add(SetField("ct_mark", 5)))


# --- round trip through OS-Ken's parser ---------------------------------------


def _check_flow_mod_layout(buf: bytes) -> None:
    """Match and instruction lengths must tile the message (else OS-Ken's parser can spin)."""
    _, length = struct.unpack_from("!HH", buf, 48)
    offset = 48 + length + (-length % 8)
    while offset < len(buf):
        inst_type, inst_len = struct.unpack_from("!HH", buf, offset)
        assert inst_len >= 8 and inst_len % 8 == 0, f"instruction length {inst_len}"
        assert inst_type in (1, 2, 3, 4, 6), f"instruction type {inst_type}"
        if inst_type in (ofp.OFPIT_WRITE_ACTIONS, ofp.OFPIT_APPLY_ACTIONS):
            _check_action_list_layout(buf, offset + 8, offset + inst_len)
        offset += inst_len
    assert offset == len(buf)


def _check_action_list_layout(buf: bytes, start: int, end: int) -> None:
    """Action lengths must tile buf[start:end]."""
    while start < end:
        _, action_len = struct.unpack_from("!HH", buf, start)
        assert action_len >= 8 and action_len % 8 == 0, f"action length {action_len}"
        start += action_len
    assert start == end


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise TimeoutError in the block after `seconds` (backstop for a looping parser)."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _parse(buf: bytes):
    version, msg_type, length, xid = wire.unpack_header(buf)
    if msg_type == ofp.OFPT_FLOW_MOD:
        _check_flow_mod_layout(buf)
    with _deadline(2):
        return osken_parse_one(buf)


def _parsed_action(action) -> tuple:
    """What matters in an action OS-Ken parsed from our bytes."""
    if isinstance(action, parser.OFPActionOutput):
        return ("output", action.port, action.max_len)
    if isinstance(action, parser.OFPActionGroup):
        return ("group", action.group_id)
    if isinstance(action, parser.OFPActionPushVlan):
        return ("push_vlan", action.ethertype)
    if isinstance(action, parser.OFPActionPopVlan):
        return ("pop_vlan",)
    if isinstance(action, parser.OFPActionSetField):
        return ("set_field", action.key, action.value)
    if isinstance(action, parser.NXActionOutputTrunc):
        return ("output_trunc", action.port, action.max_len)
    if isinstance(action, parser.NXActionRegMove):
        return ("move", action.src_field, action.dst_field, action.n_bits,
                action.src_ofs, action.dst_ofs)  # fmt: skip
    if isinstance(action, parser.NXActionCT):
        return ("ct", action.flags, action.zone_src, action.zone_ofs_nbits, action.recirc_table,
                action.alg, [_parsed_action(a) for a in action.actions])  # fmt: skip
    raise AssertionError(f"unexpected action {action!r}")


def _expected_action(action) -> tuple:
    """The same, straight from our model."""
    if isinstance(action, Output):
        return ("output", action.port, action.max_len)
    if isinstance(action, GroupAction):
        return ("group", action.group_id)
    if isinstance(action, PushVlan):
        return ("push_vlan", action.ethertype)
    if isinstance(action, PopVlan):
        return ("pop_vlan",)
    if isinstance(action, SetField):
        return ("set_field", action.field, action.value)
    if isinstance(action, OutputTrunc):
        return ("output_trunc", action.port & 0xFFFF, action.max_len)
    if isinstance(action, RegMove):
        return ("move", action.src, action.dst, action.n_bits, action.src_ofs, action.dst_ofs)
    if isinstance(action, Ct):
        table = 0xFF if action.table is None else action.table
        return ("ct", int(action.commit), "", action.zone, table, 0,
                [_expected_action(a) for a in action.actions])  # fmt: skip
    raise AssertionError(f"unexpected action {action!r}")


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"t{f.table_id}p{f.priority}")
def test_flow_add_round_trip(flow):
    msg = _parse(wire.pack(FlowAdd(flow), 77))
    assert isinstance(msg, parser.OFPFlowMod)
    assert msg.xid == 77
    assert msg.command == ofp.OFPFC_ADD
    assert (msg.table_id, msg.priority, msg.cookie, msg.cookie_mask) == (
        flow.table_id, flow.priority, flow.cookie, 0,
    )  # fmt: skip
    assert (msg.idle_timeout, msg.hard_timeout, msg.flags) == (0, 0, 0)
    assert (msg.buffer_id, msg.out_port, msg.out_group) == (ofp.OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY)
    assert canonical_match(msg.match.items()) == flow.match
    assert len(msg.instructions) == len(flow.instructions)
    for ours, theirs in zip(flow.instructions, msg.instructions, strict=True):
        if isinstance(ours, ApplyActions | WriteActions):
            apply = isinstance(ours, ApplyActions)
            assert theirs.type == (ofp.OFPIT_APPLY_ACTIONS if apply else ofp.OFPIT_WRITE_ACTIONS)
            assert [_parsed_action(a) for a in theirs.actions] == [
                _expected_action(a) for a in ours.actions
            ]
        elif isinstance(ours, WriteMetadata):
            assert isinstance(theirs, parser.OFPInstructionWriteMetadata)
            assert (theirs.metadata, theirs.metadata_mask) == (ours.metadata, ours.mask)
        elif isinstance(ours, MeterInstruction):
            assert isinstance(theirs, parser.OFPInstructionMeter)
            assert theirs.meter_id == ours.meter_id
        else:
            assert isinstance(theirs, parser.OFPInstructionGotoTable)
            assert theirs.table_id == ours.table_id


def test_flow_delete_round_trip():
    flow = FLOWS[6]
    msg = _parse(wire.pack(delete_strict(flow), 3))
    assert msg.command == ofp.OFPFC_DELETE_STRICT
    assert (msg.table_id, msg.priority, msg.cookie, msg.cookie_mask) == (
        flow.table_id, flow.priority, flow.cookie, 0xFFFFFFFFFFFFFFFF,
    )  # fmt: skip
    assert canonical_match(msg.match.items()) == flow.match
    assert msg.instructions == []
    msg = _parse(wire.pack(FlowDelete(), 4))
    assert (msg.command, msg.table_id, msg.out_port, msg.out_group) == (
        ofp.OFPFC_DELETE, ofp.OFPTT_ALL, OFPP_ANY, OFPG_ANY,
    )  # fmt: skip
    assert list(msg.match.items()) == []


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: f"{g.type}{g.group_id}")
def test_group_mod_round_trip(group):
    # OS-Ken has no OFPGroupMod parser: read the fixed part by hand, buckets with OFPBucket
    buf = wire.pack(GroupModify(group), 5)
    version, msg_type, length, xid, command, gtype, group_id = struct.unpack_from("!BBHIHBxI", buf)
    assert (version, msg_type, length, xid) == (4, ofp.OFPT_GROUP_MOD, len(buf), 5)
    assert (command, gtype, group_id) == (ofp.OFPGC_MODIFY, GROUP_TYPES[group.type], group.group_id)
    offset, buckets = 16, []
    while offset < len(buf):
        bucket = parser.OFPBucket.parser(buf, offset)
        assert bucket.len >= 16 and bucket.len % 8 == 0
        buckets.append(bucket)
        offset += bucket.len
    assert offset == len(buf)
    assert [(b.weight, b.watch_port, b.watch_group) for b in buckets] == [
        (b.weight, b.watch_port, b.watch_group) for b in group.buckets
    ]
    assert [[_parsed_action(a) for a in b.actions] for b in buckets] == [
        [_expected_action(a) for a in b.actions] for b in group.buckets
    ]


def _parsed_band(band) -> tuple:
    """What matters in a meter band OS-Ken parsed from our bytes."""
    if isinstance(band, parser.OFPMeterBandDrop):
        return ("drop", band.rate, band.burst_size, 0)
    if isinstance(band, parser.OFPMeterBandDscpRemark):
        return ("dscp_remark", band.rate, band.burst_size, band.prec_level)
    raise AssertionError(f"unexpected band {band!r}")


@pytest.mark.parametrize("meter", METERS, ids=lambda m: f"meter{m.meter_id}")
@pytest.mark.parametrize("kind", [MeterAdd, MeterModify])
def test_meter_mod_round_trip(kind, meter):
    # OS-Ken has no OFPMeterMod parser: read the fixed part by hand, bands with its band parser
    buf = wire.pack(kind(meter), 6)
    version, msg_type, length, xid, command, flags, meter_id = struct.unpack_from("!BBHIHHI", buf)
    assert (version, msg_type, length, xid) == (4, ofp.OFPT_METER_MOD, len(buf), 6)
    assert command == (ofp.OFPMC_ADD if kind is MeterAdd else ofp.OFPMC_MODIFY)
    assert (flags, meter_id) == (oken_meter_flags(meter), meter.meter_id)
    offset, bands = 16, []
    while offset < len(buf):
        band = parser.OFPMeterBandHeader.parser(buf, offset)
        bands.append(band)
        offset += band.len
    assert offset == len(buf)
    assert [_parsed_band(b) for b in bands] == [
        (b.type, b.rate, b.burst_size, b.prec_level) for b in meter.bands
    ]


def test_meter_instruction_comes_first_on_the_wire():
    flow = Flow(0, 1, 0, match(in_port=1), (GotoTable(1), ApplyActions(()), MeterInstruction(9)))
    buf = wire.pack(FlowAdd(flow))
    assert struct.unpack_from("!HHI", buf, 48 + 16) == (ofp.OFPIT_METER, 8, 9)
    assert [type(i) for i in _parse(buf).instructions] == [
        parser.OFPInstructionMeter, parser.OFPInstructionActions, parser.OFPInstructionGotoTable,
    ]  # fmt: skip


def test_group_delete_and_barrier_layout():
    assert wire.pack(GroupDelete(9), 2) == struct.pack("!BBHIHBxI", 4, 15, 16, 2, 2, 0, 9)
    assert wire.pack(Barrier(), 2) == struct.pack("!BBHI", 4, 20, 8, 2)


def test_meter_delete_layout():
    assert wire.pack(MeterDelete(9), 2) == struct.pack("!BBHIHHI", 4, 29, 16, 2, 2, 0, 9)
    assert wire.pack(MeterDelete(OFPM_ALL), 3)[-4:] == b"\xff" * 4


# --- what OpenFlow 1.3 / OVS can't carry --------------------------------------


def _add(*actions) -> FlowAdd:
    return FlowAdd(Flow(0, 1, 0, match(eth_type=0x0800), (ApplyActions(actions),)))


@pytest.mark.parametrize(
    "msg",
    [
        _add(SetField("ipv4_dst", "10.0.0.0/24")),  # masked set_field is OpenFlow 1.5
        _add(SetField("vlan_vid", 100)),  # OVS: OFPBAC_BAD_SET_ARGUMENT without OFPVID_PRESENT
        _add(OutputTrunc(0x10000, 100)),  # no 16-bit equivalent
        _add(RegMove("eth_src", "eth_dst", 49)),
        _add(RegMove("vlan_vid", "vlan_vid", 13)),  # OVS: vlan_vid is 12 bits in a move
        _add(RegMove("ipv4_src", "ipv4_dst", 8, dst_ofs=25)),
        _add(RegMove("reg0", "eth_dst", 8)),
        # ovs-ofctl: "cannot set CT fields outside of ct action"
        _add(SetField("ct_mark", 1)),
        _add(SetField("ct_state", CT_TRK)),
        _add(SetField("ct_zone", 1)),
        _add(RegMove("metadata", "ct_mark", 32)),
        _add(Ct(1, table=255)),  # ovs-ofctl: "invalid table 0xff" (0xff means no recirculation)
        _add(Ct(1, table=-1)),
        _add(Ct(1, commit=True, actions=(SetField("ct_mark", (1, 1)),))),  # masked set_field
        _add(Output(0x1_0000_0000)),
        FlowAdd(Flow(0, 70000, 0, match(in_port=1))),  # priority is 16 bits
        FlowAdd(Flow(0, 1, 0, (("nw_src", "10.0.0.1"),))),  # not a field we know
        FlowAdd(Flow(0, 1, 0, (("eth_dst", "00:00:00:00:02"),))),
        FlowAdd(Flow(0, 1, 0, (("ipv4_dst", "10.0.0.256"),))),
        GroupAdd(Group(1, "all", (Bucket((Output(1),), weight=1),))),
        GroupAdd(Group(1, "indirect", ())),
        GroupAdd(Group(1, "indirect", (Bucket((Output(1),), watch_port=1),))),
        GroupAdd(Group(1, "ff", (Bucket((Output(1),)),))),
        GroupAdd(Group(1, "fast", ())),
        MeterAdd(Meter(0, (MeterBand(100),))),  # OVS: OFPMMFC_INVALID_METER
        MeterAdd(Meter(OFPM_MAX + 1, (MeterBand(100),))),  # a virtual meter, or OFPM_ALL
        MeterAdd(Meter(OFPM_ALL, (MeterBand(100),))),
        MeterModify(Meter(1, (MeterBand(100),), unit="mbps")),
        MeterAdd(Meter(1, ())),  # OVS: OFPMMFC_OUT_OF_BANDS
        MeterAdd(Meter(1, tuple(MeterBand(i + 1) for i in range(wire.OVS_MAX_BANDS + 1)))),
        MeterAdd(Meter(1, (MeterBand(0),))),  # OVS: OFPMMFC_BAD_RATE
        MeterAdd(Meter(1, (MeterBand(1 << 32),))),
        MeterAdd(Meter(1, (MeterBand(100, type="remark"),))),
        MeterAdd(Meter(1, (MeterBand(100, 10),))),  # OVS would drop the burst size
        MeterAdd(Meter(1, (MeterBand(100),), burst=True)),  # OVS would make one up
        MeterAdd(Meter(1, (MeterBand(100, 1 << 32),), burst=True)),
        MeterAdd(Meter(1, (MeterBand(100, prec_level=1),))),  # drop bands have none
        MeterAdd(Meter(1, (MeterBand(100, type="dscp_remark", prec_level=256),))),
        MeterAdd(Meter(1, (MeterBand(100, type="dscp_remark"),))),  # ovs-ofctl: needs prec_level
        MeterDelete(1 << 32),
        FlowAdd(Flow(0, 1, 0, (), (MeterInstruction(1 << 32),))),
    ],
    ids=repr,
)
def test_unpackable_raises_value_error(msg):
    with pytest.raises(ValueError):
        wire.pack(msg)
    with pytest.raises(ValueError):
        wire.pack_many([Barrier(), msg])


def test_not_a_message_raises_type_error():
    with pytest.raises(TypeError):
        wire.pack(Output(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wire.pack_many([Barrier(), "flow"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        wire.pack(_add(GotoTable(1)))  # type: ignore[arg-type]


def test_masked_mac_value_is_canonical_like_the_switch_reports_it():
    # messages.py used to keep MAC bits outside the mask: the same match then packed
    # differently from OS-Ken and never equalled what a switch reads back
    m = match(eth_dst=("01:00:00:00:00:FF", "01:00:00:00:00:00"))
    assert m == match(eth_dst=("01:00:00:00:00:00", "01:00:00:00:00:00"))
    msg = FlowAdd(Flow(0, 1, 0, m))
    assert wire.pack(msg, 1) == oken_bytes(msg, 1)
    assert canonical_match(_parse(wire.pack(msg, 1)).match.items()) == m


def test_pack_chunks_joins_to_pack_many_with_consecutive_xids():
    from bench.flowset import bench_flows
    from sdn_shadow.openflow.chunks import pack_chunks
    from sdn_shadow.openflow.messages import Barrier, FlowAdd

    msgs = [*(FlowAdd(f) for f in bench_flows(25)), Barrier()]
    chunks = list(pack_chunks(msgs, first_xid=7, size=10))
    assert len(chunks) == 3
    assert b"".join(chunks) == wire.pack_many(msgs, first_xid=7)
    assert wire.unpack_header(chunks[1])[3] == 17
