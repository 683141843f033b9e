"""Each example config describes exactly its Mininet topology (ports, MACs, IPs, dpids)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdn_shadow.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _topologies():
    from topologies.lab import LabTopo
    from topologies.ring import RingTopo

    return {"lab.yaml": LabTopo, "ring.yaml": RingTopo}


@pytest.mark.parametrize("name", ["lab.yaml", "ring.yaml"])
def test_example_matches_topology(name: str) -> None:
    topo = _topologies()[name]
    config = load_config(EXAMPLES / name)
    assert {(s.name, s.dpid) for s in config.switches} == {
        (n, int(d, 16)) for n, d in topo.switch_specs()}
    links = {frozenset([(k.a.switch, k.a.port), (k.b.switch, k.b.port)]) for k in config.links}
    assert links == {frozenset([(a, pa), (b, pb)]) for a, pa, b, pb in topo.fabric_links()}
    attachments = {(h.name, h.switch, h.port, h.mac, str(h.ip))
                   for n in config.networks for h in n.hosts}
    attachments |= {(h.name, h.switch, h.port, h.mac, str(h.ip))
                    for n in config.networks if n.shadow for h in n.shadow.hosts}
    assert attachments == {(h, s, p, m, ip.split("/")[0])
                           for h, s, p, m, ip in topo.host_ports()}
