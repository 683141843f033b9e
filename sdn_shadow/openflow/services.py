"""Edge policies at host ports: service steering by connection tracking, security blocks."""

from __future__ import annotations

from collections.abc import Mapping

from sdn_shadow.config.model import Network, ShadowHost
from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_NEW,
    CT_TRK,
    ETH_TYPE_IP,
    ApplyActions,
    Ct,
    Flow,
    GotoTable,
    Instruction,
    Meter,
    MeterBand,
    MeterInstruction,
    Output,
    SetField,
    WriteActions,
    WriteMetadata,
    match,
)
from sdn_shadow.openflow.pipeline import Subsystem, Table
from sdn_shadow.openflow.plan import HOST_MARK, TWIN_MARK, SourceLimit, SwitchPlan


def service_steering(plans: dict[str, SwitchPlan], network: Network, steered: set[str]) -> None:
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
        twin = service_twin(network, name)
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


def service_twin(network: Network, name: str) -> ShadowHost | None:
    """The twin that serves steered connections of service host `name`: same MAC, IP, switch."""
    assert network.shadow is not None
    host = network.host(name)
    return next((t for t in network.shadow.hosts if t.primary == name and t.mac == host.mac
                 and t.ip == host.ip and t.switch == host.switch), None)


def _commit(zone: int, mark: int) -> Ct:
    """Commit the connection in `zone` with `mark`."""
    return Ct(zone, commit=True, actions=(SetField("ct_mark", mark),))


def _service_flow(band: pl.Band, offset: int, instructions: tuple[Instruction, ...],
                  **fields: object) -> Flow:
    """An IP flow of the service subsystem in `band`."""
    return Flow(band.table, band.priority(offset), Subsystem.SERVICE,
                match(eth_type=ETH_TYPE_IP, **fields), instructions)


def security_blocks(plans: dict[str, SwitchPlan], network: Network,
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
                 if service_twin(network, s.host) is not None}
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
