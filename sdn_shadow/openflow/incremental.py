"""Incremental planning: the compiler's steps as memoised parts, merged per switch.

`compile_config` builds every switch's plan from scratch. The `Planner` runs
the same steps, but each one as a *part* keyed by what it depends on (see
`parts`): the fabric-wide base (table misses, probe answers) and, per
network, its best-effort meters, forwarding, ARP responders, blocks, shadow
guard, shadow paths, moved clients, service steering and each mirror
session. A change rebuilds only the parts whose dependencies changed (a
network whose inputs are all as they were is not even looked at; meter ids
and who holds each link are kept by `besteffort`), and the merged plans are
updated by those parts' differences alone, with a count of the parts that
hold each entry (two parts may hold the same group or flow). So a client
move costs one network's moved-client entries, and a network added its own
entries and meters, not the fabric.

The merged plans are equal to `compile_config`'s for the same inputs (a
test checks it over random sequences of changes).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from sdn_shadow.config.model import Config
from sdn_shadow.openflow import compiler as cc
from sdn_shadow.openflow.besteffort import BestEffortState
from sdn_shadow.openflow.compiler import SwitchPlan
from sdn_shadow.openflow.demand import Demand, hold_count, release_count
from sdn_shadow.openflow.messages import (
    Flow,
    FlowAdd,
    FlowDelete,
    FlowKey,
    Group,
    GroupAdd,
    GroupDelete,
    Message,
    Meter,
    MeterAdd,
    MeterDelete,
    MeterModify,
)
from sdn_shadow.openflow.parts import (
    ByNetwork,
    Inputs,
    Mark,
    NetworkViews,
    Step,
    base_step,
    meter_step,
    network_steps,
)
from sdn_shadow.openflow.pipeline import PipelineError

__all__ = ["BASE", "Inputs", "Part", "Planner", "SwitchDelta"]
ALL_COOKIE_BITS = 0xFFFFFFFFFFFFFFFF


@dataclass
class Part:
    """One step's output: what it depends on and what it put on each switch."""

    deps: tuple[object, ...]
    plans: dict[str, SwitchPlan]
    steering: bool = False
    """Its demand entries count a client's rx in place of the delivery entries'."""
    metering: bool = False
    """Best-effort meters: a replaced one keeps the rate it has unless told otherwise."""


@dataclass
class SwitchDelta:
    """How one switch's merged plan changed: what to add or replace, what to remove."""

    flows: dict[FlowKey, Flow] = field(default_factory=dict)
    removed_flows: dict[FlowKey, Flow] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    removed_groups: dict[int, Group] = field(default_factory=dict)
    meters: dict[int, Meter] = field(default_factory=dict)  # new ones
    modified_meters: dict[int, Meter] = field(default_factory=dict)
    removed_meters: dict[int, Meter] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.flows or self.removed_flows or self.groups or self.removed_groups
                    or self.meters or self.modified_meters or self.removed_meters)

    def messages(self) -> list[Message]:
        """Make-before-break: groups, meters, flows in; then stale flows, groups, meters out."""
        msgs: list[Message] = [GroupAdd(g) for _, g in sorted(self.groups.items())]
        changed = {**self.meters, **self.modified_meters}
        msgs += [MeterModify(m) if mid in self.modified_meters else MeterAdd(m)
                 for mid, m in sorted(changed.items())]
        msgs += [FlowAdd(f) for f in self.flows.values()]
        msgs += [FlowDelete(table_id=t, priority=p, match=m, cookie=f.cookie,
                            cookie_mask=ALL_COOKIE_BITS, strict=True)
                 for (t, p, m), f in self.removed_flows.items()]
        msgs += [GroupDelete(gid) for gid in sorted(self.removed_groups)]
        msgs += [MeterDelete(mid) for mid in sorted(self.removed_meters)]
        return msgs


