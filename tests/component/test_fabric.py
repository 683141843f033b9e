"""The real compiler and core against fake switches: forwarding, ARP, isolation, mirrors."""

from __future__ import annotations

import copy
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.compiler import sample_fraction
from sdn_shadow.openflow.messages import ETH_TYPE_ARP, ETH_TYPE_IP, Barrier
from tests.fakes.flowtable import FakeFabric

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
MAC = {
    "h1": "00:00:00:00:0a:01", "h2": "00:00:00:00:0a:02", "h3": "00:00:00:00:0a:03",
    "b1": "00:00:00:00:0b:01", "b2": "00:00:00:00:0b:02",
}
IP = {"h1": "10.0.0.1", "h2": "10.0.0.2", "h3": "10.0.0.3", "b1": "10.0.0.11", "b2": "10.0.0.12"}
PORT = {"h1": ("s1", 1), "h2": ("s2", 1), "h3": ("s1", 2), "b1": ("s1", 3), "b2": ("s2", 3),
        "h1s": ("s1", 4), "h2s": ("s2", 4)}
PRIMARY_PORTS = {PORT[h] for h in ("h1", "h2", "h3", "b1", "b2")}
SHADOW_PORTS = {PORT["h1s"], PORT["h2s"]}


def lab_data() -> dict:
    """The example lab config as plain data, to vary per test."""
    return yaml.safe_load(LAB.read_text())


def build(data: dict) -> tuple[ShadowCore, FakeFabric]:
    """A core for `data` and a fake fabric brought to its desired state."""
    config = parse_config(data)
    core = ShadowCore(config)
    fabric = FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    return core, fabric


def udp(src: str, dst: str, sport: int = 1000, dport: int = 5201, length: int = 200) -> dict:
    """A UDP packet between two lab hosts (by name)."""
    return {"eth_src": MAC[src], "eth_dst": MAC[dst], "eth_type": ETH_TYPE_IP,
            "ip_proto": 17, "ipv4_src": IP[src], "ipv4_dst": IP[dst],
            "udp_src": sport, "udp_dst": dport, "length": length}


def tcp(src: str, dst: str, sport: int = 40000, dport: int = 80) -> dict:
    """A TCP packet between two lab hosts."""
    return {"eth_src": MAC[src], "eth_dst": MAC[dst], "eth_type": ETH_TYPE_IP, "ip_proto": 6,
            "ipv4_src": IP[src], "ipv4_dst": IP[dst], "tcp_src": sport, "tcp_dst": dport,
            "length": 100}


def arp_request(src: str, target_ip: str) -> dict:
    """A broadcast ARP who-has from a host."""
    return {"eth_src": MAC[src], "eth_dst": "ff:ff:ff:ff:ff:ff", "eth_type": ETH_TYPE_ARP,
            "arp_op": 1, "arp_sha": MAC[src], "arp_spa": IP[src],
            "arp_tha": "00:00:00:00:00:00", "arp_tpa": target_ip, "length": 42}


def send(fabric: FakeFabric, host: str, packet: dict) -> dict[tuple[str, int], list[dict]]:
    """Deliveries of `packet` sent by `host`, grouped by (switch, port)."""
    out: dict[tuple[str, int], list[dict]] = {}
    for d in fabric.send(*PORT[host], packet):
        out.setdefault((d.switch, d.port), []).append(d.packet)
    return out


@pytest.fixture(scope="module")
def lab() -> tuple[ShadowCore, FakeFabric]:
    return build(lab_data())


