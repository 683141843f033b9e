"""An in-memory OpenFlow 1.3 switch and fabric that execute our messages on dict packets.

Used by component tests to drive the real compiler and core without a switch:
apply the messages the core returns, inject a packet at a port, and see which
ports it (and its copies) come out of, across fabric links. Meters don't police
here (that is rate-based); a packet records the ids of the meters it passed in
`packet["meters"]`, in order, across switches.

Connection tracking follows OVS: packets start untracked (`ct_state` 0); a `Ct`
looks the packet up in its zone of the switch's `connections` and, with
`table`, forks the pipeline: a tracked copy (`ct_state`/`ct_zone`/`ct_mark`
set) recirculates into that table with the metadata and action set frozen,
while the packet itself continues the current actions untracked (OVS clears
the ct fields after every `ct`, so without `table` nothing sees the result).
An original-direction packet is +new until the connection has seen a reply
(Linux conntrack; OVS's userspace one too for a repeated TCP SYN or ICMP echo,
and the second UDP packet), then +est; reply-direction packets are +est+rpl.
Each switch has its own table; bridges on one host (Mininet) share their
datapath's one table: `FakeFabric(config, shared_conntrack=True)`. Not modelled:
TCP flags and state, ICMP ids/types and related packets, NAT, timeouts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from sdn_shadow.config.model import Config
from sdn_shadow.core import InstalledFlow
from sdn_shadow.openflow.messages import (
    CT_EST,
    CT_INV,
    CT_NEW,
    CT_RPL,
    CT_TRK,
    ETH_TYPE_IP,
    IPPROTO,
    MATCH_FIELDS,
    OFPM_ALL,
    OFPP_IN_PORT,
    OFPTT_ALL,
    ApplyActions,
    Barrier,
    Ct,
    Flow,
    FlowAdd,
    FlowDelete,
    GotoTable,
    Group,
    GroupAction,
    GroupAdd,
    GroupDelete,
    GroupModify,
    Message,
    Meter,
    MeterAdd,
    MeterDelete,
    MeterInstruction,
    MeterModify,
    Output,
    OutputTrunc,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
    content_hash,
)
from sdn_shadow.openflow.wire import check_meter

Packet = dict[str, object]
ConnKey = tuple[int, int, str, str, int | None, int | None]
"""A connection in its original direction: zone, ip_proto, src, dst, src port, dst port."""
Fork = Callable[[Packet, int], None]

CT_FIELDS = ("ct_state", "ct_zone", "ct_mark")
UNTRACKED: Packet = dict.fromkeys(CT_FIELDS, 0)
MAX_RECIRCULATIONS = 8
"""Recirculations per packet before the fake calls it a loop (OVS silently drops)."""
_PORTS = {IPPROTO["tcp"]: ("tcp_src", "tcp_dst"), IPPROTO["udp"]: ("udp_src", "udp_dst")}


class FakeSwitchError(AssertionError):
    """Something a real switch would reject, or an ambiguous lookup."""


def _field_matches(name: str, want: object, have: object) -> bool:
    kind = MATCH_FIELDS[name][1]
    if have is None:
        return False
    if isinstance(want, tuple):
        value, mask = want
        if kind == "ip":
            net = ipaddress.IPv4Network(f"{value}/{mask}")
            return ipaddress.IPv4Address(have) in net
        return (int(have) & int(mask)) == (int(value) & int(mask))
    return want == have


def flow_matches(flow: Flow, packet: Packet) -> bool:
    """Whether `packet` (with `in_port` and `metadata`) matches `flow`."""
    return all(_field_matches(k, v, packet.get(k)) for k, v in flow.match)


def conn_key(packet: Packet, zone: int) -> ConnKey | None:
    """The conntrack key of `packet` in `zone`, as sent; None if it is not IPv4."""
    if packet.get("eth_type") != ETH_TYPE_IP:
        return None
    proto = int(packet.get("ip_proto") or 0)  # type: ignore[call-overload]
    src, dst = _PORTS.get(proto, (None, None))  # ICMP and others: addresses only
    sport = None if src is None else packet.get(src)
    dport = None if dst is None else packet.get(dst)
    return (zone, proto, str(packet.get("ipv4_src")), str(packet.get("ipv4_dst")),
            sport, dport)  # type: ignore[return-value]


def _reversed(key: ConnKey) -> ConnKey:
    """The key of the reply direction."""
    zone, proto, src, dst, sport, dport = key
    return (zone, proto, dst, src, dport, sport)


@dataclass
class Connection:
    """A committed connection: its `ct_mark`, and whether a reply has been seen."""

    mark: int = 0
    replied: bool = False


def _check_actions(actions: tuple, where: str, action_set: bool = False) -> None:
    """Reject what OVS rejects: ct in an action set, writing ct fields outside `ct`."""
    for action in actions:
        if isinstance(action, Ct) and action_set:
            raise FakeSwitchError(f"{where}: ct is not allowed in an action set")
        if isinstance(action, SetField | RegMove):
            dst = action.field if isinstance(action, SetField) else action.dst
            if dst in CT_FIELDS:
                raise FakeSwitchError(f"{where}: cannot set {dst} outside of a ct action")


def _match_subset(general: tuple, specific: tuple) -> bool:
    """Non-strict delete semantics: every field of `general` is in `specific`."""
    spec = dict(specific)
    return all(spec.get(k) == v for k, v in general)


@dataclass
class FakeSwitch:
    """Flow tables, groups and meters of one switch."""

    dpid: int
    name: str
    flows: dict[tuple, Flow] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    meters: dict[int, Meter] = field(default_factory=dict)
    down: set[int] = field(default_factory=set)
    """Ports whose link is down: fast-failover skips them, output to them is lost."""
    connections: dict[ConnKey, Connection] = field(default_factory=dict)
    """The conntrack table: committed connections by original-direction key."""

    def flush_conntrack(self) -> None:
        """Forget every connection (`ovs-appctl dpctl/flush-conntrack`)."""
        self.connections.clear()

    def apply(self, msgs: list[Message]) -> None:
        """Apply messages in order, as OVS would (rejecting what it would reject)."""
        for msg in msgs:
            if isinstance(msg, FlowAdd):
                for inst in msg.flow.instructions:
                    _check_actions(getattr(inst, "actions", ()), self.name,
                                   action_set=isinstance(inst, WriteActions))
                    for action in getattr(inst, "actions", ()):
                        if isinstance(action, GroupAction) and action.group_id not in self.groups:
                            raise FakeSwitchError(f"{self.name}: flow uses missing group "
                                                  f"{action.group_id:#x}")
                for meter_id in _meters_used(msg.flow):
                    if meter_id not in self.meters:
                        raise FakeSwitchError(f"{self.name}: flow uses missing meter {meter_id}")
                self.flows[msg.flow.key] = msg.flow
            elif isinstance(msg, FlowDelete):
                self._delete(msg)
            elif isinstance(msg, GroupAdd | GroupModify):
                for bucket in msg.group.buckets:
                    _check_actions(bucket.actions, self.name)
                if isinstance(msg, GroupAdd) and msg.group.group_id in self.groups:
                    raise FakeSwitchError(f"{self.name}: group {msg.group.group_id:#x} exists")
                self.groups[msg.group.group_id] = msg.group
            elif isinstance(msg, GroupDelete):
                self.groups.pop(msg.group_id, None)
                for key, flow in list(self.flows.items()):
                    if msg.group_id in _groups_used(flow):
                        del self.flows[key]  # OpenFlow deletes flows using a deleted group
            elif isinstance(msg, MeterAdd | MeterModify):
                self._set_meter(msg.meter, replace=isinstance(msg, MeterModify))
            elif isinstance(msg, MeterDelete):
                gone = set(self.meters) if msg.meter_id == OFPM_ALL else {msg.meter_id}
                for meter_id in gone:
                    self.meters.pop(meter_id, None)  # OVS: no error for a missing meter
                for key, flow in list(self.flows.items()):
                    if gone & _meters_used(flow):
                        del self.flows[key]  # OpenFlow deletes flows using a deleted meter
            elif not isinstance(msg, Barrier):
                raise FakeSwitchError(f"unknown message {msg!r}")

    def _set_meter(self, meter: Meter, replace: bool) -> None:
        """Add or modify a meter, rejecting what OVS 3.1's userspace datapath rejects."""
        try:
            check_meter(meter)
        except ValueError as exc:
            raise FakeSwitchError(f"{self.name}: {exc}") from None
        if any(band.type != "drop" for band in meter.bands):
            raise FakeSwitchError(f"{self.name}: meter {meter.meter_id}: OVS only has drop bands")
        if replace and meter.meter_id not in self.meters:
            raise FakeSwitchError(f"{self.name}: meter {meter.meter_id} does not exist")
        if not replace and meter.meter_id in self.meters:
            raise FakeSwitchError(f"{self.name}: meter {meter.meter_id} exists")
        self.meters[meter.meter_id] = meter

    def _delete(self, msg: FlowDelete) -> None:
        for key, flow in list(self.flows.items()):
            if (flow.cookie & msg.cookie_mask) != (msg.cookie & msg.cookie_mask):
                continue
            if msg.table_id != OFPTT_ALL and flow.table_id != msg.table_id:
                continue
            if msg.strict:
                if flow.priority == msg.priority and flow.match == msg.match:
                    del self.flows[key]
            elif _match_subset(msg.match, flow.match):
                del self.flows[key]

    def installed_flows(self) -> list[InstalledFlow]:
        """The table as a flow stats reply would show it."""
        return [InstalledFlow(f.table_id, f.priority, f.match, f.cookie)
                for f in self.flows.values()]

    def installed_meters(self) -> list[Meter]:
        """The meters, by id, as a meter config stats reply would show them."""
        return [self.meters[meter_id] for meter_id in sorted(self.meters)]

    def lookup(self, table_id: int, packet: Packet) -> Flow | None:
        """The highest-priority flow of `table_id` matching `packet` (ties are an error)."""
        hits = [f for f in self.flows.values()
                if f.table_id == table_id and flow_matches(f, packet)]
        if not hits:
            return None
        hits.sort(key=lambda f: -f.priority)
        if len(hits) > 1 and hits[0].priority == hits[1].priority:
            raise FakeSwitchError(f"{self.name}: ambiguous lookup in table {table_id}: "
                                  f"{hits[0].match} vs {hits[1].match}")
        return hits[0]

    def process(self, in_port: int, packet: Packet) -> list[tuple[int, Packet]]:
        """Run `packet` through the pipeline; return (port, packet) for every output."""
        pkt = {**packet, "in_port": in_port, "metadata": 0, **UNTRACKED}
        pkt.setdefault("vlan_vid", 0)
        outputs: list[tuple[int, Packet]] = []
        self._pipeline(pkt, 0, {}, outputs, 0)
        return outputs

    def _pipeline(self, pkt: Packet, table_id: int | None, action_set: dict[str, object],
                  outputs: list[tuple[int, Packet]], depth: int) -> None:
        """Run `pkt` from `table_id` to the end of the pipeline, then its action set."""

        def fork(tracked: Packet, table: int) -> None:
            # ct(table=): the copy resumes with the metadata and action set frozen now
            if depth >= MAX_RECIRCULATIONS:
                raise FakeSwitchError(f"{self.name}: recirculation loop (table {table})")
            self._pipeline(tracked, table, dict(action_set), outputs, depth + 1)

        while table_id is not None:
            flow = self.lookup(table_id, pkt)
            if flow is None:
                break  # table miss without a miss flow: drop (OpenFlow 1.3 default)
            table_id = None
            for inst in flow.instructions:
                if isinstance(inst, ApplyActions):
                    self._run(inst.actions, pkt, outputs, fork)
                elif isinstance(inst, WriteActions):
                    for action in inst.actions:
                        action_set[type(action).__name__] = action
                elif isinstance(inst, WriteMetadata):
                    old = int(pkt["metadata"])  # type: ignore[arg-type]
                    pkt["metadata"] = (old & ~inst.mask) | (inst.metadata & inst.mask)
                elif isinstance(inst, GotoTable):
                    table_id = inst.table_id
                elif isinstance(inst, MeterInstruction):
                    pkt["meters"] = (*pkt.get("meters", ()), inst.meter_id)  # type: ignore[misc]
        actions = tuple(action_set.values())
        action_set.clear()  # OVS empties it before executing it
        self._run(actions, pkt, outputs, fork)

    def _conntrack(self, ct: Ct, pkt: Packet) -> Packet:
        """Pass `pkt` through zone `ct.zone` (committing if asked); return its ct fields."""
        key = conn_key(pkt, ct.zone)
        if key is None:
            return {"ct_state": CT_TRK | CT_INV, "ct_zone": ct.zone, "ct_mark": 0}
        conn = self.connections.get(key)
        if conn is not None:
            state = CT_TRK | (CT_EST if conn.replied else CT_NEW)
        elif (conn := self.connections.get(_reversed(key))) is not None:
            conn.replied = True
            state = CT_TRK | CT_EST | CT_RPL
        else:
            state = CT_TRK | CT_NEW
        if ct.commit:
            if conn is None:
                conn = self.connections[key] = Connection()
            for action in ct.actions:  # exec(set_field:v->ct_mark)
                conn.mark = int(action.value)
        return {"ct_state": state, "ct_zone": ct.zone, "ct_mark": conn.mark if conn else 0}

    def _run(self, actions: tuple, pkt: Packet, outputs: list[tuple[int, Packet]],
             fork: Fork) -> None:
        for action in actions:
            if isinstance(action, Output | OutputTrunc):
                port = pkt["in_port"] if action.port == OFPP_IN_PORT else action.port
                if port == pkt["in_port"] and action.port != OFPP_IN_PORT:
                    continue  # OpenFlow never outputs to the in_port implicitly
                out = {k: v for k, v in pkt.items()
                       if k not in ("in_port", "metadata", *CT_FIELDS)}
                if isinstance(action, OutputTrunc):
                    out["length"] = min(int(out.get("length", 100)), action.max_len)
                outputs.append((int(port), out))
            elif isinstance(action, GroupAction):
                self._group(self.groups[action.group_id], pkt, outputs, fork)
            elif isinstance(action, Ct):
                tracked = self._conntrack(action, pkt)
                if action.table is not None:
                    fork({**pkt, **tracked}, action.table)
                pkt.update(UNTRACKED)  # OVS: ct fields live only in the recirculated copy
            elif isinstance(action, PushVlan):
                if pkt.get("vlan_vid"):
                    raise FakeSwitchError("double tagging is not modelled")
                pkt["vlan_vid"] = 0x1000
            elif isinstance(action, PopVlan):
                pkt["vlan_vid"] = 0
            elif isinstance(action, SetField):
                pkt[action.field] = action.value
            elif isinstance(action, RegMove):
                pkt[action.dst] = pkt.get(action.src)
            else:
                raise FakeSwitchError(f"unknown action {action!r}")

    def _group(self, group: Group, pkt: Packet, outputs: list[tuple[int, Packet]],
               fork: Fork) -> None:
        if group.type == "all":
            buckets = group.buckets
        elif group.type == "select":
            # Like OVS 3.1 `hash(sym_l4)` in the userspace datapath: symmetric; TCP ports
            # count, UDP ports do not.
            addrs = sorted(str(pkt.get(k)) for k in ("ipv4_src", "ipv4_dst"))
            ports = sorted(int(pkt.get(k) or 0) for k in ("tcp_src", "tcp_dst"))
            flow_hash = content_hash(addrs, pkt.get("ip_proto"), ports)
            best = max(range(len(group.buckets)),
                       key=lambda i: content_hash(i, flow_hash) * group.buckets[i].weight)
            buckets = (group.buckets[best],)
        elif group.type == "ff":  # the first bucket whose watched port is up
            buckets = tuple(b for b in group.buckets if b.watch_port not in self.down)[:1]
        else:
            buckets = group.buckets[:1]
        for bucket in buckets:
            self._run(bucket.actions, dict(pkt), outputs, fork)  # buckets act on a clone


