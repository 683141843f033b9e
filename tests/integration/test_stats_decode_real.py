"""telemetry.decode on real Open vSwitch replies: entry for entry equal to OS-Ken's decode."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.osken import osken_parse
from bench.ovsbridge import run
from sdn_shadow.openflow.messages import MATCH_FIELDS, canonical_match
from sdn_shadow.telemetry.decode import decode_flow_stats, decode_meter_stats, decode_port_stats
from sdn_shadow.telemetry.multipart import OFPMPF_REPLY_MORE, split
from sdn_shadow.telemetry.ofsocket import OFSocket, mgmt_socket

pytestmark = pytest.mark.integration

OF13 = ("-O", "OpenFlow13")


def _flows() -> list[str]:
    """~900 flows in 4 tables: every match field we model, plain and masked; two metered."""
    flows = [f"cookie={0x100 + i:#x},table=0,priority=200,in_port=1,"
             f"dl_dst=02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x},actions=goto_table:1"
             for i in range(300)]
    flows += [
        "table=0,priority=150,ip,nw_src=10.1.0.0/16,actions=meter:1,goto_table:1",
        "table=0,priority=160,ip,nw_src=10.3.0.0/16,actions=meter:2,goto_table:1",
        "table=0,priority=100,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop",
        "table=0,priority=0,actions=goto_table:1",
    ]
    flows += [f"cookie={0x10000 + i:#x},table=1,priority=10,metadata={i % 4:#x}/0xff,ip,"
              f"nw_dst=10.{2 + i // 256}.{i % 256}.0/24,actions=goto_table:2" for i in range(300)]
    flows += [
        "table=1,priority=5,udp,tp_dst=0x1000/0xf000,actions=goto_table:2",
        "table=1,priority=5,tcp,tp_src=80,actions=output:2",
        "table=1,priority=5,tcp,tp_dst=443,actions=drop",
        "table=1,priority=5,udp,tp_src=53,actions=drop",
        "table=1,priority=6,dl_vlan=10,actions=output:2",
        "table=1,priority=4,vlan_tci=0x1000/0x1000,actions=drop",
        "table=1,priority=7,arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,"
        "arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00/ff:ff:ff:00:00:00,actions=drop",
        "table=1,priority=6,icmp,icmp_type=8,actions=output:2",
        "table=1,priority=8,ip,nw_src=10.9.9.9,dl_src=02:00:00:00:00:aa/ff:ff:ff:ff:ff:00,"
        "actions=drop",
        "table=1,priority=9,ip,ct_state=-trk,actions=ct(zone=5,table=2)",
        "table=1,priority=9,ip,ct_state=+trk-new,ct_zone=5,ct_mark=0x1/0xff,actions=drop",
        "table=1,priority=9,ip,ct_state=+new+trk,ct_mark=0,"
        "actions=ct(commit,zone=5,exec(set_field:0x2->ct_mark)),output:2",
        "table=1,priority=0,actions=goto_table:2",
    ]
    flows += [f"table=2,priority={100 + i},udp,tp_dst={1000 + i},actions=output:2"
              for i in range(300)]
    flows += [
        "table=2,priority=0,actions=output:2",
        "cookie=0xfeedface00000001,table=3,priority=5,idle_timeout=600,hard_timeout=900,"
        "send_flow_rem,in_port=2,actions=drop",
    ]
    return flows


#: Flows whose match OS-Ken's items can't go through `canonical_match`: checked on their own.
SPECIAL = [
    "table=4,priority=1,ipv6,ipv6_src=2001:db8::/32,actions=drop",
    "table=4,priority=2,ip,nw_dst=10.0.0.1/255.0.255.0,actions=drop",
]


def _frames() -> list[bytes]:
    """Frames that hit flows (and meters) on their way through the tables."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import ARP, Ether

    def eth(dst: str = "02:00:00:00:ff:ff"):
        return Ether(dst=dst, src="02:00:00:00:00:01")

    return [bytes(f) for f in (
        eth("02:00:00:00:00:04") / IP(src="10.5.0.1", dst="10.2.4.1") / UDP(dport=1004),
        eth() / IP(src="10.1.2.3", dst="10.9.0.1") / UDP(dport=0x1234) / (b"x" * 100),
        eth() / IP(src="10.3.0.1", dst="10.9.0.1") / UDP(dport=1010),
        eth("ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.7",
                                       hwsrc="02:00:00:00:00:01"),
        eth() / IP(src="10.7.0.1", dst="10.7.0.2") / ICMP(type=8),
    )]


@dataclass
class Replies:
    """Raw replies read from the bridge."""

    flows: bytes
    ports: bytes
    meters: bytes


