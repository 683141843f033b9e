"""The incremental planner's parts: what each depends on and the compiler step that
builds it (see `incremental.Planner`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from sdn_shadow.config.model import Config, MirrorSession, Network
from sdn_shadow.openflow import compiler as cc
from sdn_shadow.openflow.besteffort import Entry
from sdn_shadow.openflow.compiler import (
    BestEffortMeter,
    Link,
    ShadowPaths,
    SourceLimit,
    SwitchPlan,
)
from sdn_shadow.openflow.meters import crossed_links
from sdn_shadow.topology import Fabric

Client = tuple[str, str]
Step = Callable[[dict[str, SwitchPlan]], None]


@dataclass(frozen=True)
class Inputs:
    """Everything a plan depends on (the same arguments `compile_config` takes)."""

    config: Config
    fabric: Fabric
    paths: ShadowPaths
    held: Mapping[str, float]
    shadow_path: frozenset[Client]
    failed: frozenset[Link]
    twin_service: frozenset[Client]
    blocked: Mapping[tuple[str, str], SourceLimit | None]


class NetworkViews:
    """What the planner reads off each network, kept while the network (or its shadow
    paths) is the same object: a change costs the networks it changed."""

    def __init__(self) -> None:
        self._views: dict[str, tuple[Network, Network]] = {}
        self._layouts: dict[str, tuple[Network, tuple[object, ...]]] = {}
        self._links: dict[str, tuple[object, frozenset[tuple[str, str]]]] = {}

    def copy(self) -> NetworkViews:
        """A copy to change without changing this one."""
        twin = NetworkViews()
        twin._views, twin._layouts = dict(self._views), dict(self._layouts)
        twin._links = dict(self._links)
        return twin

    def view(self, network: Network) -> Network:
        """`network` without its mirror sessions: what its other parts depend on (each
        session is a part of its own)."""
        cached = self._views.get(network.name)
        if cached is None or cached[0] is not network:
            shadow = network.shadow
            view = network if shadow is None or not shadow.mirror else replace(
                network, shadow=replace(shadow, mirror=()))
            cached = self._views[network.name] = (network, view)
        return cached[1]

    def ends(self, network: Network) -> tuple[object, ...]:
        """What the network's shadow-path entries depend on besides its paths: its VLANs
        and where its hosts are (switch and MAC, not port: a twin taking a host over on
        the same switch changes no path)."""
        cached = self._layouts.get(network.name)
        if cached is None or cached[0] is not network:
            shadow_vlan = network.shadow.vlan if network.shadow is not None else None
            cached = self._layouts[network.name] = (network, (
                network.vlan, shadow_vlan, tuple((h.switch, h.mac) for h in network.hosts)))
        return cached[1]

    def crossings(self, paths: ShadowPaths) -> dict[str, frozenset[tuple[str, str]]]:
        """The link directions each network's shadow paths cross (where it holds
        capacity: what best-effort meters depend on)."""
        out = {}
        for name, pairs in sorted(paths.items()):
            cached = self._links.get(name)
            if cached is None or cached[0] is not pairs:
                cached = self._links[name] = (pairs, crossed_links(pairs))
            out[name] = cached[1]
        return out


@dataclass(slots=True)
class Mark:
    """What one network's parts (but its meter part) depend on, taken from an update's
    inputs: the same again (`same`) means every one of its parts stays as it is."""

    network: Network
    paths: object
    failed: frozenset[Link]
    meters: tuple[Entry, ...]
    wiring: object
    shadow_path: set[str] | None
    twin_service: set[str] | None
    blocked: dict[str, SourceLimit | None] | None
    keys: tuple[tuple[str, ...], ...] = ()
    """The network's parts (the steps its inputs called for)."""

    def holds(self, network: Network, inputs: Inputs, meters: tuple[Entry, ...],
              wiring: object, grouped: ByNetwork) -> bool:
        """`same` for the inputs a new mark would take, without making one (the common
        case, a network nothing changed for, by identity alone)."""
        name = network.name
        return (self.network is network and self.paths is inputs.paths.get(name)
                and self.wiring is wiring and self.meters is meters
                and _alike(self.failed, inputs.failed)
                and self.shadow_path is grouped.shadow_path.get(name)
                and self.twin_service is grouped.twin_service.get(name)
                and self.blocked is grouped.blocked.get(name))

    def same(self, new: Mark) -> bool:
        """Whether `new` holds the same inputs (objects the same, or small ones equal)."""
        return (self.network is new.network and self.paths is new.paths
                and self.wiring is new.wiring and _alike(self.failed, new.failed)
                and _alike(self.meters, new.meters) and self.shadow_path == new.shadow_path
                and self.twin_service == new.twin_service and self.blocked == new.blocked)