def _groups_used(flow: Flow) -> set[int]:
    return {a.group_id for i in flow.instructions for a in getattr(i, "actions", ())
            if isinstance(a, GroupAction)}


def _meters_used(flow: Flow) -> set[int]:
    return {i.meter_id for i in flow.instructions if isinstance(i, MeterInstruction)}


@dataclass(frozen=True)
class Delivery:
    """A packet leaving the fabric at a non-fabric port."""

    switch: str
    port: int
    packet: Packet


class FakeFabric:
    """Fake switches wired by a config's fabric links."""

    def __init__(self, config: Config, shared_conntrack: bool = False) -> None:
        self.switches = {s.dpid: FakeSwitch(s.dpid, s.name) for s in config.switches}
        if shared_conntrack:  # like Mininet: every bridge of one host uses one datapath
            shared: dict[ConnKey, Connection] = {}
            for switch in self.switches.values():
                switch.connections = shared
        self.by_name = {s.name: s for s in self.switches.values()}
        self.peer: dict[tuple[str, int], tuple[str, int]] = {}
        for link in config.links:
            self.peer[(link.a.switch, link.a.port)] = (link.b.switch, link.b.port)
            self.peer[(link.b.switch, link.b.port)] = (link.a.switch, link.a.port)

    def clear_conntrack(self) -> None:
        """Forget every connection on every switch."""
        for switch in self.switches.values():
            switch.flush_conntrack()

    def set_link(self, a: str, b: str, up: bool) -> None:
        """Take the link between switches `a` and `b` down (both ends) or up again."""
        ends = [(sw, port) for (sw, port), (peer, _) in self.peer.items()
                if {sw, peer} == {a, b}]
        for sw, port in ends:
            (self.by_name[sw].down.discard if up else self.by_name[sw].down.add)(port)

    def send(self, switch: str, port: int, packet: Packet, max_hops: int = 16) -> list[Delivery]:
        """Inject `packet` at `switch:port`; follow it over links; return what leaves."""
        deliveries: list[Delivery] = []
        work = [(switch, port, packet, 0)]
        while work:
            name, in_port, pkt, hops = work.pop()
            if hops > max_hops:
                raise FakeSwitchError("forwarding loop")
            pkt = {**pkt, "trail": (*pkt.get("trail", ()), name)}  # switches visited
            for out_port, out in self.by_name[name].process(in_port, pkt):
                if out_port in self.by_name[name].down:
                    continue  # lost on a dead link
                peer = self.peer.get((name, out_port))
                if peer is None:
                    deliveries.append(Delivery(name, out_port, out))
                else:
                    work.append((peer[0], peer[1], out, hops + 1))
        return deliveries
