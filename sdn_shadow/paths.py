"""Primary and shadow paths between the switches a network's hosts attach to (pure).

For every unordered pair of attachment switches:

- the primary path is a shortest path (hops), ties broken by headroom, i.e.
  the larger bottleneck capacity (unknown capacities count as unlimited);
- the shadow path is the shortest path that shares no switch with the
  primary path other than its two ends (survives a link *or* a transit
  switch failing); if there is none, the shortest sharing no link; if there
  is none either, the path sharing the fewest links with the primary (then
  the shortest, then the most headroom) -- `disjoint` says which one it is;
- a pair on one switch has the one-switch path for both.

Paths for b -> a are the reverses of a -> b, so both directions of a flow
take the same links.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from sdn_shadow.topology import Fabric

MAX_CANDIDATES = 64  # simple paths examined per pair for the fallback


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
    caps = [fabric.graph.edges[a, b].get("capacity_mbps") or math.inf
            for a, b in zip(path, path[1:], strict=False)]
    return min(caps, default=math.inf)


def _best(fabric: Fabric, graph: nx.Graph, src: str, dst: str) -> tuple[str, ...] | None:
    """Shortest path in `graph`, ties broken by headroom (then by name, for determinism)."""
    try:
        candidates = nx.all_shortest_paths(graph, src, dst)
        paths = [tuple(p) for p in itertools.islice(candidates, MAX_CANDIDATES)]
    except nx.NetworkXNoPath:
        return None
    return min(paths, key=lambda p: (-headroom(fabric, p), p))


def path_pair(fabric: Fabric, src: str, dst: str) -> PathPair:
    """The primary path from `src` to `dst` and its shadow."""
    if src == dst:
        return PathPair((src,), (src,), "nodes")
    primary = _best(fabric, fabric.graph, src, dst)
    if primary is None:
        raise ValueError(f"no fabric path from {src} to {dst}")
    no_transit = fabric.graph.copy()
    no_transit.remove_nodes_from(primary[1:-1])
    if len(primary) == 2:
        no_transit.remove_edge(src, dst)
    shadow = _best(fabric, no_transit, src, dst)
    if shadow is not None:
        return PathPair(primary, shadow, "nodes")
    no_links = fabric.graph.copy()
    no_links.remove_edges_from(zip(primary, primary[1:], strict=False))
    shadow = _best(fabric, no_links, src, dst)
    if shadow is not None:
        return PathPair(primary, shadow, "links")
    used = _links(primary)
    others = [tuple(p) for p in itertools.islice(
        nx.shortest_simple_paths(fabric.graph, src, dst), MAX_CANDIDATES) if tuple(p) != primary]
    if not others:
        return PathPair(primary, primary, "none")
    shadow = min(others, key=lambda p: (len(_links(p) & used), len(p), -headroom(fabric, p), p))
    return PathPair(primary, shadow, "partial")


def network_paths(fabric: Fabric, switches: Iterable[str]) -> dict[tuple[str, str], PathPair]:
    """Path pairs for every ordered pair of the given attachment switches."""
    names = sorted(set(switches))
    pairs: dict[tuple[str, str], PathPair] = {}
    for a, b in itertools.combinations_with_replacement(names, 2):
        pair = path_pair(fabric, a, b)
        pairs[(a, b)] = pair
        pairs[(b, a)] = pair.reversed()
    return pairs
