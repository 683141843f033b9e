"""The fabric as a networkx graph: switches, links with ports and capacities; paths (pure)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import networkx as nx

from sdn_shadow.config.model import Config

MAX_CANDIDATES = 64  # equal-length paths examined per pair
Path = tuple[str, ...]


class Fabric:
    """Switch graph of a config; edges carry each end's port number and the capacity.

    Paths are found once per fabric and remembered (a fabric never changes
    once built). `candidates` are the equally good paths between two
    switches (shortest, most headroom); `best` picks one by a salt, so that
    shadow paths of different networks spread over equal-cost paths instead
    of all crossing the switch whose name sorts first (see `paths`).
    """

    def __init__(self, config: Config) -> None:
        self.graph = nx.Graph()
        for switch in config.switches:
            self.graph.add_node(switch.name, dpid=switch.dpid)
        for link in config.links:
            self.graph.add_edge(
                link.a.switch,
                link.b.switch,
                ports={link.a.switch: link.a.port, link.b.switch: link.b.port},
                capacity_mbps=link.capacity_mbps,
            )
        self._adjacency: dict[str, tuple[str, ...]] = {
            n: tuple(sorted(self.graph[n])) for n in self.graph}
        self._ports: dict[tuple[str, str], int] = {}
        self._capacity: dict[frozenset[str], float] = {}
        for a, b, data in self.graph.edges(data=True):
            self._ports[(a, b)] = data["ports"][a]
            self._ports[(b, a)] = data["ports"][b]
            self._capacity[frozenset((a, b))] = data.get("capacity_mbps") or math.inf
        self._fabric_ports = {n: sorted(self._ports[(n, m)] for m in self._adjacency[n])
                              for n in self._adjacency}
        self._candidates: dict[tuple[str, str, frozenset[str], frozenset[frozenset[str]]],
                               tuple[Path, ...]] = {}
        self._routes: dict[tuple[str, str], list[str]] = {}
        self.cache: dict[object, object] = {}
        """Memo of values derived from the fabric alone (e.g. `paths.path_pair`)."""

    def port_towards(self, switch: str, neighbour: str) -> int:
        """The port of `switch` on its link to `neighbour`."""
        return self._ports[(switch, neighbour)]

    def fabric_ports(self, switch: str) -> list[int]:
        """Ports of `switch` that belong to fabric links, sorted."""
        return list(self._fabric_ports[switch])

    def headroom(self, path: Path) -> float:
        """The path's bottleneck capacity in Mbit/s (inf when no link states one)."""
        return min((self._capacity[frozenset(hop)] for hop in zip(path, path[1:],
                                                                     strict=False)),
                   default=math.inf)

    def candidates(self, src: str, dst: str, avoid_nodes: frozenset[str] = frozenset(),
                   avoid_links: frozenset[frozenset[str]] = frozenset()) -> tuple[Path, ...]:
        """The equally good paths from `src` to `dst` avoiding the given switches and links:
        the shortest with the most headroom, in name order (remembered; empty: no path)."""
        key = (src, dst, avoid_nodes, avoid_links)
        found = self._candidates.get(key)
        if found is None:
            if dst < src:
                found = tuple(p[::-1] for p in self.candidates(dst, src, avoid_nodes,
                                                                 avoid_links))
            else:
                paths = list(itertools.islice(self._shortest(src, dst, set(avoid_nodes),
                                                             set(avoid_links)),
                                              MAX_CANDIDATES))
                most = max((self.headroom(p) for p in paths), default=math.inf)
                found = tuple(sorted(p for p in paths if self.headroom(p) == most))
            self._candidates[key] = found
        return found

    def best(self, src: str, dst: str, avoid_nodes: frozenset[str] = frozenset(),
             avoid_links: frozenset[frozenset[str]] = frozenset(), salt: int = 0
             ) -> Path | None:
        """One of `candidates`, picked by `salt` (the same pick for both directions and, on
        a regular fabric, the same way through it for every pair; None: no path)."""
        if src == dst:
            return (src,)
        flip = dst < src
        found = self.candidates(*((dst, src) if flip else (src, dst)), avoid_nodes,
                                avoid_links)
        if not found:
            return None
        chosen = found[salt % len(found)]
        return chosen[::-1] if flip else chosen

    def _shortest(self, src: str, dst: str, avoid_nodes: set[str],
                  avoid_links: set[frozenset[str]]) -> Iterator[Path]:
        """Every shortest path from `src` to `dst` in the allowed graph (by name order)."""
        dist = {dst: 0}
        frontier = [dst]
        while frontier and src not in dist:
            nxt = []
            for node in frontier:
                for other in self._adjacency[node]:
                    if other in dist or other in avoid_nodes and other != src:
                        continue
                    if avoid_links and frozenset((node, other)) in avoid_links:
                        continue
                    dist[other] = dist[node] + 1
                    nxt.append(other)
            frontier = nxt
        if src not in dist:
            return

        def walk(path: list[str]) -> Iterator[Path]:
            node = path[-1]
            if node == dst:
                yield tuple(path)
                return
            for other in self._adjacency[node]:
                if dist.get(other) == dist[node] - 1 and not (
                        avoid_links and frozenset((node, other)) in avoid_links):
                    yield from walk([*path, other])

        yield from walk([src])

    def path(self, src: str, dst: str) -> list[str] | None:
        """Shortest switch path from `src` to `dst` (inclusive), or None if unreachable:
        the route forwarding takes, hop by hop.

        It is `best` without a salt, which is also every pair's primary path
        (`paths.path_pair`): the reverse of the route back, so both directions
        cross the same links, and the failover group at the source has the
        primary and the shadow to choose from. Each hop forwards by its own
        route; every route is a shortest path, so a frame always gets there, and
        on regular fabrics (rings, leaf-spine, fat-trees) a route's tail is the
        next hop's own route (the first path in name order keeps its parts).
        """
        if src not in self._adjacency or dst not in self._adjacency:
            return None
        found = self._routes.get((src, dst))
        if found is None:
            best = self.best(src, dst)
            found = self._routes[(src, dst)] = list(best) if best else []
        return found or None

    def next_hop_port(self, src: str, dst: str) -> int | None:
        """Port on `src` towards `dst` along the shortest path (None if same or unreachable)."""
        path = self.path(src, dst)
        if not path or len(path) < 2:
            return None
        return self._ports[(src, path[1])]

    def hops(self, src: str, dst: str) -> list[tuple[str, int, int]]:
        """For each switch after `src` on the path: (switch, in_port, out_port or 0 at the end)."""
        return path_hops(self, tuple(self.path(src, dst) or ()))


def path_hops(fabric: Fabric, path: Path) -> list[tuple[str, int, int]]:
    """(switch, in_port, out_port or 0 at the end) for each switch of `path` after the first."""
    ports = fabric._ports
    return [(path[i], ports[(path[i], path[i - 1])],
             ports[(path[i], path[i + 1])] if i + 1 < len(path) else 0)
            for i in range(1, len(path))]

