"""`paths.taken`: a frame followed through every failover group on its way (pure)."""

from __future__ import annotations

from sdn_shadow.paths import PathPair, current, network_paths, taken
from tests.unit.test_paths import fabric

#  s1 - s2 - s3
#  |    |    |
#  s4 - s5 - s6
GRID = fabric(("s1", "s2"), ("s2", "s3"), ("s1", "s4"), ("s2", "s5"), ("s3", "s6"),
              ("s4", "s5"), ("s5", "s6"))


def down(*links: tuple[str, str]) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(link) for link in links)


def test_nothing_failed_takes_the_route_and_a_moved_client_the_shadow() -> None:
    pairs = network_paths(GRID, ["s1", "s2", "s3"])
    assert GRID.path("s1", "s3") == ["s1", "s2", "s3"]
    assert taken(GRID, pairs, "s1", "s3", frozenset(), False).switches == ("s1", "s2", "s3")
    way = taken(GRID, pairs, "s1", "s3", frozenset(), True)
    assert (way.switches, way.arrives, way.shadow_from) == (
        pairs[("s1", "s3")].shadow, True, "s1")


def test_a_transit_group_turns_what_the_source_could_not_pin() -> None:
    pairs = network_paths(GRID, ["s1", "s2", "s3"])
    assert pairs[("s1", "s3")].shadow == ("s1", "s4", "s5", "s6", "s3")
    assert pairs[("s2", "s3")].shadow == ("s2", "s5", "s6", "s3")
    failed = down(("s2", "s3"), ("s1", "s4"))  # both of s1's ways cross a failed link
    way = taken(GRID, pairs, "s1", "s3", failed, False)
    assert (way.switches, way.arrives, way.shadow_from) == (
        ("s1", "s2", "s5", "s6", "s3"), True, "s2")
    said = current(GRID, pairs, pairs[("s1", "s3")], failed, [])
    assert said["current"] == "detour" and said["taken"] == ["s1", "s2", "s5", "s6", "s3"]
    assert said["failed"] == {"primary": ["s2-s3"], "shadow": ["s1-s4"]}
    assert "s2's failover group" in str(said["reason"])


def test_a_switch_without_hosts_forwards_along_the_route_and_a_dead_end_is_lost() -> None:
    pairs = network_paths(GRID, ["s1", "s3"])  # s2 holds no host: no group there
    way = taken(GRID, pairs, "s1", "s3", down(("s2", "s3"), ("s1", "s4")), False)
    assert (way.switches, way.arrives) == (("s1", "s2"), False)
    said = current(GRID, pairs, pairs[("s1", "s3")], down(("s2", "s3"), ("s1", "s4")), [])
    assert said["current"] == "lost" and str(said["reason"]).startswith("lost at s2")


def test_a_shadow_path_keeps_its_tag_to_the_end_and_is_lost_on_a_failed_link() -> None:
    pairs = network_paths(GRID, ["s1", "s2", "s3"])
    failed = down(("s2", "s3"), ("s5", "s6"))  # both ways cross one: a moved client's pick
    way = taken(GRID, pairs, "s1", "s3", failed, True)
    assert pairs[("s1", "s3")].shadow[2:4] == ("s5", "s6")
    assert (way.switches, way.arrives, way.shadow_from) == (("s1", "s4", "s5"), False, "s1")


def test_no_way_out_but_the_port_it_came_in_by_is_lost() -> None:
    ring = fabric(("s1", "s2"), ("s2", "s3"), ("s3", "s4"), ("s4", "s1"))
    pairs = {("s1", "s3"): PathPair(("s1", "s2", "s3"), ("s1", "s4", "s3"), "nodes"),
             ("s2", "s3"): PathPair(("s2", "s3"), ("s2", "s1", "s4", "s3"), "nodes")}
    failed = down(("s2", "s3"), ("s3", "s4"))
    way = taken(ring, pairs, "s1", "s3", failed, False)
    assert (way.switches, way.arrives) == (("s1", "s2"), False)
    assert taken(ring, pairs, "s1", "s1", failed, False).switches == ("s1",)
