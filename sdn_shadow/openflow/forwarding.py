"""Forwarding: table misses, host and fabric classification, per-destination entries, ARP.

Many entries are the same on many switches (a host's ARP answer, a fabric
port's classification, a remote host's entry behind the same ports and
group): each step builds such a flow once and puts the one object in every
plan that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdn_shadow.config.model import Host, Network, ShadowHost
from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    ETH_TYPE_ARP,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    ApplyActions,
    Flow,
    GotoTable,
    Instruction,
    MeterInstruction,
    Output,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
    match,
)
from sdn_shadow.openflow.pipeline import Subsystem, Table
from sdn_shadow.openflow.plan import Link, SwitchPlan, vid
from sdn_shadow.openflow.routes import Memo, path_instructions
from sdn_shadow.openflow.services import service_twin
from sdn_shadow.paths import PathPair
from sdn_shadow.probe import PROBE_MAC
from sdn_shadow.topology import Fabric


def table_misses(plan: SwitchPlan) -> None:
    """Each table's miss entry: ingress and forward drop, the others go on."""
    misses = {
        Table.INGRESS: (),
        Table.MIRROR_OUT: (GotoTable(Table.ARP),),
        Table.ARP: (GotoTable(Table.FORWARD),),
        Table.FORWARD: (),
        Table.MIRROR_IN: (),  # the action set (output written by forward) runs
        Table.TRANSIT: (),
    }
    for table, instructions in misses.items():
        plan.add(Flow(table, pl.MISS[table].priority(), Subsystem.PIPELINE, (), instructions))


def probe_answers(plan: SwitchPlan) -> None:
    """Answers to the controller's health probes go to it, from whichever port they come."""
    plan.add(Flow(Table.INGRESS, pl.INGRESS_PROBE_ANSWER.priority(), Subsystem.HEALTH,
                  match(eth_type=ETH_TYPE_ARP, eth_dst=PROBE_MAC),
                  (ApplyActions((Output(OFPP_CONTROLLER, 128),)),)))


def forwarding(plans: dict[str, SwitchPlan], fabric: Fabric, network: Network,
               paths: Mapping[tuple[str, str], PathPair], failed: frozenset[Link]) -> None:
    """Host classification, fabric VLAN in/out, and per-destination forwarding.

    A network with a shadow leaves every switch that has shadow paths (its
    hosts' switches) through a fast-failover group: primary path first,
    shadow path behind it (see `routes._failover_group`).

    What the network's own ports on a switch send to remote hosts mostly
    goes one way (the same next hop and group): that way is one entry per
    port, by (network, in_port), below the per-host entries; a remote host
    gets its own entry only where it goes another way, or where the switch
    forwards the network's traffic from other switches to it (a transit
    hop matches by destination alone). So a switch holds the hosts it
    delivers to and transits for, not every host of every network it serves;
    a switch no route of the network crosses holds nothing of it (the
    routes are `Fabric.path`'s; failover and moves take the shadow paths).
    """
    classify = pl.INGRESS_CLASSIFY.priority()  # fabric ports: only those routes come in by
    tag = vid(network.vlan)
    meta = WriteMetadata(network.vlan)
    for host in network.hosts:
        sent = Flow(Table.INGRESS, classify, Subsystem.FORWARD,
                    match(in_port=host.port, eth_src=host.mac, vlan_vid=0),
                    (meta, GotoTable(Table.MIRROR_OUT)))
        plans[host.switch].add(sent)
        plans[host.switch].demand[sent.cookie] = (network.name, host.name, "tx")
    untag = (ApplyActions((PopVlan(),)), meta, GotoTable(Table.FORWARD))
    keys = [(host, match(metadata=network.vlan, eth_dst=host.mac)) for host in network.hosts]
    senders = _senders(network)
    transit, arrivals = routes_through(fabric, {h.switch for h in network.hosts})
    by_port: dict[int, Flow] = {}  # fabric port -> its classification entry
    plain: dict[int, tuple[Instruction, ...]] = {}  # out port -> tagged output
    metered: dict[tuple[int, int], tuple[Instruction, ...]] = {}
    shared: dict[tuple[object, int], Flow] = {}  # (host index or port, id of instructions)
    memo: Memo = {}
    hosts_band, default_band = pl.FORWARD_HOSTS.priority(), pl.FORWARD_DEFAULT.priority()
    for name, plan in plans.items():
        passing = transit.get(name, frozenset())
        if name not in senders and not passing:
            continue  # no route of the network's crosses this switch
        for port in arrivals.get(name, ()):
            flow = by_port.get(port)
            if flow is None:
                flow = by_port[port] = Flow(Table.INGRESS, classify, Subsystem.FORWARD,
                                            match(in_port=port, vlan_vid=tag), untag)
            plan.add(flow)
        remote: list[tuple[int, str, tuple[Instruction, ...]]] = []
        for index, (host, key) in enumerate(keys):
            instructions: tuple[Instruction, ...]
            if host.switch == name:
                delivered = Flow(Table.FORWARD, hosts_band, Subsystem.FORWARD, key,
                                 (WriteActions((Output(host.port),)),
                                  GotoTable(Table.MIRROR_IN)))
                plan.add(delivered)
                plan.demand[delivered.cookie] = (network.name, host.name, "rx")
                continue
            if name not in senders and host.switch not in passing:
                continue  # a pure transit hop holds what it forwards
            hop = fabric.next_hop_port(name, host.switch)
            if hop is None:
                continue
            pair = paths.get((name, host.switch))
            if pair is not None:
                instructions = path_instructions(plan, fabric, network, pair, failed, False,
                                                 memo)
            else:
                instructions = plain.get(hop) or plain.setdefault(hop, (
                    ApplyActions((PushVlan(), SetField("vlan_vid", tag), Output(hop))),))
            policed = plan.best_effort.get((hop, network.name))
            if policed is not None:
                with_meter = (id(instructions), policed.meter_id)
                instructions = metered.get(with_meter) or metered.setdefault(
                    with_meter, instructions + (MeterInstruction(policed.meter_id),))
            remote.append((index, host.switch, instructions))
        # `instructions` are kept alive by the dicts above: their ids name them here
        default = _default_way(remote, passing) if name in senders else None
        if default is not None:
            for port in senders[name]:
                flow = shared.get((("port", port), id(default)))
                if flow is None:
                    flow = shared[(("port", port), id(default))] = Flow(
                        Table.FORWARD, default_band, Subsystem.FORWARD,
                        match(metadata=network.vlan, in_port=port), default)
                plan.add(flow)
        for index, switch, instructions in remote:
            if instructions is default and switch not in passing:
                continue
            flow = shared.get((index, id(instructions)))
            if flow is None:
                flow = shared[(index, id(instructions))] = Flow(
                    Table.FORWARD, hosts_band, Subsystem.FORWARD, keys[index][1], instructions)
            plan.add(flow)


