"""Config -> desired flows and groups per switch (pure): forwarding, ARP, shadow guard, mirrors.

Mirror sampling is *per flow*. A session with `sample` s uses an OVS select
group of 2**m equal-weight buckets, k of which carry the copy actions, with
k/2**m = s exactly when s is a multiple of 1/2**m (m <= 8), else the nearest
multiple of 1/256. Powers of two matter: OVS 3.1 spreads select buckets over a
power-of-two `dp_hash` table, so only then does every bucket get the same
share. OVS hashes each packet's symmetric flow key -- for TCP the address
pair and ports, for UDP and ICMP the address pair only -- so every packet of
a sampled connection (UDP: host pair) is copied, in both directions, and the
others never are; over many flows the copied fraction is k/2**m.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

from sdn_shadow.config.model import (
    Config,
    Host,
    MatchFilter,
    MirrorSession,
    Network,
    ShadowHost,
)
from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_NEW,
    CT_TRK,
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    OFPVID_PRESENT,
    Action,
    ApplyActions,
    Bucket,
    Ct,
    Flow,
    FlowKey,
    GotoTable,
    Group,
    GroupAction,
    Instruction,
    Meter,
    MeterBand,
    MeterInstruction,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
    content_hash,
    match,
)
from sdn_shadow.openflow.pipeline import Subsystem, Table
from sdn_shadow.paths import PathPair, network_paths
from sdn_shadow.probe import PROBE_MAC
from sdn_shadow.topology import Fabric

MAX_SAMPLE_BUCKETS = 256
MIN_BEST_EFFORT = 0.01  # best-effort traffic always keeps this share of a link


@dataclass(frozen=True, slots=True)
class MirrorGroupInfo:
    """What a mirror group counts: its session and the buckets that copy."""

    session: str
    copy_buckets: tuple[int, ...]


@dataclass(slots=True)
class SwitchPlan:
    """Desired state of one switch: flows by key, groups by id, and what mirror groups mean."""

    dpid: int
    name: str
    flows: dict[FlowKey, Flow] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    mirror_groups: dict[int, MirrorGroupInfo] = field(default_factory=dict)
    mirror_flows: dict[FlowKey, str] = field(default_factory=dict)
    """Flows that copy inline (no group); their counters are the session's."""
    demand: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    """Cookie -> (network, host, "tx"|"rx"): flows whose counters are a client's demand."""
    meters: dict[int, Meter] = field(default_factory=dict)
    best_effort: dict[tuple[int, str], BestEffortMeter] = field(default_factory=dict)
    """(fabric port, network) -> the meter policing that network's traffic out of the port."""

    def add(self, flow: Flow) -> None:
        """Add a flow after checking it against the pipeline; a clashing key is a bug."""
        pl.verify(flow)
        existing = self.flows.get(flow.key)
        if existing is not None and existing != flow:
            raise pl.PipelineError(f"{self.name}: two different flows for key {flow.key}")
        self.flows[flow.key] = flow


SECURITY_METERS = 60_000
"""Meter ids of metered sources: SECURITY_METERS + the block's slot (best-effort ones
count from 1; Open vSwitch's userspace datapath takes ids up to 65,536 at least)."""


@dataclass(frozen=True, slots=True)
class SourceLimit:
    """The meter a blocked source is held to: its slot (see `policy.response`), kbit/s."""

    slot: int
    kbps: int

    @property
    def meter_id(self) -> int:
        """The meter's id on every switch the source is metered at."""
        return SECURITY_METERS + self.slot


@dataclass(frozen=True, slots=True)
class BestEffortMeter:
    """Polices one network's traffic on a link to what other networks' holds leave free."""

    meter_id: int
    link: tuple[str, str]
    network: str
    capacity_kbps: int
    reserved_by: tuple[str, ...]

    def meter(self, held: Mapping[str, float]) -> Meter:
        """The meter for allocations `held` (bytes/s per network)."""
        reserved = sum(held.get(n, 0.0) for n in self.reserved_by) * 8 / 1000
        floor = max(1, int(self.capacity_kbps * MIN_BEST_EFFORT))
        rate = max(floor, int(self.capacity_kbps - reserved))
        return Meter(self.meter_id, (MeterBand(rate),))


