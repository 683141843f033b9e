"""telemetry.decode against OS-Ken's parser of the same bytes (the oracle), and on bad input."""

from __future__ import annotations

import contextlib
import random
import struct

import numpy as np
import pytest
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from bench.osken import DATAPATH, osken_parse
from sdn_shadow.openflow.messages import MATCH_FIELDS, canonical_match, match
from sdn_shadow.telemetry import multipart, oxm
from sdn_shadow.telemetry.decode import (
    DecodeError,
    decode_flow_stats,
    decode_meter_stats,
    decode_port_stats,
)

U64 = (1 << 64) - 1


# --- building replies (test-only) ------------------------------------------------


def _match_bytes(match: parser.OFPMatch) -> bytes:
    buf = bytearray()
    match.serialize(buf, 0)
    return bytes(buf)


def _instructions(port: int) -> bytes:
    buf = bytearray()
    parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                 [parser.OFPActionOutput(port)]).serialize(buf, 0)
    return bytes(buf)


def flow_entry(match: parser.OFPMatch | bytes, *, table_id: int = 0, priority: int = 1,
               cookie: int = 0, packets: int = 0, byte_count: int = 0, duration=(3, 500),
               idle: int = 0, hard: int = 0, flags: int = 0, port: int = 1) -> bytes:
    """One ofp_flow_stats (match serialized by OS-Ken, or given as a padded ofp_match)."""
    m = match if isinstance(match, bytes) else _match_bytes(match)
    insts = _instructions(port)
    head = struct.pack("!HBxIIHHHH4xQQQ", 48 + len(m) + len(insts), table_id, *duration,
                       priority, idle, hard, flags, cookie, packets, byte_count)
    return head + m + insts


def reply(mp_type: int, entries: list[bytes], xid: int = 7, more: bool = False) -> bytes:
    """One multipart reply message."""
    body = b"".join(entries)
    return multipart.MULTIPART.pack(ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY, 16 + len(body),
                                    xid, mp_type, ofp.OFPMPF_REPLY_MORE if more else 0) + body


def sequence(mp_type: int, entries: list[bytes], per_message: int, xid: int = 7) -> bytes:
    """Entries spread over consecutive messages of one reply sequence."""
    chunks = [entries[i:i + per_message] for i in range(0, len(entries), per_message)] or [[]]
    return b"".join(reply(mp_type, c, xid, more=i < len(chunks) - 1)
                    for i, c in enumerate(chunks))


def oxm_match(tlvs: bytes) -> bytes:
    """A padded ofp_match around raw OXM TLVs."""
    body = struct.pack("!HH", ofp.OFPMT_OXM, 4 + len(tlvs)) + tlvs
    return body + bytes(-len(body) % 8)


def tlv(oxm_class: int, field: int, value: bytes, mask: bytes = b"") -> bytes:
    """One OXM TLV."""
    header = oxm_class << 16 | field << 9 | (0x100 if mask else 0) | (len(value) + len(mask))
    return struct.pack("!I", header) + value + mask