@pytest.fixture(scope="module")
def replies(tmp_path_factory) -> Iterator[Replies]:
    """A bridge of ours with flows, two meters, two ports and some traffic; deleted after."""
    bridge = f"shtel{os.getpid() % 100000}"
    ports = [f"{bridge}p1", f"{bridge}p2"]
    run("ovs-vsctl", "--if-exists", "del-br", bridge, "--", "add-br", bridge, "--", "set",
        "bridge", bridge, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure")
    try:
        for number, port in enumerate(ports, 1):
            run("ovs-vsctl", "add-port", bridge, port, "--", "set", "interface", port,
                "type=internal", f"ofport_request={number}")
            subprocess.run(["ip", "link", "set", "dev", port, "up"], check=False,
                           capture_output=True)
        run("ovs-ofctl", *OF13, "add-meter", bridge, "meter=1,pktps,bands=type=drop,rate=100")
        run("ovs-ofctl", *OF13, "add-meter", bridge,
            "meter=2,kbps,bands=type=drop,rate=1000,type=drop,rate=5000")
        flow_file = tmp_path_factory.mktemp("stats") / "flows.txt"
        flow_file.write_text("\n".join(_flows() + SPECIAL) + "\n")
        run("ovs-ofctl", *OF13, "--bundle", "add-flows", bridge, str(flow_file))
        for frame in _frames() * 3:
            run("ovs-ofctl", *OF13, "packet-out", bridge,
                f"in_port=1 packet={frame.hex()} actions=table")
        with OFSocket(mgmt_socket(bridge)) as sock:
            yield Replies(sock.flow_stats(), sock.port_stats(), sock.meter_stats())
    finally:
        run("ovs-vsctl", "--if-exists", "del-br", bridge)


def test_flow_stats_equal_os_ken_entry_for_entry(replies):
    raw = replies.flows
    parts = split(raw, 1)
    assert len(parts) >= 2, "expected a reply split over several messages"
    assert all(p.flags & OFPMPF_REPLY_MORE for p in parts[:-1])
    fs = decode_flow_stats(raw)
    assert fs.complete and len(fs) == len(_flows()) + len(SPECIAL)

    theirs = [s for msg in osken_parse(raw) for s in msg.body]
    assert len(theirs) == len(fs)
    special = []
    for i, s in enumerate(theirs):
        ours = (int(fs.table_id[i]), int(fs.priority[i]), int(fs.cookie[i]),
                int(fs.packet_count[i]), int(fs.byte_count[i]), int(fs.duration_sec[i]),
                int(fs.duration_nsec[i]), int(fs.idle_timeout[i]), int(fs.hard_timeout[i]),
                int(fs.flags[i]))
        assert ours == (s.table_id, s.priority, s.cookie, s.packet_count, s.byte_count,
                        s.duration_sec, s.duration_nsec, s.idle_timeout, s.hard_timeout,
                        s.flags)
        if s.table_id == 4:
            special.append(fs.key(i))
            continue
        assert fs.match(i) == canonical_match(s.match.items()), s.match
    assert sum(fs.packet_count.tolist()) > 0, "the test traffic hit no flow"
    assert {name for _, _, m in fs.flow_keys() for name, _ in m} >= set(MATCH_FIELDS)
    assert {(t, p) for t, p, _ in fs.flow_keys()} >= {(3, 5), (1, 7), (0, 150)}

    assert sorted(special) == [
        (4, 1, (("eth_type", 0x86DD),
                ("oxm:0x8000:26", ("20010db8" + "0" * 24, "ffffffff" + "0" * 24)))),
        (4, 2, (("eth_type", 0x0800), ("ipv4_dst", ("10.0.0.0", "255.0.255.0")))),
    ]


def test_port_stats_equal_os_ken(replies):
    ps = decode_port_stats(replies.ports)
    names = ["port_no", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped",
             "tx_dropped", "rx_errors", "tx_errors", "rx_frame_err", "rx_over_err",
             "rx_crc_err", "collisions", "duration_sec", "duration_nsec"]
    theirs = [tuple(getattr(s, n) for n in names)
              for msg in osken_parse(replies.ports) for s in msg.body]
    assert list(zip(*(getattr(ps, n).tolist() for n in names), strict=True)) == theirs
    assert sorted(ps.port_no.tolist()) == [1, 2, 0xFFFFFFFE]
    port2 = ps.port_no.tolist().index(2)
    assert ps.tx_packets[port2] + ps.tx_dropped[port2] > 0, "nothing was sent to port 2"


def test_meter_stats_equal_os_ken(replies):
    ms = decode_meter_stats(replies.meters)
    theirs = [(s.meter_id, s.flow_count, s.packet_in_count, s.byte_in_count, s.duration_sec,
               s.duration_nsec, [(b.packet_band_count, b.byte_band_count) for b in s.band_stats])
              for msg in osken_parse(replies.meters) for s in msg.body]
    ours = []
    for i in range(len(ms)):
        packets, byte_counts = ms.bands(i)
        ours.append((int(ms.meter_id[i]), int(ms.flow_count[i]), int(ms.packet_in_count[i]),
                     int(ms.byte_in_count[i]), int(ms.duration_sec[i]), int(ms.duration_nsec[i]),
                     list(zip(packets.tolist(), byte_counts.tolist(), strict=True))))
    assert ours == theirs
    by_id = {row[0]: row for row in ours}
    assert set(by_id) == {1, 2}
    assert by_id[1][1] == 1 and by_id[1][2] > 0, "no packet went through meter 1"
    assert len(by_id[2][6]) == 2
