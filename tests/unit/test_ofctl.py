"""ofctl rendering: exact strings (OVS's own parser reads them in tests/system, a real OVS
bridge takes them in tests/integration)."""

from __future__ import annotations

import pytest

from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_REL,
    CT_RPL,
    CT_TRK,
    OFPM_ALL,
    OFPM_MAX,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    ApplyActions,
    Bucket,
    Ct,
    Flow,
    GotoTable,
    Group,
    GroupAction,
    Match,
    Meter,
    MeterBand,
    MeterInstruction,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
    match,
)
from sdn_shadow.openflow.ofctl import (
    action_to_ofctl,
    flow_to_ofctl,
    group_to_ofctl,
    instructions_to_ofctl,
    match_to_ofctl,
    meter_to_ofctl,
)

OFPP_LOCAL = 0xFFFFFFFE
IP = 0x0800
ARP = 0x0806

# --- exact strings -------------------------------------------------------------


def test_example_flow():
    flow = Flow(
        table_id=3, priority=1000, subsystem=2,
        match=match(metadata=100, eth_dst="00:00:00:00:00:02"),
        instructions=(ApplyActions((PushVlan(), SetField("vlan_vid", 0x1064), Output(10))),),
    )  # fmt: skip
    assert flow_to_ofctl(flow) == (
        f"table=3,priority=1000,cookie={flow.cookie:#x},metadata=0x64,eth_dst=00:00:00:00:00:02,"
        "actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:10"
    )
    assert flow.cookie >> 56 == 2


@pytest.mark.parametrize(
    ("m", "text"),
    [
        (match(), ""),
        (match(in_port=1), "in_port=1"),
        (match(in_port=OFPP_LOCAL), "in_port=LOCAL"),
        (match(metadata=0x64), "metadata=0x64"),
        (match(metadata=(0x1234, 0xFF00)), "metadata=0x1200/0xff00"),
        (match(eth_dst="AA:BB:CC:DD:EE:FF"), "eth_dst=aa:bb:cc:dd:ee:ff"),
        (match(eth_src=("01:00:00:00:00:01", "01:00:00:00:00:00")),
         "eth_src=01:00:00:00:00:00/01:00:00:00:00:00"),
        (match(eth_type=IP), "eth_type=0x800"),
        (match(vlan_vid=0x1064), "vlan_vid=0x1064"),
        (match(vlan_vid=(0x1000, 0x1000)), "vlan_vid=0x1000/0x1000"),
        (match(eth_type=IP, ip_proto=6, ipv4_src="10.0.0.1", ipv4_dst="10.0.0.0/24"),
         "eth_type=0x800,ip_proto=6,ip_src=10.0.0.1,ip_dst=10.0.0.0/255.255.255.0"),
        (match(tcp_src=1234, tcp_dst=(0x50, 0xFFF0)), "tcp_src=1234,tcp_dst=0x50/0xfff0"),
        (match(udp_src=68, udp_dst=67), "udp_src=68,udp_dst=67"),
        (match(icmpv4_type=8, ip_proto=1, eth_type=IP), "eth_type=0x800,ip_proto=1,icmp_type=8"),
        (match(arp_tha="00:00:00:00:00:00", arp_op=1, eth_type=ARP, arp_tpa="10.0.0.0/8",
               arp_spa="10.0.0.1", arp_sha=("00:11:00:00:00:00", "ff:ff:00:00:00:00")),
         "eth_type=0x806,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/255.0.0.0,"
         "arp_sha=00:11:00:00:00:00/ff:ff:00:00:00:00,arp_tha=00:00:00:00:00:00"),
        (match(ct_state=(CT_TRK | CT_NEW, CT_TRK | CT_NEW)), "ct_state=+new+trk"),
        (match(ct_state=(0, CT_TRK)), "ct_state=-trk"),
        (match(ct_state=(CT_TRK, CT_TRK | CT_NEW)), "ct_state=-new+trk"),
        (match(ct_state=(CT_TRK | CT_EST | CT_RPL, CT_TRK | CT_EST | CT_REL | CT_RPL | CT_INV)),
         "ct_state=+est-rel+rpl-inv+trk"),
        (match(ct_state=(0x40, 0xC0)), "ct_state=+snat-dnat"),
        (match(ct_state=CT_TRK | CT_EST), "ct_state=0x22"),  # exact: all 32 bits
        (match(ct_state=(0, 0)), ""),
        (match(ct_mark=1), "ct_mark=0x1"),
        (match(ct_mark=(0x1, 0xFF)), "ct_mark=0x1/0xff"),
        (match(ct_zone=100), "ct_zone=100"),
        (match(ct_mark=(0x10, 0xF0), eth_type=IP, ct_zone=7, ct_state=(CT_TRK, CT_TRK)),
         "eth_type=0x800,ct_state=+trk,ct_zone=7,ct_mark=0x10/0xf0"),
    ],
)  # fmt: skip
def test_match(m: Match, text: str):
    assert match_to_ofctl(m) == text


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (Output(10), "output:10"),
        (Output(OFPP_IN_PORT), "output:IN_PORT"),
        (Output(OFPP_LOCAL), "output:LOCAL"),
        (Output(OFPP_CONTROLLER, 128), "controller:128"),
        (OutputTrunc(3, 100), "output(port=3,max_len=100)"),
        (GroupAction(5), "group:5"),
        (PushVlan(), "push_vlan:0x8100"),
        (PushVlan(0x88A8), "push_vlan:0x88a8"),
        (PopVlan(), "pop_vlan"),
        (SetField("vlan_vid", 0x1064), "set_field:4196->vlan_vid"),
        (SetField("eth_dst", "00:00:00:00:00:0A"), "set_field:00:00:00:00:00:0a->eth_dst"),
        (SetField("ipv4_src", "10.0.0.9"), "set_field:10.0.0.9->ip_src"),
        (SetField("tcp_dst", 8080), "set_field:8080->tcp_dst"),
        (SetField("metadata", 0x64), "set_field:0x64->metadata"),
        (SetField("in_port", 2), "set_field:2->in_port_oxm"),
        (SetField("arp_op", 2), "set_field:2->arp_op"),
        (RegMove("eth_src", "eth_dst", 48), "move:eth_src[]->eth_dst[]"),
        (RegMove("ipv4_src", "ipv4_dst", 8, 0, 8), "move:ip_src[0..7]->ip_dst[8..15]"),
        (RegMove("in_port", "metadata", 32), "move:in_port_oxm[]->metadata[0..31]"),
        (RegMove("vlan_vid", "vlan_vid", 12), "move:vlan_vid[]->vlan_vid[]"),
        (RegMove("ct_mark", "metadata", 32), "move:ct_mark[]->metadata[0..31]"),
        (Ct(0), "ct(zone=0)"),
        (Ct(100, commit=True), "ct(commit,zone=100)"),
        (Ct(5, table=0), "ct(zone=5,table=0)"),
        (Ct(100, commit=True, table=3, actions=(SetField("ct_mark", 1),)),
         "ct(commit,zone=100,table=3,exec(set_field:0x1->ct_mark))"),
        (Ct(1, commit=True, actions=(SetField("ct_mark", 0xFF), SetField("ct_mark", 0))),
         "ct(commit,zone=1,exec(set_field:0xff->ct_mark,set_field:0x0->ct_mark))"),
    ],
)  # fmt: skip
def test_action(action, text: str):
    assert action_to_ofctl(action) == text


