"""Shadow paths installed ahead of time, clients moved onto them, fast-failover groups."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sdn_shadow.config.model import Network
from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    OFPVID_PRESENT,
    Action,
    ApplyActions,
    Bucket,
    Flow,
    GotoTable,
    Group,
    GroupAction,
    Instruction,
    Match,
    Output,
    PopVlan,
    PushVlan,
    SetField,
    WriteMetadata,
    canonical_match,
    flows_alike,
    match,
)
from sdn_shadow.openflow.pipeline import Subsystem, Table
from sdn_shadow.openflow.plan import Link, SwitchPlan, vid
from sdn_shadow.openflow.services import service_twin
from sdn_shadow.paths import PathPair, shadow_first
from sdn_shadow.topology import Fabric, path_hops

Memo = dict[tuple[object, ...], tuple[tuple[Instruction, ...], Group | None]]
"""What `path_instructions` made, by its ports and order: instructions, group."""


def install_shadow_paths(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
                         paths: Mapping[tuple[str, str], PathPair]) -> None:
    """Every shadow path of the network, installed ahead of time (tagged with the shadow VLAN).

    Traffic on a shadow path keeps the tag through transit switches and is
    untagged at the destination's switch into the ordinary local delivery
    (so mirrors still see it). A move is then one rewrite at the edge; no
    path is ever built while traffic waits.

    A transit switch forwards by destination alone (the transit table,
    entered from the fabric ports the paths come in by) where every path
    through it to that destination's switch leaves by the same port, which
    is nearly always; by in_port and destination where they part ways (a
    ring's two directions). Delivery at the destination goes by in_port.
    """
    assert network.shadow is not None
    tag = vid(network.shadow.vlan)
    macs: dict[str, list[str]] = {}
    for host in network.hosts:
        macs.setdefault(host.switch, []).append(_mac(host.mac))
    # (switch, destination switch) -> in port -> out port (0: deliver): paths from
    # different sources into one destination share their last hops.
    ways: dict[tuple[str, str], dict[int, int]] = {}
    for (src, dst), pair in sorted(paths.items()):
        if src == dst or dst not in macs:
            continue
        for hop, in_port, out_port in _hops(fabric, pair.shadow):
            seen = ways.setdefault((hop, dst), {}).setdefault(in_port, out_port)
            if seen != out_port:
                raise pl.PipelineError(f"{hop}: shadow paths to {dst} entering by port "
                                       f"{in_port} leave by {seen} and {out_port}")
    makers = _ShadowMakers(network.vlan)
    for (hop, dst), by_port in ways.items():
        plan = plans[hop]
        outs = set(by_port.values())
        if len(outs) == 1 and 0 not in outs:
            make = makers.transit(outs.pop())
            for in_port in by_port:
                plan.add(makers.to_transit(in_port))
            for mac in macs[dst]:
                plan.add(make((("eth_dst", mac), ("vlan_vid", tag))))
            continue
        for in_port, out_port in by_port.items():
            make = makers.by_port(out_port)
            for mac in macs[dst]:
                # the canonical match, fields in name order (see `messages.match`)
                plan.add(make((("eth_dst", mac), ("in_port", in_port), ("vlan_vid", tag))))


class _ShadowMakers:
    """The flow makers of one network's shadow-path entries, each made once."""

    def __init__(self, vlan: int) -> None:
        self.band = pl.INGRESS_SHADOW_PATH.priority()
        self.delivered = flows_alike(Table.INGRESS, self.band, Subsystem.ROUTING, (
            ApplyActions((PopVlan(),)), WriteMetadata(vlan), GotoTable(Table.FORWARD)))
        self.onward: dict[int, Callable[[Match], Flow]] = {}
        self.transits: dict[int, Callable[[Match], Flow]] = {}
        self.entries: dict[int, Flow] = {}

    def by_port(self, out_port: int) -> Callable[[Match], Flow]:
        """Entries by in_port and destination: out of `out_port` (0: delivered here)."""
        if not out_port:
            return self.delivered
        make = self.onward.get(out_port)
        if make is None:
            make = self.onward[out_port] = flows_alike(
                Table.INGRESS, self.band, Subsystem.ROUTING,
                (ApplyActions((Output(out_port),)),))
        return make

    def transit(self, out_port: int) -> Callable[[Match], Flow]:
        """Transit-table entries by destination alone: out of `out_port`."""
        make = self.transits.get(out_port)
        if make is None:
            make = self.transits[out_port] = flows_alike(
                Table.TRANSIT, pl.TRANSIT_SHADOW.priority(), Subsystem.ROUTING,
                (ApplyActions((Output(out_port),)),))
        return make

    def to_transit(self, in_port: int) -> Flow:
        """The entry sending tagged frames from fabric port `in_port` that nothing above
        classified to the transit table (the same for every network, so one entry)."""
        flow = self.entries.get(in_port)
        if flow is None:
            flow = self.entries[in_port] = Flow(
                Table.INGRESS, pl.INGRESS_TO_TRANSIT.priority(), Subsystem.ROUTING,
                match(in_port=in_port, vlan_vid=(OFPVID_PRESENT, OFPVID_PRESENT)),
                (GotoTable(Table.TRANSIT),))
        return flow


def _hops(fabric: Fabric, path: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """`path_hops`, kept per fabric (networks share their shadow paths)."""
    found = fabric.cache.get(("hops", path))
    if found is None:
        found = fabric.cache[("hops", path)] = path_hops(fabric, path)
    assert isinstance(found, list)
    return found


def _mac(mac: str) -> str:
    """A MAC in its canonical (match) form."""
    value = canonical_match({"eth_dst": mac})[0][1]
    assert isinstance(value, str)
    return value


def shadow_path_clients(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
                  paths: Mapping[tuple[str, str], PathPair], shadow_path: set[str],
                  failed: frozenset[Link]) -> None:
    """Edge entries sending a moved client's traffic, both ways, onto the shadow paths.

    At the client's switch, what it sends to each remote host leaves on the
    shadow path (eth_src + eth_dst, the more specific entry); at every other
    host's port, what that host sends *to* it does (in_port + eth_dst). The primary
    entries stay installed underneath, so moving back is only deleting these:
    both moves are make-before-break, and packets already on a path arrive.
    """
    assert network.shadow is not None
    memo: Memo = {}
    for client in (h for h in network.hosts if h.name in shadow_path):
        for other in network.hosts:
            if other.switch == client.switch:
                continue
            plans[client.switch].add(Flow(
                Table.FORWARD, pl.FORWARD_SHADOW_PATH.priority(1), Subsystem.ROUTING,
                match(metadata=network.vlan, eth_src=client.mac, eth_dst=other.mac),
                path_instructions(plans[client.switch], fabric, network,
                                  paths[(client.switch, other.switch)], failed, True, memo)))
        # Only traffic entering at the sender's own port: a switch that is merely a
        # transit hop of someone's primary path must not turn that traffic around.
        # Service twins send too (answers on connections steered to them).
        twins = [service_twin(network, s.host) for s in network.shadow.services]
        senders = [(h.switch, h.port) for h in network.hosts]
        senders += [(t.switch, t.port) for t in twins if t is not None]
        for switch, port in senders:
            if switch == client.switch:
                continue
            plans[switch].add(Flow(
                Table.FORWARD, pl.FORWARD_SHADOW_PATH.priority(0), Subsystem.ROUTING,
                match(metadata=network.vlan, in_port=port, eth_dst=client.mac),
                path_instructions(plans[switch], fabric, network,
                                  paths[(switch, client.switch)], failed, True, memo)))


def path_instructions(plan: SwitchPlan, fabric: Fabric, network: Network, pair: PathPair,
                      failed: frozenset[Link], prefer_shadow: bool, memo: Memo | None = None
                      ) -> tuple[Instruction, ...]:
    """Send towards `pair`'s far end through a fast-failover group over both paths.

    Without a distinct shadow first hop (no redundant path) it is a plain
    output on the primary path, or on the shadow path if that is preferred.
    `memo` (one per step and network) keeps what many entries share: the
    same result is then the same tuple, and the group's content id is
    hashed once.
    """
    assert network.shadow is not None
    src, dst = pair.primary[0], pair.primary[-1]
    route = tuple(fabric.path(src, dst) or pair.primary)  # what forwarding really takes
    primary_port = fabric.port_towards(src, route[1])
    shadow_port = fabric.port_towards(src, pair.shadow[1])
    if shadow_port == primary_port:
        first_shadow = prefer_shadow
    else:
        first_shadow = shadow_first(route, pair.shadow, failed, prefer_shadow)
    memo = {} if memo is None else memo
    key = (primary_port, shadow_port, first_shadow)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _instructions(network, primary_port, shadow_port, first_shadow)
    instructions, group = found
    if group is not None and not _holds(plan, group):  # the rare clash of content ids
        gid = pl.shared_group(group, plan.groups, pl.GROUP_OWNER_ROUTING).group_id
        instructions = memo.setdefault(("salted", gid),
                                       ((ApplyActions((GroupAction(gid),)),), None))[0]
    return instructions


def _instructions(network: Network, primary_port: int, shadow_port: int, first_shadow: bool
                  ) -> tuple[tuple[Instruction, ...], Group | None]:
    """The instructions of `path_instructions` and the group they name (None: no group)."""
    assert network.shadow is not None
    primary = (PushVlan(), SetField("vlan_vid", vid(network.vlan)), Output(primary_port))
    shadow = (PushVlan(), SetField("vlan_vid", vid(network.shadow.vlan)), Output(shadow_port))
    if shadow_port == primary_port:
        return (ApplyActions(shadow if first_shadow else primary),), None
    group = _failover_group(primary, shadow, first_shadow)
    return (ApplyActions((GroupAction(group.group_id),)),), group


def _holds(plan: SwitchPlan, group: Group) -> bool:
    """Put `group` in `plan` under its content id; False if another group holds that id."""
    have = plan.groups.setdefault(group.group_id, group)
    return have is group or (have.type, have.buckets) == (group.type, group.buckets)


def _failover_group(primary: tuple[Action, ...], shadow: tuple[Action, ...],
                    first_shadow: bool) -> Group:
    """A fast-failover group: the preferred path first, the other one behind it.

    Each bucket watches its own output port, so when the preferred path's
    first link goes down the switch moves the traffic by itself, without
    waiting for the controller. The controller's part is to *pin*: when a link
    anywhere on the preferred path has failed, the other path goes first, so
    traffic stays off the link however often it flaps until failback (and a
    failure beyond the first hop, which the switch cannot see, is routed
    around too). Both paths stay installed, so every change is make-before-break.
    """
    buckets = (Bucket(primary, watch_port=_output_port(primary)),
               Bucket(shadow, watch_port=_output_port(shadow)))
    if first_shadow:
        buckets = buckets[::-1]
    return pl.with_content_id(Group(0, "ff", buckets), set(), pl.GROUP_OWNER_ROUTING)


def _output_port(actions: tuple[Action, ...]) -> int:
    return next(a.port for a in actions if isinstance(a, Output))

