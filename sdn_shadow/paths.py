"""Primary and shadow paths between the switches a network's hosts attach to (pure).

For every unordered pair of attachment switches:

- the primary path is a shortest path (hops), ties broken by headroom, i.e.
  the larger bottleneck capacity (unknown capacities count as unlimited),
  then by name;
- the shadow path is the shortest path that shares no switch with the
  primary path other than its two ends (survives a link *or* a transit
  switch failing); if there is none, the shortest sharing no link; if there
  is none either, the path sharing the fewest links with the primary (then
  the shortest, then the most headroom) -- `disjoint` says which one it is;
  ties between equally good shadow candidates go by the network's salt
  (`network_salt`), so that the shadow paths of many networks spread over
  the fabric's equal-cost paths, while one network's pairs go the same way;
- a pair on one switch has the one-switch path for both.

Paths for b -> a are the reverses of a -> b, so both directions of a flow
take the same links.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from sdn_shadow.topology import MAX_CANDIDATES, Fabric


@dataclass(frozen=True, slots=True)
class PathPair:
    """A primary path and its shadow, as switch lists from `src` to `dst`."""

    primary: tuple[str, ...]
    shadow: tuple[str, ...]
    disjoint: str
    """"nodes", "links", "partial" (shares some links) or "none" (same path)."""

    def reversed(self) -> PathPair:
        """The same pair seen from the other end."""
        return PathPair(self.primary[::-1], self.shadow[::-1], self.disjoint)


def _links(path: Iterable[str]) -> set[frozenset[str]]:
    nodes = list(path)
    return {frozenset(pair) for pair in zip(nodes, nodes[1:], strict=False)}


def headroom(fabric: Fabric, path: tuple[str, ...]) -> float:
    """The path's bottleneck capacity in Mbit/s (inf when no link states one)."""
    return fabric.headroom(path)


def network_salt(name: str) -> int:
    """Network `name`'s tie-break among equal-cost shadow paths: stable, spread over
    networks."""
    digest = hashlib.blake2b(f"route:{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def path_pair(fabric: Fabric, src: str, dst: str, salt: int = 0) -> PathPair:
    """The primary path from `src` to `dst` and its shadow (`salt`: the network's). Each
    pair's candidates are found once per fabric; the salt picks among them."""
    found = fabric.cache.get(("shadow_candidates", src, dst))
    if found is None:
        found = fabric.cache[("shadow_candidates", src, dst)] = _candidates(fabric, src, dst)
    assert isinstance(found, tuple)
    return found[salt % len(found)]  # type: ignore[no-any-return]


def _candidates(fabric: Fabric, src: str, dst: str) -> tuple[PathPair, ...]:
    """The pairs a salt picks from: the primary path with each equally good shadow."""
    if src == dst:
        return (PathPair((src,), (src,), "nodes"),)
    primary = fabric.best(src, dst)
    if primary is None:
        raise ValueError(f"no fabric path from {src} to {dst}")
    used = frozenset(_links(primary))
    direct = used if len(primary) == 2 else frozenset()
    shadows = fabric.candidates(src, dst, frozenset(primary[1:-1]), direct)
    if shadows:
        return tuple(PathPair(primary, shadow, "nodes") for shadow in shadows)
    shadows = fabric.candidates(src, dst, avoid_links=used)
    if shadows:
        return tuple(PathPair(primary, shadow, "links") for shadow in shadows)
    a, b = sorted((src, dst))  # the same fallback both ways
    others = [tuple(p) for p in itertools.islice(
        nx.shortest_simple_paths(fabric.graph, a, b), MAX_CANDIDATES)
        if tuple(p) not in (primary, primary[::-1])]
    if not others:
        return (PathPair(primary, primary, "none"),)
    shadow = min(others, key=lambda p: (len(_links(p) & used), len(p), -headroom(fabric, p), p))
    return (PathPair(primary, shadow if shadow[0] == src else shadow[::-1], "partial"),)


def network_paths(fabric: Fabric, switches: Iterable[str], salt: int = 0
                  ) -> dict[tuple[str, str], PathPair]:
    """Path pairs for every ordered pair of the given attachment switches (`salt`: the
    network's, see `network_salt`)."""
    names = sorted(set(switches))
    return {(a, b): path_pair(fabric, a, b, salt) for a in names for b in names}