@pytest.mark.parametrize(
    ("instructions", "text"),
    [
        ((), "drop"),
        ((ApplyActions(()),), "drop"),
        ((ApplyActions(()), GotoTable(2)), "goto_table:2"),
        ((WriteMetadata(0x64),), "write_metadata:0x64"),
        ((WriteMetadata(0x64, 0xFFFF),), "write_metadata:0x64/0xffff"),
        ((WriteActions((Output(1), GroupAction(2))),), "write_actions(output:1,group:2)"),
        ((WriteActions(()),), "write_actions()"),
        (
            (ApplyActions((PopVlan(), Output(1))), WriteActions((Output(2),)),
             WriteMetadata(1, 1), GotoTable(7)),
            "pop_vlan,output:1,write_actions(output:2),write_metadata:0x1/0x1,goto_table:7",
        ),
        ((MeterInstruction(3),), "meter:3"),
        ((MeterInstruction(3), ApplyActions(()), GotoTable(1)), "meter:3,goto_table:1"),
        ((MeterInstruction(OFPM_MAX), ApplyActions((Output(1),))), "meter:4294901760,output:1"),
    ],
)  # fmt: skip
def test_instructions(instructions, text: str):
    assert instructions_to_ofctl(instructions) == text


def test_flow_sorts_instructions_and_renders_match_all():
    flow = Flow(1, 0, 0, match(), (GotoTable(2), ApplyActions((Output(1),))))
    expected = f"table=1,priority=0,cookie={flow.cookie:#x},actions=output:1,goto_table:2"
    assert flow_to_ofctl(flow) == expected


def test_meter_comes_first_in_flow_text():
    # ovs-ofctl: "invalid instruction ordering: meter must appear before apply_actions"
    flow = Flow(1, 5, 0, match(in_port=1), (ApplyActions((Output(2),)), MeterInstruction(4)))
    assert flow_to_ofctl(flow).endswith(",in_port=1,actions=meter:4,output:2")


