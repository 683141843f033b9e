"""ShadowCore: switch events in, OpenFlow messages out; no OS-Ken imports, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sdn_shadow.config.model import Config
from sdn_shadow.openflow.compiler import SwitchPlan, compile_config
from sdn_shadow.openflow.messages import (
    Barrier,
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    Match,
    Message,
)

FlowKey = tuple[int, int, Match]


@dataclass(frozen=True, slots=True)
class InstalledFlow:
    """A flow as read back from a switch: its key and cookie (and counters)."""

    table_id: int
    priority: int
    match: Match
    cookie: int
    packets: int = 0
    bytes: int = 0

    @property
    def key(self) -> FlowKey:
        """Table, priority, match."""
        return (self.table_id, self.priority, self.match)


@dataclass(frozen=True, slots=True)
class GroupCounters:
    """Counters of one group read back from a switch, per bucket."""

    group_id: int
    buckets: tuple[tuple[int, int], ...]  # (packets, bytes) per bucket


@dataclass(slots=True)
class SwitchState:
    """What the core knows about one switch."""

    dpid: int
    name: str
    connected: bool = False
    synced: bool = False
    connected_at: float | None = None
    synced_at: float | None = None
    flows: int = 0
    groups: int = 0
    last_sync: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class MirrorCounters:
    """Packets and bytes a mirror session copied (bytes before truncation)."""

    packets: int = 0
    bytes: int = 0

    def add(self, packets: int, nbytes: int) -> None:
        """Add one counter pair."""
        self.packets += packets
        self.bytes += nbytes


class UnknownSwitch(KeyError):
    """A datapath that is not in the configuration."""


class ShadowCore:
    """Desired state for every switch, reconciliation, and counters; decisions only."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.plans: dict[int, SwitchPlan] = compile_config(config)
        self.switches = {
            dpid: SwitchState(dpid, plan.name) for dpid, plan in self.plans.items()
        }
        self._group_counters: dict[int, dict[int, tuple[int, int]]] = {}
        self._flow_counters: dict[int, dict[FlowKey, tuple[int, int]]] = {}

    def plan(self, dpid: int) -> SwitchPlan:
        """The desired state of switch `dpid` (UnknownSwitch if not configured)."""
        try:
            return self.plans[dpid]
        except KeyError:
            raise UnknownSwitch(dpid) from None

    def switch_connected(self, now: float, dpid: int) -> None:
        """Record a (re)connection; the switch is unsynced until its barrier returns."""
        state = self.switches[self.plan(dpid).dpid]
        state.connected, state.synced, state.connected_at = True, False, now

    def switch_disconnected(self, now: float, dpid: int) -> None:
        """Record a disconnection (the switch keeps its flows: fail_mode=secure)."""
        if dpid in self.switches:
            self.switches[dpid].connected = False
            self.switches[dpid].synced = False

    def reconcile(
        self,
        now: float,
        dpid: int,
        installed_flows: Iterable[InstalledFlow],
        installed_groups: Iterable[int],
    ) -> list[Message]:
        """Messages that bring switch `dpid` from what it has to exactly the desired state.

        Order is make-before-break: new groups, then new or changed flows (an add
        replaces an entry with the same key atomically), then stale flows, then
        stale groups once nothing points at them, then a barrier. Flows whose
        cookie already equals the desired one are left alone, so reconnecting
        changes nothing and interrupts nothing.
        """
        plan = self.plan(dpid)
        have = {f.key: f.cookie for f in installed_flows}
        have_groups = set(installed_groups)
        msgs: list[Message] = [GroupAdd(g) for gid, g in plan.groups.items()
                               if gid not in have_groups]
        msgs += [FlowAdd(f) for key, f in plan.flows.items() if have.get(key) != f.cookie]
        added = len(msgs)
        stale = [(key, cookie) for key, cookie in have.items() if key not in plan.flows]
        msgs += [
            FlowDelete(table_id=t, priority=p, match=m, cookie=cookie,
                       cookie_mask=0xFFFFFFFFFFFFFFFF, strict=True)
            for (t, p, m), cookie in stale
        ]
        msgs += [GroupDelete(gid) for gid in sorted(have_groups - set(plan.groups))]
        msgs.append(Barrier())
        state = self.switches[dpid]
        state.last_sync = {"added": added, "deleted": len(msgs) - 1 - added}
        return msgs

    def switch_synced(self, now: float, dpid: int) -> None:
        """The barrier after reconciliation came back: the switch holds the desired state."""
        state = self.switches[dpid]
        plan = self.plan(dpid)
        state.synced, state.synced_at = True, now
        state.flows, state.groups = len(plan.flows), len(plan.groups)

    def group_stats(self, now: float, dpid: int, counters: Iterable[GroupCounters]) -> None:
        """Take a group stats reply; mirror counters are derived from it."""
        plan = self.plan(dpid)
        self._group_counters.setdefault(dpid, {}).update(
            (c.group_id, _sum_buckets(c, plan.mirror_groups[c.group_id].copy_buckets))
            for c in counters
            if c.group_id in plan.mirror_groups
        )

    def mirror_flow_stats(self, now: float, dpid: int, flows: Iterable[InstalledFlow]) -> None:
        """Take flow stats of the mirror tables: counters of sessions that copy inline."""
        plan = self.plan(dpid)
        self._flow_counters.setdefault(dpid, {}).update(
            (f.key, (f.packets, f.bytes)) for f in flows if f.key in plan.mirror_flows
        )

    def mirror_counters(self) -> dict[str, MirrorCounters]:
        """Packets selected for copying and their bytes per session, summed over switches.

        A packet copied to several destinations counts once; bytes are before truncation.
        """
        totals = {
            s.name: MirrorCounters()
            for n in self.config.networks if n.shadow for s in n.shadow.mirror
        }
        for dpid, by_group in self._group_counters.items():
            for gid, counts in by_group.items():
                totals[self.plans[dpid].mirror_groups[gid].session].add(*counts)
        for dpid, by_flow in self._flow_counters.items():
            for key, counts in by_flow.items():
                totals[self.plans[dpid].mirror_flows[key]].add(*counts)
        return totals

    def status(self) -> dict:
        """A JSON-able snapshot: switches and mirror counters."""
        return {
            "switches": {
                str(s.dpid): {
                    "name": s.name,
                    "connected": s.connected,
                    "synced": s.synced,
                    "flows": s.flows,
                    "groups": s.groups,
                    "connected_at": s.connected_at,
                    "synced_at": s.synced_at,
                    "last_sync": s.last_sync,
                }
                for s in self.switches.values()
            },
            "mirror": {
                name: {"packets": c.packets, "bytes": c.bytes}
                for name, c in self.mirror_counters().items()
            },
        }


def _sum_buckets(counters: GroupCounters, copy_buckets: tuple[int, ...]) -> tuple[int, int]:
    packets = sum(counters.buckets[i][0] for i in copy_buckets if i < len(counters.buckets))
    nbytes = sum(counters.buckets[i][1] for i in copy_buckets if i < len(counters.buckets))
    return packets, nbytes