class Planner:
    """Memoised plans for a fixed set of switches; `update` returns what changed where."""

    def __init__(self, config: Config) -> None:
        self.switches = tuple((s.name, s.dpid) for s in config.switches)
        self.parts: dict[tuple[str, ...], Part] = {}
        self.plans: dict[str, SwitchPlan] = {n: SwitchPlan(d, n) for n, d in self.switches}
        self._owners: dict[str, dict[tuple[str, Hashable], int]] = {
            n: {} for n, _ in self.switches}
        self._flow_owners: dict[str, dict[FlowKey, int]] = {n: {} for n, _ in self.switches}
        """Parts holding each flow key, per switch (apart: a flow key is costly to hash)."""
        self._nets = NetworkViews()
        self._links_seen: tuple[object, ...] | None = None
        self._wiring = object()
        """Stands for the fabric's links (ports included) in the dependencies of the parts
        that name ports; a new one when the links change."""
        self.rebuilt = 0  # parts rebuilt by the last update (for tests and benchmarks)
        self._shared: set[str] = set()
        """Switches whose plan and holder counts are still the ones this planner was
        forked from: copied when first changed (copy on write)."""
        self._demand: dict[str, Demand] = {n: Demand() for n, _ in self.switches}
        self._best_effort = BestEffortState()
        self._stale: set[tuple[str, str]] = set()
        """Links whose best-effort meters may not all have the rates their holders leave
        (holders changed, or an installed rate was kept): a reload sets them again."""
        self._marks: dict[str, Mark] = {}
        """Each network's inputs at the last update, and the keys of its parts."""
        self._rated: dict[tuple[str, str], list[tuple[str, float]]] = {}
        """Per link, the allocations its holders made when a reload last set its meters'
        rates: a reload sets them again where these changed."""

    def fork(self, config: Config) -> Planner:
        """A planner for `config` that starts from this one's parts and plans (copied, so
        this one stays as it is): a reload then rebuilds only what the new configuration
        changed. A different set of switches starts from nothing."""
        twin = Planner(config)
        if twin.switches != self.switches:
            return twin
        twin.parts = dict(self.parts)  # parts are never changed once built
        # Plans, holder counts and demand are shared until a switch's first change: a
        # fork costs what its update changes, and this planner's tables stay as they are.
        twin.plans, twin._owners = dict(self.plans), dict(self._owners)
        twin._flow_owners = dict(self._flow_owners)
        twin._demand = dict(self._demand)
        twin._shared = set(twin.plans)
        twin._best_effort, twin._stale = self._best_effort.copy(), set(self._stale)
        twin._rated, twin._marks = dict(self._rated), dict(self._marks)
        twin._nets = self._nets.copy()
        twin._links_seen, twin._wiring = self._links_seen, self._wiring
        return twin

    def by_dpid(self) -> dict[int, SwitchPlan]:
        """The merged plans by dpid (the same objects `update` keeps current, but for a
        fork's: a switch's plan is copied when the fork first changes it)."""
        return {plan.dpid: plan for plan in self.plans.values()}

    def _own(self, name: str) -> SwitchPlan:
        """Switch `name`'s plan, this planner's own to change (copied if still shared)."""
        if name in self._shared:
            self._shared.discard(name)
            self.plans[name] = _copied(self.plans[name])
            self._owners[name] = dict(self._owners[name])
            self._flow_owners[name] = dict(self._flow_owners[name])
            self._demand[name] = self._demand[name].copy()
        return self.plans[name]

    def update(self, inputs: Inputs, keep_rates: bool = True) -> dict[str, SwitchDelta]:
        """Bring the merged plans to `inputs`; each changed switch's delta.

        New parts are all built before any is merged: a step that fails
        leaves the plans as they were. Best-effort meters keep the rate they
        have (allocation sets it, not routes) unless `keep_rates` is false (a
        reload: the links' capacities may have changed).
        """
        with cc.paused_gc():
            return self._update(inputs, keep_rates)

    def _update(self, inputs: Inputs, keep_rates: bool) -> dict[str, SwitchDelta]:
        config = inputs.config
        links = config.links
        if links is not self._links_seen and links != self._links_seen:
            self._wiring = object()  # a link or port changed: every port may differ
        self._links_seen = links
        best_effort = self._best_effort.copy()  # kept only if the whole update goes through
        touched = best_effort.update(
            inputs.fabric, self._wiring, (n.name for n in config.networks),
            self._nets.crossings(inputs.paths))
        wanted, kept, marks = self._wanted(inputs, best_effort)
        fresh: dict[tuple[str, ...], Part] = {}
        for key, (deps, step) in wanted.items():  # meter parts before those that read them
            old = self.parts.get(key)
            if old is not None and _same(old.deps, deps):
                continue
            meter_part = None  # the network's meters as this update leaves them
            metered = ("meters", key[1]) if len(key) > 1 and key[0] != "meters" else None
            if metered is not None and (metered in wanted or metered in kept):
                meter_part = fresh.get(metered) or self.parts[metered]
            fresh[key] = Part(deps, self._run(step, meter_part), key[0] == "steering",
                              key[0] == "meters")
        deltas: dict[str, SwitchDelta] = {}
        leaving = [k for k in self.parts if (k not in wanted and k not in kept) or k in fresh]
        _check_clashes(self.plans, self._flow_owners, [self.parts[k] for k in leaving],
                       fresh.values())
        self._best_effort, self._marks = best_effort, marks
        # A part rebuilt in place of another leaves alone what the two hold alike.
        replaced = {key: self.parts[key] for key in fresh if key in self.parts}
        for key in leaving:
            part = self.parts.pop(key)
            self._unmerge(part, deltas, _Alike.of(fresh.get(key), part.metering, keep_rates))
        for key, part in fresh.items():
            self._merge(part, deltas, keep_rates,
                        _Alike.of(replaced.get(key), part.metering, keep_rates))
            self.parts[key] = part
        held = inputs.held
        for (a, b), (old_holds, new_holds) in touched.items():
            plan = self._own(a)
            if new_holds is None:
                plan.holds.pop((a, b), None)
                self._rated.pop((a, b), None)
            else:
                plan.holds[(a, b)] = new_holds
                if old_holds is None:  # newly held: its meters all new, at today's rates
                    self._rated[(a, b)] = [(n, r) for n, r in sorted(held.items())
                                           if n in new_holds]
                elif keep_rates:  # its meters' kept rates are for other holders
                    self._stale.add((a, b))
        if not keep_rates:
            self._reload_rates(inputs.held, deltas)
        self.rebuilt = len(fresh)
        return {name: d for name, d in deltas.items() if d}

    def _wanted(self, inputs: Inputs, best_effort: BestEffortState
                ) -> tuple[dict[tuple[str, ...], tuple[tuple[object, ...], Step]],
                           set[tuple[str, ...]], dict[str, Mark]]:
        """The parts `inputs` call for, with what each depends on and its step (meter
        parts before the parts that read them); the parts of the networks whose inputs
        are all the last update's, kept as they are without a look (so a change costs
        what it changes, not every network's parts); each network's inputs."""
        config = inputs.config
        probes = config.failover.probe_interval is not None
        wanted: dict[tuple[str, ...], tuple[tuple[object, ...], Step]] = {
            BASE: ((config.switches, probes), base_step(probes))}
        entries, holds = best_effort.entries, best_effort.holds
        kept: set[tuple[str, ...]] = set()
        for network in config.networks:
            mine, key = entries.get(network.name, ()), ("meters", network.name)
            if mine and (old := self.parts.get(key)) is not None and old.deps[0] is mine:
                kept.add(key)  # its meters as they were
            elif mine:
                wanted[key] = ((mine,), meter_step(network.name, mine, holds, inputs.held))
        grouped = ByNetwork.of(inputs)
        marks: dict[str, Mark] = {}
        for network in config.networks:
            name = network.name
            last = self._marks.get(name)
            if last is not None and last.holds(network, inputs, entries.get(name, ()),
                                               self._wiring, grouped):
                kept.update(last.keys)
                marks[name] = last
                continue
            mark = Mark(network, inputs.paths.get(name), inputs.failed, entries.get(name, ()),
                         self._wiring, grouped.shadow_path.get(name),
                         grouped.twin_service.get(name),
                         grouped.blocked.get(name))
            if last is not None and last.same(mark):
                kept.update(last.keys)
                mark.keys = last.keys
            else:
                nets = self._nets
                steps = dict(network_steps(network, nets.view(network), inputs, mark.meters,
                                           (*nets.ends(network), self._wiring), grouped))
                wanted.update(steps)
                mark.keys = tuple(steps)
            marks[name] = mark
        return wanted, kept, marks

    def _reload_rates(self, held: Mapping[str, float], deltas: dict[str, SwitchDelta]
                      ) -> None:
        """A reload: every held link's best-effort meters at the rates allocations `held`
        leave them, set again only where the allocations its holders make changed since
        (or its meters may not be at their rates: `_stale`)."""
        ordered = sorted(held.items())
        rated: dict[tuple[str, str], list[tuple[str, float]]] = {}
        redo: dict[str, set[tuple[str, str]]] = {}
        for link, holds in self._best_effort.holds.items():
            reserved = rated[link] = [(n, r) for n, r in ordered if n in holds]
            if link in self._stale or self._rated.get(link) != reserved:
                redo.setdefault(link[0], set()).add(link)
        for name, links in sorted(redo.items()):
            _new_rates(self._own(name), links, held, deltas.setdefault(name, SwitchDelta()))
        self._rated = rated
        self._stale.clear()

    def _run(self, step: Step, meters: Part | None) -> dict[str, SwitchPlan]:
        """Run `step` on empty plans (that see the network's best-effort meters, `meters`'s);
        keep the switches it wrote to."""
        plans = {name: SwitchPlan(dpid, name) for name, dpid in self.switches}
        if meters is not None:
            for name, plan in meters.plans.items():  # read only: steps look meters up
                plans[name].best_effort = plan.best_effort
        step(plans)
        return {name: plan for name, plan in plans.items() if _wrote(plan)}

    # --- merging ------------------------------------------------------------

    def _merge(self, part: Part, deltas: dict[str, SwitchDelta], keep_rates: bool = True,
               alike: _Alike | None = None) -> None:
        steering, base = part.steering, part.metering
        for name, src in part.plans.items():
            plan, owners = self._own(name), self._owners[name]
            fowners, flows = self._flow_owners[name], plan.flows
            delta = deltas.setdefault(name, SwitchDelta())
            removed, added = delta.removed_flows, delta.flows
            other = alike.on(name) if alike is not None else None
            for key, flow in src.flows.items():
                if other is not None and _equal(other.flows.get(key), flow):
                    continue  # held already, by the part this one replaces
                n = fowners.get(key, 0)
                fowners[key] = n + 1
                if n:
                    if flows[key] != flow:
                        raise PipelineError(f"{name}: two different flows for key {key}")
                    continue
                flows[key] = flow
                was = removed.pop(key, None) if removed else None
                if was is None or was.cookie != flow.cookie:
                    added[key] = flow
            for gid, group in src.groups.items():
                if other is not None and _equal(other.groups.get(gid), group):
                    continue
                if hold_count(owners, ("g", gid)):
                    continue
                plan.groups[gid] = group
                if delta.removed_groups.pop(gid, None) is None:
                    delta.groups[gid] = group
            for meter_id, meter in src.meters.items():
                if other is not None and alike is not None and alike.meters and _equal(
                        other.meters.get(meter_id), meter):
                    continue
                if hold_count(owners, ("m", meter_id)):
                    continue
                had = delta.removed_meters.pop(meter_id, None)
                if had is None:
                    delta.meters[meter_id] = meter
                elif base and keep_rates:  # a best-effort meter: its installed rate stays
                    if had != meter:  # (until a reload sets it again)
                        self._stale.update(spec.link for spec in src.best_effort.values()
                                           if spec.meter_id == meter_id)
                    meter = had
                elif had != meter:
                    delta.modified_meters[meter_id] = meter
                plan.meters[meter_id] = meter
            if base:
                plan.best_effort.update(src.best_effort)
            _merge_counted(plan, src, owners)
            if src.demand:
                self._demand[name].merge(plan.demand, src.demand, steering)

    def _unmerge(self, part: Part, deltas: dict[str, SwitchDelta],
                 alike: _Alike | None = None) -> None:
        base = part.metering
        for name, src in part.plans.items():
            plan, owners = self._own(name), self._owners[name]
            fowners, flows = self._flow_owners[name], plan.flows
            delta = deltas.setdefault(name, SwitchDelta())
            removed = delta.removed_flows
            other = alike.on(name) if alike is not None else None
            for key, flow in src.flows.items():
                if other is not None and _equal(other.flows.get(key), flow):
                    continue  # the replacing part holds it alike: it stays
                n = fowners[key] - 1
                if n:
                    fowners[key] = n
                    continue
                del fowners[key]
                removed[key] = flows.pop(key)
            for gid, group in src.groups.items():
                if other is not None and _equal(other.groups.get(gid), group):
                    continue
                if release_count(owners, ("g", gid)):
                    delta.removed_groups[gid] = plan.groups.pop(gid)
            for meter_id, meter in src.meters.items():
                if other is not None and alike is not None and alike.meters and _equal(
                        other.meters.get(meter_id), meter):
                    continue
                if release_count(owners, ("m", meter_id)):
                    delta.removed_meters[meter_id] = plan.meters.pop(meter_id)
            if base:
                kept = other.best_effort if other is not None else {}
                for be_key in src.best_effort:
                    if be_key not in kept:
                        plan.best_effort.pop(be_key, None)
            _unmerge_counted(plan, src, owners)
            if src.demand:
                self._demand[name].unmerge(plan.demand, src.demand, part.steering)