@dataclass(frozen=True)
class ByNetwork:
    """The inputs that name clients and sources, grouped by network once per update."""

    shadow_path: Mapping[str, set[str]]
    twin_service: Mapping[str, set[str]]
    blocked: Mapping[str, dict[str, SourceLimit | None]]

    @staticmethod
    def of(i: Inputs) -> ByNetwork:
        """`i`'s shadow_path and twin_service clients and blocked sources by network."""
        shadow_path: dict[str, set[str]] = {}
        for net, host in i.shadow_path:
            shadow_path.setdefault(net, set()).add(host)
        twin_service: dict[str, set[str]] = {}
        for net, host in i.twin_service:
            twin_service.setdefault(net, set()).add(host)
        blocked: dict[str, dict[str, SourceLimit | None]] = {}
        for (net, src), limit in i.blocked.items():
            blocked.setdefault(net, {})[src] = limit
        return ByNetwork(shadow_path, twin_service, blocked)


def network_steps(network: Network, view: Network, i: Inputs, meters: tuple[object, ...],
                   ends: tuple[object, ...], grouped: ByNetwork
                   ) -> Iterator[tuple[tuple[str, ...], tuple[tuple[object, ...], Step]]]:
    """A network's parts, in `compile_config`'s order. `view`: the network without
    its mirror sessions (what every part but a session's depends on); `meters`:
    the network's best-effort meters (switch, port, id), which its forwarding
    entries name; `ends`: what its shadow-path entries depend on besides the
    paths, the last of them the fabric's wiring (see `Planner._wiring`)."""
    fabric, name = i.fabric, network.name
    net_paths = i.paths.get(name, {})
    blocks = grouped.blocked.get(name, {})
    wiring = ends[-1]
    yield ("forwarding", name), ((view, net_paths, i.failed, meters, wiring),
                                 lambda p: cc.forwarding(p, fabric, network, net_paths,
                                                          i.failed))
    yield ("arp", name), ((view,), lambda p: cc.arp_responders(p, network))
    if blocks:
        yield ("blocks", name), ((view, tuple(sorted(blocks.items()))),
                                 lambda p: cc.security_blocks(p, network, blocks))
    if network.shadow is None:
        return
    shadow_path = grouped.shadow_path.get(name, set())
    twin_service = grouped.twin_service.get(name, set())
    yield ("guard", name), ((view,), lambda p: cc.shadow_guard(p, network))
    yield ("shadow_paths", name), ((ends, net_paths),
                                   lambda p: cc.install_shadow_paths(p, fabric, network,
                                                                      net_paths))
    if shadow_path:
        yield ("shadow_path", name), ((view, net_paths, i.failed, meters, frozenset(shadow_path),
                                 wiring),
                                lambda p: cc.shadow_path_clients(p, fabric, network, net_paths,
                                                            shadow_path, i.failed))
    if twin_service or network.shadow.services:
        yield ("steering", name), ((view, frozenset(twin_service)),
                                   lambda p: cc.service_steering(p, network, twin_service))
    for index, session in enumerate(network.shadow.mirror):
        yield ("mirror", name, str(index)), ((view, session, net_paths, wiring),
                                             _mirror_step(fabric, network, session, index))


def base_step(probes: bool) -> Step:
    """The fabric-wide part: table misses, and probe answers when links are probed."""
    def base(plans: dict[str, SwitchPlan]) -> None:
        for plan in plans.values():
            cc.table_misses(plan)
            if probes:
                cc.probe_answers(plan)
    return base


def meter_step(network: str, entries: tuple[Entry, ...],
                holds: Mapping[tuple[str, str], frozenset[str]], held: Mapping[str, float]
                ) -> Step:
    """The step that installs `network`'s best-effort meters (`BestEffortState.entries`)."""
    def meters(plans: dict[str, SwitchPlan]) -> None:
        for switch, port, meter_id, far, kbps in entries:
            spec = BestEffortMeter(meter_id, (switch, far), network, kbps)
            plans[switch].best_effort[(port, network)] = spec
            plans[switch].meters[meter_id] = spec.meter(held, holds[(switch, far)])
    return meters


def _mirror_step(fabric: Fabric, network: Network, session: MirrorSession, index: int) -> Step:
    """The step that installs one mirror session."""
    return lambda plans: cc.mirror_session(plans, fabric, network, session, index)


def _alike(old: object, new: object) -> bool:
    return old is new or old == new
