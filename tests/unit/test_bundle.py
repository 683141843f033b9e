"""bundle.split/pack_bundle/parse_control against OS-Ken's parser (ovs-ofctl's: tests/system)."""

from __future__ import annotations

import struct

import pytest
from os_ken.ofproto import ofproto_common
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from bench.osken import DATAPATH, osken_parse_one
from sdn_shadow.openflow import bundle, wire
from sdn_shadow.openflow.bundle import (
    ATOMIC,
    COMMIT_REPLY,
    COMMIT_REQUEST,
    OPEN_REQUEST,
    ORDERED,
    Split,
    pack_bundle,
    split,
    xids_needed,
)
from sdn_shadow.openflow.messages import (
    ApplyActions,
    Barrier,
    Bucket,
    Flow,
    FlowAdd,
    FlowDelete,
    Group,
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
    delete_strict,
    match,
)

DP = DATAPATH

FLOW = Flow(0, 10, 1, match(in_port=1), (ApplyActions((Output(2),)),))
METERED = Flow(1, 20, 2, match(in_port=2), (MeterInstruction(7), ApplyActions((Output(1),))))
GROUP = Group(5, "all", (Bucket((Output(3),)),))
METER = Meter(7, (MeterBand(1000),))
METER2 = Meter(8, (MeterBand(2000),))

#: One of everything the controller sends, in an interleaved order.
MIXED = [
    MeterAdd(METER), FlowAdd(FLOW), MeterDelete(3), GroupAdd(GROUP), Barrier(),
    MeterModify(METER2), FlowAdd(METERED), delete_strict(FLOW), GroupModify(GROUP),
    MeterDelete(4), FlowDelete(), GroupDelete(5),
]  # fmt: skip

BUNDLED = [FlowAdd(FLOW), GroupAdd(GROUP), delete_strict(FLOW), GroupDelete(5)]
FLAGS = ATOMIC | ORDERED


def _frames(buf: bytes) -> list[bytes]:
    """`buf` cut into OpenFlow messages by their header lengths."""
    out, off = [], 0
    while off < len(buf):
        length = wire.unpack_header(buf[off:])[2]
        assert length >= 8
        out.append(buf[off:off + length])
        off += length
    assert off == len(buf)
    return out


def _parse(frame: bytes):
    assert wire.unpack_header(frame)[2] == len(frame)
    return osken_parse_one(frame)


def _commit_reply(xid: int, bundle_id: int, flags: int = FLAGS) -> bytes:
    """A COMMIT_REPLY laid out by hand from the ONF extension 230 spec."""
    return struct.pack("!BBHIIIIHH", 4, 4, 24, xid, 0x4F4E4600, 2300, bundle_id, 5, flags)


# --- split ---------------------------------------------------------------------------


def test_split_puts_meter_adds_first_and_deletions_and_barriers_last_keeping_order():
    assert split(MIXED) == Split(
        before=[MeterAdd(METER), MeterModify(METER2)],
        bundled=[FlowAdd(FLOW), GroupAdd(GROUP), FlowAdd(METERED), delete_strict(FLOW),
                 GroupModify(GROUP), FlowDelete(), GroupDelete(5)],
        after=[MeterDelete(3), Barrier(), MeterDelete(4)],
    )


def test_split_of_nothing_and_of_only_bundlable_messages():
    assert split([]) == Split([], [], [])
    assert split(BUNDLED) == Split([], BUNDLED, [])
    assert split((Barrier(), MeterAdd(METER))) == Split([MeterAdd(METER)], [], [Barrier()])


# --- pack_bundle, decoded by OS-Ken ----------------------------------------------------


