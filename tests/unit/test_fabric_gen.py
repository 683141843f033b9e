"""The benchmarks' fabric generator: configs that parse, with the counts asked for, per seed."""

from __future__ import annotations

import copy

import pytest

from bench import fabric_gen as gen
from sdn_shadow.config import parse_config
from sdn_shadow.topology import Fabric


def counts(document: dict) -> dict[str, int]:
    config = parse_config(document)
    return {
        "switches": len(config.switches),
        "links": len(config.links),
        "networks": len(config.networks),
        "hosts": sum(len(n.hosts) for n in config.networks),
        "twins": sum(len(n.shadow.hosts) for n in config.networks if n.shadow),
        "sessions": sum(len(n.shadow.mirror) for n in config.networks if n.shadow),
    }


@pytest.mark.parametrize(("topology", "switches", "links", "edge"), [
    (gen.ring(20), 20, 20, 20),
    (gen.fat_tree(4), 20, 32, 8),
    (gen.fat_tree(6), 45, 108, 18),
    (gen.fat_tree(8), 80, 256, 32),
    (gen.leaf_spine(40, 10), 50, 400, 40),
])
def test_a_generated_config_parses_with_the_requested_counts(
        topology: gen.Topology, switches: int, links: int, edge: int) -> None:
    assert len(topology.edge) == edge
    found = counts(gen.fabric_config(topology, 400, 40))
    assert found == {"switches": switches, "links": links, "networks": 10, "hosts": 400,
                     "twins": 20, "sessions": 20}


def test_the_fabric_is_connected_and_hosts_sit_on_edge_switches() -> None:
    topology = gen.fat_tree(4)
    config = parse_config(gen.fabric_config(topology, 120, 40))
    assert len(Fabric(config).graph.edges) == 32
    placed = {h.switch for n in config.networks for h in n.hosts}
    assert placed <= set(topology.edge)
    assert len(placed) == len(topology.edge)  # 40 hosts per network cover all 8 edge switches


def test_a_network_spreads_over_span_switches() -> None:
    config = parse_config(gen.fabric_config(gen.ring(20), 200, 40, span=4))
    for network in config.networks:
        assert len({h.switch for h in network.hosts}) == 4


def test_a_remainder_makes_its_own_network_or_joins_the_last() -> None:
    assert counts(gen.fabric_config(gen.ring(4), 45, 40))["networks"] == 2
    one = parse_config(gen.fabric_config(gen.ring(4), 41, 40))
    assert [len(n.hosts) for n in one.networks] == [41]


def test_the_same_seed_gives_the_same_config_and_another_seed_another() -> None:
    a = gen.fabric_config(gen.leaf_spine(8, 2), 200, 40, seed=1)
    assert gen.fabric_config(gen.leaf_spine(8, 2), 200, 40, seed=1) == a
    assert gen.fabric_config(gen.leaf_spine(8, 2), 200, 40, seed=2) != a


def test_an_added_network_fits_beside_the_others() -> None:
    fabric = gen.fabric(gen.ring(20), 200, 40)
    before = copy.deepcopy(fabric.document)
    name, spec = fabric.add_network()
    assert fabric.document == before  # the spec is returned, not added
    document = copy.deepcopy(before)
    document["networks"][name] = spec
    assert counts(document)["networks"] == 6
    assert counts(document)["hosts"] == 240
    # adding a network moves no other one: its placement is seeded per network
    assert gen.fabric(gen.ring(20), 240, 40).document["networks"][name] == spec


def test_sizes_too_small_or_shapes_that_do_not_exist_are_refused() -> None:
    with pytest.raises(ValueError):
        gen.fat_tree(5)
    with pytest.raises(ValueError):
        gen.ring(2)
    with pytest.raises(ValueError):
        gen.leaf_spine(1, 1)
    with pytest.raises(ValueError):
        gen.fabric(gen.ring(4), 40, 2)
