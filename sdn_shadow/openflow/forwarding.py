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
    """
    classify = pl.INGRESS_CLASSIFY.priority()
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
    by_port: dict[int, Flow] = {}  # fabric port -> its classification entry
    plain: dict[int, tuple[Instruction, ...]] = {}  # out port -> tagged output
    metered: dict[tuple[int, int], tuple[Instruction, ...]] = {}
    shared: dict[tuple[int, int], Flow] = {}  # (host index, id of instructions) -> entry
    memo: Memo = {}
    hosts_band = pl.FORWARD_HOSTS.priority()
    for name, plan in plans.items():
        for port in fabric.fabric_ports(name):
            flow = by_port.get(port)
            if flow is None:
                flow = by_port[port] = Flow(Table.INGRESS, classify, Subsystem.FORWARD,
                                            match(in_port=port, vlan_vid=tag), untag)
            plan.add(flow)
        for index, (host, key) in enumerate(keys):
            instructions: tuple[Instruction, ...]
            if host.switch == name:
                delivered = Flow(Table.FORWARD, hosts_band, Subsystem.FORWARD, key,
                                 (WriteActions((Output(host.port),)),
                                  GotoTable(Table.MIRROR_IN)))
                plan.add(delivered)
                plan.demand[delivered.cookie] = (network.name, host.name, "rx")
                continue
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
            # `instructions` is kept alive by the dicts above: its id names it here
            flow = shared.get((index, id(instructions)))
            if flow is None:
                flow = shared[(index, id(instructions))] = Flow(
                    Table.FORWARD, hosts_band, Subsystem.FORWARD, key, instructions)
            plan.add(flow)


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
