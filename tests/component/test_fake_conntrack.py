"""The fake switch's connection tracking, on hand-built flows.

Table 0 sends untracked packets through `ct`; a probe table then sends each
tracked packet to a port that says what conntrack made of it (state, zone,
mark), so a test reads `[("new", 1, 0)]` for "one copy, +trk+new in zone 1,
ct_mark 0".
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_RPL,
    CT_TRK,
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    Action,
    ApplyActions,
    Ct,
    Flow,
    FlowAdd,
    GotoTable,
    Instruction,
    Match,
    Output,
    SetField,
    WriteActions,
    WriteMetadata,
    match,
)
from tests.fakes.flowtable import Connection, FakeFabric, FakeSwitch, FakeSwitchError, Packet

SUB = 9  # subsystem of every flow here
CLIENT, SERVER, OTHER = 1, 2, 3  # in ports
STATES = {"new": CT_TRK | CT_NEW, "est": CT_TRK | CT_EST,
          "rpl": CT_TRK | CT_EST | CT_RPL, "inv": CT_TRK | CT_INV}
PROBE = dict(enumerate(itertools.product(STATES, (1, 2), (0, 1)), start=100))
UNTRACKED = match(ct_state=(0, CT_TRK))


def flow(table: int, priority: int, fields: Match, *instructions: Instruction) -> FlowAdd:
    """A flow add."""
    return FlowAdd(Flow(table, priority, SUB, fields, instructions))


def apply(*actions: Action) -> ApplyActions:
    """Apply-actions."""
    return ApplyActions(actions)


def probe(table: int) -> list[FlowAdd]:
    """Flows of `table` sending a tracked packet to the port naming its state, zone and mark."""
    return [flow(table, 10, match(ct_state=STATES[state], ct_zone=zone, ct_mark=mark),
                 apply(Output(port)))
            for port, (state, zone, mark) in PROBE.items()]


def switch(*flows: FlowAdd, probe_table: int = 1) -> FakeSwitch:
    """A switch holding `flows` and the probe table."""
    sw = FakeSwitch(1, "s1")
    sw.apply([*flows, *probe(probe_table)])
    return sw


def seen(sw: FakeSwitch, packet: Packet, in_port: int = CLIENT) -> list[object]:
    """What came out: (state, zone, mark) for a probe port, else the port."""
    return [PROBE.get(port, port) for port, _ in sw.process(in_port, packet)]


def tcp(sport: int = 1234) -> Packet:
    """A TCP packet 10.0.0.1:sport -> 10.0.0.2:80."""
    return {"eth_type": ETH_TYPE_IP, "ip_proto": 6, "ipv4_src": "10.0.0.1",
            "ipv4_dst": "10.0.0.2", "tcp_src": sport, "tcp_dst": 80}


def udp(sport: int = 5000) -> Packet:
    """A UDP packet 10.0.0.1:sport -> 10.0.0.2:53."""
    return {"eth_type": ETH_TYPE_IP, "ip_proto": 17, "ipv4_src": "10.0.0.1",
            "ipv4_dst": "10.0.0.2", "udp_src": sport, "udp_dst": 53}


def ping(icmp_type: int = 8) -> Packet:
    """An ICMP packet 10.0.0.1 -> 10.0.0.2."""
    return {"eth_type": ETH_TYPE_IP, "ip_proto": 1, "ipv4_src": "10.0.0.1",
            "ipv4_dst": "10.0.0.2", "icmpv4_type": icmp_type}


def answer(packet: Packet) -> Packet:
    """The reply to `packet`: addresses and ports swapped."""
    out = dict(packet)
    for a, b in (("ipv4_src", "ipv4_dst"), ("tcp_src", "tcp_dst"), ("udp_src", "udp_dst")):
        if a in packet:
            out[a], out[b] = packet[b], packet[a]
    return out


def committing(zone: int = 1, mark: int = 1) -> FakeSwitch:
    """Client packets are committed with `mark` in `zone`; server ones only looked up."""
    exec_ = (SetField("ct_mark", mark),)
    return switch(
        flow(0, 10, match(in_port=CLIENT, ct_state=(0, CT_TRK)),
             apply(Ct(zone, commit=True, table=1, actions=exec_))),
        flow(0, 10, match(in_port=SERVER, ct_state=(0, CT_TRK)), apply(Ct(zone, table=1))),
    )


def test_a_packet_starts_untracked_and_leaves_without_ct_fields() -> None:
    sw = switch(flow(0, 10, UNTRACKED, apply(Output(7))),
                flow(0, 10, match(ct_state=(CT_TRK, CT_TRK)), apply(Output(8))))
    [(port, out)] = sw.process(CLIENT, tcp())
    assert port == 7
    assert out == {**tcp(), "vlan_vid": 0}


def test_ct_with_a_table_recirculates_a_tracked_copy_without_committing() -> None:
    sw = switch(flow(0, 10, UNTRACKED, apply(Ct(1, table=1))))
    assert seen(sw, tcp()) == [("new", 1, 0)]
    assert seen(sw, tcp()) == [("new", 1, 0)], "nothing committed: still new"
    assert sw.connections == {}


def test_commit_sets_the_mark_and_later_packets_are_established() -> None:
    sw = committing()
    assert seen(sw, tcp()) == [("new", 1, 1)], "the committing packet carries the mark"
    key = (1, 6, "10.0.0.1", "10.0.0.2", 1234, 80)
    assert sw.connections == {key: Connection(mark=1, replied=False)}
    assert seen(sw, tcp()) == [("new", 1, 1)], "no reply yet: still new (a SYN retransmit)"
    assert seen(sw, answer(tcp()), SERVER) == [("rpl", 1, 1)]
    assert seen(sw, tcp()) == [("est", 1, 1)]
    assert seen(sw, tcp(sport=1235)) == [("new", 1, 1)], "another connection"
    assert sw.connections[key] == Connection(mark=1, replied=True)
    assert len(sw.connections) == 2


def test_an_answer_to_nothing_committed_is_new() -> None:
    sw = committing()
    assert seen(sw, answer(tcp()), SERVER) == [("new", 1, 0)]
    assert sw.connections == {}


def test_recommitting_updates_the_mark() -> None:
    sw = committing(mark=1)
    seen(sw, tcp())
    sw.apply([flow(0, 10, match(in_port=CLIENT, ct_state=(0, CT_TRK)),
                   apply(Ct(1, commit=True, table=1, actions=(SetField("ct_mark", 0),))))])
    assert seen(sw, tcp()) == [("new", 1, 0)]
    sw.apply([flow(0, 10, match(in_port=CLIENT, ct_state=(0, CT_TRK)),
                   apply(Ct(1, commit=True, table=1)))])
    assert seen(sw, tcp()) == [("new", 1, 0)], "commit without exec keeps the mark"


def test_zones_are_separate() -> None:
    sw = committing(zone=1)
    sw.apply([flow(0, 10, match(in_port=OTHER, ct_state=(0, CT_TRK)), apply(Ct(2, table=1)))])
    seen(sw, tcp())
    assert seen(sw, tcp(), OTHER) == [("new", 2, 0)]
    assert seen(sw, answer(tcp()), OTHER) == [("new", 2, 0)]
    assert seen(sw, answer(tcp()), SERVER) == [("rpl", 1, 1)]
    assert [key[0] for key in sw.connections] == [1]


def test_udp_connections_are_keyed_by_ports() -> None:
    sw = committing()
    assert seen(sw, udp()) == [("new", 1, 1)]
    assert seen(sw, udp(sport=5001)) == [("new", 1, 1)]
    assert seen(sw, answer(udp()), SERVER) == [("rpl", 1, 1)]
    assert seen(sw, udp()) == [("est", 1, 1)]
    assert seen(sw, udp(sport=5001)) == [("new", 1, 1)], "its own reply not seen yet"
    assert (1, 17, "10.0.0.1", "10.0.0.2", 5000, 53) in sw.connections
    tcp_same_ports = {**tcp(5000), "tcp_dst": 53}
    assert seen(sw, tcp_same_ports) == [("new", 1, 1)], "TCP is another connection"


def test_icmp_connections_are_keyed_by_addresses() -> None:
    sw = committing()
    assert seen(sw, ping()) == [("new", 1, 1)]
    assert sw.connections == {(1, 1, "10.0.0.1", "10.0.0.2", None, None): Connection(1)}
    assert seen(sw, answer(ping(0)), SERVER) == [("rpl", 1, 1)]
    assert seen(sw, ping()) == [("est", 1, 1)]


def test_non_ip_is_invalid_and_never_committed() -> None:
    sw = committing()
    arp = {"eth_type": ETH_TYPE_ARP, "arp_op": 1, "arp_spa": "10.0.0.1", "arp_tpa": "10.0.0.2"}
    assert seen(sw, arp) == [("inv", 1, 0)]
    assert sw.connections == {}


def test_without_a_table_the_packet_goes_on_untracked() -> None:
    sw = switch(
        flow(0, 10, UNTRACKED, apply(Ct(1, commit=True, actions=(SetField("ct_mark", 1),))),
             GotoTable(1)),
        flow(1, 5, UNTRACKED, apply(Output(7))),
    )
    assert seen(sw, tcp()) == [7], "OVS clears the ct fields after ct"
    assert sw.connections == {(1, 6, "10.0.0.1", "10.0.0.2", 1234, 80): Connection(1)}


def test_the_original_continues_untracked_after_a_fork() -> None:
    sw = switch(
        flow(0, 10, UNTRACKED, apply(Ct(1, table=2), Output(7)), GotoTable(1)),
        flow(1, 5, UNTRACKED, apply(Output(8))),
        probe_table=2,
    )
    assert sorted(seen(sw, tcp()), key=str) == [("new", 1, 0), 7, 8]


def test_metadata_and_the_action_set_are_frozen_with_the_copy() -> None:
    sw = switch(
        flow(0, 10, (), WriteMetadata(0x5), WriteActions((Output(7),)), GotoTable(1)),
        flow(1, 10, UNTRACKED, apply(Ct(1, table=2))),
        flow(2, 10, match(ct_state=(CT_TRK, CT_TRK), metadata=0x5), apply(Output(8))),
    )
    assert seen(sw, tcp()) == [8, 7, 7], "copy: 8 then its action set; original: its action set"


def test_a_ct_loop_raises() -> None:
    sw = switch(flow(0, 10, (), apply(Ct(1, table=0))))
    with pytest.raises(FakeSwitchError, match="recirculation loop"):
        sw.process(CLIENT, tcp())


@pytest.mark.parametrize("instruction", [
    WriteActions((Ct(1, table=1),)),
    apply(SetField("ct_mark", 1)),
    apply(SetField("ct_state", CT_TRK)),
], ids=repr)
def test_what_ovs_rejects_the_fake_rejects(instruction: Instruction) -> None:
    with pytest.raises(FakeSwitchError):
        switch(flow(0, 10, (), instruction))


def test_flush_forgets_connections() -> None:
    sw = committing()
    seen(sw, tcp())
    sw.flush_conntrack()
    assert sw.connections == {}
    assert seen(sw, answer(tcp()), SERVER) == [("new", 1, 0)]


def test_a_fabric_clears_every_switch_and_can_share_one_table() -> None:
    ring = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
    config = parse_config(yaml.safe_load(ring.read_text()))
    own, shared = FakeFabric(config), FakeFabric(config, shared_conntrack=True)
    for fabric in (own, shared):
        for sw in fabric.switches.values():
            sw.apply([flow(0, 10, UNTRACKED, apply(Ct(1, commit=True)))])
        fabric.by_name["s1"].process(CLIENT, tcp())
    assert {sw.name: len(sw.connections) for sw in own.switches.values() if sw.connections} \
        == {"s1": 1}
    assert all(len(sw.connections) == 1 for sw in shared.switches.values())
    for fabric in (own, shared):
        fabric.clear_conntrack()
        assert not any(sw.connections for sw in fabric.switches.values())