def _senders(network: Network) -> dict[str, list[int]]:
    """Switch -> the ports the network's traffic enters the forward table by, other than
    fabric ports: its hosts' and the twins that answer steered connections."""
    ports: dict[str, set[int]] = {}
    for host in network.hosts:
        ports.setdefault(host.switch, set()).add(host.port)
    if network.shadow is not None:
        for service in network.shadow.services:
            twin = service_twin(network, service.host)
            if twin is not None:
                ports.setdefault(twin.switch, set()).add(twin.port)
    return {switch: sorted(found) for switch, found in ports.items()}


def _default_way(remote: list[tuple[int, str, tuple[Instruction, ...]]],
                 passing: frozenset[str]) -> tuple[Instruction, ...] | None:
    """The instructions most remote hosts not reached through this switch share (the
    first of equals, in host order), if that saves entries."""
    counts: dict[int, int] = {}
    first: dict[int, tuple[Instruction, ...]] = {}
    for _, switch, instructions in remote:
        if switch not in passing:
            counts[id(instructions)] = counts.get(id(instructions), 0) + 1
            first.setdefault(id(instructions), instructions)
    if not counts:
        return None
    best = max(counts, key=lambda k: counts[k])  # max keeps the first of equals
    return first[best] if counts[best] > 1 else None


def routes_through(fabric: Fabric, switches: set[str]
                   ) -> tuple[dict[str, frozenset[str]], dict[str, tuple[int, ...]]]:
    """Where the routes between `switches` go (each hop forwards by its own route,
    `Fabric.path`): switch -> the destinations among `switches` whose traffic from the
    others it forwards as a middle hop, and switch -> the fabric ports that traffic
    comes in by (middle hops and destinations)."""
    key = ("routes_through", frozenset(switches))
    found = fabric.cache.get(key)
    if found is None:
        through: dict[str, set[str]] = {}
        ports: dict[str, set[int]] = {}
        for dst in switches:
            for src in switches:
                hop = src
                while hop != dst:
                    route = fabric.path(hop, dst)
                    if not route or len(route) < 2:
                        break
                    ports.setdefault(route[1], set()).add(fabric.port_towards(route[1], hop))
                    hop = route[1]
                    if hop != dst:
                        through.setdefault(hop, set()).add(dst)
        found = fabric.cache[key] = ({k: frozenset(v) for k, v in through.items()},
                                     {k: tuple(sorted(v)) for k, v in ports.items()})
    assert isinstance(found, tuple)
    return found


def transit_hops(fabric: Fabric, switches: set[str]) -> dict[str, frozenset[str]]:
    """Switch -> the destinations among `switches` whose traffic from the others it
    forwards as a middle hop (see `routes_through`)."""
    return routes_through(fabric, switches)[0]


def arp_responder(ip: str, mac: str, metadata: int) -> Flow:
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


def arp_responders(plans: dict[str, SwitchPlan], network: Network) -> None:
    """Each edge switch answers ARP for its networks' hosts; other ARP is dropped, not flooded."""
    groups: list[tuple[int, list[Host | ShadowHost]]] = [(network.vlan, list(network.hosts))]
    if network.shadow is not None:
        groups.append((network.shadow.vlan, list(network.shadow.hosts)))
    drop = Flow(Table.ARP, pl.ARP_DROP.priority(), Subsystem.ARP, match(eth_type=ETH_TYPE_ARP),
                ())
    for metadata, hosts in groups:
        answers = [arp_responder(str(host.ip), host.mac, metadata) for host in hosts]
        for switch in sorted({h.switch for h in hosts}):
            plan = plans[switch]
            plan.add(drop)
            for answer in answers:
                plan.add(answer)


def shadow_guard(plans: dict[str, SwitchPlan], network: Network) -> None:
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