MATCHES = [
    parser.OFPMatch(),
    parser.OFPMatch(in_port=3),
    parser.OFPMatch(metadata=(0x100, 0xFF00), eth_dst="02:00:00:00:00:0A"),
    parser.OFPMatch(metadata=7, eth_dst=("01:00:00:00:00:00", "01:00:00:00:00:00")),
    parser.OFPMatch(eth_src=("02:00:00:00:12:34", "ff:ff:ff:ff:ff:ff")),  # all-ones mask
    parser.OFPMatch(eth_type=0x0800, ipv4_src=("10.1.2.3", "255.255.0.0"), ip_proto=6,
                    tcp_dst=80),
    parser.OFPMatch(eth_type=0x0800, ipv4_dst=("10.0.0.9", "255.255.255.255"), ip_proto=17,
                    udp_src=53, udp_dst=(0x1000, 0xF000)),
    parser.OFPMatch(eth_type=0x0800, ip_proto=1, icmpv4_type=8, ipv4_src=("0.0.0.0", "0.0.0.0")),
    parser.OFPMatch(vlan_vid=(0x1000, 0x1000)),
    parser.OFPMatch(in_port=0xFFFFFFFE, vlan_vid=0x1000 | 101, tcp_src=22, eth_type=0x0800,
                    ip_proto=6),
    parser.OFPMatch(eth_type=0x0806, arp_op=1, arp_spa="10.0.0.1",
                    arp_tpa=("10.0.0.0", "255.255.255.0"), arp_sha="02:00:00:00:00:01",
                    arp_tha=("00:00:00:00:00:00", "00:00:00:00:00:00")),
    parser.OFPMatch(eth_type=0x0800, ct_state=(0x21, 0x21), ct_zone=3, ct_mark=(0x1F, 0xF0)),
    parser.OFPMatch(ct_state=0x22, ct_mark=5, in_port=1),
    parser.OFPMatch(ct_state=(0x22, 0xFFFFFFFF), ct_mark=(0x7, 0)),  # all-ones and zero masks
]


def test_matches_cover_every_field_we_model():
    seen = {name for m in MATCHES for name, _ in m.items()}
    assert seen == set(MATCH_FIELDS)


def _oracle_flows(raw: bytes) -> list[tuple]:
    return [(s.table_id, s.priority, s.cookie, s.packet_count, s.byte_count, s.duration_sec,
             s.duration_nsec, s.idle_timeout, s.hard_timeout, s.flags,
             canonical_match(s.match.items()))
            for msg in osken_parse(raw) for s in msg.body]


def _ours_flows(raw: bytes) -> list[tuple]:
    fs = decode_flow_stats(raw)
    cols = [fs.table_id, fs.priority, fs.cookie, fs.packet_count, fs.byte_count,
            fs.duration_sec, fs.duration_nsec, fs.idle_timeout, fs.hard_timeout, fs.flags]
    rows = zip(*(c.tolist() for c in cols), strict=True)
    return [(*row, fs.match(i)) for i, row in enumerate(rows)]


def test_flow_stats_equal_os_ken_entry_for_entry():
    rng = random.Random(1)
    entries = [
        flow_entry(MATCHES[i % len(MATCHES)], table_id=rng.randrange(256),
                   priority=rng.randrange(1 << 16), cookie=rng.getrandbits(64),
                   packets=rng.choice([0, 1, U64, rng.getrandbits(64)]),
                   byte_count=rng.choice([0, U64 - 1, rng.getrandbits(64)]),
                   duration=(rng.getrandbits(32), rng.randrange(10**9)),
                   idle=rng.randrange(1 << 16), hard=rng.randrange(1 << 16),
                   flags=rng.randrange(32), port=rng.randrange(1, 100))
        for i in range(200)
    ]
    raw = sequence(ofp.OFPMP_FLOW, entries, per_message=37, xid=99)
    ours = _ours_flows(raw)
    assert ours == _oracle_flows(raw)
    fs = decode_flow_stats(raw)
    assert fs.xid == 99 and fs.complete and len(fs) == 200
    assert fs.flow_keys() == [(t, p, m) for t, p, *_, m in ours]
    assert fs.cookie.dtype == np.uint64 and fs.byte_count.dtype == np.uint64


def test_flow_stats_key_and_duration():
    raw = reply(ofp.OFPMP_FLOW, [flow_entry(MATCHES[5], table_id=3, priority=9,
                                            duration=(2, 250_000_000))])
    fs = decode_flow_stats(raw)
    assert fs.key(0) == (3, 9, (("eth_type", 0x0800), ("ip_proto", 6),
                                ("ipv4_src", ("10.1.0.0", "255.255.0.0")), ("tcp_dst", 80)))
    assert fs.duration[0] == pytest.approx(2.25)
    assert oxm.parse(fs.match_bytes(0)) == fs.match(0)


