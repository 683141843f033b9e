"""The core's values: what switches report, what the core knows of them, events, errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from sdn_shadow.openflow.compiler import Link, SwitchPlan
from sdn_shadow.openflow.messages import Match, Message
from sdn_shadow.policy.response import Event

FlowKey = tuple[int, int, Match]
Updates = dict[int, list[Message]]
"""Messages per switch (dpid), make-before-break, each switch's ending in a barrier."""

__all__ = ["Event", "EventKind", "FlowKey", "GroupCounters", "InstalledFlow", "MirrorCounters",
           "ReloadRefused", "SwitchState", "UnknownSwitch", "Updates", "event", "link_name",
           "merge"]


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


@dataclass(frozen=True, slots=True)
class SwitchState:
    """What the core knows about one switch (a value: changes make a new one)."""

    dpid: int
    name: str
    connected: bool = False
    synced: bool = False
    connected_at: float | None = None
    synced_at: float | None = None
    flows: int = 0
    groups: int = 0
    meters: int = 0
    last_sync: Mapping[str, int] = field(default_factory=dict)

    def on_connect(self, now: float) -> SwitchState:
        """(Re)connected at `now`: unsynced until its barrier returns."""
        return replace(self, connected=True, synced=False, connected_at=now)

    def on_disconnect(self) -> SwitchState:
        """Disconnected (the switch keeps its flows: fail_mode=secure)."""
        return replace(self, connected=False, synced=False)

    def holding(self, plan: SwitchPlan) -> SwitchState:
        """Counting what `plan` puts on the switch."""
        return replace(self, name=plan.name, flows=len(plan.flows), groups=len(plan.groups),
                       meters=len(plan.meters))

    def on_sync(self, now: float, plan: SwitchPlan) -> SwitchState:
        """Its barrier after reconciliation came back: it holds `plan`."""
        return replace(self.holding(plan), synced=True, synced_at=now)


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


class ReloadRefused(ValueError):
    """A new configuration that cannot be taken live (the running one stays)."""


EventKind = Literal[
    "move", "steer", "takeover", "restore", "role_swap", "activate", "deactivate",
    "failover", "failback", "shadow_serving", "primary_serving", "scale", "config", "ldap"]
"""The kinds of event the core itself records (the watch adds its own, see policy.watch)."""


def event(now: float, kind: EventKind, **fields: object) -> Event:
    """An event as the core records it: its time, its kind, then its fields."""
    return {"t": now, "kind": kind, **fields}


def link_name(link: Link) -> str:
    """A fabric link as events and the state file name it: `s1-s2`."""
    return "-".join(sorted(link))


def merge(into: Updates, updates: Mapping[int, list[Message]]) -> Updates:
    """Append each switch's `updates` to its messages in `into` (which is returned)."""
    for dpid, msgs in updates.items():
        into.setdefault(dpid, []).extend(msgs)
    return into