def sample_fraction(sample: float) -> Fraction:
    """The fraction actually sampled: `sample` as k/2**m, 2**m <= 256 (at least 1/256)."""
    buckets = 1
    while buckets < MAX_SAMPLE_BUCKETS and (sample * buckets) % 1:
        buckets *= 2
    return Fraction(max(1, round(sample * buckets)), buckets)


def vid(vlan: int) -> int:
    """OXM vlan_vid value for a tagged VLAN."""
    return OFPVID_PRESENT | vlan


Link = frozenset[str]  # an undirected fabric link: its two switch names
#: ct_mark of a connection to a service host: who serves it (0: not committed yet).
HOST_MARK, TWIN_MARK = 2, 1
ShadowPaths = Mapping[str, Mapping[tuple[str, str], PathPair]]


def shadow_paths(config: Config, fabric: Fabric,
                 reuse: tuple[Config, ShadowPaths] | None = None) -> dict[str, Mapping[
                     tuple[str, str], PathPair]]:
    """Each shadow network's path pairs between its primary hosts' switches.

    The one place they are chosen: held capacity, installed shadow paths,
    moved clients, failover groups and preemptive routing all use these.
    `reuse` (another config over the same fabric, and its paths) keeps the
    paths of every network whose hosts sit on the same switches there (the
    paths depend on nothing else): a takeover or a reload changes a network
    or two, not the fabric's paths.
    """
    before: dict[str, Network] = {}
    if reuse is not None:
        before = {n.name: n for n in reuse[0].networks if n.name in reuse[1]}

    def kept(network: Network) -> bool:
        old = before.get(network.name)
        return old is not None and (old is network or {h.switch for h in old.hosts}
                                    == {h.switch for h in network.hosts})

    return {n.name: (reuse[1][n.name] if reuse is not None and kept(n)
                     else network_paths(fabric, {h.switch for h in n.hosts}))
            for n in config.networks if n.shadow is not None}


def compile_config(config: Config, held: Mapping[str, float] | None = None,
                   moved: frozenset[tuple[str, str]] = frozenset(),
                   failed: frozenset[Link] = frozenset(), *, fabric: Fabric | None = None,
                   paths: ShadowPaths | None = None,
                   steered: frozenset[tuple[str, str]] = frozenset(),
                   blocked: Mapping[tuple[str, str], SourceLimit | None] | None = None
                   ) -> dict[int, SwitchPlan]:
    """Every switch's desired flows, groups and meters for `config`.

    `held` is the capacity (bytes/s) each shadow network holds now; it only
    changes meter rates, never flows, so a new allocation is a meter modify.
    `moved` holds the (network, host) clients whose traffic takes the shadow
    paths: a move changes only entries at the edges (see `_moved_clients`).
    `failed` holds the fabric links the controller has failed over: traffic
    whose route crosses one is pinned to its shadow path (see `_failover_group`).
    `steered` holds the (network, host) clients whose new connections to the
    service hosts go to their twins (see `_service_steering`).
    `blocked` maps the (network, source IPv4 or MAC) pairs the response to
    an alert keeps out of the primary to None (dropped) or the meter they
    are held to (see `_security_blocks`).
    A caller recompiling often passes the config's `fabric` and `shadow_paths`
    so they are not derived again each time.
    """
    with paused_gc():
        return _compile(config, held, moved, failed, fabric, paths, steered, blocked)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a plan is built.

    A plan is hundreds of thousands of new objects, none of them garbage;
    without the pause the collector walks the whole heap again and again
    while they are made (about a quarter of a full compile's time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compile(config: Config, held: Mapping[str, float] | None,
             moved: frozenset[tuple[str, str]], failed: frozenset[Link],
             fabric: Fabric | None, paths: ShadowPaths | None,
             steered: frozenset[tuple[str, str]],
             blocked: Mapping[tuple[str, str], SourceLimit | None] | None
             ) -> dict[int, SwitchPlan]:
    fabric = fabric or Fabric(config)
    all_paths = shadow_paths(config, fabric) if paths is None else paths
    plans = {s.name: SwitchPlan(s.dpid, s.name) for s in config.switches}
    for plan in plans.values():
        _table_misses(plan)
        if config.failover.probe_interval is not None:
            _probe_answers(plan)
    _best_effort_meters(plans, fabric, config, all_paths, held or {})
    for network in config.networks:
        net_paths = all_paths.get(network.name, {})
        _forwarding(plans, fabric, network, net_paths, failed)
        _arp_responders(plans, network)
        _security_blocks(plans, network, {src: limit for (net, src), limit in
                                          (blocked or {}).items() if net == network.name})
        if network.shadow is not None:
            _shadow_guard(plans, network)
            _install_shadow_paths(plans, fabric, network, net_paths)
            _moved_clients(plans, fabric, network, net_paths,
                           {host for net, host in moved if net == network.name}, failed)
            _service_steering(plans, network,
                              {host for net, host in steered if net == network.name})
            for index, session in enumerate(network.shadow.mirror):
                _mirror_session(plans, fabric, network, session, index)
    return {plan.dpid: plan for plan in plans.values()}