def test_partial_sequence_and_empty_reply():
    first = reply(ofp.OFPMP_FLOW, [flow_entry(MATCHES[1])], more=True)
    assert not decode_flow_stats(first).complete
    assert not multipart.is_last(first)
    empty = decode_flow_stats(reply(ofp.OFPMP_FLOW, []))
    assert len(empty) == 0 and empty.complete and empty.flow_keys() == []
    nothing = decode_flow_stats(b"")
    assert len(nothing) == 0 and not nothing.complete and nothing.xid is None


def test_unknown_fields_are_kept_raw():
    basic = ofp.OFPXMC_OPENFLOW_BASIC
    tlvs = (tlv(basic, 0, (5).to_bytes(4, "big"))  # in_port
            + tlv(basic, 26, bytes(range(16)), b"\xff" * 8 + bytes(8))  # ipv6_src, masked
            + tlv(1, 0, (9).to_bytes(4, "big"))  # NXM_NX_REG0
            + tlv(0xFFFF, 3, b"\x4f\x4e\x46\x00\x01"))  # experimenter: id ONF, 1 byte
    fs = decode_flow_stats(reply(ofp.OFPMP_FLOW, [flow_entry(oxm_match(tlvs))]))
    assert fs.match(0) == (
        ("in_port", 5),
        ("oxm:0x0001:0", "00000009"),
        ("oxm:0x8000:26", (bytes(range(16)).hex(), "ff" * 8 + "00" * 8)),
        ("oxm:0xffff:3:4f4e4600", "01"),
    )


def test_ct_fields_decode_to_the_canonical_match():
    nxm = 0x0001  # NXM_NX_CT_STATE 105, NXM_NX_CT_ZONE 106, NXM_NX_CT_MARK 107
    tlvs = (tlv(nxm, 105, (0x23).to_bytes(4, "big"), (0x21).to_bytes(4, "big"))
            + tlv(nxm, 106, (9).to_bytes(2, "big"))
            + tlv(nxm, 107, (0xFFFF).to_bytes(4, "big"), (0xFF00).to_bytes(4, "big"))
            + tlv(ofp.OFPXMC_OPENFLOW_BASIC, 5, b"\x08\x00"))
    fs = decode_flow_stats(reply(ofp.OFPMP_FLOW, [flow_entry(oxm_match(tlvs))]))
    expected = match(ct_state=(0x21, 0x21), ct_zone=9, ct_mark=(0xFF00, 0xFF00), eth_type=0x0800)
    assert fs.match(0) == expected == (
        ("ct_mark", (0xFF00, 0xFF00)), ("ct_state", (0x21, 0x21)), ("ct_zone", 9),
        ("eth_type", 0x0800),
    )
    unmasked = tlv(nxm, 105, (0x22).to_bytes(4, "big")) + tlv(nxm, 107, (1).to_bytes(4, "big"))
    assert oxm.parse(unmasked) == match(ct_state=0x22, ct_mark=1)
    all_ones = tlv(nxm, 107, (3).to_bytes(4, "big"), b"\xff" * 4)
    assert oxm.parse(all_ones) == (("ct_mark", 3),)
    assert oxm.parse(tlv(nxm, 105, bytes(4), bytes(4))) == ()  # a zero mask matches anything


def test_any_ipv4_mask_is_canonicalised_not_rejected():
    m = parser.OFPMatch(eth_type=0x0800, ipv4_dst=("10.1.2.3", "255.0.255.0"))
    fs = decode_flow_stats(reply(ofp.OFPMP_FLOW, [flow_entry(m)]))
    assert fs.match(0) == (("eth_type", 0x0800), ("ipv4_dst", ("10.0.2.0", "255.0.255.0")))


# --- bad input -----------------------------------------------------------------------


GOOD = sequence(ofp.OFPMP_FLOW, [flow_entry(m, cookie=i) for i, m in enumerate(MATCHES)], 4)


