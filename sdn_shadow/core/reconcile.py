"""Reconcile: from what a switch has (flows, groups, meters) to its plan, make-before-break.

Pure functions over plans; the composer keeps the switches' states and plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sdn_shadow.core.model import FlowKey, GroupCounters, InstalledFlow, Updates
from sdn_shadow.openflow.compiler import SwitchPlan
from sdn_shadow.openflow.incremental import Planner, SwitchDelta
from sdn_shadow.openflow.messages import (
    Barrier,
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    Message,
    Meter,
    MeterAdd,
    MeterDelete,
    MeterModify,
)


def reconcile(plan: SwitchPlan, installed_flows: Iterable[InstalledFlow],
              installed_groups: Iterable[int], installed_meters: Iterable[Meter],
              keep_holds: bool) -> tuple[list[Message], dict[str, int]]:
    """Messages from what a switch has to exactly `plan`, a barrier last; and their counts.

    Order is make-before-break: new groups and meters (and meter rate
    changes), then new or changed flows, then stale flows, then stale groups
    and meters once nothing points at them. Flows whose cookie already equals
    the desired one are left alone. `keep_holds`: no allocation yet (a
    restarted controller), so the meter rates the switch enforces are kept,
    in the plan too, until the first allocation round.
    """
    have = {f.key: f.cookie for f in installed_flows}
    have_meters = {m.meter_id: m for m in installed_meters}
    if keep_holds:
        for meter_id in plan.meters.keys() & have_meters.keys():
            plan.meters[meter_id] = have_meters[meter_id]
    msgs, added = changes(plan, have, set(installed_groups), have_meters)
    msgs.append(Barrier())
    return msgs, {"added": added, "deleted": len(msgs) - 1 - added}


def changes(plan: SwitchPlan, have: Mapping[FlowKey, int], have_groups: set[int],
            have_meters: Mapping[int, Meter]) -> tuple[list[Message], int]:
    """Messages from `have` to `plan`, make-before-break; and how many add or replace."""
    msgs: list[Message] = [GroupAdd(g) for gid, g in plan.groups.items()
                           if gid not in have_groups]
    msgs += meter_changes(have_meters, plan.meters)
    msgs += [FlowAdd(f) for key, f in plan.flows.items() if have.get(key) != f.cookie]
    added = len(msgs)
    msgs += [
        FlowDelete(table_id=t, priority=p, match=m, cookie=cookie,
                   cookie_mask=0xFFFFFFFFFFFFFFFF, strict=True)
        for (t, p, m), cookie in have.items() if (t, p, m) not in plan.flows
    ]
    msgs += [GroupDelete(gid) for gid in sorted(have_groups - set(plan.groups))]
    msgs += [MeterDelete(mid) for mid in sorted(set(have_meters) - set(plan.meters))]
    return msgs, added


def meter_changes(have: Mapping[int, Meter], want: Mapping[int, Meter]) -> list[Message]:
    """Adds for missing meters, modifies for meters whose bands differ."""
    msgs: list[Message] = []
    for meter_id, meter in sorted(want.items()):
        if meter_id not in have:
            msgs.append(MeterAdd(meter))
        elif have[meter_id] != meter:
            msgs.append(MeterModify(meter))
    return msgs


def diff(old: Mapping[int, SwitchPlan], new: Mapping[int, SwitchPlan]) -> Updates:
    """Messages from the `old` plans to the `new` ones (all of each), per switch."""
    out: Updates = {}
    for dpid, plan in new.items():
        was = old[dpid]
        msgs, _ = changes(plan, {k: f.cookie for k, f in was.flows.items()},
                          set(was.groups), dict(was.meters))
        if msgs:
            out[dpid] = [*msgs, Barrier()]
    return out


def delta_messages(planner: Planner, deltas: Mapping[str, SwitchDelta]) -> Updates:
    """Each changed switch's messages (make-before-break), then a barrier, by dpid."""
    return {planner.plans[name].dpid: [*delta.messages(), Barrier()]
            for name, delta in deltas.items()}


def sum_buckets(counters: GroupCounters, copy_buckets: Iterable[int]) -> tuple[int, int]:
    """Packets and bytes of a group's copying buckets (those the switch reported)."""
    copying = [counters.buckets[i] for i in copy_buckets if i < len(counters.buckets)]
    return sum(p for p, _ in copying), sum(b for _, b in copying)
