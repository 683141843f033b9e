"""What the compiler's steps build: switch plans, meter specs, shared names and the GC pause."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from sdn_shadow.openflow import pipeline as pl
from sdn_shadow.openflow.messages import (
    OFPVID_PRESENT,
    Flow,
    FlowKey,
    Group,
    Meter,
    MeterBand,
)
from sdn_shadow.paths import PathPair

MIN_BEST_EFFORT = 0.01  # best-effort traffic always keeps this share of a link
SECURITY_METERS = 60_000
"""Meter ids of metered sources: SECURITY_METERS + the block's slot (best-effort ones
count from 1; Open vSwitch's userspace datapath takes ids up to 65,536 at least)."""

Link = frozenset[str]  # an undirected fabric link: its two switch names
#: ct_mark of a connection to a service host: who serves it (0: not committed yet).
HOST_MARK, TWIN_MARK = 2, 1
ShadowPaths = Mapping[str, Mapping[tuple[str, str], PathPair]]


@dataclass(frozen=True, slots=True)
class MirrorGroupInfo:
    """What a mirror group counts: its session and the buckets that copy."""

    session: str
    copy_buckets: tuple[int, ...]


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
    """Polices one network's traffic on a link to what other networks' holds leave free.

    Who holds capacity on the link is the plan's (`SwitchPlan.holds`), not the
    meter's: a network that comes to hold the link changes one entry there,
    not every other network's meter.
    """

    meter_id: int
    link: tuple[str, str]
    network: str
    capacity_kbps: int

    def rate(self, held: Mapping[str, float], reserved_by: frozenset[str]) -> int:
        """The rate (kbit/s) allocations `held` (bytes/s per network) leave this network,
        the shadow networks `reserved_by` holding capacity on the link."""
        reserved = sum(rate for n, rate in sorted(held.items())
                       if n != self.network and n in reserved_by) * 8 / 1000 \
            if held else 0.0
        floor = max(1, int(self.capacity_kbps * MIN_BEST_EFFORT))
        return max(floor, int(self.capacity_kbps - reserved))

    def meter(self, held: Mapping[str, float], reserved_by: frozenset[str]) -> Meter:
        """The meter for allocations `held` (bytes/s per network), `reserved_by` holding."""
        return Meter(self.meter_id, (MeterBand(self.rate(held, reserved_by)),))


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
    holds: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """Link direction out of this switch (with a known capacity) -> the shadow networks
    holding capacity on it: what its best-effort meters leave free depends on them."""

    def best_effort_meter(self, spec: BestEffortMeter, held: Mapping[str, float]) -> Meter:
        """The meter `spec` (one of this plan's best-effort meters) is for allocations
        `held` (bytes/s per network)."""
        return spec.meter(held, self.holds.get(spec.link, frozenset()))

    def add(self, flow: Flow) -> None:
        """Add a flow after checking it against the pipeline; a clashing key is a bug.

        One flow object may go to many switches (steps share what is the same
        everywhere): the same object again is a no-op.
        """
        key = flow.key
        existing = self.flows.get(key)
        if existing is not None:
            if existing is flow or existing == flow:
                return
            raise pl.PipelineError(f"{self.name}: two different flows for key {key}")
        pl.verify(flow)
        self.flows[key] = flow


def vid(vlan: int) -> int:
    """OXM vlan_vid value for a tagged VLAN."""
    return OFPVID_PRESENT | vlan


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