@pytest.mark.parametrize(
    ("group", "text"),
    [
        (Group(1, "all", (Bucket((Output(1),)), Bucket(()))),
         "group_id=1,type=all,bucket=actions=output:1,bucket=actions=drop"),
        (Group(2, "select", (Bucket((Output(1),), weight=1), Bucket((Output(2),), weight=3))),
         "group_id=2,type=select,bucket=weight:1,actions=output:1,bucket=weight:3,actions=output:2"),
        (Group(3, "indirect", (Bucket((PushVlan(), SetField("vlan_vid", 0x1005), Output(2))),)),
         "group_id=3,type=indirect,bucket=actions=push_vlan:0x8100,set_field:4101->vlan_vid,output:2"),
        (Group(4, "ff", (Bucket((Output(1),), watch_port=1),
                         Bucket((GroupAction(1),), watch_port=OFPP_LOCAL, watch_group=1))),
         "group_id=4,type=ff,bucket=watch_port:1,actions=output:1,"
         "bucket=watch_port:LOCAL,watch_group:1,actions=group:1"),
        (Group(5, "all", ()), "group_id=5,type=all"),
    ],
)  # fmt: skip
def test_group(group: Group, text: str):
    assert group_to_ofctl(group) == text


@pytest.mark.parametrize(
    ("meter", "text"),
    [
        (Meter(1, (MeterBand(50_000),)), "meter=1,kbps,stats,band=type=drop,rate=50000"),
        (Meter(2, (MeterBand(100),), unit="pktps", stats=False),
         "meter=2,pktps,band=type=drop,rate=100"),
        (Meter(3, (MeterBand(2000, 200), MeterBand(1000, 100)), burst=True),
         "meter=3,kbps,burst,stats,band=type=drop,rate=1000,burst_size=100,"
         "type=drop,rate=2000,burst_size=200"),
        (Meter(4, (MeterBand(10, 5, "dscp_remark", 2),), unit="pktps", burst=True, stats=False),
         "meter=4,pktps,burst,band=type=dscp_remark,rate=10,burst_size=5,prec_level=2"),
    ],
)  # fmt: skip
def test_meter(meter: Meter, text: str):
    assert meter_to_ofctl(meter) == text


@pytest.mark.parametrize(
    "render",
    [
        lambda: action_to_ofctl(SetField("ipv4_dst", "10.0.0.0/24")),  # masked: OpenFlow 1.5
        lambda: action_to_ofctl(SetField("vlan_vid", 5)),  # lacks OFPVID_PRESENT
        lambda: action_to_ofctl(Output(0x10000)),  # OVS has 16-bit ports only
        lambda: action_to_ofctl(RegMove("eth_src", "eth_dst", 48, 1, 0)),
        lambda: action_to_ofctl(RegMove("vlan_vid", "vlan_vid", 13)),
        lambda: action_to_ofctl(RegMove("reg0", "eth_dst", 8)),
        # ovs-ofctl: "cannot set CT fields outside of ct action"
        lambda: action_to_ofctl(SetField("ct_mark", 1)),
        lambda: action_to_ofctl(SetField("ct_state", CT_TRK)),
        lambda: action_to_ofctl(RegMove("metadata", "ct_mark", 32)),
        lambda: action_to_ofctl(Ct(1, table=255)),  # ovs-ofctl: "invalid table 0xff"
        lambda: action_to_ofctl(Ct(1, commit=True, actions=(SetField("ct_mark", (1, 1)),))),
        lambda: match_to_ofctl(match(ct_state=(0x100, 0x100))),  # "unknown ct_state flag(s)"
        lambda: match_to_ofctl(match(ct_state=0x121)),
        lambda: match_to_ofctl((("nw_src", "10.0.0.1"),)),
        lambda: group_to_ofctl(Group(1, "all", (Bucket((Output(1),), weight=2),))),
        lambda: group_to_ofctl(Group(1, "ff", (Bucket((Output(1),)),))),
        lambda: group_to_ofctl(Group(1, "indirect", ())),
        lambda: meter_to_ofctl(Meter(0, (MeterBand(1),))),
        lambda: meter_to_ofctl(Meter(OFPM_ALL, (MeterBand(1),))),
        lambda: meter_to_ofctl(Meter(1, ())),  # ovs-ofctl: must specify bands
        lambda: meter_to_ofctl(Meter(1, (MeterBand(0),))),  # ovs-ofctl: band must have 'rate'
        lambda: meter_to_ofctl(Meter(1, (MeterBand(5, 1),))),  # burst_size needs 'burst'
        lambda: meter_to_ofctl(Meter(1, (MeterBand(5),), burst=True)),  # 'burst' needs one
        lambda: meter_to_ofctl(Meter(1, (MeterBand(5, type="dscp_remark"),))),  # prec_level
        lambda: meter_to_ofctl(Meter(1, (MeterBand(5),), unit="bps")),
    ],
)
def test_what_ovs_would_reject_raises_value_error(render):
    with pytest.raises(ValueError):
        render()