def _set(buf: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(buf)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


FIRST_ENTRY = 16


@pytest.mark.parametrize("raw, message", [
    (GOOD[:10], "truncated multipart header"),
    (_set(GOOD, 0, "!B", 1), "version"),
    (_set(GOOD, 1, "!B", ofp.OFPT_FLOW_MOD), "message type"),
    (_set(GOOD, 2, "!H", 8), "shorter than its header"),
    (_set(GOOD, 2, "!H", 0xFFFF), "runs past the end"),
    (_set(GOOD, 8, "!H", ofp.OFPMP_PORT_STATS), "multipart type"),
    (reply(ofp.OFPMP_FLOW, [], xid=7, more=True) + reply(ofp.OFPMP_FLOW, [], xid=8), "xid"),
    (reply(ofp.OFPMP_FLOW, []) + reply(ofp.OFPMP_FLOW, []), "follows the last message"),
    (_set(GOOD, FIRST_ENTRY, "!H", 0), "bad length 0"),  # OS-Ken loops forever on this
    (_set(GOOD, FIRST_ENTRY, "!H", 40), "bad length 40"),
    (_set(GOOD, FIRST_ENTRY, "!H", 0xFFF0), "bad length"),
    (reply(ofp.OFPMP_FLOW, [bytes(30)]), "truncated flow stats entry"),
    (_set(GOOD, FIRST_ENTRY + 48, "!H", 0), "bad match"),  # match type standard
    (_set(GOOD, FIRST_ENTRY + 50, "!H", 200), "bad match"),  # match past the entry
    (_set(GOOD, FIRST_ENTRY + 50, "!H", 2), "bad match"),
])
def test_malformed_replies_raise_decode_error(raw, message):
    with pytest.raises(DecodeError, match=message):
        decode_flow_stats(raw)


@pytest.mark.parametrize("tlvs, message", [
    (tlv(ofp.OFPXMC_OPENFLOW_BASIC, 0, b"\x00\x01"), "in_port: length 2, expected 4"),
    (tlv(0x0001, 105, b"\x00\x21"), "ct_state: length 2, expected 4"),
    (tlv(0x0001, 106, bytes(4)), "ct_zone: length 4, expected 2"),
    (tlv(0x8000, 0, bytes(4)) + tlv(0x8000, 0, bytes(4)), "twice"),
    (tlv(0x8000, 5, b"\x08\x00") + b"\x80\x00", "truncated OXM header"),
    (struct.pack("!I", 0x80000004 | 0x0A00) + b"\x01", "runs past"),
])
def test_malformed_matches_raise_decode_error(tlvs, message):
    fs = decode_flow_stats(reply(ofp.OFPMP_FLOW, [flow_entry(oxm_match(tlvs))]))
    with pytest.raises(DecodeError, match=message):
        fs.match(0)


def test_every_truncation_is_a_decode_error_or_a_shorter_reply():
    for cut in range(len(GOOD)):
        try:
            fs = decode_flow_stats(GOOD[:cut])
        except DecodeError:
            continue
        # only a cut at a message boundary decodes: whole messages, fewer entries
        assert len(fs) < len(MATCHES) or cut == len(GOOD)


def test_random_corruption_never_escapes_as_anything_but_decode_error():
    rng = random.Random(7)
    for _ in range(3000):
        raw = bytearray(GOOD)
        for _ in range(rng.randrange(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            fs = decode_flow_stats(bytes(raw))
        except DecodeError:
            continue
        for i in range(len(fs)):
            with contextlib.suppress(DecodeError):
                fs.match(i)


# --- port and meter stats ------------------------------------------------------------


def port_entry(port_no: int, counters: list[int], duration=(5, 6)) -> bytes:
    """One ofp_port_stats."""
    return struct.pack(ofp.OFP_PORT_STATS_PACK_STR, port_no, *counters, *duration)


def test_port_stats_equal_os_ken():
    rng = random.Random(2)
    entries = [port_entry(p, [rng.choice([0, U64, rng.getrandbits(64)]) for _ in range(12)],
                          (rng.getrandbits(32), rng.randrange(10**9)))
               for p in [1, 2, 3, 0xFFFFFFFE, *range(10, 60)]]
    raw = sequence(ofp.OFPMP_PORT_STATS, entries, per_message=9)
    ps = decode_port_stats(raw)
    names = ["port_no", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped",
             "tx_dropped", "rx_errors", "tx_errors", "rx_frame_err", "rx_over_err",
             "rx_crc_err", "collisions", "duration_sec", "duration_nsec"]
    oracle = [tuple(getattr(s, n) for n in names) for msg in osken_parse(raw) for s in msg.body]
    assert list(zip(*(getattr(ps, n).tolist() for n in names), strict=True)) == oracle
    assert ps.complete and len(ps) == 54
    assert ps.duration[0] == pytest.approx(ps.duration_sec[0] + ps.duration_nsec[0] * 1e-9)


def test_port_stats_reject_partial_entries():
    raw = reply(ofp.OFPMP_PORT_STATS, [port_entry(1, [0] * 12)[:100]])
    with pytest.raises(DecodeError, match="whole number"):
        decode_port_stats(raw)
    assert len(decode_port_stats(reply(ofp.OFPMP_PORT_STATS, []))) == 0


def meter_entry(meter_id: int, bands: list[tuple[int, int]], counts=(1, 2, 3),
                duration=(4, 5)) -> bytes:
    """One ofp_meter_stats with its band stats."""
    head = struct.pack(ofp.OFP_METER_STATS_PACK_STR, meter_id, 40 + 16 * len(bands), *counts,
                       *duration)
    return head + b"".join(struct.pack("!QQ", *b) for b in bands)


def test_meter_stats_equal_os_ken():
    rng = random.Random(3)
    entries = [meter_entry(m, [(rng.getrandbits(64), rng.getrandbits(64))
                               for _ in range(rng.choice([0, 1, 1, 3]))],
                           (rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(64)),
                           (rng.getrandbits(32), rng.randrange(10**9)))
               for m in range(1, 41)]
    raw = sequence(ofp.OFPMP_METER, entries, per_message=7)
    ms = decode_meter_stats(raw)
    oracle = [(s.meter_id, s.flow_count, s.packet_in_count, s.byte_in_count, s.duration_sec,
               s.duration_nsec, [(b.packet_band_count, b.byte_band_count) for b in s.band_stats])
              for msg in osken_parse(raw) for s in msg.body]
    ours = []
    for i in range(len(ms)):
        packets, bytes_ = ms.bands(i)
        ours.append((int(ms.meter_id[i]), int(ms.flow_count[i]), int(ms.packet_in_count[i]),
                     int(ms.byte_in_count[i]), int(ms.duration_sec[i]), int(ms.duration_nsec[i]),
                     list(zip(packets.tolist(), bytes_.tolist(), strict=True))))
    assert ours == oracle
    assert ms.complete and len(ms) == 40 and ms.band_start[-1] == len(ms.band_packet_count)


@pytest.mark.parametrize("length", [0, 39, 48, 72])
def test_meter_stats_reject_bad_lengths(length):
    entry = bytearray(meter_entry(1, [(1, 2)]))
    struct.pack_into("!H", entry, 4, length)
    with pytest.raises(DecodeError, match="meter stats entry"):
        decode_meter_stats(reply(ofp.OFPMP_METER, [bytes(entry)]))


# --- requests --------------------------------------------------------------------------


def _oken_request(msg, xid: int) -> bytes:
    msg.set_xid(xid)
    msg.serialize()
    return bytes(msg.buf)


def test_requests_equal_os_ken():
    dp = DATAPATH
    assert multipart.flow_stats_request(5) == _oken_request(parser.OFPFlowStatsRequest(
        dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, parser.OFPMatch()), 5)
    assert multipart.flow_stats_request(6, table_id=3) == _oken_request(
        parser.OFPFlowStatsRequest(dp, table_id=3), 6)
    assert multipart.port_stats_request(7) == _oken_request(
        parser.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY), 7)
    assert multipart.meter_stats_request(8) == _oken_request(
        parser.OFPMeterStatsRequest(dp, 0, ofp.OFPM_ALL), 8)