BASE = ("base",)


@dataclass(frozen=True)
class _Alike:
    """The other side of a part rebuilt in place of another: entries both hold alike
    are left as they are (no holder counted twice, nothing sent)."""

    part: Part
    meters: bool
    """Meters too (not a reload's meter part: it sets its best-effort meters' rates)."""

    @staticmethod
    def of(part: Part | None, metering: bool, keep_rates: bool) -> _Alike | None:
        """`part` as the other side, if there is one."""
        return None if part is None else _Alike(part, not metering or keep_rates)

    def on(self, name: str) -> SwitchPlan | None:
        """What the other side put on switch `name`."""
        return self.part.plans.get(name)


def _equal(old: object, new: object) -> bool:
    return old is not None and (old is new or old == new)


def _check_clashes(plans: Mapping[str, SwitchPlan], flow_owners: Mapping[str, dict[FlowKey, int]],
                   leaving: list[Part], coming: Iterable[Part]) -> None:
    """Raise, before anything changes, if merging `coming` (once `leaving` is out)
    into `plans` (`flow_owners`: the parts holding each flow key) would put two
    different flows under one key: an update is all or nothing."""
    coming = list(coming)
    parts_on: dict[str, int] = {}
    for part in coming:
        for name in part.plans:
            parts_on[name] = parts_on.get(name, 0) + 1
    incoming: dict[str, dict[FlowKey, Flow]] = {}
    for part in coming:
        for name, src in part.plans.items():
            flows = plans[name].flows
            seen = incoming.setdefault(name, {}) if parts_on[name] > 1 else None
            for key, flow in src.flows.items():
                if seen is not None:
                    other = seen.setdefault(key, flow)
                    if other is not flow and other != flow:
                        raise PipelineError(f"{name}: two different flows for key {key}")
                held = flows.get(key)
                if held is None or held is flow or held == flow:
                    continue
                going = sum(1 for p in leaving if name in p.plans
                            and key in p.plans[name].flows)
                if flow_owners[name][key] > going:
                    raise PipelineError(f"{name}: two different flows for key {key}")


