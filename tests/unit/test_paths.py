"""Primary and shadow paths: disjointness, headroom tie-break, fallbacks, symmetry."""

from __future__ import annotations

import pytest

from bench import fabric_gen as gen
from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config, Link, PortRef, Switch
from sdn_shadow.paths import network_paths, path_pair
from sdn_shadow.topology import Fabric


def fabric(*edges: tuple[str, str] | tuple[str, str, float]) -> Fabric:
    """A fabric from (a, b[, capacity]) edges; ports numbered per switch."""
    names = sorted({n for e in edges for n in e[:2]})
    next_port = dict.fromkeys(names, 10)
    links = []
    for edge in edges:
        a, b = edge[0], edge[1]
        links.append(Link(PortRef(a, next_port[a]), PortRef(b, next_port[b]),
                          edge[2] if len(edge) > 2 else None))
        next_port[a] += 1
        next_port[b] += 1
    switches = tuple(Switch(n, i + 1) for i, n in enumerate(names))
    return Fabric(Config(switches, tuple(links), ()))


RING = fabric(("s1", "s2"), ("s2", "s3"), ("s3", "s4"), ("s4", "s1"))


def test_ring_neighbours_get_the_long_way_round_as_shadow() -> None:
    pair = path_pair(RING, "s1", "s2")
    assert pair.primary == ("s1", "s2")
    assert pair.shadow == ("s1", "s4", "s3", "s2")
    assert pair.disjoint == "nodes"


def test_ring_opposite_corners_use_both_halves() -> None:
    pair = path_pair(RING, "s1", "s3")
    assert {pair.primary, pair.shadow} == {("s1", "s2", "s3"), ("s1", "s4", "s3")}
    assert pair.disjoint == "nodes"


def test_single_link_has_no_shadow() -> None:
    pair = path_pair(fabric(("s1", "s2")), "s1", "s2")
    assert pair.primary == pair.shadow == ("s1", "s2") and pair.disjoint == "none"


def test_cut_switch_falls_back_to_link_disjoint() -> None:
    bowtie = fabric(("s1", "s2"), ("s2", "s3"), ("s1", "s4"), ("s4", "s2"), ("s2", "s5"),
                    ("s5", "s3"))
    pair = path_pair(bowtie, "s1", "s3")
    assert pair.primary == ("s1", "s2", "s3")
    assert pair.shadow == ("s1", "s4", "s2", "s5", "s3") and pair.disjoint == "links"


def test_bridge_link_falls_back_to_fewest_shared_links() -> None:
    chain = fabric(("s1", "s2"), ("s2", "s3"), ("s1", "s4"), ("s4", "s2"))
    pair = path_pair(chain, "s1", "s3")
    assert pair.primary == ("s1", "s2", "s3")
    assert pair.shadow == ("s1", "s4", "s2", "s3") and pair.disjoint == "partial"


def test_headroom_breaks_ties_between_equal_length_paths() -> None:
    square = fabric(("s1", "s2", 100), ("s2", "s4", 100), ("s1", "s3", 1000), ("s3", "s4", 400))
    pair = path_pair(square, "s1", "s4")
    assert pair.primary == ("s1", "s3", "s4")  # bottleneck 400 beats 100
    assert pair.shadow == ("s1", "s2", "s4")


def test_same_switch_and_symmetry() -> None:
    paths = network_paths(RING, ["s1", "s2", "s3"])
    assert paths[("s1", "s1")].primary == ("s1",)
    for (a, b), pair in paths.items():
        back = paths[(b, a)]
        assert pair.primary == back.primary[::-1] and pair.shadow == back.shadow[::-1]
        assert pair.primary[0] == a and pair.primary[-1] == b


def test_unreachable_pair_is_an_error() -> None:
    split = fabric(("s1", "s2"), ("s3", "s4"))
    with pytest.raises(ValueError, match="no fabric path from s1 to s3"):
        path_pair(split, "s1", "s3")


def leaf_spine(leaves: int, spines: int) -> Fabric:
    return fabric(*((f"l{i}", f"s{j}") for i in range(leaves) for j in range(spines)))


def test_a_salt_picks_among_equal_shadows_the_same_way_for_every_pair() -> None:
    ls = leaf_spine(4, 4)
    spines = set()
    for salt in range(8):
        pairs = network_paths(ls, ["l0", "l1", "l2", "l3"], salt)
        shadows = {p.shadow[1] for (a, b), p in pairs.items() if a != b}
        primaries = {p.primary[1] for (a, b), p in pairs.items() if a != b}
        assert len(shadows) == 1 and primaries == {"s0"}  # one network, one way through
        assert shadows != primaries
        spines |= shadows
    assert spines == {"s1", "s2", "s3"}  # networks spread over the equal-cost spines


def test_salted_pairs_stay_symmetric_and_salt_zero_is_name_order() -> None:
    ls = leaf_spine(3, 3)
    for salt in (0, 1, 2, 12345):
        pairs = network_paths(ls, ["l0", "l1", "l2"], salt)
        for (a, b), pair in pairs.items():
            back = pairs[(b, a)]
            assert pair.primary == back.primary[::-1] and pair.shadow == back.shadow[::-1]
    assert path_pair(ls, "l0", "l1").shadow == ("l0", "s1", "l1")


@pytest.mark.parametrize("topology", [gen.ring(4), gen.ring(7), gen.ring(20),
                                      gen.leaf_spine(6, 3), gen.fat_tree(4)],
                         ids=lambda t: t.name)
def test_forwarding_routes_are_the_primaries_both_ways_and_hop_by_hop(topology) -> None:
    fab = Fabric(parse_config(gen.fabric_config(topology, 40, 40)))
    names = sorted(fab.graph)
    for a in names:
        for b in (b for b in names if b != a):
            route = tuple(fab.path(a, b) or ())
            assert route == path_pair(fab, a, b).primary, (a, b)  # a failover group at a
            assert route == tuple(fab.path(b, a) or ())[::-1], (a, b)  # the same links back
            for i in range(1, len(route) - 1):  # each hop forwards by its own route
                assert tuple(fab.path(route[i], b) or ()) == route[i:], (a, b, route[i])


def test_the_ring_route_from_s4_to_s2_is_its_primary_not_its_shadow() -> None:
    pair = path_pair(RING, "s4", "s2")
    assert (pair.primary, pair.shadow) == (("s4", "s1", "s2"), ("s4", "s3", "s2"))
    assert RING.path("s4", "s2") == ["s4", "s1", "s2"]
    assert RING.path("s2", "s4") == ["s2", "s1", "s4"]