def test_packet_reaches_destination_untagged_and_unchanged(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h1", udp("h1", "h2"))
    [pkt] = got[PORT["h2"]]
    assert pkt["vlan_vid"] == 0
    assert {k: pkt[k] for k in udp("h1", "h2")} == udp("h1", "h2")


def test_same_switch_delivery(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h3", tcp("h3", "h1"))
    assert set(got) == {PORT["h1"], PORT["h1s"]}  # h1s: the h1-both mirror


@pytest.mark.parametrize("src,dst", [("h1", "h2"), ("h2", "h1"), ("h2", "h3"), ("b1", "b2"),
                                     ("b2", "b1")])
def test_every_pair_is_reachable_exactly_once(lab, src, dst) -> None:
    _, fabric = lab
    got = send(fabric, src, tcp(src, dst))
    assert len(got[PORT[dst]]) == 1
    assert not (set(got) - {PORT[dst]} - SHADOW_PORTS), "leaked to another primary port"


def test_arp_is_answered_by_the_edge_switch(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h1", arp_request("h1", IP["h2"]))
    [reply] = got[PORT["h1"]]
    assert reply["arp_op"] == 2
    assert reply["arp_sha"] == MAC["h2"] and reply["arp_spa"] == IP["h2"]
    assert reply["arp_tha"] == MAC["h1"] and reply["arp_tpa"] == IP["h1"]
    assert reply["eth_src"] == MAC["h2"] and reply["eth_dst"] == MAC["h1"]
    assert not (set(got) & (PRIMARY_PORTS - {PORT["h1"]})), "ARP must not be flooded"


def test_arp_for_unknown_or_other_network_gets_no_answer(lab) -> None:
    _, fabric = lab
    assert send(fabric, "h1", arp_request("h1", "10.0.0.99")).get(PORT["h1"]) is None
    assert send(fabric, "h1", arp_request("h1", IP["b1"])).get(PORT["h1"]) is None
    assert send(fabric, "b1", arp_request("b1", IP["h2"])) == {}


@pytest.mark.parametrize("src,dst", [("h1", "b2"), ("h1", "b1"), ("b1", "h2"), ("b2", "h3")])
def test_networks_are_isolated(lab, src, dst) -> None:
    _, fabric = lab
    packet = udp(src, "h2") | {"eth_dst": MAC[dst], "ipv4_dst": IP[dst]}
    got = send(fabric, src, packet)
    assert not (set(got) & PRIMARY_PORTS)


def test_spoofed_source_mac_is_dropped(lab) -> None:
    _, fabric = lab
    assert send(fabric, "h1", udp("h3", "h2")) == {}


@pytest.mark.parametrize("twin", ["h1s", "h2s"])
@pytest.mark.parametrize("dst", ["h1", "h2", "h3", "b1"])
def test_shadow_hosts_are_receive_only(lab, twin, dst) -> None:
    _, fabric = lab
    src = twin[:-1]  # a twin carries its primary's MAC and IP
    packet = udp(src, dst) if dst != src else udp(src, "h3")
    got = send(fabric, twin, packet)
    assert not (set(got) & PRIMARY_PORTS)


def test_shadow_host_arp_is_answered_only_with_shadow_hosts(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h1s", arp_request("h1", IP["h2"]))
    assert list(got) == [PORT["h1s"]]
    assert send(fabric, "h1s", arp_request("h1", IP["h3"])) == {}


def test_mirror_both_directions_locally(lab) -> None:
    _, fabric = lab
    out = send(fabric, "h1", udp("h1", "h2"))
    assert len(out[PORT["h1s"]]) == 1  # h1-both, direction out
    back = send(fabric, "h2", udp("h2", "h1"))
    assert len(back[PORT["h1s"]]) == 1  # h1-both, direction in
    assert back[PORT["h1s"]][0]["vlan_vid"] == 0


def test_mirror_in_only_copies_traffic_towards_the_source(lab) -> None:
    _, fabric = lab
    assert len(send(fabric, "h1", udp("h1", "h2"))[PORT["h2s"]]) == 1  # h2-in
    assert PORT["h2s"] not in send(fabric, "h2", udp("h2", "h1"))


def test_mirror_across_the_fabric_with_filter(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h3", udp("h3", "h1"))  # h3-udp-out: to h2s on the other switch
    [copy_] = got[PORT["h2s"]]
    assert copy_["vlan_vid"] == 0 and copy_["udp_dst"] == 5201
    assert PORT["h2s"] not in send(fabric, "h3", tcp("h3", "h1"))


def test_mirror_copies_do_not_change_the_original(lab) -> None:
    _, fabric = lab
    got = send(fabric, "h3", udp("h3", "h2"))
    assert len(got[PORT["h2"]]) == 1 and got[PORT["h2"]][0]["vlan_vid"] == 0


def _with_session(**session) -> dict:
    data = lab_data()
    data["networks"]["tenant-a"]["shadow"]["mirror"] = [
        {"name": "test", "hosts": ["h1"], "to": ["h2s"], **session}]
    return data


def test_truncation_applies_to_copies_only() -> None:
    _, fabric = build(_with_session(direction="out", truncate=64))
    got = send(fabric, "h1", udp("h1", "h2", length=1400))
    assert got[PORT["h2s"]][0]["length"] == 64
    assert got[PORT["h2"]][0]["length"] == 1400


def test_filter_on_ports_and_addresses() -> None:
    _, fabric = build(_with_session(direction="out", match={
        "proto": "udp", "dst": "10.0.0.2", "dst_port": 5201}))
    assert PORT["h2s"] in send(fabric, "h1", udp("h1", "h2", dport=5201))
    assert PORT["h2s"] not in send(fabric, "h1", udp("h1", "h2", dport=5202))
    assert PORT["h2s"] not in send(fabric, "h1", udp("h1", "h3", dport=5201))
    assert PORT["h2s"] not in send(fabric, "h1", tcp("h1", "h2", dport=5201))


def test_sampling_is_per_tcp_connection_at_the_configured_fraction() -> None:
    _, fabric = build(_with_session(direction="both", sample=0.25))
    flows = 4000
    copied = sum(PORT["h2s"] in send(fabric, "h1", tcp("h1", "h2", sport=10000 + i))
                 for i in range(flows))
    assert abs(copied / flows - 0.25) < 0.02
    again = [PORT["h2s"] in send(fabric, "h1", tcp("h1", "h2", sport=12345)) for _ in range(5)]
    assert len(set(again)) == 1, "every packet of one connection gets the same decision"


def test_udp_sampling_unit_is_the_host_pair() -> None:
    _, fabric = build(_with_session(direction="out", sample=0.5))
    decisions = {PORT["h2s"] in send(fabric, "h1", udp("h1", "h2", sport=10000 + i))
                 for i in range(50)}
    assert len(decisions) == 1


@pytest.mark.parametrize("sample,expected", [
    (1.0, Fraction(1)), (0.5, Fraction(1, 2)), (0.25, Fraction(1, 4)),
    (0.125, Fraction(1, 8)), (0.1, Fraction(26, 256)), (0.3, Fraction(77, 256)),
    (1 / 256, Fraction(1, 256)), (0.001, Fraction(1, 256)),
])
def test_sample_is_quantised_to_power_of_two_buckets(sample, expected) -> None:
    assert sample_fraction(sample) == expected
    assert expected.denominator & (expected.denominator - 1) == 0


def test_multiple_destinations_get_one_copy_each() -> None:
    _, fabric = build(_with_session(direction="out", to=["h1s", "h2s"]))
    got = send(fabric, "h1", udp("h1", "h2"))
    assert len(got[PORT["h1s"]]) == 1 and len(got[PORT["h2s"]]) == 1


def test_reconnect_and_restart_change_nothing(lab) -> None:
    core, fabric = lab
    for dpid, switch in fabric.switches.items():
        before = dict(switch.flows)
        msgs = core.reconcile(1.0, dpid, switch.installed_flows(), list(switch.groups),
                              switch.installed_meters())
        assert msgs == [Barrier()]
        restarted = ShadowCore(core.config)
        assert restarted.reconcile(2.0, dpid, switch.installed_flows(),
                                   list(switch.groups),
                                   switch.installed_meters()) == [Barrier()]
        assert switch.flows == before


def test_reconcile_removes_stale_state_and_reaches_the_desired_table() -> None:
    old_core, fabric = build(lab_data())
    data = lab_data()
    del data["networks"]["tenant-a"]["shadow"]["mirror"][0]
    data["networks"]["tenant-b"]["hosts"]["b2"]["port"] = 5
    new_core = ShadowCore(parse_config(data))
    for dpid, switch in fabric.switches.items():
        msgs = new_core.reconcile(0.0, dpid, switch.installed_flows(), list(switch.groups),
                                  switch.installed_meters())
        switch.apply(msgs)
        plan = new_core.plan(dpid)
        assert switch.flows == plan.flows
        assert switch.groups == plan.groups
        assert {m.meter_id: m for m in switch.installed_meters()} == plan.meters
    fresh = FakeFabric(new_core.config)
    for dpid, switch in fresh.switches.items():
        switch.apply(new_core.reconcile(0.0, dpid, [], []))
        assert switch.flows == fabric.switches[dpid].flows


def test_compiled_tables_do_not_depend_on_yaml_order() -> None:
    data = lab_data()
    reordered = copy.deepcopy(data)
    reordered["networks"] = dict(reversed(list(data["networks"].items())))
    a = ShadowCore(parse_config(data))
    b = ShadowCore(parse_config(reordered))
    for dpid in a.plans:
        assert a.plan(dpid).flows == b.plan(dpid).flows