def test_pack_bundle_decodes_with_os_ken_as_open_adds_commit():
    buf, commit_xid = pack_bundle(BUNDLED, 7, 100)
    assert commit_xid == 105
    frames = _frames(buf)
    assert len(frames) == xids_needed(BUNDLED) == 6

    opened = _parse(frames[0])
    assert isinstance(opened, parser.ONFBundleCtrlMsg)
    assert (opened.xid, opened.bundle_id, opened.type, opened.flags, opened.properties) == (
        100, 7, ofp.ONF_BCT_OPEN_REQUEST, ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED, [])

    for i, (msg, frame) in enumerate(zip(BUNDLED, frames[1:-1], strict=True)):
        xid = 101 + i
        added = _parse(frame)  # OS-Ken registers no parser for ADD: the generic experimenter
        assert isinstance(added, parser.OFPExperimenter)
        assert (added.xid, added.experimenter, added.exp_type) == (
            xid, ofproto_common.ONF_EXPERIMENTER_ID, ofp.ONF_ET_BUNDLE_ADD_MESSAGE)
        assert struct.unpack_from(ofp.ONF_BUNDLE_ADD_MSG_PACK_STR, added.data) == (7, FLAGS)
        inner = bytes(added.data[ofp.ONF_BUNDLE_ADD_MSG_SIZE:])
        assert inner == wire.pack(msg, xid)
        assert wire.unpack_header(inner)[3] == xid
        if isinstance(msg, GroupAdd | GroupDelete):  # OS-Ken has no OFPGroupMod parser
            assert struct.unpack_from("!BBHIHBxI", inner) == (
                4, ofp.OFPT_GROUP_MOD, len(inner), xid,
                ofp.OFPGC_ADD if isinstance(msg, GroupAdd) else ofp.OFPGC_DELETE, 0, 5)
            continue
        flow_mod = _parse(inner)
        assert isinstance(flow_mod, parser.OFPFlowMod)
        assert (flow_mod.xid, flow_mod.command, flow_mod.priority, flow_mod.cookie) == (
            xid, ofp.OFPFC_ADD if isinstance(msg, FlowAdd) else ofp.OFPFC_DELETE_STRICT,
            10, FLOW.cookie)

    committed = _parse(frames[-1])
    assert isinstance(committed, parser.ONFBundleCtrlMsg)
    assert (committed.xid, committed.bundle_id, committed.type, committed.flags) == (
        105, 7, ofp.ONF_BCT_COMMIT_REQUEST, FLAGS)


def test_pack_bundle_matches_os_ken_serializer_byte_for_byte():
    buf, _ = pack_bundle([FlowAdd(FLOW)], 0xABCDEF01, 40)
    frames = _frames(buf)
    for frame, kind, xid in ((frames[0], ofp.ONF_BCT_OPEN_REQUEST, 40),
                             (frames[2], ofp.ONF_BCT_COMMIT_REQUEST, 42)):
        theirs = parser.ONFBundleCtrlMsg(DP, 0xABCDEF01, kind, FLAGS, [])
        theirs.set_xid(xid)
        theirs.serialize()
        assert frame == bytes(theirs.buf)
    inner = _parse(wire.pack(FlowAdd(FLOW), 0))
    inner.xid = None  # OS-Ken only sets an unset xid
    theirs = parser.ONFBundleAddMsg(DP, 0xABCDEF01, FLAGS, inner, [])
    theirs.set_xid(41)  # OS-Ken copies it into the inner message, as the extension requires
    theirs.serialize()
    assert frames[1] == bytes(theirs.buf)


def test_pack_bundle_header_lengths_and_flags_argument():
    buf, commit_xid = pack_bundle([GroupDelete(5)], 1, 1, flags=ATOMIC)
    assert commit_xid == 3
    opened, added, committed = _frames(buf)
    assert len(opened) == len(committed) == 24
    assert len(added) == 24 + 16
    assert _parse(opened).flags == _parse(committed).flags == ATOMIC
    assert struct.unpack_from("!I2xH", added, 16) == (1, ATOMIC)


def test_pack_bundle_of_nothing_is_open_then_commit():
    buf, commit_xid = pack_bundle([], 9, 50)
    assert commit_xid == 51
    assert [parse_control(f) for f in _frames(buf)] == [(50, 9, OPEN_REQUEST),
                                                        (51, 9, COMMIT_REQUEST)]
    assert xids_needed([]) == 2


def test_pack_bundle_xids_wrap_at_2_32():
    buf, commit_xid = pack_bundle([FlowAdd(FLOW), GroupDelete(5)], 3, 0xFFFFFFFE)
    assert commit_xid == 1
    frames = _frames(buf)
    assert [wire.unpack_header(f)[3] for f in frames] == [0xFFFFFFFE, 0xFFFFFFFF, 0, 1]
    assert frames[1][24:] == wire.pack(FlowAdd(FLOW), 0xFFFFFFFF)
    assert frames[2][24:] == wire.pack(GroupDelete(5), 0)


def test_pack_bundle_masks_first_xid_to_32_bits():
    buf, commit_xid = pack_bundle([GroupDelete(5)], 3, 2**32 + 5)
    assert commit_xid == 7
    assert [wire.unpack_header(f)[3] for f in _frames(buf)] == [5, 6, 7]


