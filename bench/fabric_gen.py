"""Generated fabrics for the scale benchmarks: configs as plain data, deterministic per seed.

Every function is pure and returns plain Python data: a `Topology` (switch
names, links, the switches hosts attach to) or the configuration document
`sdn_shadow.config.parse_config` accepts (the YAML file as dicts and lists).

Topologies:

- `ring(n)`: n switches in a ring (`s1`..`sn`), hosts on every switch.
- `fat_tree(k)`: the k-ary fat-tree (k even, 4..8 here): (k/2)^2 core
  switches, k pods of k/2 aggregation and k/2 edge switches; every edge
  switch links to every aggregation switch of its pod, aggregation switch i
  of a pod to core switches i*k/2 .. (i+1)*k/2-1. 5k^2/4 switches (k=4: 20,
  k=6: 45, k=8: 80); hosts on the k^2/2 edge switches.
- `leaf_spine(leaves, spines)`: every leaf links to every spine; hosts on
  the leaves.

`fabric_config(topology, hosts, ...)` fills a topology with `hosts` primary
hosts in networks of `hosts_per_network` (the last one takes the remainder).
Network n (`net<nnnn>`, a /16, cidrs repeat after 256 networks: address spaces
may overlap, as in examples/lab.yaml) spreads its hosts round-robin over
`span` edge switches picked at random with `seed` (default: as many as it
has hosts, at most every edge switch -- the widest spread, which is what
makes per-destination entries grow with switches x hosts). Like the
examples, each network has a shadow with two twins (the first two hosts',
same MAC and IP, on the same switch as their host) and two mirror sessions:
`<net>-both` (its first host, both directions, to the first twin, on the
same switch) and `<net>-udp-out` (UDP its third host sends, to the second
twin: copies cross the fabric unless the two share a switch). Switch ports
count from 1 for hosts and twins, from `FABRIC_PORT_BASE` for links. VLAN
ids are left for the parser to assign (100.., 2000.., 3000..), so
`4 * networks` must stay under 4094. MACs are `02:nn:nn:hh:hh:tt` (network,
host, 00), unique in the whole file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FABRIC_PORT_BASE = 50_001
DEFAULT_CAPACITY = 10_000  # Mbit/s of every generated link
TWINS = 2


@dataclass(frozen=True)
class Topology:
    """Switch names (dpids 1.. in this order), links as (a, b) name pairs, host switches."""

    name: str
    switches: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    edge: tuple[str, ...]
    """The switches hosts attach to."""


@dataclass
class _Ports:
    """Next free host port and fabric port per switch."""

    host: dict[str, int] = field(default_factory=dict)
    fabric: dict[str, int] = field(default_factory=dict)

    def next_host(self, switch: str) -> int:
        port = self.host.get(switch, 1)
        self.host[switch] = port + 1
        return port

    def next_fabric(self, switch: str) -> int:
        port = self.fabric.get(switch, FABRIC_PORT_BASE)
        self.fabric[switch] = port + 1
        return port


def ring(switches: int = 20) -> Topology:
    """`switches` switches in a ring, hosts on every one."""
    if switches < 3:
        raise ValueError("a ring needs at least 3 switches")
    names = tuple(f"s{i}" for i in range(1, switches + 1))
    links = tuple((names[i], names[(i + 1) % switches]) for i in range(switches))
    return Topology(f"ring{switches}", names, links, names)


def fat_tree(k: int = 4) -> Topology:
    """The k-ary fat-tree (k even, >= 4): hosts on its k^2/2 edge switches."""
    if k < 4 or k % 2:
        raise ValueError("a fat-tree needs an even k >= 4")
    half = k // 2
    core = [f"core{i + 1}" for i in range(half * half)]
    aggs = [[f"agg{p + 1}-{i + 1}" for i in range(half)] for p in range(k)]
    edges = [[f"edge{p + 1}-{i + 1}" for i in range(half)] for p in range(k)]
    links: list[tuple[str, str]] = []
    for p in range(k):
        for e in edges[p]:
            links += [(e, a) for a in aggs[p]]
        for i, a in enumerate(aggs[p]):
            links += [(a, c) for c in core[i * half:(i + 1) * half]]
    names = tuple(core + [a for pod in aggs for a in pod] + [e for pod in edges for e in pod])
    return Topology(f"fat-tree-k{k}", names, tuple(links), tuple(e for pod in edges for e in pod))


def leaf_spine(leaves: int, spines: int) -> Topology:
    """Every leaf linked to every spine; hosts on the leaves."""
    if leaves < 2 or spines < 1:
        raise ValueError("a leaf-spine fabric needs at least 2 leaves and 1 spine")
    leaf = tuple(f"leaf{i + 1}" for i in range(leaves))
    spine = tuple(f"spine{i + 1}" for i in range(spines))
    links = tuple((lf, sp) for lf in leaf for sp in spine)
    return Topology(f"leaf-spine-{leaves}x{spines}", spine + leaf, links, leaf)


def mac(network: int, host: int) -> str:
    """The generated MAC of host `host` of network `network` (unique in the file)."""
    return (f"02:{network >> 8 & 0xFF:02x}:{network & 0xFF:02x}:"
            f"{host >> 8 & 0xFF:02x}:{host & 0xFF:02x}:00")


def network_name(index: int) -> str:
    """Network `index`'s name: zero-padded, so that names sort in index order (VLAN ids
    left to the parser are assigned in name order: a network added with the next index
    shifts no other network's ids)."""
    return f"net{index:04d}"