def _new_rates(plan: SwitchPlan, links: set[tuple[str, str]], held: Mapping[str, float],
               delta: SwitchDelta) -> None:
    """A reload: `plan`'s best-effort meters on `links` at the rates the allocations
    `held` leave them now."""
    for spec in plan.best_effort.values():
        if spec.link not in links:
            continue
        meter = plan.best_effort_meter(spec, held)
        if plan.meters.get(spec.meter_id) == meter:
            continue
        plan.meters[spec.meter_id] = meter
        if spec.meter_id in delta.meters:
            delta.meters[spec.meter_id] = meter
        else:
            delta.modified_meters[spec.meter_id] = meter


def _copied(plan: SwitchPlan) -> SwitchPlan:
    """A plan whose tables can change without changing `plan`'s."""
    return SwitchPlan(plan.dpid, plan.name, dict(plan.flows), dict(plan.groups),
                      dict(plan.mirror_groups), dict(plan.mirror_flows), dict(plan.demand),
                      dict(plan.meters), dict(plan.best_effort), dict(plan.holds))


def _merge_counted(plan: SwitchPlan, src: SwitchPlan,
                   owners: dict[tuple[str, Hashable], int]) -> None:
    """Merge what mirror groups, inline mirror flows and demand cookies mean."""
    for gid, info in src.mirror_groups.items():
        if not hold_count(owners, ("mg", gid)):
            plan.mirror_groups[gid] = info
    for fkey, session in src.mirror_flows.items():
        if not hold_count(owners, ("mf", fkey)):
            plan.mirror_flows[fkey] = session


def _unmerge_counted(plan: SwitchPlan, src: SwitchPlan,
                     owners: dict[tuple[str, Hashable], int]) -> None:
    for gid in src.mirror_groups:
        if release_count(owners, ("mg", gid)):
            del plan.mirror_groups[gid]
    for fkey in src.mirror_flows:
        if release_count(owners, ("mf", fkey)):
            del plan.mirror_flows[fkey]


def _same(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    """Dependencies equal: by identity first (cheap), then by value."""
    return len(old) == len(new) and all(a is b or a == b for a, b in zip(old, new,
                                                                          strict=True))


def _wrote(plan: SwitchPlan) -> bool:
    """Whether a step wrote anything to `plan`."""
    return bool(plan.flows or plan.groups or plan.meters or plan.mirror_groups
                or plan.mirror_flows or plan.demand)
