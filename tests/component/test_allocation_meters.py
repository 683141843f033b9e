"""Held capacity on shadow-path links: other networks' traffic is policed by meters."""

from __future__ import annotations

from pathlib import Path

import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.messages import ETH_TYPE_IP, Barrier, MeterModify
from sdn_shadow.policy.allocation import Allocation
from tests.fakes.flowtable import FakeFabric

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


def ring_with_bystanders() -> dict:
    """examples/ring.yaml plus tenant-b (no shadow) on s1 and s3."""
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-b"] = {"cidr": "10.1.0.0/24", "hosts": {
        "b1": {"switch": "s1", "port": 3, "mac": "00:00:00:00:0b:01", "ip": "10.1.0.1"},
        "b3": {"switch": "s3", "port": 3, "mac": "00:00:00:00:0b:03", "ip": "10.1.0.3"}}}
    return data


def build() -> tuple[ShadowCore, FakeFabric]:
    config = parse_config(ring_with_bystanders())
    core, fabric = ShadowCore(config), FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    return core, fabric


def hold(core: ShadowCore, bytes_per_s: float, install: bool = True) -> None:
    core.capacity.allocations["tenant-a"] = Allocation(
        "tenant-a", "conservative", bytes_per_s, bytes_per_s, bytes_per_s, bytes_per_s, 1.0,
        install, True)


def udp(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str) -> dict:
    return {"eth_src": src_mac, "eth_dst": dst_mac, "eth_type": ETH_TYPE_IP, "ip_proto": 17,
            "ipv4_src": src_ip, "ipv4_dst": dst_ip, "udp_src": 1, "udp_dst": 2, "length": 100}


def test_other_networks_traffic_is_policed_on_shadow_links() -> None:
    core, fabric = build()
    [out] = [d for d in fabric.send("s1", 3, udp("00:00:00:00:0b:01", "00:00:00:00:0b:03",
                                                 "10.1.0.1", "10.1.0.3")) if d.port == 3]
    assert out.switch == "s3" and len(out.packet["meters"]) >= 1


def test_a_network_never_competes_with_its_own_hold() -> None:
    _, fabric = build()
    deliveries = fabric.send("s1", 1, udp("00:00:00:00:0a:01", "00:00:00:00:0a:03",
                                          "10.0.0.1", "10.0.0.3"))
    [primary] = [d for d in deliveries if (d.switch, d.port) == ("s3", 1)]
    assert "meters" not in primary.packet


def test_meter_rate_is_capacity_minus_what_others_hold() -> None:
    core, _ = build()
    plan = core.plan(1)
    assert {m.bands[0].rate for m in plan.meters.values()} == {100_000}  # nothing held yet
    hold(core, 5e6)  # 40 Mbit/s
    updates = core.allocation_messages(1.0)
    assert updates and all(isinstance(m, MeterModify) for msgs in updates.values()
                           for m in msgs)
    assert {m.bands[0].rate for m in core.plan(1).meters.values()} == {60_000}
    assert core.allocation_messages(2.0) == {}  # unchanged: nothing to send


def test_resizing_changes_meters_only_never_flows() -> None:
    core, fabric = build()
    flows_before = {dpid: dict(sw.flows) for dpid, sw in fabric.switches.items()}
    for held in (2e6, 9e6, 1e6):
        hold(core, held)
        for dpid, msgs in core.allocation_messages(0.0).items():
            fabric.switches[dpid].apply(msgs)
    for dpid, sw in fabric.switches.items():
        assert sw.flows == flows_before[dpid]
        assert {m.meter_id: m for m in sw.installed_meters()} == core.plan(dpid).meters
        assert core.reconcile(0.0, dpid, sw.installed_flows(), list(sw.groups),
                              sw.installed_meters()) == [Barrier()]


def test_forecast_only_and_floor() -> None:
    core, _ = build()
    hold(core, 5e6, install=False)
    core.allocation_messages(0.0)
    assert {m.bands[0].rate for m in core.plan(1).meters.values()} == {100_000}
    hold(core, 1e9)  # more than the link: best effort keeps 1%
    core.allocation_messages(0.0)
    assert {m.bands[0].rate for m in core.plan(1).meters.values()} == {1_000}


def test_links_without_capacity_or_without_holds_get_no_meters() -> None:
    data = ring_with_bystanders()
    for link in data["fabric"]["links"]:
        del link["capacity"]
    core = ShadowCore(parse_config(data))
    assert all(not plan.meters for plan in core.plans.values())
    lab = yaml.safe_load((RING.parent / "lab.yaml").read_text())
    core = ShadowCore(parse_config(lab))  # one link; tenant-b is policed where tenant-a holds
    assert [spec.network for spec in core.plan(1).best_effort.values()] == ["tenant-b"]


def test_a_restarted_controller_keeps_the_holds_until_it_has_forecast() -> None:
    core, fabric = build()
    hold(core, 5e6)
    for dpid, msgs in core.allocation_messages(0.0).items():
        fabric.switches[dpid].apply(msgs)
    restarted = ShadowCore(core.config)
    for dpid, sw in fabric.switches.items():
        assert restarted.reconcile(0.0, dpid, sw.installed_flows(), list(sw.groups),
                                   sw.installed_meters()) == [Barrier()]
    hold(restarted, 1e6)  # its first allocation round: now it resizes
    updates = restarted.allocation_messages(1.0)
    assert {m.meter.bands[0].rate for msgs in updates.values() for m in msgs} == {92_000}


def test_holds_sit_exactly_on_the_shadow_paths_their_clients_take() -> None:
    from sdn_shadow.paths import network_paths
    from sdn_shadow.topology import Fabric

    data = ring_with_bystanders()
    # tenant-a's hosts only on s1 and s2: their shadow path is s1-s4-s3-s2, whatever
    # switches its twins sit on.
    for name in ("h3", "h4"):
        del data["networks"]["tenant-a"]["hosts"][name]
        del data["networks"]["tenant-a"]["shadow"]["hosts"][f"{name}s"]
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    data["networks"]["tenant-a"]["shadow"]["hosts"]["h2s"].update(switch="s3", port=5)
    config = parse_config(data)
    core = ShadowCore(config)
    pair = network_paths(Fabric(config), {"s1", "s2"})[("s1", "s2")]
    on_path = set(zip(pair.shadow, pair.shadow[1:], strict=False))
    on_path |= {(b, a) for a, b in on_path}
    held_links = {spec.link for plan in core.plans.values()
                  for spec in plan.best_effort.values()}
    assert held_links == on_path


def test_forecast_inputs_pick_demand_series_and_depth() -> None:
    core, _ = build()
    keys, depth = core.forecast_inputs(["port:s1:1:rx", "client:tenant-a:h1:tx",
                                        "network:tenant-a:tx", "link:s1:s2"])
    assert keys == ["client:tenant-a:h1:tx", "network:tenant-a:tx", "link:s1:s2"]
    assert core.capacity.history_needed() <= depth <= core.config.telemetry.window
