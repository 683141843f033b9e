"""Bringing a switch to its plan, decided: what its tables hold, when to reconcile, xids, barriers.

On connection the app asks for the switch's flows, groups and meters; the
replies come in parts, in any order. `Collecting` gathers them (pure, one
new value per part) and says when all three are complete; `Barriers` records
the barrier that closes a reconciliation so its reply marks the switch
synced; `Xids` hands out transaction ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdn_shadow.core import InstalledFlow
    from sdn_shadow.openflow.messages import Meter


XID_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class Collecting:
    """A switch's tables as read so far, and which of the three readings are complete."""

    flows: tuple[InstalledFlow, ...] = ()
    groups: tuple[int, ...] = ()
    meters: tuple[Meter, ...] = ()
    flows_done: bool = False
    groups_done: bool = False
    meters_done: bool = False

    def with_flows(self, flows: Iterable[InstalledFlow], done: bool) -> Collecting:
        """After one part of the flow stats reply (`done`: it was the last part)."""
        return replace(self, flows=self.flows + tuple(flows), flows_done=done)

    def with_groups(self, groups: Iterable[int], done: bool) -> Collecting:
        """After one part of the group description reply."""
        return replace(self, groups=self.groups + tuple(groups), groups_done=done)

    def with_meters(self, meters: Iterable[Meter], done: bool) -> Collecting:
        """After one part of the meter configuration reply."""
        return replace(self, meters=self.meters + tuple(meters), meters_done=done)

    @property
    def complete(self) -> bool:
        """Every reading is in: the switch can be reconciled."""
        return self.flows_done and self.groups_done and self.meters_done


@dataclass(frozen=True)
class Xids:
    """The next transaction id to hand out (never 0)."""

    next: int = 0x10000000

    def take(self, count: int) -> tuple[int, Xids]:
        """The first of `count` consecutive xids, and the counter after them."""
        return self.next, Xids((self.next + count) & XID_MASK or 1)


def last_xid(first: int, count: int) -> int:
    """The xid of the last of `count` messages numbered from `first`."""
    return (first + count - 1) & XID_MASK


@dataclass(frozen=True)
class Barriers:
    """The barrier each reconciling switch waits for: dpid -> (xid, reconciliation start)."""

    waiting: Mapping[int, tuple[int, float]] = field(
        default_factory=lambda: MappingProxyType({}))

    def expect(self, dpid: int, xid: int, started: float) -> Barriers:
        """`dpid` reconciles; its barrier has `xid`."""
        return Barriers(MappingProxyType({**self.waiting, dpid: (xid, started)}))

    def answered(self, dpid: int, xid: int) -> tuple[float | None, Barriers]:
        """When the reconciliation that barrier `xid` closes began (None: not the one
        awaited), and the barriers after it."""
        entry = self.waiting.get(dpid)
        if entry is None or entry[0] != xid:
            return None, self
        return entry[1], Barriers(MappingProxyType(
            {d: w for d, w in self.waiting.items() if d != dpid}))

    def forget(self, dpid: int) -> Barriers:
        """Without `dpid` (it disconnected or reconnects)."""
        if dpid not in self.waiting:
            return self
        return Barriers(MappingProxyType({d: w for d, w in self.waiting.items() if d != dpid}))