def link_holders(paths: ShadowPaths) -> dict[tuple[str, str], set[str]]:
    """Link direction (a, b) -> the shadow networks whose shadow paths cross it: they hold
    capacity there wherever the link's capacity is known."""
    holders: dict[tuple[str, str], set[str]] = {}
    for name, pairs in paths.items():  # the same paths moved clients take
        for pair in pairs.values():
            for a, b in zip(pair.shadow, pair.shadow[1:], strict=False):
                holders.setdefault((a, b), set()).add(name)
    return holders


def _best_effort_meters(plans: dict[str, SwitchPlan], fabric: Fabric, config: Config,
                        paths: ShadowPaths, held: Mapping[str, float]) -> None:
    """A meter per (link direction, network) wherever other networks hold capacity.

    A shadow network holds capacity on every link of its shadow paths (both
    directions) that has a known capacity. There, each *other* network's
    traffic is policed down to what those holds leave free; a network never
    competes with its own hold.
    """
    for (a, b), reservers in sorted(link_holders(paths).items()):
        capacity = fabric.graph.edges[a, b].get("capacity_mbps")
        if not capacity:
            continue
        plan, port = plans[a], fabric.port_towards(a, b)
        for network in sorted(n.name for n in config.networks):
            others = tuple(sorted(reservers - {network}))
            if not others:
                continue
            meter_id = best_effort_id(plan, port, network)
            spec = BestEffortMeter(meter_id, (a, b), network, int(capacity * 1000), others)
            plan.best_effort[(port, network)] = spec
            plan.meters[meter_id] = spec.meter(held)


BEST_EFFORT_IDS = SECURITY_METERS - 1  # best-effort meter ids are 1 .. 59,999


def best_effort_id(plan: SwitchPlan, port: int, network: str) -> int:
    """The meter id of `network`'s best-effort meter out of `port`: from a hash of the
    two, so that adding or removing another network keeps it (the next free id on the
    rare clash, in the compiler's fixed order)."""
    taken = {spec.meter_id for spec in plan.best_effort.values()}
    meter_id = content_hash("best-effort", port, network) % BEST_EFFORT_IDS + 1
    while meter_id in taken:
        meter_id = meter_id % BEST_EFFORT_IDS + 1
    return meter_id


def _install_shadow_paths(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
                  paths: Mapping[tuple[str, str], PathPair]) -> None:
    """Every shadow path of the network, installed ahead of time (tagged with the shadow VLAN).

    Traffic on a shadow path keeps the tag through transit switches, matched
    by in_port and destination MAC, and is untagged at the destination's
    switch into the ordinary local delivery (so mirrors still see it). A move
    is then one rewrite at the edge; no path is ever built while traffic waits.
    """
    assert network.shadow is not None
    tag = vid(network.shadow.vlan)
    band = pl.INGRESS_SHADOW_PATH.priority()
    # Paths from different sources into one destination share their last hops:
    # each (switch, in port, out port, host) entry is built once (a clash between
    # two different entries for one key still raises in `add`).
    built: set[tuple[str, int, int | None, str]] = set()
    for (src, dst), pair in sorted(paths.items()):
        if src == dst:
            continue
        for host in (h for h in network.hosts if h.switch == dst):
            for hop, in_port, out_port in _hops(fabric, pair.shadow):
                if (hop, in_port, out_port, host.mac) in built:
                    continue
                built.add((hop, in_port, out_port, host.mac))
                actions = ((ApplyActions((Output(out_port),)),) if out_port else
                           (ApplyActions((PopVlan(),)), WriteMetadata(network.vlan),
                            GotoTable(Table.FORWARD)))
                plans[hop].add(Flow(Table.INGRESS, band, Subsystem.ROUTING,
                                    match(in_port=in_port, vlan_vid=tag, eth_dst=host.mac),
                                    actions))


