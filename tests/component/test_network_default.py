"""Remote hosts reached one way share an entry per sending port: delivery is unchanged."""

from __future__ import annotations

import pytest

from bench import fabric_gen
from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config
from sdn_shadow.openflow.compiler import compile_config
from sdn_shadow.openflow.messages import ETH_TYPE_IP
from sdn_shadow.openflow.pipeline import FORWARD_DEFAULT, FORWARD_HOSTS, Table
from tests.fakes.flowtable import FakeFabric

TOPOLOGIES = {"leaf-spine": fabric_gen.leaf_spine(4, 2), "ring": fabric_gen.ring(5),
              "fat-tree": fabric_gen.fat_tree(4)}


def udp(src: object, dst_mac: str, dst_ip: object) -> dict:
    return {"eth_src": src.mac, "eth_dst": dst_mac, "eth_type": ETH_TYPE_IP,  # type: ignore[attr-defined]
            "ip_proto": 17, "ipv4_src": str(src.ip), "ipv4_dst": str(dst_ip),  # type: ignore[attr-defined]
            "udp_src": 1000, "udp_dst": 7000, "length": 200}


def installed(config: Config) -> FakeFabric:
    from sdn_shadow.core import ShadowCore

    core, fabric = ShadowCore(config), FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    return fabric


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_host_reaches_each_host_of_its_network_once_and_no_other(name: str) -> None:
    config = parse_config(fabric_gen.fabric(TOPOLOGIES[name], 24, 8).document)
    fabric = installed(config)
    everyone = [(n.name, h) for n in config.networks for h in n.hosts]
    for net, src in everyone:
        for other_net, dst in everyone:
            if dst is src:
                continue
            got = fabric.send(src.switch, src.port, udp(src, dst.mac, dst.ip))
            at_dst = [d for d in got if (d.switch, d.port) == (dst.switch, dst.port)]
            assert len(at_dst) == (1 if other_net == net else 0), (name, src.name, dst.name)
            assert all(d.packet["vlan_vid"] == 0 for d in at_dst)
            host_ports = {(h.switch, h.port) for _, h in everyone}
            assert not [d for d in got if (d.switch, d.port) in host_ports
                        and (d.switch, d.port) != (dst.switch, dst.port)]


def test_a_frame_to_an_unknown_mac_reaches_no_host() -> None:
    config = parse_config(fabric_gen.fabric(TOPOLOGIES["ring"], 24, 8).document)
    fabric = installed(config)
    hosts = {(h.switch, h.port) for n in config.networks for h in n.hosts}
    src = config.networks[0].hosts[0]
    got = fabric.send(src.switch, src.port, udp(src, "02:ff:ff:ff:ff:01", "10.0.9.9"))
    assert not [d for d in got if (d.switch, d.port) in hosts]


def test_leaves_hold_their_own_and_transit_hosts_not_every_remote_one() -> None:
    config = parse_config(fabric_gen.fabric(fabric_gen.leaf_spine(8, 2), 64, 16).document)
    plans = compile_config(config)
    spines = []
    for plan in plans.values():
        per_host = [f for f in plan.flows.values() if f.table_id == Table.FORWARD
                    and f.priority == FORWARD_HOSTS.priority()]
        defaults = [f for f in plan.flows.values() if f.priority == FORWARD_DEFAULT.priority()
                    and f.table_id == Table.FORWARD]
        local = [h for n in config.networks for h in n.hosts if h.switch == plan.name]
        if plan.name.startswith("leaf"):
            assert len(per_host) == len(local) and len(defaults) == len(local)
        else:
            assert not defaults
            spines.append(len(per_host))
    # every route between leaves crosses spine1: it holds every host, spine2 none
    assert spines == [64, 0]
