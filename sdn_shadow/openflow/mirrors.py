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

from sdn_shadow.config.model import MatchFilter, MirrorSession, Network, ShadowHost
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


def readdressed(mac: str) -> str:
    """`mac` with its locally administered bit flipped: still unicast, never `mac` itself."""
    first, rest = mac.split(":", 1)
    return f"{int(first, 16) ^ 0x02:02x}:{rest}"


def _copy_actions(
    fabric: Fabric, network: Network, session: MirrorSession, switch: str, restore: bool,
    addressed_to: str | None = None,
) -> tuple[Action, ...]:
    """Actions that deliver one copy to every destination of `session`, from `switch`.

    `addressed_to` is the destination MAC every copy these actions make carries,
    when known: with `deliver: port`, the copies to twins of that MAC leave last,
    readdressed (see `readdressed`), so the twin's network stack drops them.
    With `restore` the packet leaves the actions as it came (for copies made
    inline in a flow); group buckets work on a clone and need not restore.
    """
    assert network.shadow is not None
    dests = [network.shadow.host(name) for name in session.to]
    readdress = session.deliver == "port" and addressed_to is not None
    plain = [d for d in dests if not (readdress and d.mac == addressed_to)]
    hit = [d for d in dests if d not in plain]
    actions = _deliveries(fabric, session, switch, plain)
    if hit:
        assert addressed_to is not None
        actions += [SetField("eth_dst", readdressed(addressed_to)),
                    *_deliveries(fabric, session, switch, hit)]
        if restore:
            actions.append(SetField("eth_dst", addressed_to))
    if actions and isinstance(actions[-1], PopVlan) and not restore:
        actions.pop()  # a bucket's clone is discarded: no need to pop the last tag
    return tuple(actions)


def _deliveries(fabric: Fabric, session: MirrorSession, switch: str,
                dests: list[ShadowHost]) -> list[Action]:
    """One copy to each of `dests` from `switch`: local ports first, then tagged hops."""
    local: list[Action] = []
    remote: list[Action] = []
    for dest in dests:
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
    return local + remote


def _mirror_group(actions: tuple[Action, ...], sample: float) -> tuple[str, tuple[Bucket, ...]]:
    """Group type and buckets for copying with 1-in-N per-flow sampling."""
    fraction = sample_fraction(sample)
    if fraction == 1:
        return "all", (Bucket(actions),)
    copies, total = fraction.numerator, fraction.denominator
    return "select", tuple(Bucket(actions if i < copies else (), weight=1) for i in range(total))


def _peer_twin_macs(network: Network, session: MirrorSession, source: str) -> list[str]:
    """MACs of other primaries that a destination twin shares: what `source` sends to
    them is addressed to that twin too (readdressed with `deliver: port`)."""
    assert network.shadow is not None
    if session.deliver != "port":
        return []
    primaries = {h.mac for h in network.hosts if h.name != source}
    return sorted({network.shadow.host(name).mac for name in session.to} & primaries)


class _Copy:
    """The copy instruction of one session on one switch, per destination MAC copied.

    Group sessions share one group per distinct bucket content (both directions
    share it unless a direction's copies are readdressed); truncating sessions
    copy inline and are counted per flow.
    """

    def __init__(self, plan: SwitchPlan, fabric: Fabric, network: Network,
                 session: MirrorSession, switch: str) -> None:
        self.plan, self.fabric, self.network = plan, fabric, network
        self.session, self.switch = session, switch
        self.groups: dict[tuple[Action, ...], int] = {}

    @property
    def inline(self) -> bool:
        """Copies made in the flow (OVS drops output_trunc inside group buckets)."""
        return self.session.truncate is not None

    def instruction(self, addressed_to: str | None) -> ApplyActions:
        """Copy what a flow matches, whose destination MAC is `addressed_to` when known."""
        if self.inline:
            return ApplyActions(_copy_actions(self.fabric, self.network, self.session,
                                              self.switch, True, addressed_to))
        actions = _copy_actions(self.fabric, self.network, self.session, self.switch, False,
                                addressed_to)
        if actions not in self.groups:
            gtype, buckets = _mirror_group(actions, self.session.sample)
            group = pl.with_content_id(Group(0, gtype, buckets), set(self.plan.groups))
            self.plan.groups[group.group_id] = group
            copy_buckets = tuple(i for i, b in enumerate(buckets) if b.actions)
            self.plan.mirror_groups[group.group_id] = MirrorGroupInfo(self.session.name,
                                                                      copy_buckets)
            self.groups[actions] = group.group_id
        return ApplyActions((GroupAction(self.groups[actions]),))


def mirror_session(
    plans: dict[str, SwitchPlan],
    fabric: Fabric,
    network: Network,
    session: MirrorSession,
    index: int,
) -> None:
    """Copy flows at each source's edge switch, groups per switch, and transit hops."""
    assert network.shadow is not None
    fields = filter_fields(session.match)
    band = pl.MIRROR_SESSIONS[Table.MIRROR_OUT]
    # More fields first, then the earlier session; the flow readdressing what a
    # source sends to a twin's primary stands in for the session's own flow, one
    # step above it and below every flow that outranks it.
    offset = 100 * len(fields) + 2 * max(0, 49 - index)
    priority, peer_priority = band.priority(offset), band.priority(offset + 1)
    for switch in sorted({network.host(s).switch for s in session.sources}):
        plan = plans[switch]
        copy = _Copy(plan, fabric, network, session, switch)
        for source in session.sources:
            host = network.host(source)
            if host.switch != switch:
                continue
            flows = []
            if session.direction in ("out", "both"):
                flows.append(Flow(Table.MIRROR_OUT, priority, Subsystem.MIRROR,
                                  match(in_port=host.port, **fields),
                                  (copy.instruction(None), GotoTable(Table.ARP))))
                flows += [Flow(Table.MIRROR_OUT, peer_priority, Subsystem.MIRROR,
                               match(in_port=host.port, eth_dst=mac, **fields),
                               (copy.instruction(mac), GotoTable(Table.ARP)))
                          for mac in _peer_twin_macs(network, session, source)]
            if session.direction in ("in", "both"):
                flows.append(Flow(Table.MIRROR_IN, priority, Subsystem.MIRROR,
                                  match(metadata=network.vlan, eth_dst=host.mac, **fields),
                                  (copy.instruction(host.mac),)))
            for flow in flows:
                plan.add(flow)
                if copy.inline:
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
