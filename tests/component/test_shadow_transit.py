"""Shadow paths forward by destination at transit switches; primary routes only where they go.

On generated leaf-spine, ring and fat-tree fabrics, with every client moved
onto its shadow paths, every host still reaches each host of its network
once, over its pair's shadow path, and no other host. A transit switch
holds one entry per destination host (not one per port it is entered by)
wherever the paths through it part ways nowhere, and nothing a host port
sends reaches those entries.
"""

from __future__ import annotations

import pytest

from bench import fabric_gen
from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.compiler import compile_config, shadow_paths
from sdn_shadow.openflow.messages import ETH_TYPE_IP
from sdn_shadow.openflow.pipeline import INGRESS_SHADOW_PATH, Table
from sdn_shadow.openflow.plan import vid
from sdn_shadow.topology import Fabric
from tests.fakes.flowtable import FakeFabric

TOPOLOGIES = {"leaf-spine": fabric_gen.leaf_spine(4, 3), "ring": fabric_gen.ring(5),
              "fat-tree": fabric_gen.fat_tree(4)}


def udp(src: object, dst_mac: str, dst_ip: object, **extra: object) -> dict:
    return {"eth_src": src.mac, "eth_dst": dst_mac, "eth_type": ETH_TYPE_IP,  # type: ignore[attr-defined]
            "ip_proto": 17, "ipv4_src": str(src.ip), "ipv4_dst": str(dst_ip),  # type: ignore[attr-defined]
            "udp_src": 1000, "udp_dst": 7000, "length": 200, **extra}


def all_moved(config: Config) -> FakeFabric:
    """A fake fabric holding the plan with every client on its shadow paths."""
    core, fabric = ShadowCore(config), FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    for network in config.networks:
        for host in network.hosts:
            updates = core.set_client_path(1.0, network.name, host.name, "shadow", "test")
            for dpid, msgs in updates.items():
                fabric.switches[dpid].apply(msgs)
    return fabric


def config_of(name: str) -> Config:
    return parse_config(fabric_gen.fabric(TOPOLOGIES[name], 24, 8).document)


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_host_reaches_each_host_of_its_network_over_its_shadow_path(name: str) -> None:
    config = config_of(name)
    fabric, paths = all_moved(config), shadow_paths(config, Fabric(config))
    everyone = [(n.name, h) for n in config.networks for h in n.hosts]
    host_ports = {(h.switch, h.port) for _, h in everyone}
    for net, src in everyone:
        for other_net, dst in everyone:
            if dst is src:
                continue
            got = fabric.send(src.switch, src.port, udp(src, dst.mac, dst.ip))
            at_dst = [d for d in got if (d.switch, d.port) == (dst.switch, dst.port)]
            assert len(at_dst) == (1 if other_net == net else 0), (name, src.name, dst.name)
            assert not [d for d in got if (d.switch, d.port) in host_ports - {
                (dst.switch, dst.port)}]
            if at_dst:
                assert at_dst[0].packet["vlan_vid"] == 0
                expected = paths[net][(src.switch, dst.switch)].shadow
                assert at_dst[0].packet["trail"] == expected, (name, src.name, dst.name)


def test_leaf_spine_transit_holds_one_entry_per_destination_host() -> None:
    config = config_of("leaf-spine")
    plans = {p.name: p for p in compile_config(config).values()}
    paths = shadow_paths(config, Fabric(config))
    held = 0
    for spine in ("spine1", "spine2", "spine3"):
        plan = plans[spine]
        by_port = [f for f in plan.flows.values() if f.table_id == Table.INGRESS
                   and f.priority == INGRESS_SHADOW_PATH.priority()]
        transit = [f for f in plan.flows.values() if f.table_id == Table.TRANSIT
                   and f.priority > 0]
        assert not by_port
        assert all({k for k, _ in f.match} == {"eth_dst", "vlan_vid"} for f in transit)
        crossing = {(n.name, h.mac) for n in config.networks for h in n.hosts
                    if any(spine in pair.shadow and pair.shadow[-1] == h.switch
                           for pair in paths[n.name].values())}
        assert len(transit) == len(crossing)
        held += len(transit)
    assert held  # the primary routes cross spine1: shadow paths cross the others


def test_ring_keeps_entries_by_port_where_the_two_directions_part() -> None:
    config = config_of("ring")
    plans = compile_config(config).values()
    onward = [f for p in plans for f in p.flows.values() if f.table_id == Table.INGRESS
              and f.priority == INGRESS_SHADOW_PATH.priority()
              and "in_port" in dict(f.match) and f.instructions[0].actions[0].__class__.__name__
              == "Output"]
    assert onward  # both directions around the ring cross some switch to one destination


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_a_frame_tagged_at_a_host_port_reaches_no_host(name: str) -> None:
    config = config_of(name)
    fabric = all_moved(config)
    hosts = {(h.switch, h.port) for n in config.networks for h in n.hosts}
    for network in config.networks:
        assert network.shadow is not None
        senders = [*network.hosts, *network.shadow.hosts]
        for src in senders:
            for dst in network.hosts:
                if dst.switch == src.switch:
                    continue
                for tag in (network.shadow.vlan, network.vlan):
                    got = fabric.send(src.switch, src.port,
                                      udp(src, dst.mac, dst.ip, vlan_vid=vid(tag)))
                    assert not [d for d in got if (d.switch, d.port) in hosts], (
                        name, src.name, dst.name, tag)
