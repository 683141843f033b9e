"""The fabric as a networkx graph: switches, links with ports and capacities; paths (pure)."""

from __future__ import annotations

from functools import cached_property

import networkx as nx

from sdn_shadow.config.model import Config


class Fabric:
    """Switch graph of a config; edges carry each end's port number and the capacity."""

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

    def port_towards(self, switch: str, neighbour: str) -> int:
        """The port of `switch` on its link to `neighbour`."""
        return self.graph.edges[switch, neighbour]["ports"][switch]

    def fabric_ports(self, switch: str) -> list[int]:
        """Ports of `switch` that belong to fabric links, sorted."""
        return sorted(self.graph.edges[switch, n]["ports"][switch] for n in self.graph[switch])

    @cached_property
    def _paths(self) -> dict[str, dict[str, list[str]]]:
        return dict(nx.all_pairs_shortest_path(self.graph))

    def path(self, src: str, dst: str) -> list[str] | None:
        """Shortest switch path from `src` to `dst` (inclusive), or None if unreachable."""
        return self._paths.get(src, {}).get(dst)

    def next_hop_port(self, src: str, dst: str) -> int | None:
        """Port on `src` towards `dst` along the shortest path (None if same or unreachable)."""
        path = self.path(src, dst)
        if not path or len(path) < 2:
            return None
        return self.port_towards(src, path[1])

    def hops(self, src: str, dst: str) -> list[tuple[str, int, int]]:
        """For each switch after `src` on the path: (switch, in_port, out_port or 0 at the end)."""
        path = self.path(src, dst) or []
        result = []
        for i in range(1, len(path)):
            in_port = self.port_towards(path[i], path[i - 1])
            out_port = self.port_towards(path[i], path[i + 1]) if i + 1 < len(path) else 0
            result.append((path[i], in_port, out_port))
        return result