def _service_steering(plans: dict[str, SwitchPlan], network: Network, steered: set[str]) -> None:
    """Connection tracking at each service host's switch: who serves each connection.

    Both ends' IP packets pass the tracker (zone = the network's VLAN id),
    so it follows each connection both ways. A connection's first packet to
    the service commits it with a mark: TWIN_MARK when its client is
    steered, HOST_MARK otherwise; every later packet goes by the mark, new
    or established (a connection stays "new" to the tracker until it has
    seen a reply, and a one-way stream never sends one). So steering a
    client, or stopping, is one entry and changes only connections not yet
    seen; nothing established is moved or reset. The twin's own packets
    pass only for connections marked to it; the rest of what it sends stays
    dropped by the shadow guard. A host its twin has taken over
    (`policy.takeover`) has no twin left here: everything goes to the port
    it is attached at now.
    """
    assert network.shadow is not None
    zone, trk = network.vlan, CT_TRK
    new, est = (trk | CT_NEW, trk | CT_NEW), (trk | CT_EST, trk | CT_EST)
    for name in (service.host for service in network.shadow.services):
        host = network.host(name)
        twin = _service_twin(network, name)
        if twin is None:
            continue
        add = plans[host.switch].add
        for port in (host.port, twin.port):
            add(_service_flow(pl.INGRESS_SERVICE, 0,
                              (ApplyActions((Ct(zone, table=Table.INGRESS),)),),
                              in_port=port, eth_src=host.mac, vlan_vid=0, ct_state=(0, trk)))
        add(_service_flow(pl.INGRESS_SERVICE, 1,
                          (WriteMetadata(network.vlan), GotoTable(Table.FORWARD)),
                          in_port=twin.port, eth_src=host.mac, vlan_vid=0, ct_state=est,
                          ct_mark=TWIN_MARK))
        to_host = {"metadata": network.vlan, "eth_dst": host.mac}
        untracked = _service_flow(pl.FORWARD_SERVICE, 0,
                                  (ApplyActions((Ct(zone, table=Table.FORWARD),)),),
                                  ct_state=(0, trk), **to_host)
        add(untracked)
        # Every packet for the service passes this entry once, whoever serves it: its
        # counter is the service's rx (the local delivery entry sees only part of it).
        demand = plans[host.switch].demand
        for cookie in [c for c, owner in demand.items() if owner == (network.name, name, "rx")]:
            del demand[cookie]
        demand[untracked.cookie] = (network.name, name, "rx")
        add(_service_flow(pl.FORWARD_SERVICE, 1,
                          (ApplyActions((_commit(zone, HOST_MARK),)),
                           WriteActions((Output(host.port),)), GotoTable(Table.MIRROR_IN)),
                          ct_state=new, ct_mark=0, **to_host))
        add(_service_flow(pl.FORWARD_SERVICE, 1, (ApplyActions((Output(twin.port),)),),
                          ct_state=(trk, trk), ct_mark=TWIN_MARK, **to_host))
        for client in sorted(steered - {name}):
            add(_service_flow(pl.FORWARD_SERVICE, 2,
                              (ApplyActions((_commit(zone, TWIN_MARK), Output(twin.port))),),
                              ct_state=new, ct_mark=0, ipv4_src=str(network.host(client).ip),
                              **to_host))


def _service_twin(network: Network, name: str) -> ShadowHost | None:
    """The twin that serves steered connections of service host `name`: same MAC, IP, switch."""
    assert network.shadow is not None
    host = network.host(name)
    return next((t for t in network.shadow.hosts if t.twin == name and t.mac == host.mac
                 and t.ip == host.ip and t.switch == host.switch), None)


def _commit(zone: int, mark: int) -> Ct:
    """Commit the connection in `zone` with `mark`."""
    return Ct(zone, commit=True, actions=(SetField("ct_mark", mark),))


def _service_flow(band: pl.Band, offset: int, instructions: tuple[Instruction, ...],
                  **fields: object) -> Flow:
    """An IP flow of the service subsystem in `band`."""
    return Flow(band.table, band.priority(offset), Subsystem.SERVICE,
                match(eth_type=ETH_TYPE_IP, **fields), instructions)