@pytest.mark.parametrize("count", [0, 1, 4, 30])
def test_xids_needed_counts_every_frame_pack_bundle_uses(count):
    msgs = [GroupDelete(i) for i in range(count)]
    buf, commit_xid = pack_bundle(msgs, 1, 0xFFFFFFF0)
    assert xids_needed(msgs) == count + 2 == len(_frames(buf))
    assert (commit_xid - 0xFFFFFFF0 + 1) & 0xFFFFFFFF == count + 2


def test_pack_bundle_rejects_an_inner_message_too_long_for_an_add_with_value_error():
    big = Flow(0, 10, 1, match(in_port=1), (ApplyActions(tuple(Output(2) for _ in range(4091))),))
    assert len(wire.pack(FlowAdd(big))) == 65528  # fits on its own
    with pytest.raises(ValueError):
        pack_bundle([FlowAdd(big)], 1, 1)


# --- parse_control ---------------------------------------------------------------------


EXPERIMENTER = struct.Struct("!BBHIII")  # header + experimenter id + exp_type
CONTROL = struct.Struct("!IHH")  # bundle_id, type, flags


def parse_control(buf: bytes) -> tuple[int, int, int] | None:
    """(xid, bundle_id, type) of a bundle control message, None for anything else (the
    decoder these tests read our frames with)."""
    if len(buf) < EXPERIMENTER.size + CONTROL.size:
        return None
    _, kind, _, xid, experimenter, exp_type = EXPERIMENTER.unpack_from(buf, 0)
    if (kind, experimenter, exp_type) != (bundle.OFPT_EXPERIMENTER, bundle.ONF_EXPERIMENTER_ID,
                                          bundle.ONF_ET_BUNDLE_CONTROL):
        return None
    bundle_id, ctl_type, _ = CONTROL.unpack_from(buf, EXPERIMENTER.size)
    return xid, bundle_id, ctl_type



def test_parse_control_reads_a_commit_reply_built_by_hand():
    assert parse_control(_commit_reply(0xDEADBEEF, 42)) == (0xDEADBEEF, 42, COMMIT_REPLY)
    assert parse_control(_commit_reply(0, 0xFFFFFFFF, 0)) == (0, 0xFFFFFFFF, COMMIT_REPLY)


def test_parse_control_reads_os_kens_commit_reply_and_our_own_controls():
    reply = parser.ONFBundleCtrlMsg(DP, 77, ofp.ONF_BCT_COMMIT_REPLY, FLAGS, [])
    reply.set_xid(1234)
    reply.serialize()
    assert bytes(reply.buf) == _commit_reply(1234, 77)
    assert parse_control(bytes(reply.buf)) == (1234, 77, COMMIT_REPLY)
    frames = _frames(pack_bundle([FlowAdd(FLOW)], 8, 10)[0])
    assert parse_control(frames[0]) == (10, 8, OPEN_REQUEST)
    assert parse_control(frames[2]) == (12, 8, COMMIT_REQUEST)


def test_parse_control_returns_none_for_other_messages_and_short_buffers():
    reply = _commit_reply(1, 2)
    add = _frames(pack_bundle([GroupDelete(5)], 2, 1)[0])[1]
    nicira = reply[:8] + struct.pack("!II", 0x00002320, 2300) + reply[16:]
    error = struct.pack("!BBHI", 4, wire.OFPT_ERROR, 24, 1) + reply[8:]
    for buf in (b"", reply[:8], reply[:23], add, nicira, error, wire.pack(Barrier(), 1),
                wire.pack(GroupDelete(5), 1), wire.pack(FlowAdd(FLOW), 1)):
        assert parse_control(buf) is None, buf.hex()
    assert parse_control(reply[:24] + b"\0" * 8) == (1, 2, COMMIT_REPLY)  # properties follow


def test_module_constants_match_os_ken():
    assert bundle.ONF_EXPERIMENTER_ID == ofproto_common.ONF_EXPERIMENTER_ID
    assert (bundle.ONF_ET_BUNDLE_CONTROL, bundle.ONF_ET_BUNDLE_ADD_MESSAGE) == (
        ofp.ONF_ET_BUNDLE_CONTROL, ofp.ONF_ET_BUNDLE_ADD_MESSAGE)
    assert (OPEN_REQUEST, COMMIT_REQUEST, COMMIT_REPLY) == (
        ofp.ONF_BCT_OPEN_REQUEST, ofp.ONF_BCT_COMMIT_REQUEST, ofp.ONF_BCT_COMMIT_REPLY)
    assert (ATOMIC, ORDERED) == (ofp.ONF_BF_ATOMIC, ofp.ONF_BF_ORDERED)
