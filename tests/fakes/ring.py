"""The ring example on the fake fabric: a reconciled core, UDP between h<i>, delivery trails."""

from __future__ import annotations

from sdn_shadow.config.model import Config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.messages import ETH_TYPE_IP
from tests.fakes.flowtable import FakeFabric


def mac(i: int) -> str:
    """h<i>'s MAC in ring.yaml."""
    return f"00:00:00:00:0a:0{i}"


def udp(a: int, b: int, sport: int = 1000) -> dict:
    """A UDP packet from h<a> to h<b>."""
    return {"eth_src": mac(a), "eth_dst": mac(b), "eth_type": ETH_TYPE_IP, "ip_proto": 17,
            "ipv4_src": f"10.0.0.{a}", "ipv4_dst": f"10.0.0.{b}", "udp_src": sport,
            "udp_dst": 7000, "length": 200}


def reconciled(config: Config) -> tuple[ShadowCore, FakeFabric]:
    """A core and a fake fabric holding exactly its desired state."""
    core, fabric = ShadowCore(config), FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    return core, fabric


def trail(fabric: FakeFabric, a: int, b: int) -> tuple[str, ...]:
    """Send h<a> -> h<b>: the switches its one delivery took (checks exactly one, untagged)."""
    got = [d for d in fabric.send(f"s{a}", 1, udp(a, b)) if (d.switch, d.port) == (f"s{b}", 1)]
    assert len(got) == 1, got
    assert got[0].packet["vlan_vid"] == 0 and got[0].packet["eth_dst"] == mac(b)
    return got[0].packet["trail"]


def apply(fabric: FakeFabric, updates: dict) -> None:
    """Apply the core's messages per switch."""
    for dpid, msgs in updates.items():
        fabric.switches[dpid].apply(msgs)