def _hops(fabric: Fabric, path: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(switch, in_port, out_port or 0 at the end) for each switch after the first."""
    return [(path[i], fabric.port_towards(path[i], path[i - 1]),
             fabric.port_towards(path[i], path[i + 1]) if i + 1 < len(path) else 0)
            for i in range(1, len(path))]


def _moved_clients(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
                   paths: Mapping[tuple[str, str], PathPair], moved: set[str],
                   failed: frozenset[Link]) -> None:
    """Edge entries sending a moved client's traffic, both ways, onto the shadow paths.

    At the client's switch, what it sends to each remote host leaves on the
    shadow path (eth_src + eth_dst, the more specific entry); at every other
    host's port, what that host sends *to* it does (in_port + eth_dst). The primary
    entries stay installed underneath, so moving back is only deleting these:
    both moves are make-before-break, and packets already on a path arrive.
    """
    assert network.shadow is not None
    for client in (h for h in network.hosts if h.name in moved):
        for other in network.hosts:
            if other.switch == client.switch:
                continue
            plans[client.switch].add(Flow(
                Table.FORWARD, pl.FORWARD_MOVED.priority(1), Subsystem.ROUTING,
                match(metadata=network.vlan, eth_src=client.mac, eth_dst=other.mac),
                _path_instructions(plans[client.switch], fabric, network,
                                   paths[(client.switch, other.switch)], failed, True)))
        # Only traffic entering at the sender's own port: a switch that is merely a
        # transit hop of someone's primary path must not turn that traffic around.
        # Service twins send too (answers on connections steered to them).
        twins = [_service_twin(network, s.host) for s in network.shadow.services]
        senders = [(h.switch, h.port) for h in network.hosts]
        senders += [(t.switch, t.port) for t in twins if t is not None]
        for switch, port in senders:
            if switch == client.switch:
                continue
            plans[switch].add(Flow(
                Table.FORWARD, pl.FORWARD_MOVED.priority(0), Subsystem.ROUTING,
                match(metadata=network.vlan, in_port=port, eth_dst=client.mac),
                _path_instructions(plans[switch], fabric, network,
                                   paths[(switch, client.switch)], failed, True)))


def _path_instructions(plan: SwitchPlan, fabric: Fabric, network: Network, pair: PathPair,
                       failed: frozenset[Link], prefer_shadow: bool
                       ) -> tuple[Instruction, ...]:
    """Send towards `pair`'s far end through a fast-failover group over both paths.

    Without a distinct shadow first hop (no redundant path) it is a plain
    output on the primary path, or on the shadow path if that is preferred.
    """
    assert network.shadow is not None
    src, dst = pair.primary[0], pair.primary[-1]
    route = tuple(fabric.path(src, dst) or pair.primary)  # what forwarding really takes
    primary_port = fabric.port_towards(src, route[1])
    shadow_port = fabric.port_towards(src, pair.shadow[1])
    primary = (PushVlan(), SetField("vlan_vid", vid(network.vlan)), Output(primary_port))
    shadow = (PushVlan(), SetField("vlan_vid", vid(network.shadow.vlan)), Output(shadow_port))
    if shadow_port == primary_port:
        return (ApplyActions(shadow if prefer_shadow else primary),)
    group = _failover_group(plan, route, pair.shadow, primary, shadow, failed, prefer_shadow)
    return (ApplyActions((GroupAction(group),)),)


def _failover_group(plan: SwitchPlan, route: tuple[str, ...], shadow_path: tuple[str, ...],
                    primary: tuple[Action, ...], shadow: tuple[Action, ...],
                    failed: frozenset[Link], prefer_shadow: bool) -> int:
    """A fast-failover group: the preferred path first, the other one behind it.

    Each bucket watches its own output port, so when the preferred path's
    first link goes down the switch moves the traffic by itself, without
    waiting for the controller. The controller's part is to *pin*: when a link
    anywhere on the preferred path has failed, the other path goes first, so
    traffic stays off the link however often it flaps until failback (and a
    failure beyond the first hop, which the switch cannot see, is routed
    around too). Both paths stay installed, so every change is make-before-break.
    """
    def crosses(path: tuple[str, ...]) -> bool:
        return any(frozenset(hop) in failed for hop in zip(path, path[1:], strict=False))

    first_shadow = prefer_shadow
    if crosses(route) != crosses(shadow_path):
        first_shadow = crosses(route)
    buckets = (Bucket(primary, watch_port=_output_port(primary)),
               Bucket(shadow, watch_port=_output_port(shadow)))
    if first_shadow:
        buckets = buckets[::-1]
    return pl.shared_group(Group(0, "ff", buckets), plan.groups,
                           pl.GROUP_OWNER_ROUTING).group_id


def _output_port(actions: tuple[Action, ...]) -> int:
    return next(a.port for a in actions if isinstance(a, Output))


def _table_misses(plan: SwitchPlan) -> None:
    misses = {
        Table.INGRESS: (),
        Table.MIRROR_OUT: (GotoTable(Table.ARP),),
        Table.ARP: (GotoTable(Table.FORWARD),),
        Table.FORWARD: (),
        Table.MIRROR_IN: (),  # the action set (output written by forward) runs
    }
    for table, instructions in misses.items():
        plan.add(Flow(table, pl.MISS[table].priority(), Subsystem.PIPELINE, (), instructions))


def _forwarding(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
                paths: Mapping[tuple[str, str], PathPair], failed: frozenset[Link]) -> None:
    """Host classification, fabric VLAN in/out, and per-destination forwarding.

    A network with a shadow leaves every switch that has shadow paths (its
    hosts' switches) through a fast-failover group: primary path first,
    shadow path behind it (see `_failover_group`).
    """
    classify = pl.INGRESS_CLASSIFY.priority()
    tag = vid(network.vlan)
    for host in network.hosts:
        sent = Flow(
            Table.INGRESS,
            classify,
            Subsystem.FORWARD,
            match(in_port=host.port, eth_src=host.mac, vlan_vid=0),
            (WriteMetadata(network.vlan), GotoTable(Table.MIRROR_OUT)),
        )
        plans[host.switch].add(sent)
        plans[host.switch].demand[sent.cookie] = (network.name, host.name, "tx")
    for name, plan in plans.items():
        for port in fabric.fabric_ports(name):
            plan.add(
                Flow(
                    Table.INGRESS,
                    classify,
                    Subsystem.FORWARD,
                    match(in_port=port, vlan_vid=tag),
                    (ApplyActions((PopVlan(),)), WriteMetadata(network.vlan),
                     GotoTable(Table.FORWARD)),
                )
            )
        for host in network.hosts:
            key = match(metadata=network.vlan, eth_dst=host.mac)
            instructions: tuple[Instruction, ...]
            if host.switch == name:
                instructions = (WriteActions((Output(host.port),)), GotoTable(Table.MIRROR_IN))
            else:
                hop = fabric.next_hop_port(name, host.switch)
                if hop is None:
                    continue
                pair = paths.get((name, host.switch))
                if pair is not None:
                    instructions = _path_instructions(plan, fabric, network, pair, failed, False)
                else:
                    instructions = (
                        ApplyActions((PushVlan(), SetField("vlan_vid", tag), Output(hop))),
                    )
                policed = plan.best_effort.get((hop, network.name))
                if policed is not None:
                    instructions += (MeterInstruction(policed.meter_id),)
            delivered = Flow(Table.FORWARD, pl.FORWARD_HOSTS.priority(), Subsystem.FORWARD,
                             key, instructions)
            plan.add(delivered)
            if host.switch == name:
                plan.demand[delivered.cookie] = (network.name, host.name, "rx")


def _arp_responder(ip: str, mac: str, metadata: int) -> Flow:
    """Answer `who-has ip` in the network tagged `metadata` with `mac`, from the switch."""
    return Flow(
        Table.ARP,
        pl.ARP_RESPONDER.priority(),
        Subsystem.ARP,
        match(metadata=metadata, eth_type=ETH_TYPE_ARP, arp_op=1, arp_tpa=ip),
        (
            ApplyActions(
                (
                    RegMove("eth_src", "eth_dst", 48),
                    SetField("eth_src", mac),
                    SetField("arp_op", 2),
                    RegMove("arp_sha", "arp_tha", 48),
                    RegMove("arp_spa", "arp_tpa", 32),
                    SetField("arp_sha", mac),
                    SetField("arp_spa", ip),
                    Output(OFPP_IN_PORT),
                )
            ),
        ),
    )


def _security_blocks(plans: dict[str, SwitchPlan], network: Network,
                     sources: Mapping[str, SourceLimit | None]) -> None:
    """Drop (or meter) what blocked sources send into the network, at every primary host port.

    At the edge, before anything else sees it: a dropped source's packets
    reach neither the primary's hosts nor the mirror sessions (the shadow
    stops seeing the attack once it is blocked). A metered source's packets
    go through its meter (one per switch, shared by the switch's host ports)
    and then on as the port's classification would send them: from the
    host's MAC, untagged, into the network; at a service host's port only
    once tracked, so that its connections stay followed.
    """
    serviced = ({s.host for s in network.shadow.services
                 if _service_twin(network, s.host) is not None}
                if network.shadow is not None else set())
    for source, limit in sorted(sources.items()):
        field = {"eth_src": source} if ":" in source else {"eth_type": ETH_TYPE_IP,
                                                            "ipv4_src": source}
        for host in network.hosts:
            plan = plans[host.switch]
            if limit is None:
                plan.add(Flow(Table.INGRESS, pl.INGRESS_SECURITY.priority(),
                              Subsystem.SECURITY, match(in_port=host.port, **field), ()))
                continue
            if field.get("eth_src", host.mac) != host.mac:
                continue  # the port's classification drops another MAC anyway
            plan.meters[limit.meter_id] = Meter(limit.meter_id, (MeterBand(limit.kbps),))
            tracked = {"ct_state": (CT_TRK, CT_TRK)} if host.name in serviced else {}
            plan.add(Flow(Table.INGRESS, pl.INGRESS_SECURITY.priority(), Subsystem.SECURITY,
                          match(in_port=host.port, **{**field, "eth_src": host.mac},
                                vlan_vid=0, **tracked),
                          (MeterInstruction(limit.meter_id), WriteMetadata(network.vlan),
                           GotoTable(Table.MIRROR_OUT))))


def _probe_answers(plan: SwitchPlan) -> None:
    """Answers to the controller's health probes go to it, from whichever port they come."""
    plan.add(Flow(Table.INGRESS, pl.INGRESS_PROBE_ANSWER.priority(), Subsystem.HEALTH,
                  match(eth_type=ETH_TYPE_ARP, eth_dst=PROBE_MAC),
                  (ApplyActions((Output(OFPP_CONTROLLER, 128),)),)))


def _arp_responders(plans: dict[str, SwitchPlan], network: Network) -> None:
    """Each edge switch answers ARP for its networks' hosts; other ARP is dropped, not flooded."""
    groups: list[tuple[int, list[Host | ShadowHost]]] = [(network.vlan, list(network.hosts))]
    if network.shadow is not None:
        groups.append((network.shadow.vlan, list(network.shadow.hosts)))
    for metadata, hosts in groups:
        for switch in sorted({h.switch for h in hosts}):
            plan = plans[switch]
            plan.add(
                Flow(Table.ARP, pl.ARP_DROP.priority(), Subsystem.ARP,
                     match(eth_type=ETH_TYPE_ARP), ())
            )
            for host in hosts:
                plan.add(_arp_responder(str(host.ip), host.mac, metadata))


def _shadow_guard(plans: dict[str, SwitchPlan], network: Network) -> None:
    """Shadow hosts are receive-only: their ARP is answered locally, all else is dropped."""
    assert network.shadow is not None
    for host in network.shadow.hosts:
        plan = plans[host.switch]
        plan.add(
            Flow(
                Table.INGRESS,
                pl.INGRESS_CLASSIFY.priority(),
                Subsystem.SHADOW,
                match(in_port=host.port, eth_src=host.mac, vlan_vid=0, eth_type=ETH_TYPE_ARP),
                (WriteMetadata(network.shadow.vlan), GotoTable(Table.ARP)),
            )
        )
        plan.add(
            Flow(Table.INGRESS, pl.INGRESS_SHADOW_GUARD.priority(), Subsystem.SHADOW,
                 match(in_port=host.port), ())
        )


def filter_fields(flt: MatchFilter) -> dict[str, object]:
    """OXM fields (with prerequisites) for a mirror session's match filter."""
    fields: dict[str, object] = {}
    if flt.ip_proto is not None:
        fields["ip_proto"] = flt.ip_proto
    if flt.src is not None:
        fields["ipv4_src"] = str(flt.src)
    if flt.dst is not None:
        fields["ipv4_dst"] = str(flt.dst)
    l4 = {6: "tcp", 17: "udp"}.get(flt.ip_proto or 0)
    if l4 and flt.src_port is not None:
        fields[f"{l4}_src"] = flt.src_port
    if l4 and flt.dst_port is not None:
        fields[f"{l4}_dst"] = flt.dst_port
    if fields:
        fields["eth_type"] = ETH_TYPE_IP
    return fields


def _copy_actions(
    fabric: Fabric, network: Network, session: MirrorSession, switch: str, restore: bool
) -> tuple[Action, ...]:
    """Actions that deliver one copy to every destination of `session`, from `switch`.

    With `restore` the packet leaves the actions untagged again (for copies made
    inline in a flow); group buckets work on a clone and need not restore.
    """
    assert network.shadow is not None
    local: list[Action] = []
    remote: list[Action] = []
    for name in session.to:
        dest = network.shadow.host(name)
        port: int | None
        if dest.switch == switch:
            port = dest.port
        else:
            port = fabric.next_hop_port(switch, dest.switch)
            if port is None:
                continue
            remote += [PushVlan(), SetField("vlan_vid", vid(dest.mirror_vlan))]
        out = OutputTrunc(port, session.truncate) if session.truncate else Output(port)
        if dest.switch == switch:
            local.append(out)
        else:
            remote += [out, PopVlan()]
    if remote and not restore:
        remote.pop()  # a bucket's clone is discarded: no need to pop the last tag
    return tuple(local + remote)


def _mirror_group(actions: tuple[Action, ...], sample: float) -> tuple[str, tuple[Bucket, ...]]:
    """Group type and buckets for copying with 1-in-N per-flow sampling."""
    fraction = sample_fraction(sample)
    if fraction == 1:
        return "all", (Bucket(actions),)
    copies, total = fraction.numerator, fraction.denominator
    return "select", tuple(Bucket(actions if i < copies else (), weight=1) for i in range(total))


def _mirror_session(
    plans: dict[str, SwitchPlan],
    fabric: Fabric,
    network: Network,
    session: MirrorSession,
    index: int,
) -> None:
    """Copy flows at each source's edge switch, a group per switch, and transit hops."""
    assert network.shadow is not None
    fields = filter_fields(session.match)
    band = pl.MIRROR_SESSIONS[Table.MIRROR_OUT]
    priority = band.priority(100 * len(fields) + max(0, 99 - index))
    for switch in sorted({network.host(s).switch for s in session.sources}):
        plan = plans[switch]
        if session.truncate:
            # OVS drops output_trunc inside group buckets: copy inline, count per flow.
            copy = ApplyActions(_copy_actions(fabric, network, session, switch, restore=True))
            counted_by = None
        else:
            actions = _copy_actions(fabric, network, session, switch, restore=False)
            gtype, buckets = _mirror_group(actions, session.sample)
            group = pl.with_content_id(Group(0, gtype, buckets), set(plan.groups))
            plan.groups[group.group_id] = group
            copy_buckets = tuple(i for i, b in enumerate(buckets) if b.actions)
            plan.mirror_groups[group.group_id] = MirrorGroupInfo(session.name, copy_buckets)
            copy = ApplyActions((GroupAction(group.group_id),))
            counted_by = group.group_id
        for source in session.sources:
            host = network.host(source)
            if host.switch != switch:
                continue
            flows = []
            if session.direction in ("out", "both"):
                flows.append(Flow(Table.MIRROR_OUT, priority, Subsystem.MIRROR,
                                  match(in_port=host.port, **fields),
                                  (copy, GotoTable(Table.ARP))))
            if session.direction in ("in", "both"):
                flows.append(Flow(Table.MIRROR_IN, priority, Subsystem.MIRROR,
                                  match(metadata=network.vlan, eth_dst=host.mac, **fields),
                                  (copy,)))
            for flow in flows:
                plan.add(flow)
                if counted_by is None:
                    plan.mirror_flows[flow.key] = session.name
        for name in session.to:
            dest = network.shadow.host(name)
            for hop, in_port, out_port in fabric.hops(switch, dest.switch):
                actions_at_hop = (Output(out_port),) if out_port else (
                    PopVlan(), Output(dest.port))
                plans[hop].add(
                    Flow(Table.INGRESS, pl.INGRESS_MIRROR_TRANSIT.priority(), Subsystem.MIRROR,
                         match(in_port=in_port, vlan_vid=vid(dest.mirror_vlan)),
                         (ApplyActions(actions_at_hop),))
                )
