"""Mirror sessions: copy flows at the sources' switches, copy groups, transit hops.

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

from fractions import Fraction

from sdn_shadow.config.model import MatchFilter, MirrorSession, Network
from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    ETH_TYPE_IP,
    Action,
    ApplyActions,
    Bucket,
    Flow,
    GotoTable,
    Group,
    GroupAction,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    SetField,
    match,
)
from sdn_shadow.openflow.pipeline import Subsystem, Table
from sdn_shadow.openflow.plan import MirrorGroupInfo, SwitchPlan, vid
from sdn_shadow.topology import Fabric

MAX_SAMPLE_BUCKETS = 256


def sample_fraction(sample: float) -> Fraction:
    """The fraction actually sampled: `sample` as k/2**m, 2**m <= 256 (at least 1/256)."""
    buckets = 1
    while buckets < MAX_SAMPLE_BUCKETS and (sample * buckets) % 1:
        buckets *= 2
    return Fraction(max(1, round(sample * buckets)), buckets)


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


def mirror_session(
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