def host_name(network: int, host: int) -> str:
    """Primary host `host` of network `network`."""
    return f"n{network}h{host}"


def twin_name(network: int, host: int) -> str:
    """The twin of primary host `host` of network `network`."""
    return f"n{network}h{host}s"


def network_spec(index: int, size: int, switches: list[str], ports: _Ports,
                 twins: int = TWINS) -> dict:
    """Network `index` with `size` hosts round-robin on `switches`: the YAML mapping.

    Takes its ports from `ports` (which it advances).
    """
    if size < 3:
        raise ValueError("a generated network needs at least 3 hosts (its sessions use 3)")
    base = f"10.{index % 256}"
    hosts: dict[str, dict] = {}
    placed: list[str] = []
    for h in range(size):
        switch = switches[h % len(switches)]
        placed.append(switch)
        hosts[host_name(index, h)] = {
            "switch": switch, "port": ports.next_host(switch), "mac": mac(index, h),
            "ip": f"{base}.{1 + h // 250}.{1 + h % 250}",
        }
    shadow_hosts = {twin_name(index, h): {"twin": host_name(index, h), "switch": placed[h],
                                          "port": ports.next_host(placed[h])}
                    for h in range(min(twins, size))}
    first, second = twin_name(index, 0), twin_name(index, min(1, twins - 1))
    name = network_name(index)
    mirror = [
        {"name": f"{name}-both", "hosts": [host_name(index, 0)], "direction": "both",
         "to": [first]},
        {"name": f"{name}-udp-out", "hosts": [host_name(index, 2)], "direction": "out",
         "match": {"proto": "udp"}, "to": [second]},
    ]
    return {"cidr": f"{base}.0.0/16", "hosts": hosts,
            "shadow": {"hosts": shadow_hosts, "mirror": mirror}}


@dataclass
class Fabric:
    """A generated configuration document and what is needed to extend it.

    `document` is what `parse_config` takes. `add_network()` returns the spec
    of one more network (the next index), placed like the others, with ports
    no other attachment uses; it does not add it to `document`.
    """

    topology: Topology
    document: dict
    hosts_per_network: int
    span: int | None
    seed: int
    ports: _Ports
    networks: int

    def add_network(self, size: int | None = None) -> tuple[str, dict]:
        """(name, spec) of a new network of `size` hosts (default hosts_per_network)."""
        index = self.networks
        self.networks += 1
        switches = _placement(self.topology, index, size or self.hosts_per_network,
                              self.span, self.seed)
        return network_name(index), network_spec(index, size or self.hosts_per_network,
                                                 switches, self.ports)

    @property
    def host_count(self) -> int:
        """Primary hosts in `document`."""
        return sum(len(n["hosts"]) for n in self.document["networks"].values())


def _placement(topology: Topology, index: int, size: int, span: int | None,
               seed: int) -> list[str]:
    """The edge switches network `index` spreads over (seeded per network, so adding a
    network does not move the others)."""
    edge = list(topology.edge)
    count = min(len(edge), span or size)
    return random.Random(f"{seed}:{topology.name}:{index}").sample(edge, count)


def fabric(topology: Topology, hosts: int, hosts_per_network: int = 40, *,
           span: int | None = None, seed: int = 0, capacity: float | None = DEFAULT_CAPACITY,
           stats_interval: float | None = None) -> Fabric:
    """A `Fabric` of `topology` with `hosts` primary hosts (see the module doc)."""
    if hosts < 3 or hosts_per_network < 3:
        raise ValueError("need at least 3 hosts, and at least 3 per network")
    ports = _Ports()
    links = []
    for a, b in topology.links:
        link: dict = {"a": f"{a}:{ports.next_fabric(a)}", "b": f"{b}:{ports.next_fabric(b)}"}
        if capacity is not None:
            link["capacity"] = capacity
        links.append(link)
    sizes = [hosts_per_network] * (hosts // hosts_per_network)
    rest = hosts - sum(sizes)
    if rest >= 3 or not sizes:
        sizes.append(rest)
    elif rest:
        sizes[-1] += rest  # a remainder too small for its own network joins the last one
    document: dict = {
        "fabric": {"switches": {name: {"dpid": i + 1} for i, name in enumerate(topology.switches)},
                   "links": links},
        "networks": {},
    }
    if stats_interval is not None:
        document["controller"] = {"stats_interval": stats_interval}
    for index, size in enumerate(sizes):
        switches = _placement(topology, index, size, span, seed)
        document["networks"][network_name(index)] = network_spec(index, size, switches, ports)
    return Fabric(topology, document, hosts_per_network, span, seed, ports, len(sizes))


def fabric_config(topology: Topology, hosts: int, hosts_per_network: int = 40, *,
                  span: int | None = None, seed: int = 0,
                  capacity: float | None = DEFAULT_CAPACITY) -> dict:
    """The configuration document alone (see `fabric`)."""
    return fabric(topology, hosts, hosts_per_network, span=span, seed=seed,
                  capacity=capacity).document
